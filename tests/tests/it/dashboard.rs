//! The dashboard in a real headless Chromium (Debian's chromium and chromium-driver): login,
//! the overview's figures, a file appearing live without a reload, a department refused another
//! department's page. Screenshots go to `target/screenshots/` for a person to look at.

use std::net::TcpListener as StdListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use yingjian_tests::{Aggregator, deliver, eventually, temp};

pub(crate) struct Driver(Child);

impl Drop for Driver {
    /// Chromium with it, even when the test failed before closing its session: chromedriver
    /// leads a process group of its own, which Chromium joins.
    fn drop(&mut self) {
        if let Some(group) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a free loopback port; fails with what to install if it is missing.
pub(crate) async fn browser(profile: &std::path::Path) -> (Driver, Client) {
    let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromedriver not found: apt-get install chromium chromium-driver fonts-noto-cjk (.ci/run does)",
        );
    let driver = Driver(driver);
    eventually("chromedriver to listen", || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok().map(|_| ())
    })
    .await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run",
                     "--disable-sync", "--window-size=1366,768", format!("--user-data-dir={}", profile.display())]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    (driver, client)
}

async fn file(server: &Aggregator, token: &str, path: &str, bytes: &[u8]) {
    deliver(&reqwest::Client::new(), &server.url(), token, path, bytes).await.unwrap();
}

pub(crate) async fn login(browser: &Client, server: &Aggregator, token: &str) {
    browser.goto(&format!("{}/login", server.url())).await.unwrap();
    browser.find(Locator::Id("token")).await.unwrap().send_keys(token).await.unwrap();
    browser.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
}

/// Clicks what `css` finds, finding it again if a live refresh replaced it in the meantime.
pub(crate) async fn click(browser: &Client, css: &str) {
    eventually(css, || async { browser.find(Locator::Css(css)).await.ok()?.click().await.ok() }).await;
}

/// Types `text` into what `css` finds, again if a live refresh took the field away meanwhile:
/// keys sent to a field no longer on the page are lost without an error.
async fn type_into(browser: &Client, css: &str, text: &str) {
    eventually(css, || async {
        let field = browser.find(Locator::Css(css)).await.ok()?;
        field.clear().await.ok()?;
        field.send_keys(text).await.ok()?;
        let value = browser
            .execute("return document.querySelector(arguments[0]).value", vec![json!(css)])
            .await
            .ok()?;
        (value == json!(text)).then_some(())
    })
    .await;
}

