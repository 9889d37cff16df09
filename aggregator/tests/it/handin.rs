//! The hand-in as the province receives it: the 目录 read back by openpyxl (DA/T 22 columns,
//! page setup, 页数 and dates from the content) and printed by Chromium; the BagIt bag checked
//! by the Library of Congress validator (bagit.py); `verify-bundle` on folders, tag files and
//! names; the office's report kept apart.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::{Method, StatusCode};
use yingjian_aggregator::bundle::{self, Layout};

use super::{TestServer, jpeg_taken, pdf_pages, tiff_pages};

/// Names as clerks write them, with what the 目录 should read in them.
async fn city() -> (TestServer, String) {
    let s = TestServer::with_config(|c| {
        c.city = "平顶山市".into();
        c.reading.enabled = true;
    })
    .await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    let market = s.token(Some("market"), "pc-1").await;
    let item = "08.03 昆仑2021专项行动";
    let files: Vec<(&str, String, Vec<u8>)> = vec![
        (
            &police,
            format!("{item}/文件/平质强办〔2022〕1号 关于印发质量工作要点的通知.pdf"),
            pdf_pages("a", 3, None),
        ),
        (
            &police,
            format!("{item}/文件/01 会议纪要 2021.03.05.pdf"),
            pdf_pages("b", 2, Some("D:20210401090000+08'00'")),
        ),
        (
            &police,
            format!("{item}/文件/平顶山市人民政府关于加强质量工作的意见（平政[2021]12号）.pdf"),
            pdf_pages("c", 5, None),
        ),
        (&police, format!("{item}/文稿/工作总结.pdf"), pdf_pages("d", 7, Some("D:20211220"))),
        (&police, format!("{item}/图片/IMG_0001.jpg"), jpeg_taken("e", "2021:06:01 09:30:00")),
        (&police, format!("{item}/图片/20210305 现场检查.tif"), tiff_pages(1, 3)),
        (&police, format!("{item}/文件/检查记录.docx"), b"PK\x03\x04 not really a docx".to_vec()),
        (&police, "自评报告/公安局2021年度质量工作自评报告.pdf".into(), pdf_pages("f", 12, None)),
        (&market, "01.01 合格率/2021年3月 抽检结果.pdf".into(), pdf_pages("g", 1, None)),
    ];
    for (token, path, bytes) in files {
        assert!(s.file(token, &path, &bytes).await.is_success(), "{path}");
    }
    s.read_all(&office).await;
    // The camera-named picture has no caption: the office sends it all the same.
    let send = serde_json::json!({"department": "police", "path": format!("{item}/图片/IMG_0001.jpg"), "send": true});
    let r = s.req(Method::PUT, "/api/v1/choices", &office).json(&send).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    (s, office)
}

/// A 目录 row as expected: 题名, 档号, 文号, 责任者, 日期, 页数.
type Expected<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, Option<&'a str>, Option<u64>);

