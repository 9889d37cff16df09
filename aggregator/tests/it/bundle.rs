//! The submission bundle built from a realistic data set: order, names, the UTF-8 flag,
//! byte-identical rebuilds, the manifest, independent readers, tampering, the nightly run.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};
use yingjian_aggregator::bundle::{self, Layout, nightly};

use super::{TestServer, jpeg, pdf};

async fn city() -> (TestServer, String) {
    let s = TestServer::start().await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    let customs = s.token(Some("customs"), "pc-1").await;
    let commerce = s.token(Some("commerce"), "pc-1").await;
    let market = s.token(Some("market"), "pc-1").await;
    s.file(&police, "08.03 昆仑2021专项行动/图片/销毁现场.jpg", &jpeg("scene")).await;
    s.file(&police, "08.03 昆仑2021专项行动/文件/通知.pdf", &pdf("notice")).await;
    s.file(&police, "08.03 昆仑2021专项行动/文件/CON.pdf", &pdf("con")).await;
    s.file(&police, "08.03 昆仑2021专项行动/文稿/报告:草稿?.pdf", &pdf("draft")).await;
    let long = format!("08.03 昆仑2021专项行动/{}.pdf", "scanned-page-".repeat(18));
    s.file(&police, &long, &pdf("long")).await;
    s.file(&police, "自评报告/公安局自评报告.pdf", &pdf("report")).await;
    s.file(&police, "典型案例/案例一/判决书.pdf", &pdf("case")).await;
    // The joint item: the same content from both departments is bundled once.
    s.file(&customs, "06.04 进出口/文件/联合方案.pdf", &pdf("joint")).await;
    s.file(&commerce, "06.04 进出口/文件/联合方案（商务局）.pdf", &pdf("joint")).await;
    s.file(&commerce, "06.04 进出口/信息/简报.pdf", &pdf("bulletin")).await;
    s.file(&market, "01.01 合格率/结果.pdf", &pdf("notice")).await;
    s.file(&police, "11.02 公安打假/IMG_0001.jpg", &jpeg("camera")).await;
    (s, office)
}

fn entries(path: &Path) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len()).map(|i| archive.by_index(i).unwrap().name().unwrap().to_string()).collect()
}