async fn text(browser: &Client, css: &str) -> String {
    browser.find(Locator::Css(css)).await.unwrap().text().await.unwrap()
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Makes `change` (something the server announces and the open page shows) and waits until the
/// page has refreshed itself after it: its `<main>` swapped for the server's new one.
async fn refreshed_after(browser: &Client, change: impl Future<Output = ()>) {
    browser.execute("document.querySelector('main').setAttribute('data-before', '')", vec![]).await.unwrap();
    change.await;
    eventually("the live refresh", || async {
        let swapped =
            browser.execute("return !document.querySelector('main[data-before]')", vec![]).await.ok()?;
        (swapped == json!(true)).then_some(())
    })
    .await;
}

pub(crate) async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_watches_evidence_arrive_live() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let office = server.token(None).await;
    let police = server.token(Some("police")).await;
    let water = server.token(Some("water")).await;
    file(&server, &police, "08.03 昆仑2021专项行动/文件/关于开展“昆仑2021”专项行动的通知.pdf", b"%PDF-1.4 a")
        .await;
    file(&server, &police, "08.03 昆仑2021专项行动/图片/销毁假冒商品现场.jpg", b"\xFF\xD8\xFF\xE0 pic").await;
    file(&server, &water, "01.06 水利建设质量工作水平评价/评价报告.pdf", b"%PDF-1.4 w").await;
    file(&server, &police, "自评报告/公安局2021年度自评报告.pdf", b"%PDF-1.4 report").await;

    let (_driver, browser) = browser(&dir.path().join("profile")).await;
    // A page asked for before logging in is where the login leads.
    browser.goto(&format!("{}/items/8.3", server.url())).await.unwrap();
    browser.find(Locator::Id("token")).await.unwrap().send_keys(&office).await.unwrap();
    browser.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    eventually("back on the page asked for", || async {
        browser.current_url().await.ok()?.path().ends_with("/items/8.3").then_some(())
    })
    .await;
    // A page that does not exist says so in Chinese, with the way back.
    browser.goto(&format!("{}/no-such-page", server.url())).await.unwrap();
    let missing = text(&browser, "body").await;
    assert!(
        missing.contains("未找到") && missing.contains("没有这个页面") && missing.contains("返回首页"),
        "{missing}"
    );
    browser.goto(&format!("{}/overview", server.url())).await.unwrap();
    assert_eq!(text(&browser, "#points-covered").await, "9", "8.3 (4) + 1.6 (5)");
    let police_row = text(&browser, "tr[data-dept=police]").await;
    assert!(police_row.contains("公安局") && police_row.contains("已交"), "{police_row}");
    screenshot(&browser, "overview").await;

    // A file arrives through the API: the open page shows it without a reload.
    browser.execute("document.body.setAttribute('data-marker', 'same page')", vec![]).await.unwrap();
    file(&server, &police, "11.02 公安打假机构力量和机制建设/文件/机构设置通知.pdf", b"%PDF-1.4 b").await;
    eventually("the live update", || async {
        let covered = browser.find(Locator::Css("#points-covered")).await.ok()?.text().await.ok()?;
        (covered == "10").then_some(())
    })
    .await;
    let marker = browser.find(Locator::Css("body")).await.unwrap().attr("data-marker").await.unwrap();
    assert_eq!(marker.as_deref(), Some("same page"), "updated in place, not reloaded");
    let feed = text(&browser, "#activity").await;
    assert!(feed.contains("机构设置通知.pdf"), "{feed}");
    // An agent's heartbeat: the overview, which shows agents, refreshes for it (pages that show
    // none let heartbeats pass).
    let heartbeat = json!({"version": "test", "host": "交警支队-PC", "watch_mode": "native", "pending": 2});
    reqwest::Client::new()
        .post(format!("{}/api/v1/heartbeat", server.url()))
        .bearer_auth(&police)
        .json(&heartbeat)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    eventually("the heartbeat on the overview", || async {
        let row = browser.find(Locator::Css("tr[data-dept=police]")).await.ok()?.text().await.ok()?;
        row.contains("在线（待传 2）").then_some(())
    })
    .await;

    // The departments sorted by a heading (the other way on a second click) and filtered; both
    // kept through a live refresh.
    let first_department = async || {
        let script = "var r = Array.prototype.find.call(document.querySelectorAll('#departments tr[data-dept]'), \
                      function (r) { return !r.hidden; }); return r ? r.getAttribute('data-dept') : null;";
        browser.execute(script, vec![]).await.unwrap()
    };
    let first_covered = async || {
        let script =
            "return document.querySelector('#departments tr[data-dept] td:nth-child(6)').textContent";
        browser.execute(script, vec![]).await.unwrap()
    };
    click(&browser, "#departments tr:first-child th:nth-child(6)").await;
    assert_eq!(first_covered().await, json!("0"), "fewest points covered first");
    click(&browser, "#departments tr:first-child th:nth-child(6)").await;
    assert_eq!(first_covered().await, json!("5"), "then most");
    browser
        .find(Locator::Css("input[data-filter-for=departments]"))
        .await
        .unwrap()
        .send_keys("水利")
        .await
        .unwrap();
    assert_eq!(first_department().await, json!("water"));
    let shown = browser
        .execute(
            "return document.querySelectorAll('#departments tr[data-dept]:not([hidden])').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, json!(1), "only the department asked for");
    refreshed_after(
        &browser,
        file(&server, &water, "01.06 水利建设质量工作水平评价/附件.pdf", b"%PDF-1.4 attachment"),
    )
    .await;
    assert_eq!(first_department().await, json!("water"), "the filter outlives the refresh");
    screenshot(&browser, "overview-filtered").await;

    browser.goto(&format!("{}/matrix", server.url())).await.unwrap();
    assert!(text(&browser, "table.matrix").await.contains("昆仑2021专项行动"));
    screenshot(&browser, "matrix").await;
    // The matrix on paper: A4 landscape as its page asks, the header row on every page, the
    // time it was made and the page number at the foot of each.
    let pdf = browser
        .print(fantoccini::wd::PrintConfiguration::builder().background(true).build().unwrap())
        .await
        .unwrap();
    let printed = screenshots().join("matrix.pdf");
    std::fs::write(&printed, pdf).unwrap();
    let info = String::from_utf8(Command::new("pdfinfo").arg(&printed).output().unwrap().stdout).unwrap();
    let pages: usize = info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap();
    let read = Command::new("pdftotext").arg(&printed).arg("-").output().expect("pdftotext (poppler-utils)");
    let read = String::from_utf8(read.stdout).unwrap();
    let squeezed: String = read.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(pages >= 2, "{pages} pages");
    for page in 1..=pages {
        assert!(squeezed.contains(&format!("第{page}页共{pages}页")), "page {page}: {read}");
    }
    assert_eq!(read.split('\u{c}').filter(|p| p.contains("分值")).count(), pages, "the header on every page");
    assert!(squeezed.contains("生成于"), "{read}");
    let _ = Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-f", "1", "-l", "1"])
        .arg(&printed)
        .arg(screenshots().join("matrix-print"))
        .status();
    browser.goto(&format!("{}/items/8.3", server.url())).await.unwrap();
    assert!(text(&browser, "main").await.contains("销毁假冒商品现场"));
    screenshot(&browser, "item").await;

    // A PDF preview being read survives a live refresh: the very element stays, open.
    let opened = r#"var d = document.querySelector("details[id^='preview-police-']"); d.open = true;
        d.querySelector("iframe").setAttribute("data-marker", "being read");"#;
    browser.execute(opened, vec![]).await.unwrap();
    refreshed_after(
        &browser,
        file(&server, &police, "08.03 昆仑2021专项行动/文件/补充说明.pdf", b"%PDF-1.4 more"),
    )
    .await;
    let kept = browser
        .execute(
            r#"var d = document.querySelector("details[id^='preview-police-']");
               return [d.open, d.querySelector("iframe").getAttribute("data-marker")];"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kept, json!([true, "being read"]), "the open preview was carried over, not rebuilt");

    // The office returns the first file (the picture) with a reason, from the item page's form.
    // Without a reason the browser asks on the spot: the page stays, nothing is sent.
    let returned = "form.review button[value=returned]";
    click(&browser, returned).await;
    let asked = browser
        .execute(
            "return document.querySelector('form.review input[name=reason]').validity.valueMissing",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(asked, json!(true));
    assert!(browser.current_url().await.unwrap().path().ends_with("/items/8.3"));
    // A reason half-typed when another file arrives survives the live refresh.
    type_into(&browser, "form.review input[name=reason]", "请补充盖章页").await;
    let more = file(&server, &police, "08.03 昆仑2021专项行动/文件/再补充说明.pdf", b"%PDF-1.4 more still");
    refreshed_after(&browser, more).await;
    let typed = browser
        .execute("return document.querySelector('form.review input[name=reason]').value", vec![])
        .await
        .unwrap();
    assert_eq!(typed, json!("请补充盖章页"), "the typed reason was kept");
    click(&browser, returned).await;
    eventually("the return on the item page", || async {
        let main = browser.find(Locator::Css("main")).await.ok()?.text().await.ok()?;
        main.contains("已退回：请补充盖章页").then_some(())
    })
    .await;
    assert!(text(&browser, "main").await.contains("待完善"), "a returned file holds its item");
    screenshot(&browser, "item-returned").await;
    // The office gives the notice another 类别 on the same page: 更改, 文稿, 更改类别.
    // Opened by the reader, the form is carried over by every refresh; until then it may be
    // replaced under the test's hand, so it is found again.
    let change = eventually("the 类别 form opened", || async {
        let change = browser.find(Locator::XPath("//details[contains(@id, '通知')]")).await.ok()?;
        if change.attr("open").await.ok()?.is_none() {
            change.find(Locator::Css("summary")).await.ok()?.click().await.ok()?;
        }
        change.find(Locator::Css("select")).await.ok()?.select_by_label("文稿").await.ok()?;
        Some(change)
    })
    .await;
    screenshot(&browser, "item-kind").await;
    change.find(Locator::XPath(".//button[text()='更改类别']")).await.unwrap().click().await.unwrap();
    eventually("the notice as 文稿", || async {
        let listed = server.get("/api/v1/evidence", &police).await;
        let notice = listed
            .as_array()?
            .iter()
            .find(|r| r["path"].as_str().is_some_and(|p| p.contains("通知")))?
            .clone();
        (notice["kind"] == "manuscript").then_some(())
    })
    .await;
    let log = server.get("/api/v1/audit", &office).await;
    assert!(log.to_string().contains("类别改为文稿"), "{log}");
    browser.goto(&format!("{}/departments/police", server.url())).await.unwrap();
    assert!(text(&browser, "main").await.contains("已退回《销毁假冒商品现场.jpg》：请补充盖章页"));
    screenshot(&browser, "department").await;

    // Printed on A4 as the office prints them: whole headings, not a character a line.
    let department = print_a4(&browser, "department").await;
    assert!(department.contains("自评报告") && department.contains("联系人"), "{department}");
    browser.goto(&format!("{}/overview", server.url())).await.unwrap();
    let overview = print_a4(&browser, "overview").await;
    for heading in ["责任单位", "已齐全分值", "自评报告", "典型案例"] {
        assert!(overview.contains(heading), "{heading} whole on paper: {overview}");
    }
    browser.goto(&format!("{}/items/8.3", server.url())).await.unwrap();
    let item = print_a4(&browser, "item").await;
    assert!(item.contains("公安局") && item.contains("通知"), "{item}");
    browser.goto(&format!("{}/departments/police/receipt", server.url())).await.unwrap();
    let receipt = print_a4(&browser, "receipt").await;
    assert!(receipt.contains("签字") && receipt.contains("盖章"), "{receipt}");

    // The bundle page: the returned picture waits for the office's choice before anything is
    // built; sent, it goes out.
    browser.goto(&format!("{}/bundles", server.url())).await.unwrap();
    let row = Locator::XPath("//table[@id='choices']//tr[contains(., '销毁假冒商品现场.jpg')]");
    let shown = browser.find(row).await.unwrap().text().await.unwrap();
    assert!(shown.contains("待确认（暂不报送）"), "{shown}");
    screenshot(&browser, "bundles-preflight").await;
    eventually("the picture's 报送 clicked", || async {
        browser.find(row).await.ok()?.find(Locator::Css("button[value=send]")).await.ok()?.click().await.ok()
    })
    .await;
    eventually("the picture chosen to go out", || async {
        let table = browser.find(Locator::Id("choices")).await.ok()?.text().await.ok()?;
        (table.contains("报送") && !table.contains("待确认")).then_some(())
    })
    .await;
    click(&browser, "#build").await;
    eventually("the bundle in the list, without a reload", || async {
        let table = browser.find(Locator::Id("bundles")).await.ok()?.text().await.ok()?;
        table.contains("2021年度质量工作考核材料-").then_some(())
    })
    .await;
    screenshot(&browser, "bundles").await;

    // The 催办通知, printed as the office prints them: A4, a page a department.
    browser.goto(&format!("{}/notices", server.url())).await.unwrap();
    let read = print_a4(&browser, "notices").await;
    assert_eq!(read.matches("催办通知").count(), 13, "a notice for each department that lacks something");
    // pdftotext ends every page with a form feed: no page holds the start of two notices (a long
    // one goes on to a second page).
    let pages: Vec<&str> = read.split('\u{c}').collect();
    assert!(
        pages.len() > 13 && pages.iter().all(|p| p.matches("催办通知").count() <= 1),
        "{} pages",
        pages.len()
    );

    // A department token: its own page only.
    browser.goto(&format!("{}/login", server.url())).await.unwrap();
    browser.delete_all_cookies().await.unwrap();
    login(&browser, &server, &water).await;
    eventually("the water page", || async {
        browser.current_url().await.ok()?.path().ends_with("/departments/water").then_some(())
    })
    .await;
    browser.goto(&format!("{}/departments/police", server.url())).await.unwrap();
    assert!(text(&browser, "body").await.contains("无权查看"));
    browser.goto(&format!("{}/overview", server.url())).await.unwrap();
    assert!(text(&browser, "body").await.contains("无权查看"));
    tokio::time::timeout(Duration::from_secs(10), browser.close()).await.ok();
}

/// Prints the page open in `browser` on A4 as the office would (`<name>.pdf` beside the
/// screenshots, its first page as `<name>-a4-1.png` for a person to look at); the text printed.
async fn print_a4(browser: &Client, name: &str) -> String {
    let a4 = fantoccini::wd::PrintConfiguration::builder()
        .size(fantoccini::wd::PrintSize::A4)
        .background(true)
        .build()
        .unwrap();
    let printed = screenshots().join(format!("{name}.pdf"));
    std::fs::write(&printed, browser.print(a4).await.unwrap()).unwrap();
    Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1"])
        .arg(&printed)
        .arg(screenshots().join(format!("{name}-a4")))
        .status()
        .unwrap();
    let read = Command::new("pdftotext").arg(&printed).arg("-").output().expect("pdftotext (poppler-utils)");
    String::from_utf8(read.stdout).unwrap()
}

/// The value of the form field named `name`.
async fn field(browser: &Client, name: &str) -> String {
    let input = browser.find(Locator::Css(&format!("input[name='{name}']"))).await.unwrap();
    input.prop("value").await.unwrap().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_fills_in_its_contacts_and_a_live_refresh_keeps_what_it_typed() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let police = server.token(Some("police")).await;
    let (_driver, browser) = browser(&dir.path().join("profile")).await;
    login(&browser, &server, &police).await;
    eventually("the department's page", || async {
        browser.current_url().await.ok()?.path().ends_with("/departments/police").then_some(())
    })
    .await;
    assert!(text(&browser, "#contacts").await.contains("未报"));
    let typing = [
        ("0_name", "张伟"),
        ("0_position", "副局长"),
        ("0_mobile", "1380000"),
        ("1_name", "李娜"),
        ("1_phone", "0375-2588101"),
    ];
    for (name, value) in typing {
        browser
            .find(Locator::Css(&format!("input[name='{name}']")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }

    // Something changes on the server while the clerk is typing: the page refreshes itself
    // around the form, which keeps what was typed.
    refreshed_after(
        &browser,
        file(&server, &police, "08.03 昆仑2021专项行动/部署会议纪要.pdf", b"%PDF-1.4 minutes"),
    )
    .await;
    assert!(text(&browser, "main").await.contains("部署会议纪要.pdf"), "the page did refresh");
    assert_eq!(field(&browser, "0_name").await, "张伟", "the half-typed form survived the refresh");
    assert_eq!(field(&browser, "1_phone").await, "0375-2588101");

    // A wrong mobile number: the message is beside the field, what was typed stays.
    click(&browser, "form.contacts button[type=submit]").await;
    eventually("the message beside the field", || async {
        let errors = browser.find(Locator::Css("form.contacts .error")).await.ok()?.text().await.ok()?;
        errors.contains("手机号码应为 11 位数字").then_some(())
    })
    .await;
    assert_eq!(field(&browser, "1_name").await, "李娜");
    screenshot(&browser, "contacts-wrong").await;

    // Corrected: 已报.
    let mobile = browser.find(Locator::Css("input[name='0_mobile']")).await.unwrap();
    mobile.clear().await.unwrap();
    mobile.send_keys("13800000001").await.unwrap();
    click(&browser, "form.contacts button[type=submit]").await;
    eventually("已报", || async {
        let heading = browser.find(Locator::Css("#contacts")).await.ok()?.text().await.ok()?;
        heading.contains("已报").then_some(())
    })
    .await;
    assert!(text(&browser, "main").await.contains("13800000001"));
    screenshot(&browser, "contacts-filed").await;
    tokio::time::timeout(Duration::from_secs(10), browser.close()).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_uploads_from_the_browser_and_answers_a_return() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let police = server.token(Some("police")).await;
    let office = server.token(None).await;
    // A small file and one that takes several resumable chunks (4 MiB each).
    let small = dir.path().join("部署会议纪要.pdf");
    std::fs::write(&small, b"%PDF-1.4 minutes").unwrap();
    let large = dir.path().join("专项行动总结（扫描件）.pdf");
    let mut big = b"%PDF-1.4 ".to_vec();
    big.extend((0..10u32 << 20).map(|i| (i % 251) as u8));
    std::fs::write(&large, &big).unwrap();

    let (_driver, browser) = browser(&dir.path().join("profile")).await;
    login(&browser, &server, &police).await;
    eventually("the department's page", || async {
        browser.current_url().await.ok()?.path().ends_with("/departments/police").then_some(())
    })
    .await;
    // Files chosen before their 类别: asked for it, nothing sent.
    let input = browser.find(Locator::Css("form[data-upload] input[type=file]")).await.unwrap();
    input.send_keys(&small.display().to_string()).await.unwrap();
    assert!(text(&browser, "form[data-upload] .problem").await.contains("请先选择类别"));
    assert!(server.get("/api/v1/evidence", &police).await.as_array().unwrap().is_empty());
    click(&browser, "form[data-upload] select[name=kind] option[value='文件']").await;
    let input = browser.find(Locator::Css("form[data-upload] input[type=file]")).await.unwrap();
    input.send_keys(&format!("{}\n{}", small.display(), large.display())).await.unwrap();
    eventually("both uploaded", || async {
        let list = browser.find(Locator::Css("form[data-upload] .progress")).await.ok()?.text().await.ok()?;
        (list.matches("已上传").count() == 2).then_some(())
    })
    .await;
    screenshot(&browser, "upload-done").await;
    let records = server.get("/api/v1/evidence", &police).await;
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r["agent"] == "网页上传"), "{records:?}");
    let big_record = records.iter().find(|r| r["size"] == big.len()).unwrap();
    assert_eq!(big_record["sha256"], yingjian_tests::sha(&big));
    assert_eq!(big_record["path"], "08.03 昆仑2021专项行动/文件/专项行动总结（扫描件）.pdf");
    assert_eq!(big_record["kind"], "document");
    eventually("the page lists them", || async {
        let main = browser.find(Locator::Css("main")).await.ok()?.text().await.ok()?;
        main.contains("网页上传的文件").then_some(())
    })
    .await;

    // The office returns the small one; the department sees why on its page.
    let r = reqwest::Client::new()
        .put(format!("{}/api/v1/reviews", server.url()))
        .bearer_auth(&office)
        .json(&json!({"department": "police", "path": "08.03 昆仑2021专项行动/文件/部署会议纪要.pdf",
                      "verdict": "returned", "reason": "请补充会议签到表"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    eventually("the reason on the department's page", || async {
        let main = browser.find(Locator::Css("main")).await.ok()?.text().await.ok()?;
        main.contains("请补充会议签到表").then_some(())
    })
    .await;
    screenshot(&browser, "upload-returned").await;

    // A PC of the department delivers a new version at the same path: the return is answered.
    file(
        &server,
        &police,
        "08.03 昆仑2021专项行动/文件/部署会议纪要.pdf",
        b"%PDF-1.4 minutes and sign-in sheet",
    )
    .await;
    let status = server.department_status(&office, "police").await;
    let item = status["items"].as_array().unwrap().iter().find(|i| i["code"] == "8.3").unwrap().clone();
    assert_eq!(item["returned"][0]["answered"], true, "{item}");

    // And so does a new version of the same name from the page.
    let r = reqwest::Client::new()
        .put(format!("{}/api/v1/reviews", server.url()))
        .bearer_auth(&office)
        .json(
            &json!({"department": "police", "path": "08.03 昆仑2021专项行动/文件/专项行动总结（扫描件）.pdf",
                      "verdict": "returned", "reason": "缺第3页"}),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    big.extend_from_slice(b" page 3");
    std::fs::write(&large, &big).unwrap();
    let input = browser.find(Locator::Css("form[data-upload] input[type=file]")).await.unwrap();
    input.send_keys(&large.display().to_string()).await.unwrap();
    eventually("the second return answered", || async {
        let status = server.department_status(&office, "police").await;
        let item = status["items"].as_array()?.iter().find(|i| i["code"] == "8.3")?.clone();
        let answered = item["returned"].as_array()?.iter().all(|r| r["answered"] == true);
        (item["returned"].as_array()?.len() == 2 && answered).then_some(())
    })
    .await;
    let web: Vec<_> = server
        .get("/api/v1/evidence", &police)
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["agent"] == "网页上传")
        .cloned()
        .collect();
    assert_eq!(web.len(), 2, "the new version replaced the old one");

    // Withdrawn from the page.
    click(&browser, "form[action$='/withdraw'] button").await;
    eventually("one browser file left", || async {
        let records = server.get("/api/v1/evidence", &police).await;
        (records.as_array()?.iter().filter(|r| r["agent"] == "网页上传").count() == 1).then_some(())
    })
    .await;
    tokio::time::timeout(Duration::from_secs(10), browser.close()).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_upload_cut_off_goes_on_from_where_the_server_has_it() {
    use yingjian_tests::tus::{create, header, patch};
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let police = server.token(Some("police")).await;
    let scan = dir.path().join("执法案卷.pdf");
    let mut bytes = b"%PDF-1.4 ".to_vec();
    bytes.extend((0..9u32 << 20).map(|i| (i % 253) as u8));
    std::fs::write(&scan, &bytes).unwrap();
    // What the page had sent before it was reloaded: the first 4 MiB chunk.
    let client = reqwest::Client::new();
    let created =
        create(&client, &server.url(), &police, bytes.len(), "filename 5omn5rOV5qGI5Y23LnBkZg==").await;
    let location = header(&created, "location");
    let first = patch(&client, &format!("{}{location}", server.url()), &police, 0, &bytes[..4 << 20]).await;
    assert!(first.status().is_success());

    let (_driver, browser) = browser(&dir.path().join("profile")).await;
    login(&browser, &server, &police).await;
    eventually("the department's page", || async {
        browser.current_url().await.ok()?.path().ends_with("/departments/police").then_some(())
    })
    .await;
    // tus-js-client's own record of that upload, as it keeps one per file in the browser.
    let modified = std::fs::metadata(&scan).unwrap().modified().unwrap();
    let modified = modified.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let fingerprint =
        format!("tus-br-执法案卷.pdf-application/pdf-{}-{modified}-/api/v1/uploads", bytes.len());
    let record = json!({"size": bytes.len(), "metadata": {"filename": "执法案卷.pdf"},
                        "creationTime": "before the reload", "uploadUrl": location});
    browser
        .execute(
            "localStorage.setItem(arguments[0], arguments[1])",
            vec![json!(format!("tus::{fingerprint}::1")), json!(record.to_string())],
        )
        .await
        .unwrap();

    click(&browser, "form[data-upload] select[name=kind] option[value='文件']").await;
    let input = browser.find(Locator::Css("form[data-upload] input[type=file]")).await.unwrap();
    input.send_keys(&scan.display().to_string()).await.unwrap();
    eventually("uploaded", || async {
        let list = browser.find(Locator::Css("form[data-upload] .progress")).await.ok()?.text().await.ok()?;
        list.contains("已上传").then_some(())
    })
    .await;
    // Resumed: the upload begun before is the one completed (a fresh start would leave it open).
    assert!(server.state.uploads.list().unwrap().is_empty(), "the earlier upload was finished, not left");
    let records = server.get("/api/v1/evidence", &police).await;
    let record = &records.as_array().unwrap()[0];
    assert_eq!(record["sha256"], yingjian_tests::sha(&bytes));
    assert_eq!(record["path"], "08.03 昆仑2021专项行动/文件/执法案卷.pdf");
    let left = browser.execute("return localStorage.length", vec![]).await.unwrap();
    assert_eq!(left, json!(0), "nothing to resume once done");
    tokio::time::timeout(Duration::from_secs(10), browser.close()).await.ok();
}

/// A browser opens at most six connections to a server over HTTP/1.1, and a tab's own event
/// stream held one as long as it was open: the office's tabs share one stream, so ten of them
/// open at once all load, and all refresh after a change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_open_tabs_share_one_event_stream_and_every_one_refreshes() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let office = server.token(None).await;
    let police = server.token(Some("police")).await;
    let (_driver, browser) = browser(&dir.path().join("profile")).await;
    // A page that cannot load is an error in 20 s, not in chromedriver's five minutes.
    let patience = fantoccini::wd::TimeoutConfiguration::new(None, Some(Duration::from_secs(20)), None);
    browser.update_timeouts(patience).await.unwrap();
    login(&browser, &server, &office).await;
    let pages = [
        "/overview",
        "/matrix",
        "/contacts",
        "/departments/police",
        "/departments/water",
        "/items/08.03",
        "/overview",
        "/matrix",
        "/departments/health",
        "/contacts",
    ];
    let mut tabs = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        if i > 0 {
            let tab = browser.new_window(true).await.unwrap();
            browser.switch_to_window(tab.handle).await.unwrap();
        }
        browser.goto(&format!("{}{page}", server.url())).await.unwrap();
        eventually("the page listens", || async {
            let live =
                browser.execute("return document.body.getAttribute('data-live')", vec![]).await.ok()?;
            (live == json!("1")).then_some(())
        })
        .await;
        tabs.push(browser.window().await.unwrap());
    }
    // The browser holds one of the token's streams (8 at most): seven more may open.
    let client = reqwest::Client::new();
    let mut more = Vec::new();
    for _ in 0..7 {
        let r = client.get(format!("{}/api/v1/events", server.url())).bearer_auth(&office).send().await;
        let r = r.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK, "the tabs hold more than one stream");
        more.push(r);
    }
    drop(more);

    // One change: every tab fetches its page again, whether or not it shows the change.
    for tab in &tabs {
        browser.switch_to_window(tab.clone()).await.unwrap();
        browser.execute("document.body.removeAttribute('data-refreshed')", vec![]).await.unwrap();
    }
    file(&server, &police, "08.03 昆仑2021专项行动/文件/通知.pdf", b"%PDF-1.4 n").await;
    for (tab, page) in tabs.iter().zip(pages) {
        browser.switch_to_window(tab.clone()).await.unwrap();
        eventually(&format!("{page} refreshed"), || async {
            let at =
                browser.execute("return document.body.getAttribute('data-refreshed')", vec![]).await.ok()?;
            (!at.is_null()).then_some(())
        })
        .await;
    }
    // And a page opened now still loads, with the change.
    browser.goto(&format!("{}/items/08.03", server.url())).await.unwrap();
    assert!(text(&browser, "main").await.contains("通知.pdf"));
}