fn python(script: &str, args: &[&Path]) -> String {
    let out = Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3");
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn unzip(zip: &Path, into: &Path) {
    python("import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])", &[zip, into]);
}

/// What a person looks at: printouts land in target/handin/.
fn printouts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/handin");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn the_toc_is_an_archival_catalogue_that_prints() {
    let (s, _) = city().await;
    let built = bundle::Bundles::new(s.dir.path().join("out"))
        .build(&s.state, "test", Layout::Plain, |_, _| {})
        .await
        .unwrap();
    let script = r"
import io, json, sys, zipfile
import openpyxl
z = zipfile.ZipFile(sys.argv[1])
root = z.namelist()[0].split('/')[0] + '/'
book = openpyxl.load_workbook(io.BytesIO(z.read(root + '00 目录.xlsx')))
assert book.sheetnames == ['目录'], 'the 目录 prints alone: %s' % book.sheetnames
ws = book['目录']
# A Chinese font declared with its character set, so LibreOffice prints Chinese glyph forms.
assert (ws['A1'].font.name, ws['A1'].font.charset) == ('宋体', 134), (ws['A1'].font.name, ws['A1'].font.charset)
assert ws.column_dimensions['H'].width >= 24, 'the 起止页 on one line'
checks_book = openpyxl.load_workbook(io.BytesIO(z.read(root + '00 校验信息.xlsx')))
assert ws['A1'].value == '平顶山市迎接2021年度河南省政府质量工作考核印证材料目录', ws['A1'].value
assert [c.value for c in ws[2]] == ['序号', '档号', '文号', '责任者', '题名', '日期', '页数', '起止页', '备注']
for sheet in book.worksheets + checks_book.worksheets:
    setup = sheet.page_setup
    assert setup.orientation == 'landscape' and str(setup.paperSize) == '9', (setup.orientation, setup.paperSize)
    # fitToWidth is left out when 1, its default in OOXML (ECMA-376 §18.3.1.63).
    fit = (sheet.sheet_properties.pageSetUpPr.fitToPage, setup.fitToWidth or 1, setup.fitToHeight)
    assert fit == (True, 1, 0), fit
    assert sheet.print_title_rows in ('2:2', '$2:$2'), sheet.print_title_rows
    assert '第 &P 页 共 &N 页' in sheet.oddFooter.center.text, sheet.oddFooter.center.text
rows, headings = {}, []
for row in ws.iter_rows(min_row=3):
    if row[0].value is None or isinstance(row[0].value, str):
        headings.append(row[0].value)
        continue
    assert all(c.border.left.style == 'thin' for c in row), 'borders'
    assert isinstance(row[0].value, int), 'numbers stored as numbers'
    rows[row[4].value] = [c.value for c in row]
checks = [[c.value for c in r] for r in checks_book['校验信息'].iter_rows(min_row=3)]
text = ' '.join(str(c.value) for r in ws.iter_rows() for c in r)
assert 'SHA' not in text and not any(len(str(c.value)) == 64 for r in ws.iter_rows() for c in r), 'hashes are in 校验信息 only'
print(json.dumps({'rows': rows, 'headings': headings, 'checks': checks}, ensure_ascii=False))
";
    let read: serde_json::Value = serde_json::from_str(&python(script, &[&built.path])).unwrap();
    let row = |title: &str| -> Vec<serde_json::Value> {
        read["rows"][title].as_array().unwrap_or_else(|| panic!("{title} in {}", read["rows"])).clone()
    };
    // (题名, 档号, 文号, 责任者, 日期, 页数): what the clerk wrote in the name, what the content
    // says; never a file's own dates (a PDF's creation date, a photo's EXIF are not 成文日期).
    let expected: [Expected; 9] = [
        ("公安局2021年度质量工作自评报告", "00.01-001", None, "平顶山市公安局", None, Some(12)),
        ("2021年3月 抽检结果", "01.01-001", None, "平顶山市市场监督管理局", Some("202103"), Some(1)),
        ("会议纪要 2021.03.05", "08.03-001", None, "平顶山市公安局", Some("20210305"), Some(2)),
        (
            "平质强办〔2022〕1号 关于印发质量工作要点的通知",
            "08.03-002",
            Some("平质强办〔2022〕1号"),
            "平顶山市公安局",
            None,
            Some(3),
        ),
        (
            "平顶山市人民政府关于加强质量工作的意见（平政[2021]12号）",
            "08.03-003",
            Some("平政〔2021〕12号"),
            "平顶山市人民政府",
            None,
            Some(5),
        ),
        ("检查记录", "08.03-004", None, "平顶山市公安局", None, None),
        ("工作总结", "08.03-005", None, "平顶山市公安局", None, Some(7)),
        ("20210305 现场检查", "08.03-006", None, "平顶山市公安局", Some("20210305"), Some(3)),
        // Only EXIF, no picture in it: nothing to count, so 页数 is left blank.
        ("IMG_0001", "08.03-007", None, "平顶山市公安局", None, None),
    ];
    for (title, reference, number, author, date, pages) in expected {
        let r = row(title);
        assert_eq!(r[1], reference, "{title}: 档号");
        assert_eq!(r[2].as_str(), number, "{title}: 文号");
        assert_eq!(r[3], author, "{title}: 责任者");
        assert_eq!(r[5].as_str(), date, "{title}: 日期");
        assert_eq!(r[6].as_u64(), pages, "{title}: 页数");
    }
    let headings = read["headings"].to_string();
    assert!(
        headings.contains("08.03 ") && headings.contains("责任单位：公安局"),
        "item headings: {headings}"
    );
    assert!(headings.contains("自评报告"), "{headings}");
    let checks = read["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 9);
    assert!(checks.iter().all(|c| c[4].as_str().is_some_and(|h| h.len() == 64) && c[3].is_u64()));

    // The HTML 目录 as Chromium prints it: A4 landscape, numbered pages, the header repeated.
    let dir = tempfile::tempdir().unwrap();
    unzip(&built.path, dir.path());
    let html = dir.path().join("平顶山市2021年度质量工作考核迎检材料/00 目录.html");
    let xlsx = dir.path().join("平顶山市2021年度质量工作考核迎检材料/00 目录.xlsx");
    std::fs::copy(&xlsx, printouts().join("目录.xlsx")).unwrap();
    super::pages::snapshot("bundle_toc", &std::fs::read_to_string(&html).unwrap());
    let pdf = printouts().join("目录.pdf");
    let _ = std::fs::remove_file(&pdf);
    let chromium = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer"])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(&html)
        .output()
        .expect("chromium");
    assert!(pdf.exists(), "chromium printed nothing: {}", String::from_utf8_lossy(&chromium.stderr));
    let info = String::from_utf8(Command::new("pdfinfo").arg(&pdf).output().unwrap().stdout).unwrap();
    assert!(info.contains("841.92 x 594.96 pts (A4)"), "A4 landscape: {info}");
    let text =
        String::from_utf8(Command::new("pdftotext").arg(&pdf).arg("-").output().unwrap().stdout).unwrap();
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(squeezed.contains("第1页共1页"), "the page number in the footer: {text}");
    assert!(squeezed.contains("平质强办〔2022〕1号"), "{text}");
    // For a person to look at.
    let png = Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(printouts().join("目录"))
        .status();
    assert!(png.unwrap().success());
}

#[tokio::test]
async fn the_bagit_bag_validates_and_verify_bundle_reads_folders_tags_and_names() {
    let (s, _) = city().await;
    let out = s.dir.path().join("out");
    let plain =
        bundle::Bundles::new(out.clone()).build(&s.state, "test", Layout::Plain, |_, _| {}).await.unwrap();
    let bag =
        bundle::Bundles::new(out.clone()).build(&s.state, "test", Layout::BagIt, |_, _| {}).await.unwrap();
    assert!(bag.name.ends_with("-bagit.zip"), "{}", bag.name);
    assert_eq!(plain.name.replace(".zip", "-bagit.zip"), bag.name, "one state, one fingerprint");

    // The Library of Congress validator accepts the bag as unpacked.
    let dir = tempfile::tempdir().unwrap();
    unzip(&bag.path, dir.path());
    let root = dir.path().join("平顶山市2021年度质量工作考核迎检材料");
    let validate = "import sys, bagit; b = bagit.Bag(sys.argv[1]); b.validate(); print(b.info['Source-Organization'], b.info['Bagging-Date'], b.info['Payload-Oxum'])";
    let said = python(validate, &[&root]);
    assert!(said.starts_with("平顶山市 "), "{said}");
    assert!(root.join("data/00 目录.xlsx").exists());
    // The index a receiving system imports: a tag file the bag's tag manifest covers, a row a
    // payload file with its 目录 fields, and its hash the payload manifest's.
    let index = r"
import csv, hashlib, json, sys
root = sys.argv[1]
rows = list(csv.DictReader(open(root + '/file-index.csv', encoding='utf-8', newline='')))
tags = dict(l.split('  ', 1)[::-1] for l in open(root + '/tagmanifest-sha256.txt', encoding='utf-8').read().splitlines())
assert tags['file-index.csv'] == hashlib.sha256(open(root + '/file-index.csv', 'rb').read()).hexdigest()
manifest = dict(l.split('  ', 1)[::-1] for l in open(root + '/manifest-sha256.txt', encoding='utf-8').read().splitlines())
assert all(manifest['data/' + r['path']] == r['sha256'] for r in rows), 'every row is a payload file'
print(json.dumps(rows, ensure_ascii=False))
";
    let rows: Vec<serde_json::Value> = serde_json::from_str(&python(index, &[&root])).unwrap();
    assert_eq!(rows.len(), 9, "{rows:?}");
    let notice = rows.iter().find(|r| r["title"].as_str().unwrap().contains("质量工作要点")).unwrap();
    assert_eq!(
        (&notice["item"], &notice["kind"], &notice["doc_number"], &notice["author"], &notice["pages"]),
        (
            &serde_json::json!("8.3"),
            &serde_json::json!("document"),
            &serde_json::json!("平质强办〔2022〕1号"),
            &serde_json::json!("平顶山市公安局"),
            &serde_json::json!("3")
        ),
        "{notice}"
    );
    let v = bundle::verify(&bag.path).unwrap();
    assert!(v.is_intact() && v.layout == Layout::BagIt, "{v:?}");
    assert_eq!(v.fingerprint.as_ref().map(|f| f.1), Some(true));

    // verify-bundle takes the unpacked folder too, and names an edited bag-info.txt.
    let plain_dir = tempfile::tempdir().unwrap();
    unzip(&plain.path, plain_dir.path());
    let plain_root = plain_dir.path().join("平顶山市2021年度质量工作考核迎检材料");
    let v = bundle::verify(&plain_root).unwrap();
    assert!(v.is_intact() && v.files == 13, "{v:?}");
    // A file a Mac's Finder leaves behind is not part of the bundle: named, with what it is.
    let finder = plain_root.join(".DS_Store");
    std::fs::write(&finder, b"Bud1").unwrap();
    let v = bundle::verify(&plain_root).unwrap();
    assert!(!v.is_intact() && v.extra == [".DS_Store"], "{v:?}");
    let said = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .arg("verify-bundle")
        .arg(&plain_root)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&said.stdout).contains("多出：.DS_Store（文件管理器生成的系统文件"),
        "{said:?}"
    );
    std::fs::remove_file(&finder).unwrap();
    let info = plain_root.join("bag-info.txt");
    let edited = std::fs::read_to_string(&info).unwrap().replace("平顶山市", "洛阳市");
    std::fs::write(&info, edited).unwrap();
    let cli = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .arg("verify-bundle")
        .arg(&plain_root)
        .output()
        .unwrap();
    assert!(!cli.status.success());
    assert!(
        String::from_utf8_lossy(&cli.stdout).contains("被改动：bag-info.txt"),
        "{}",
        String::from_utf8_lossy(&cli.stdout)
    );
    std::fs::write(
        root.join("bag-info.txt"),
        std::fs::read_to_string(root.join("bag-info.txt")).unwrap() + "Contact-Name: x\n",
    )
    .unwrap();
    assert!(!bundle::verify(&root).unwrap().is_intact(), "the bag's tag manifest covers bag-info.txt too");

    // The name's fingerprint: a renamed copy with another one is caught, a plain rename is not.
    let named = bundle::NameParts::of(&plain.name).unwrap().fingerprint.to_string();
    let forged = out.join(plain.name.replace(&named, "00000000"));
    std::fs::copy(&plain.path, &forged).unwrap();
    let v = bundle::verify(&forged).unwrap();
    assert_eq!(v.fingerprint, Some(("00000000".to_string(), false)));
    assert!(!v.is_intact());
    let renamed = out.join("平顶山市材料.zip");
    std::fs::copy(&plain.path, &renamed).unwrap();
    let v = bundle::verify(&renamed).unwrap();
    assert!(v.is_intact() && v.fingerprint.is_none(), "{v:?}");
    // A name of the kind bundles had before the state's fingerprint: its files are checked.
    let older = out.join("yingjian-2021-20220117-173000-00000000.zip");
    std::fs::copy(&plain.path, &older).unwrap();
    let v = bundle::verify(&older).unwrap();
    assert!(v.is_intact() && v.fingerprint.is_none(), "{v:?}");
}

