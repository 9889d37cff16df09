//! Reading every file through the real server and its worker: documents made as departments make
//! them (LibreOffice red-header notices, scans of them, Word files), their fields in the evidence
//! list and the bundle's 目录, a 密级 mark held until the office releases it, the office's
//! corrections, and search that finds words only OCR saw, never in another department's files.

use std::path::Path;
use std::time::Duration;

use fantoccini::Locator;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use yingjian_reader::corpus::{self, Degrade, Spec, Truth};
use yingjian_tests::{Aggregator, Bundle, deliver, eventually_within, temp};

use super::dashboard::{browser, login, screenshot};

/// OCR of a page takes a few CPU-seconds; a loaded two-core machine may take much longer.
const READING: Duration = Duration::from_mins(10);

/// A server that reads, its OCR models taken from their folder as the Debian package's server
/// does (the other servers of the tests use the models inside the binary).
async fn reading_server(data: &Path) -> Aggregator {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reader/models");
    Aggregator::start_with(data, |c| {
        c.reading.enabled = true;
        c.reading.models = Some(models);
    })
    .await
}

/// The department's evidence list once every file has been read.
async fn read_list(server: &Aggregator, token: &str, files: usize) -> Vec<Value> {
    eventually_within(READING, "every file read", || async {
        let list = server.get("/api/v1/evidence", token).await;
        let list = list.as_array()?.clone();
        (list.len() == files && list.iter().all(|e| e["facts"]["read"] != "queued")).then_some(list)
    })
    .await
}

fn facts_of<'a>(list: &'a [Value], path: &str) -> &'a Value {
    &list.iter().find(|e| e["path"] == path).unwrap_or_else(|| panic!("{path} is listed"))["facts"]
}

fn assert_fields(facts: &Value, truth: &Truth, what: &str) {
    assert_eq!(facts["read"], "done", "{what}: {facts}");
    assert_eq!(facts["doc_number"].as_str(), truth.doc_number.as_deref(), "{what}: 文号 {facts}");
    assert_eq!(facts["date"].as_str(), Some(truth.date.as_str()), "{what}: 日期 {facts}");
    assert_eq!(facts["issuer"].as_str(), Some(truth.issuer.as_str()), "{what}: 责任者 {facts}");
    // A .docx LibreOffice saved carries no page count: the reading lays it out to count them.
    assert_eq!(facts["pages"].as_u64(), Some(u64::from(truth.pages)), "{what}: 页数 {facts}");
}

