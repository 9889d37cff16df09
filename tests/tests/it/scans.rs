//! Scans fit to hand in (DA/T 31-2017), through the real agent and server: the labelled scans
//! (a clean 300-dpi scan and a rescan of the same paper, a clean 200-dpi scan, a 100-dpi scan, a
//! grey scan of a red-header notice, an inserted blank page, a 4° skew, a blurred phone photo)
//! dropped into a clerk's folder are each flagged with their code and no clean scan is; the
//! rescans are grouped; the clerk's 迎检待办.txt names each bad scan; and the office leaves the
//! blank page out of the printout (audited) while the electronic file keeps it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fantoccini::Locator;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use yingjian_aggregator::bundle::NameParts;
use yingjian_aggregator::print::Of;
use yingjian_reader::corpus;
use yingjian_reader::quality::Code;
use yingjian_shared::TODO_FILE;
use yingjian_tests::{Aggregator, Bundle, DeptAgent, eventually_within, temp};

use super::dashboard::{browser, click, login, screenshot};

/// OCR and the checks take seconds of CPU a page; a loaded two-core machine may take much longer.
const READING: Duration = Duration::from_mins(10);

fn wire(code: Code) -> &'static str {
    match code {
        Code::LowResolution => "low_resolution",
        Code::ColourLost => "colour_lost",
        Code::BlankPage => "blank_page",
        Code::Skewed => "skewed",
        Code::Blurred => "blurred",
        Code::TooDark => "too_dark",
    }
}

fn pages_of(pdf: &Path) -> usize {
    let info = String::from_utf8(Command::new("pdfinfo").arg(pdf).output().unwrap().stdout).unwrap();
    info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap()
}