#[tokio::test]
async fn the_office_report_stays_home() {
    let (s, office) = city().await;
    let out = s.dir.path().join("reports");
    let cli = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .args(["report", "--data"])
        .arg(s.dir.path().join("data"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let paths: Vec<PathBuf> = String::from_utf8(cli.stdout).unwrap().lines().map(PathBuf::from).collect();
    assert_eq!(paths.len(), 2);
    let script = r"
import sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1])
print(book.sheetnames)
for row in book['完成情况'].iter_rows(min_row=3, values_only=True):
    print(row)
";
    let read = python(script, &[&paths[0]]);
    assert!(read.starts_with("['完成情况', '仍缺材料', '待完善']"), "{read}");
    assert!(read.contains("('公安局', 5, "), "points are numbers: {read}");
    let html = std::fs::read_to_string(&paths[1]).unwrap();
    assert!(html.contains("仍缺材料的事项") && html.contains("不随材料包报送"));

    // The 打包 page offers it to the office only.
    let police = s.token(Some("police"), "pc-2").await;
    let r = s.req(Method::GET, "/bundles/report.xlsx", &police).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s.req(Method::GET, "/bundles/report.xlsx", &office).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    let page = s.req(Method::GET, "/bundles", &office).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/bundles/report.html") && page.contains("value=\"bagit\""));
}