async fn put(client: &Client, base: &str, path: &str, token: &str, body: Value) -> StatusCode {
    client.put(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_read_into_their_fields_the_catalogue_and_search() {
    let dir = temp();
    let made = dir.path().join("made");
    std::fs::create_dir_all(&made).unwrap();
    // A notice as LibreOffice writes it, a grey 200-dpi scan of another with a seal over the
    // date, and a Word file.
    // Unmarked: a 密级 mark would hold them out of the 目录 (the next test is about that).
    let unmarked = |seed| Spec { classification: None, ..Spec::random(seed).one_page() };
    let (notice, scanned, word) = (unmarked(11), unmarked(12), unmarked(13));
    let (notice_pdf, notice_truth) = corpus::text_pdf(&notice, &made).unwrap();
    let (scan_pdf, scan_truth) = corpus::scanned_pdf(&scanned, &made, 200, &Degrade::CLEAN).unwrap();
    let (docx, docx_truth) = corpus::docx(&word, &made).unwrap();

    let server = reading_server(&dir.path().join("data")).await;
    let (base, client) = (server.url(), Client::new());
    let market = server.token(Some("market")).await;
    let police = server.token(Some("police")).await;
    let office = server.token(None).await;
    let files = [
        ("01.01 制造业产品质量合格率/文件/通知.pdf", &notice_pdf),
        ("01.01 制造业产品质量合格率/文件/扫描件.pdf", &scan_pdf),
        ("01.01 制造业产品质量合格率/文稿/方案.docx", &docx),
    ];
    for (path, file) in files {
        deliver(&client, &base, &market, path, &std::fs::read(file).unwrap()).await.unwrap();
    }
    let list = read_list(&server, &market, files.len()).await;
    assert_fields(facts_of(&list, files[0].0), &notice_truth, "text layer");
    assert_eq!(facts_of(&list, files[0].0)["text"], "layer");
    assert_fields(facts_of(&list, files[1].0), &scan_truth, "OCR of a scan");
    assert_eq!(facts_of(&list, files[1].0)["text"], "ocr");
    assert_fields(facts_of(&list, files[2].0), &docx_truth, "Word");

    let status = server.get("/api/v1/status", &office).await;
    assert_eq!(status["analysis"], json!({"queued": 0, "done": 3, "failed": 0}));

    // The 目录 takes 文号 and 日期 from the documents, never the scan day.
    let toc = Bundle::build(&base, &office).await.toc();
    for truth in [&notice_truth, &scan_truth, &docx_truth] {
        assert!(
            toc.contains(truth.doc_number.as_deref().unwrap()),
            "{:?} in the 目录: {toc}",
            truth.doc_number
        );
        assert!(toc.contains(&truth.date.replace('-', "")), "{} in the 目录", truth.date);
    }

    // A phrase only OCR saw is found by the office and by its department, never by another.
    let phrase: String = scanned.paragraphs[0].chars().skip(4).take(6).collect();
    let url = format!(
        "/api/v1/search?q={}",
        percent_encoding::utf8_percent_encode(&phrase, percent_encoding::NON_ALPHANUMERIC)
    );
    let hits = server.get(&url, &office).await;
    assert!(hits.as_array().unwrap().iter().any(|h| h["path"] == files[1].0), "{phrase}: {hits}");
    assert!(hits[0]["snippet"].as_str().unwrap().contains(&format!("【{phrase}】")), "{hits}");
    let own = server.get(&url, &market).await;
    assert!(!own.as_array().unwrap().is_empty());
    let other = server.get(&url, &police).await;
    assert_eq!(other, json!([]), "another department finds nothing");

    // The office corrects a 题名; the correction is what the list and the 目录 say from then on.
    let corrected = "关于开展2021年质量月活动的通知（更正）";
    let r = put(
        &client,
        &base,
        "/api/v1/facts",
        &office,
        json!({"department": "market", "path": files[0].0, "field": "title", "value": corrected}),
    )
    .await;
    assert_eq!(r, StatusCode::NO_CONTENT);
    let r = put(
        &client,
        &base,
        "/api/v1/facts",
        &market,
        json!({"department": "market", "path": files[0].0, "field": "title", "value": "x"}),
    )
    .await;
    assert_eq!(r, StatusCode::FORBIDDEN, "a department corrects nothing");
    let list = server.get("/api/v1/evidence", &market).await;
    let facts = facts_of(list.as_array().unwrap(), files[0].0);
    assert_eq!(facts["title"], corrected);
    assert_eq!(facts["sources"]["title"], "office");
    let toc = Bundle::build(&base, &office).await.toc();
    assert!(toc.contains(corrected));
    assert_eq!(server.audit_count(&office, "correct").await, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classified_file_is_held_out_of_the_hand_in_until_the_office_releases_it() {
    let dir = temp();
    let made = dir.path().join("made");
    std::fs::create_dir_all(&made).unwrap();
    let mut secret = Spec::random(21).one_page();
    secret.classification = Some("秘密★1年".into());
    // A body that only says it holds no secret is not classified.
    let mut plain = Spec::random(22).one_page();
    plain.classification = None;
    plain.paragraphs.push("本材料内容不涉密。".into());
    let (secret_pdf, _) = corpus::text_pdf(&secret, &made).unwrap();
    let (plain_pdf, _) = corpus::text_pdf(&plain, &made).unwrap();

    let server = reading_server(&dir.path().join("data")).await;
    let (base, client) = (server.url(), Client::new());
    let market = server.token(Some("market")).await;
    let office = server.token(None).await;
    let secret_path = "01.01 制造业产品质量合格率/文件/会议纪要.pdf";
    let plain_path = "01.01 制造业产品质量合格率/文件/通知.pdf";
    deliver(&client, &base, &market, secret_path, &std::fs::read(&secret_pdf).unwrap()).await.unwrap();
    deliver(&client, &base, &market, plain_path, &std::fs::read(&plain_pdf).unwrap()).await.unwrap();
    let list = read_list(&server, &market, 2).await;
    assert_eq!(facts_of(&list, secret_path)["classification"], "秘密★1年");
    assert_eq!(facts_of(&list, plain_path)["classification"], Value::Null);

    let status = server.get("/api/v1/status", &office).await;
    assert_eq!(
        status["held"],
        json!([{"department": "market", "path": secret_path, "classification": "秘密★1年"}])
    );
    let own = server.get("/api/v1/status", &market).await;
    assert_eq!(own["held"].as_array().unwrap().len(), 1, "the department is told too");
    let names = Bundle::build(&base, &office).await.names;
    assert!(!names.iter().any(|n| n.contains("会议纪要")), "held out: {names:?}");
    assert!(names.iter().any(|n| n.contains("通知")));
    let page = server.page(&office, "/overview").await;
    assert!(page.contains("标有密级") && page.contains("会议纪要.pdf"));

    // Only the office releases, and it is audited.
    let release = json!({"department": "market", "path": secret_path, "release": true});
    assert_eq!(put(&client, &base, "/api/v1/holds", &market, release.clone()).await, StatusCode::FORBIDDEN);
    assert_eq!(put(&client, &base, "/api/v1/holds", &office, release).await, StatusCode::NO_CONTENT);
    let status = server.get("/api/v1/status", &office).await;
    assert_eq!(status["held"], json!([]));
    let names = Bundle::build(&base, &office).await.names;
    assert!(names.iter().any(|n| n.contains("会议纪要")), "released: {names:?}");
    assert_eq!(server.audit_count(&office, "hold").await, 1);
    server.stop().await;
}

/// A notice about 食源性疾病监测 (item 01.10 of the health commission).
fn foodborne_notice(seed: u64) -> Spec {
    let mut spec = Spec { classification: None, ..Spec::random(seed).one_page() };
    spec.title = "关于做好2021年度食源性疾病监测工作的通知".into();
    spec.paragraphs = vec![
        "为做好我市2021年度食源性疾病监测工作，及时发现食源性疾病暴发，根据省卫生健康委有关要求，现就有关事项通知如下。".into(),
        "各哨点医院要按要求报告食源性疾病病例，疾病预防控制机构要加强病例监测和流行病学调查，提高食源性疾病监测能力。".into(),
    ];
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_about_another_item_is_named_there_and_office_files_are_laid_out() {
    let dir = temp();
    let made = dir.path().join("made");
    std::fs::create_dir_all(&made).unwrap();
    let (misplaced, _) = corpus::text_pdf(&foodborne_notice(31), &made).unwrap();
    let (placed, _) = corpus::text_pdf(&foodborne_notice(32), &made).unwrap();
    // Word files as LibreOffice saves them (no page count inside), and the same saved as .doc,
    // whose text no crate here reads.
    let word = Spec { classification: None, ..Spec::random(33) };
    let (docx, truth) = corpus::docx(&word, &made).unwrap();
    let doc = corpus::convert(std::slice::from_ref(&docx), "doc", &made.join("doc")).unwrap().remove(0);

    let server = reading_server(&dir.path().join("data")).await;
    let token = server.token(Some("health")).await;
    let office = server.token(None).await;
    let mut agent = yingjian_tests::DeptAgent::prepare(dir.path(), "health", &server.url(), &token);
    let (right, wrong) = (agent.item("01.10"), agent.item("06.02"));
    for (folder, name, from) in [
        (&wrong, "文件/监测通知.pdf", &misplaced),
        (&right, "文件/监测通知.pdf", &placed),
        (&wrong, "文稿/方案.docx", &docx),
        (&wrong, "文稿/方案.doc", &doc),
    ] {
        let to = folder.join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
    agent.start().await;
    let list = read_list(&server, &token, 4).await;
    let folder = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
    let path = |item: &Path, name: &str| format!("{}/{name}", folder(item));
    let suggested = |p: &str| facts_of(&list, p)["suggested_item"].clone();
    assert_eq!(suggested(&path(&wrong, "文件/监测通知.pdf")), "1.10", "{list:?}");
    assert_eq!(suggested(&path(&right, "文件/监测通知.pdf")), Value::Null, "where it belongs");
    assert_eq!(suggested(&path(&wrong, "文稿/方案.docx")), Value::Null, "about nothing in particular");

    // LibreOffice lays the Word files out: their pages counted; the .doc read from its layout.
    let facts = facts_of(&list, &path(&wrong, "文稿/方案.docx"));
    assert_eq!(facts["pages"].as_u64(), Some(u64::from(truth.pages)), "docx: {facts}");
    assert_fields(facts_of(&list, &path(&wrong, "文稿/方案.doc")), &truth, "Word 97");

    // The clerk and the office are told where it may belong.
    let todo = agent.folder.join(yingjian_shared::TODO_FILE);
    let text = eventually_within(READING, "the suggestion in the to-do file", || async {
        std::fs::read_to_string(&todo).ok().filter(|t| t.contains("内容可能属于"))
    })
    .await;
    assert!(
        text.contains(&format!("{}：内容可能属于 01.10 食源性疾病监测", path(&wrong, "文件/监测通知.pdf"))),
        "{text}"
    );
    assert_eq!(text.matches("内容可能属于").count(), 1, "{text}");
    let page = server.page(&office, "/items/06.02").await;
    assert!(page.contains("内容可能属于 01.10 食源性疾病监测"), "{page}");
    // As the office sees it (looked at in target/screenshots/item-suggested.png).
    let (_driver, browser) = browser(&dir.path().join("profile")).await;
    login(&browser, &server, &office).await;
    eventually_within(READING, "logged in", || async {
        (browser.current_url().await.ok()?.path() != "/login").then_some(())
    })
    .await;
    browser.goto(&format!("{}/items/6.2", server.url())).await.unwrap();
    let shown = eventually_within(READING, "the item page", || async {
        browser.find(Locator::Css("main")).await.ok()?.text().await.ok()
    })
    .await;
    assert!(shown.contains("内容可能属于 01.10 食源性疾病监测"), "{shown}");
    // The Word file and its .doc are one text, not two scans; the two notices were read as
    // documents too.
    assert!(shown.contains("的《方案.docx》内容几乎相同，为同一份材料"), "{shown}");
    assert!(!shown.contains("扫描件"), "{shown}");
    let at = "document.evaluate(\"//*[contains(text(), '内容可能属于')]\", document, null, 9, null)
        .singleNodeValue.scrollIntoView({block: 'center'})";
    browser.execute(at, vec![]).await.unwrap();
    screenshot(&browser, "item-suggested").await;
    agent.stop().await;
    server.stop().await;
}