#[tokio::test]
async fn bundles_are_ordered_safe_identical_and_verifiable() {
    let (s, _) = city().await;
    let out = s.dir.path().join("out");
    let built =
        bundle::Bundles::new(out.clone()).build(&s.state, "test", Layout::Plain, |_, _| {}).await.unwrap();
    let names = entries(&built.path);
    // No city configured: the name and the root folder begin with the year.
    assert!(built.name.starts_with("2021年度质量工作考核材料-"), "{}", built.name);
    let root = "2021年度质量工作考核迎检材料/";
    let relative: Vec<&str> = names.iter().map(|n| n.strip_prefix(root).unwrap()).collect();
    assert_eq!(
        &relative[..10],
        [
            "bag-info.txt",
            "manifest-sha256.txt",
            "file-index.csv",
            "tagmanifest-sha256.txt",
            "00 目录.html",
            "00 目录.xlsx",
            "00 联系人名单.xlsx",
            "00 校验信息.xlsx",
            "00 自评报告/公安局/公安局自评报告.pdf",
            "00 典型案例/公安局/案例一/判决书.pdf",
        ]
    );
    let item = |p: &str| {
        relative.iter().position(|r| r.contains(p)).unwrap_or_else(|| panic!("{p} in {relative:?}"))
    };
    assert!(
        item("01.01 制造业产品质量合格率/01 未分类 结果.pdf")
            < item("06.04 进出口商品质量安全风险监测/01 文件 联合方案.pdf")
    );
    assert!(item("06.04") < item("08.03 昆仑2021专项行动/01 文件 CON.pdf"));
    // Within an item: 文件, 文稿, 图片, then 未分类; names made safe for Windows.
    let kp8 = "03 质量安全监管/08 严厉打击质量违法行为/08.03 昆仑2021专项行动/";
    let in_83: Vec<&str> = relative.iter().filter_map(|r| r.strip_prefix(kp8)).collect();
    assert_eq!(
        in_83[..4],
        ["01 文件 CON.pdf", "02 文件 通知.pdf", "03 文稿 报告：草稿？.pdf", "04 图片 销毁现场.jpg"]
    );
    assert!(in_83[4].starts_with("05 未分类 scanned-page-") && in_83[4].ends_with("….pdf"), "{}", in_83[4]);
    assert!(names.iter().all(|n| n.chars().count() <= 200), "every path fits a Windows desktop");
    // The joint item's shared content is there once, commerce's other file too.
    let joint: Vec<&&str> = relative.iter().filter(|r| r.contains("06.04")).collect();
    assert_eq!(joint.len(), 2, "{joint:?}");

    // Byte-identical when built again from the same state.
    let again = bundle::Bundles::new(s.dir.path().join("again"))
        .build(&s.state, "test", Layout::Plain, |_, _| {})
        .await
        .unwrap();
    assert_eq!(std::fs::read(&built.path).unwrap(), std::fs::read(&again.path).unwrap());

    // 备注 in the 目录: the notice filed under two items. What the city lacks is not in it.
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&built.path).unwrap()).unwrap();
    let mut toc = String::new();
    archive.by_name(&format!("{root}00 目录.html")).unwrap().read_to_string(&mut toc).unwrap();
    assert_eq!(toc.matches("重复（同第").count(), 2, "both copies of the notice are marked");
    for internal in ["缺少文字说明", "完成情况", "仍缺材料", "缺失", "已覆盖"] {
        assert!(!toc.contains(internal), "the hand-in says nothing of {internal}");
    }

    let report = bundle::verify(&built.path).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.files, built.files + 4, "the evidence and four generated files");

    // The CLI agrees, and an independent reader (Python's zipfile and openpyxl) reads it back.
    let cli = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .arg("verify-bundle")
        .arg(&built.path)
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let script = r"
import hashlib, io, struct, sys, zipfile, zlib
import openpyxl
z = zipfile.ZipFile(sys.argv[1])
root = z.namelist()[0].split('/')[0] + '/'
manifest = dict(reversed(l.split('  ', 1)) for l in z.read(root + 'manifest-sha256.txt').decode().splitlines())
for info in z.infolist():
    assert info.flag_bits & 0x800, 'UTF-8 flag missing on ' + info.filename
    # Beside the flag, a Chinese name is in an Info-ZIP Unicode Path field (for older unpackers).
    if not info.filename.isascii():
        extra, i, field = info.extra, 0, None
        while i + 4 <= len(extra):
            kind, size = struct.unpack('<HH', extra[i:i + 4])
            if kind == 0x7075:
                field = extra[i + 4:i + 4 + size]
            i += 4 + size
        assert field and field[0] == 1, 'no Unicode Path field on ' + info.filename
        assert struct.unpack('<I', field[1:5])[0] == zlib.crc32(info.filename.encode()), info.filename
        assert field[5:].decode() == info.filename, info.filename
    name = info.filename[len(root):]
    if name in ('manifest-sha256.txt', 'bag-info.txt', 'tagmanifest-sha256.txt', 'file-index.csv'):
        continue
    assert hashlib.sha256(z.read(info)).hexdigest() == manifest.pop(name), name
assert not manifest, manifest
book = openpyxl.load_workbook(io.BytesIO(z.read(root + '00 目录.xlsx')))
assert book.sheetnames == ['目录'], book.sheetnames
sheet = book['目录']
header = [c.value for c in sheet[2]]
assert header == ['序号', '档号', '文号', '责任者', '题名', '日期', '页数', '起止页', '备注'], header
rows = list(sheet.iter_rows(min_row=3, values_only=True))
print(len(rows), rows[0][0], rows[1][1])
";
    let py = Command::new("python3").arg("-c").arg(script).arg(&built.path).output().unwrap();
    assert!(py.status.success(), "python: {}", String::from_utf8_lossy(&py.stderr));
    let stdout = String::from_utf8_lossy(&py.stdout);
    assert!(stdout.contains("自评报告 00.01-001"), "a heading row, then the first report: {stdout}");
}

/// Copies a zip, letting `change` alter, drop or add entries.
fn rewrite(
    from: &Path,
    to: &Path,
    change: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>,
    add: Option<(&str, &[u8])>,
) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if let Some(bytes) = change(&name, bytes) {
            out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            out.write_all(&bytes).unwrap();
        }
    }
    if let Some((name, bytes)) = add {
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap();
}