/// Every questioned file sent and every 密级 hold released, as an office that checked them does:
/// the whole labelled set goes on paper.
async fn send_everything(client: &Client, server: &Aggregator, office: &str) {
    let base = server.url();
    let choices = server.get("/api/v1/choices", office).await;
    for c in choices.as_array().unwrap() {
        let body = json!({"department": c["department"], "path": c["path"], "send": true});
        let r = client
            .put(format!("{base}/api/v1/choices"))
            .bearer_auth(office)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{c}");
    }
    let status = server.get("/api/v1/status", office).await;
    for h in status["held"].as_array().unwrap() {
        let body = json!({"department": h["department"], "path": h["path"], "release": true});
        let r =
            client.put(format!("{base}/api/v1/holds")).bearer_auth(office).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{h}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_scans_are_flagged_told_to_the_clerk_and_a_blank_page_left_off_the_paper() {
    let dir = temp();
    let made = dir.path().join("made");
    std::fs::create_dir_all(&made).unwrap();
    let set = corpus::labelled_set(3, &made).unwrap();

    let server = Aggregator::start_with(&dir.path().join("data"), |c| c.reading.enabled = true).await;
    let (base, client) = (server.url(), Client::new());
    let token = server.token(Some("police")).await;
    let office = server.token(None).await;
    let mut agent = DeptAgent::prepare(dir.path(), "police", &base, &token);
    let item = agent.item("08.03");
    let folder = item.file_name().unwrap().to_str().unwrap().to_string();
    std::fs::create_dir_all(item.join("文件")).unwrap();
    let paths: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let ext = l.path.extension().unwrap().to_str().unwrap();
            let name = format!("扫描件{:02}.{ext}", i + 1);
            std::fs::copy(&l.path, item.join("文件").join(&name)).unwrap();
            format!("{folder}/文件/{name}")
        })
        .collect();
    agent.start().await;

    let list: Vec<Value> = eventually_within(READING, "every scan delivered and checked", || async {
        let list = server.get("/api/v1/evidence", &token).await.as_array()?.clone();
        (list.len() == set.len() && list.iter().all(|e| e["facts"]["read"] == "done")).then_some(list)
    })
    .await;
    let facts = |path: &str| &list.iter().find(|e| e["path"] == path).unwrap()["facts"];
    for (l, path) in set.iter().zip(&paths) {
        let found: Vec<(String, u64)> = facts(path)["quality"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| (q["code"].as_str().unwrap().to_string(), q["page"].as_u64().unwrap()))
            .collect();
        if l.expected.is_empty() {
            assert!(found.is_empty(), "{}: a clean scan is not flagged, found {found:?}", l.name);
        }
        // Nothing it does not have: a colour scan's page of black text alone is not 「颜色丢失」.
        // A phone photo has no scanner's resolution: its pixels over an A4 page may also say
        // 「分辨率低」.
        let photo = l.path.extension().is_some_and(|e| e == "jpg");
        for (code, _) in &found {
            assert!(
                l.expected.iter().any(|e| wire(e.0) == code) || (photo && code == "low_resolution"),
                "{}: {code} is not what is wrong with it, found {found:?}",
                l.name
            );
        }
        for (code, page) in &l.expected {
            assert!(
                found.contains(&(wire(*code).to_string(), u64::from(*page))),
                "{}: {code:?} on page {page}, found {found:?}",
                l.name
            );
        }
    }
    // The rescan of the same paper, and nothing else, grouped with the clean scan.
    let twins: Vec<&str> = facts(&paths[0])["near_duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["path"].as_str().unwrap())
        .collect();
    assert_eq!(twins, [paths[1].as_str()], "the rescan pair");
    // On the overview, as two scans of one paper (they were read by OCR).
    let overview = server.page(&office, "/overview").await;
    let name = paths[1].rsplit('/').next().unwrap();
    assert!(overview.contains(&format!("的《{name}》为同一份材料的不同扫描件")), "{overview}");

    // The clerk reads each bad scan named in the to-do file, with what to do.
    let todo = agent.folder.join(TODO_FILE);
    let bad: Vec<&String> =
        set.iter().zip(&paths).filter(|(l, _)| !l.expected.is_empty()).map(|(_, p)| p).collect();
    let text = eventually_within(READING, "every bad scan in the to-do file", || async {
        let text = std::fs::read_to_string(&todo).ok()?;
        bad.iter().all(|p| text.contains(p.as_str())).then_some(text)
    })
    .await;
    assert!(text.contains("第2页为空白页"), "{text}");
    assert!(text.contains("红头文件请用彩色扫描"), "{text}");
    for (l, path) in set.iter().zip(&paths) {
        if l.expected.is_empty() {
            assert!(!text.contains(path.as_str()), "{}: a clean scan is not named: {text}", l.name);
        }
    }

    // The paper of record, then again without the blank page.
    send_everything(&client, &server, &office).await;
    let volume = "03 质量安全监管.pdf";
    let out = dir.path().join("print");
    yingjian_aggregator::print::build(&server.state, &out, Of::Record).await.unwrap();
    let with_blank = pages_of(&out.join(volume));
    let before = Bundle::build(&base, &office).await.name;
    let blank = &paths[set.iter().position(|l| l.expected.iter().any(|e| e.0 == Code::BlankPage)).unwrap()];
    let omit = |path: &str, omit: bool| {
        let body = json!({"department": "police", "path": path, "omit": omit});
        client.put(format!("{base}/api/v1/blank-pages")).bearer_auth(office.clone()).json(&body).send()
    };
    // Refused for a file without a blank page, and for a department.
    assert_eq!(omit(&paths[0], true).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    let by_clerk = client
        .put(format!("{base}/api/v1/blank-pages"))
        .bearer_auth(&token)
        .json(&json!({"department": "police", "path": blank, "omit": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_clerk.status(), StatusCode::FORBIDDEN);
    assert_eq!(omit(blank, true).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(server.audit_count(&office, "blank_pages").await, 1);
    let listed = server.get("/api/v1/evidence", &token).await;
    let entry = listed.as_array().unwrap().iter().find(|e| e["path"] == blank.as_str()).unwrap();
    assert_eq!(entry["facts"]["unprinted_pages"], json!([2]), "{entry}");

    yingjian_aggregator::print::build(&server.state, &out, Of::Record).await.unwrap();
    assert_eq!(pages_of(&out.join(volume)), with_blank - 1, "one page fewer on paper");
    // Its 目录 still counts the file's two pages, one of them on paper (起止页 a single page).
    let position = set.iter().position(|l| l.expected.iter().any(|e| e.0 == Code::BlankPage)).unwrap();
    let reference = format!("08.03-{:03}", position + 1);
    let text = Command::new("pdftotext")
        .args(["-layout", "-f", "2", "-l", "2"])
        .arg(out.join(volume))
        .arg("-")
        .output();
    let text = String::from_utf8(text.unwrap().stdout).unwrap();
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.contains(&reference))
        .unwrap_or_else(|| panic!("{reference}: {text}"))
        .split_whitespace()
        .collect();
    assert!(row.windows(2).any(|w| w[0] == "2" && w[1].parse::<u32>().is_ok()), "页数 2, one page: {row:?}");
    // The 目录, with the 备注, for a person to look at (target/print/scans-toc-02.png).
    let look = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/print");
    std::fs::create_dir_all(&look).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "72", "-f", "2", "-l", "2"])
        .arg(out.join(volume))
        .arg(look.join("scans-toc"))
        .status()
        .unwrap();
    assert!(status.success());
    // The item page says so beside the finding and its page, with the form to print it again
    // (looked at in target/screenshots/item-scans.png).
    let (_driver, browser) = browser(&dir.path().join("profile")).await;
    login(&browser, &server, &office).await;
    eventually_within(READING, "logged in", || async {
        (browser.current_url().await.ok()?.path() != "/login").then_some(())
    })
    .await;
    browser.goto(&format!("{base}/items/8.3")).await.unwrap();
    let restore = "form[action='/blank-pages'] button[value=false]";
    // The page refreshes itself whenever the server announces a change (the reading of the other
    // files goes on): what is found in it is looked up afresh each time, never held.
    let shown = eventually_within(READING, "the item page with its form", || async {
        browser.find(Locator::Css(restore)).await.ok()?;
        browser.find(Locator::Css("body")).await.ok()?.text().await.ok()
    })
    .await;
    assert!(shown.contains("纸质版已略去空白页（第2页），电子版保留原件"), "{shown}");
    assert!(shown.contains("第2页为空白页"), "{shown}");
    // The thumbnails load as they come into view: each one in view drawn before the picture.
    let drawn = "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});
        return Array.from(document.querySelectorAll('img.thumb'))
        .filter(i => { const r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; })
        .every(i => i.complete && i.naturalWidth > 0)";
    eventually_within(READING, "the thumbnails in view", || async {
        (browser.execute(drawn, vec![json!(restore)]).await.ok()? == json!(true)).then_some(())
    })
    .await;
    screenshot(&browser, "item-scans").await;
    // The 目录 says why the file has a page fewer on paper; the zip keeps the whole file.
    let mut bundle = Bundle::build(&base, &office).await;
    // Another paper, another state: the fingerprint says so.
    let fingerprint = |name: &str| NameParts::of(name).unwrap().fingerprint.to_string();
    assert_ne!(fingerprint(&bundle.name), fingerprint(&before), "{} / {before}", bundle.name);
    let toc = bundle.toc();
    assert!(toc.contains("第2页为空白页，纸质版未打印"), "{toc}");
    let original =
        std::fs::read(&set.iter().find(|l| l.expected.iter().any(|e| e.0 == Code::BlankPage)).unwrap().path)
            .unwrap();
    let bytes = bundle.file(blank.rsplit('/').next().unwrap());
    assert_eq!(bytes, original, "the electronic file keeps every page");

    // Taken back from the item page: the page is on paper again.
    click(&browser, restore).await;
    eventually_within(READING, "the blank page printed again", || async {
        let listed = server.get("/api/v1/evidence", &token).await;
        let entry = listed.as_array()?.iter().find(|e| e["path"] == blank.as_str())?.clone();
        entry["facts"].get("unprinted_pages").is_none().then_some(())
    })
    .await;
    assert_eq!(server.audit_count(&office, "blank_pages").await, 2);
    yingjian_aggregator::print::build(&server.state, &out, Of::Record).await.unwrap();
    assert_eq!(pages_of(&out.join(volume)), with_blank);
    agent.stop().await;
}