#[tokio::test]
async fn tampering_is_detected_and_named() {
    let (s, _) = city().await;
    let built = bundle::Bundles::new(s.dir.path().join("out"))
        .build(&s.state, "test", Layout::Plain, |_, _| {})
        .await
        .unwrap();
    let tampered = s.dir.path().join("tampered.zip");
    rewrite(
        &built.path,
        &tampered,
        |name, bytes| {
            if name.ends_with("02 文件 通知.pdf") {
                Some(b"%PDF-1.4 forged".to_vec())
            } else if name.ends_with("公安局自评报告.pdf") {
                None
            } else {
                Some(bytes)
            }
        },
        Some(("2021年度质量工作考核迎检材料/多出来的.pdf", b"%PDF extra")),
    );
    let report = bundle::verify(&tampered).unwrap();
    assert!(!report.is_intact());
    assert_eq!(report.altered.len(), 1);
    assert!(report.altered[0].ends_with("02 文件 通知.pdf"));
    assert_eq!(report.missing, ["00 自评报告/公安局/公安局自评报告.pdf"]);
    assert_eq!(report.extra, ["多出来的.pdf"]);
    let cli = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .arg("verify-bundle")
        .arg(&tampered)
        .output()
        .unwrap();
    assert!(!cli.status.success());
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert!(
        stdout.contains("被改动：")
            && stdout.contains("缺少：00 自评报告")
            && stdout.contains("多出：多出来的.pdf"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert!(stderr.contains("与清单不符（缺少 1 个，多出 1 个，被改动 1 个）"), "{stderr}");
    // In English on request.
    let cli = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .args(["verify-bundle", "--lang", "en"])
        .arg(&tampered)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert!(stdout.contains("altered: ") && stdout.contains("extra: 多出来的.pdf"), "{stdout}");
    let not_zip = s.dir.path().join("not.zip");
    std::fs::write(&not_zip, b"hello").unwrap();
    assert!(bundle::verify(&not_zip).is_err());
    let cli = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .arg("verify-bundle")
        .arg(&not_zip)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert!(
        !cli.status.success() && stderr.contains("不是本系统生成的材料包：不是有效的 zip 文件"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_office_builds_lists_and_downloads_bundles_and_the_night_builds_only_on_change() {
    let (s, office) = city().await;
    let police = s.token(Some("police"), "pc-9").await;
    assert_eq!(
        s.req(Method::POST, "/api/v1/bundles", &police).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let r = s.req(Method::POST, "/api/v1/bundles", &office).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let info: serde_json::Value = r.json().await.unwrap();
    let name = info["name"].as_str().unwrap().to_string();
    let list: serde_json::Value =
        s.req(Method::GET, "/api/v1/bundles", &office).send().await.unwrap().json().await.unwrap();
    assert_eq!(list[0]["name"], name.as_str());
    let bytes = s
        .req(Method::GET, &format!("/api/v1/bundles/{name}"), &office)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len() as u64, info["size"].as_u64().unwrap());
    let r = s.req(Method::GET, "/api/v1/bundles/..%2Fyingjian.sqlite3", &office).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    assert_eq!(
        nightly::run_once(&s.state, &s.state.bundles, 7).await.unwrap(),
        None,
        "nothing changed since the last bundle"
    );
    s.file(&police, "11.02 公安打假/机构设置.pdf", &pdf("new")).await;
    let built =
        nightly::run_once(&s.state, &s.state.bundles, 1).await.unwrap().expect("a change means a new bundle");
    let kept: Vec<String> = s.state.bundles.list().unwrap().into_iter().map(|b| b.name).collect();
    assert_eq!(kept, std::slice::from_ref(&built), "keep = 1 prunes the older one");
    // Each run is audited, so the 打包 page shows the last one after a restart too.
    let runs: Vec<String> =
        s.state.db.audit_of("nightly", 5).await.unwrap().into_iter().map(|(_, what)| what).collect();
    assert_eq!(runs, [format!("已生成 {built}"), "材料没有变化，未重新打包".to_string()]);
}

#[tokio::test]
async fn the_configured_city_names_the_bundle_the_dashboard_and_the_bag() {
    let s = TestServer::with_config(|c| c.city = "平顶山市".into()).await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    s.file(&police, "自评报告/公安局自评报告.pdf", &pdf("report")).await;
    let out = s.dir.path().join("out");
    let built = bundle::Bundles::new(out).build(&s.state, "test", Layout::Plain, |_, _| {}).await.unwrap();
    let names = entries(&built.path);
    assert!(names.iter().all(|n| n.starts_with("平顶山市2021年度质量工作考核迎检材料/")), "{names:?}");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&built.path).unwrap()).unwrap();
    let mut bag = String::new();
    archive
        .by_name("平顶山市2021年度质量工作考核迎检材料/bag-info.txt")
        .unwrap()
        .read_to_string(&mut bag)
        .unwrap();
    assert!(bag.contains("Source-Organization: 平顶山市\n"), "{bag}");
    let mut toc = String::new();
    archive
        .by_name("平顶山市2021年度质量工作考核迎检材料/00 目录.html")
        .unwrap()
        .read_to_string(&mut toc)
        .unwrap();
    assert!(
        toc.contains("<h1>平顶山市迎接2021年度河南省政府质量工作考核印证材料目录</h1>"),
        "the 目录's title"
    );
    let page = s.req(Method::GET, "/overview", &office).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<h1>平顶山市2021年度质量工作考核"), "the dashboard's title");
}

/// What the 打包 page lists for the office to choose, and what the bundle then holds.
async fn questioned(s: &TestServer, cookie: &str) -> String {
    let r = s.client.get(s.url("/bundles")).header("cookie", cookie).send().await.unwrap();
    let html = r.text().await.unwrap();
    match html.split_once(r#"<table id="choices">"#) {
        Some((_, rest)) => rest.split("</table>").next().unwrap().to_string(),
        None => String::new(),
    }
}

async fn choose(s: &TestServer, cookie: &str, fields: &[(&str, &str)]) {
    let (status, _, body) = super::pages::post_form(s, cookie, "/choices", fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
}

#[tokio::test]
async fn nothing_with_a_question_over_it_goes_out_until_the_office_chooses_and_the_night_keeps_the_choice() {
    let (s, office) = city().await;
    let police = s.token(Some("police"), "pc-9").await;
    let cookie = super::pages::session(&s, &office).await;
    // Three questions: a returned notice, a picture without a caption, a page marked 秘密.
    let review = serde_json::json!({"department": "police", "path": "08.03 昆仑2021专项行动/文件/通知.pdf",
        "verdict": "returned", "reason": "缺少盖章页"});
    assert_eq!(
        s.req(Method::PUT, "/api/v1/reviews", &office).json(&review).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let marked = yingjian_aggregator::facts::Facts {
        read: yingjian_shared::ReadState::Done,
        classification: Some("秘密★1年".into()),
        ..Default::default()
    };
    let secret = pdf("draft");
    s.state
        .db
        .set_reading(super::sha(&secret), marked, String::new(), yingjian_aggregator::READER_VERSION)
        .await
        .unwrap();
    let listed = questioned(&s, &cookie).await;
    for (path, question) in [
        ("通知.pdf", "已退回、单位未答复：缺少盖章页"),
        ("IMG_0001.jpg", "图片缺少文字说明"),
        ("报告:草稿?.pdf", "标有密级：秘密★1年"),
    ] {
        let row =
            listed.split("<tr").find(|r| r.contains(path)).unwrap_or_else(|| panic!("{path}: {listed}"));
        assert!(row.contains(question) && row.contains("待确认（暂不报送）"), "{row}");
    }
    assert_eq!(listed.matches("<tr data-path").count(), 3, "{listed}");

    // Unchosen, none of them goes out: not in the zip, not in its 目录.
    let out = s.dir.path().join("out");
    let shelf = bundle::Bundles::new(out);
    let first =
        entries(&shelf.build(&s.state, "test", Layout::Plain, |_, _| {}).await.unwrap().path).join("\n");
    for name in ["通知.pdf", "IMG_0001", "草稿"] {
        assert!(!first.contains(name), "{name} went out unchosen: {first}");
    }
    assert!(first.contains("销毁现场.jpg"), "{first}");

    // The office sends the picture, leaves the notice out, and releases the marked page.
    choose(
        &s,
        &cookie,
        &[("department", "police"), ("path", "11.02 公安打假/IMG_0001.jpg"), ("choice", "send")],
    )
    .await;
    choose(
        &s,
        &cookie,
        &[
            ("department", "police"),
            ("path", "08.03 昆仑2021专项行动/文件/通知.pdf"),
            ("choice", "leave_out"),
        ],
    )
    .await;
    choose(&s, &cookie, &[("choice", "send")]).await;
    let listed = questioned(&s, &cookie).await;
    assert!(!listed.contains("待确认"), "{listed}");
    let notice = listed.split("<tr").find(|r| r.contains("通知.pdf")).unwrap();
    assert!(notice.contains(">不报送<") && notice.contains(r#"value="send""#), "{notice}");
    let second =
        entries(&shelf.build(&s.state, "test", Layout::Plain, |_, _| {}).await.unwrap().path).join("\n");
    assert!(
        second.contains("IMG_0001") && second.contains("草稿") && !second.contains("通知.pdf"),
        "{second}"
    );
    // Each choice is audited, the release as a release.
    let audit: Vec<String> =
        s.state.db.audit_of("choose", 10).await.unwrap().into_iter().map(|e| e.1).collect();
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert!(audit.iter().any(|d| d.ends_with("通知.pdf：不报送")), "{audit:?}");
    assert_eq!(s.state.db.audit_of("hold", 10).await.unwrap().len(), 1);

    // A new version of the returned notice answers the return: no longer questioned, it goes out,
    // in the night's bundle too.
    s.file(&police, "08.03 昆仑2021专项行动/文件/通知.pdf", &pdf("notice with its seal")).await;
    assert!(!questioned(&s, &cookie).await.contains("通知.pdf"));
    let night = nightly::run_once(&s.state, &s.state.bundles, 3).await.unwrap().expect("a change, a bundle");
    let night = entries(&s.state.bundles.dir().join(&night)).join("\n");
    assert!(night.contains("通知.pdf") && night.contains("IMG_0001"), "{night}");

    // A choice is for the version it was made on: a new picture at the path asks again.
    s.file(&police, "11.02 公安打假/IMG_0001.jpg", &jpeg("another camera")).await;
    let listed = questioned(&s, &cookie).await;
    assert!(listed.split("<tr").any(|r| r.contains("IMG_0001") && r.contains("待确认")), "{listed}");
    // Only the office chooses, and only for files that exist.
    let r = s
        .req(Method::PUT, "/api/v1/choices", &police)
        .json(
            &serde_json::json!({"department": "police", "path": "11.02 公安打假/IMG_0001.jpg", "send": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .req(Method::PUT, "/api/v1/choices", &office)
        .json(&serde_json::json!({"department": "police", "path": "11.02 公安打假/没有.jpg", "send": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_paper_scanned_twice_into_one_item_waits_for_the_office_to_choose_which_copy() {
    let (s, office) = city().await;
    let police = s.token(Some("police"), "pc-9").await;
    let cookie = super::pages::session(&s, &office).await;
    let (first, second, elsewhere) = (pdf("scan one"), pdf("scan two"), pdf("scan three"));
    s.file(&police, "08.03 昆仑2021专项行动/文件/扫描一.pdf", &first).await;
    s.file(&police, "08.03 昆仑2021专项行动/文件/扫描二.pdf", &second).await;
    s.file(&police, "11.02 公安打假/扫描三.pdf", &elsewhere).await;
    // What the reader says of three scans of one paper: the same text, so the same signature.
    for bytes in [&first, &second, &elsewhere] {
        let read = yingjian_aggregator::facts::Facts {
            read: yingjian_shared::ReadState::Done,
            text: yingjian_shared::TextSource::Ocr,
            signature: (0..128).collect(),
            ..Default::default()
        };
        let version = yingjian_aggregator::READER_VERSION;
        s.state.db.set_reading(super::sha(bytes), read, String::new(), version).await.unwrap();
    }
    let listed = questioned(&s, &cookie).await;
    for (name, other) in [("扫描一.pdf", "《扫描二.pdf》"), ("扫描二.pdf", "《扫描一.pdf》")]
    {
        let at = format!(r#" data-path="08.03 昆仑2021专项行动/文件/{name}""#);
        let row =
            listed.split("<tr").find(|r| r.starts_with(&at)).unwrap_or_else(|| panic!("{name}: {listed}"));
        assert!(row.contains(&format!("与同一事项中的公安局{other}为同一份材料的不同扫描件")), "{row}");
    }
    assert!(!listed.contains("扫描三"), "another item needs its own copy: {listed}");
    // The office keeps one: the bundle holds that one and the other item's.
    choose(
        &s,
        &cookie,
        &[("department", "police"), ("path", "08.03 昆仑2021专项行动/文件/扫描一.pdf"), ("choice", "send")],
    )
    .await;
    choose(
        &s,
        &cookie,
        &[
            ("department", "police"),
            ("path", "08.03 昆仑2021专项行动/文件/扫描二.pdf"),
            ("choice", "leave_out"),
        ],
    )
    .await;
    let shelf = bundle::Bundles::new(s.dir.path().join("out"));
    let names =
        entries(&shelf.build(&s.state, "test", Layout::Plain, |_, _| {}).await.unwrap().path).join("\n");
    assert!(names.contains("扫描一") && !names.contains("扫描二") && names.contains("扫描三"), "{names}");
}
