//! Snapshots of the rendered dashboard pages on a realistic data set; times and hashes redacted.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{TestServer, jpeg, pdf};

/// Logs in with `token` as a browser does and returns the session cookie (`yj_session=…`).
pub async fn session(s: &TestServer, token: &str) -> String {
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirect
        .post(s.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

async fn page(s: &TestServer, token: &str, path: &str) -> (StatusCode, String) {
    let cookie = session(s, token).await;
    let r = s.client.get(s.url(path)).header("cookie", cookie).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

pub fn snapshot(name: &str, html: &str) {
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[time]"),
        (r"20\d\d年\d{1,2}月\d{1,2}日( \d{1,2}:\d{2})?", "[date]"),
        (r"[0-9a-f]{64}", "[sha256]"),
        (r"<code>[0-9a-f]{16}</code>", "<code>[sha256]</code>"),
        // The state's fingerprint covers the contact list's workbook, which carries the day.
        (r"状态校验码 [0-9a-f]{8}", "状态校验码 [fingerprint]"),
    ]}, {
        insta::assert_snapshot!(name, html);
    });
}

async fn city() -> (TestServer, String, String) {
    let s = TestServer::start().await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    let customs = s.token(Some("customs"), "pc-2").await;
    s.file(&police, "08.03 昆仑2021专项行动/文件/关于开展“昆仑2021”专项行动的通知.pdf", &pdf("notice")).await;
    s.file(&police, "08.03 昆仑2021专项行动/图片/销毁假冒商品现场.jpg", &jpeg("scene")).await;
    s.file(&police, "11.02 公安打假机构力量和机制建设/IMG_0001.jpg", &jpeg("camera")).await;
    s.file(&police, "自评报告/公安局2021年度自评报告.pdf", &pdf("report")).await;
    s.file(&police, "典型案例/案例一 侵犯商标专用权案.pdf", &pdf("case 1")).await;
    s.file(&customs, "06.04 进出口商品质量安全风险监测/文件/监测方案.pdf", &pdf("plan")).await;
    s.file(&customs, "06.04 进出口商品质量安全风险监测/文件/通知副本.pdf", &pdf("notice")).await;
    let contacts = json!({"contacts": [
        {"role": "leader", "name": "张伟", "gender": "男", "unit": "市公安局", "position": "副局长", "phone": "0375-2588100", "mobile": "13800000001", "email": "zw@example.org"},
        {"role": "staff", "name": "李娜", "gender": "女", "unit": "市公安局", "position": "科员", "phone": "0375-2588101", "mobile": "13800000002", "email": "ln@example.org"}
    ]});
    let r = s.req(Method::PUT, "/api/v1/contacts", &police).json(&contacts).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    (s, office, police)
}

#[tokio::test]
async fn pages_render_for_the_office() {
    let (s, office, _) = city().await;
    for (name, path) in [
        ("overview", "/overview"),
        ("matrix", "/matrix"),
        ("department_police", "/departments/police"),
        ("item_6_4", "/items/6.4"),
    ] {
        let (status, html) = page(&s, &office, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        snapshot(name, &html);
    }
}

#[tokio::test]
async fn a_department_sees_only_its_own_pages() {
    let (s, _, police) = city().await;
    let (status, html) = page(&s, &police, "/departments/police").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("张伟") && html.contains("公安局2021年度自评报告.pdf"));
    for path in ["/overview", "/matrix", "/audit", "/departments/customs", "/items/6.4"] {
        let (status, html) = page(&s, &police, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("无权查看"), "{path}");
    }
    // The item page shows only the department's own evidence.
    let (status, html) = page(&s, &police, "/items/8.3").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("销毁假冒商品现场"));
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_logout_clears_it() {
    let (s, office, _) = city().await;
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirect.get(s.url("/overview")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=%2Foverview");
    // Logging in comes back to the page asked for; another site is never a place to go back to.
    let r = no_redirect.get(s.url("/items/8.3?x=1")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/login?next=%2Fitems%2F8%2E3%3Fx%3D1");
    let login = no_redirect.get(s.url("/login?next=%2Fitems%2F8.3%3Fx%3D1")).send().await.unwrap();
    assert!(login.text().await.unwrap().contains(r#"name="next" value="/items/8.3?x=1""#));
    for (next, to) in [
        ("/items/8.3?x=1", "/items/8.3?x=1"),
        ("//evil.example/", "/overview"),
        ("https://evil.example/", "/overview"),
    ] {
        let r = no_redirect
            .post(s.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "token={office}&next={}",
                percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], to, "next={next}");
    }
    let form = |token: &str| {
        no_redirect
            .post(s.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
    };
    let r = form(&office).await.unwrap();
    assert_eq!(r.headers()["location"], "/overview");
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let r = form("yj_wrong").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("令牌无效"));
    let r = no_redirect.post(s.url("/logout")).send().await.unwrap();
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn files_are_served_to_those_who_may_see_them() {
    let (s, office, police) = city().await;
    let customs = s.token(Some("customs"), "pc-3").await;
    let sha = super::sha(&jpeg("scene"));
    let path = format!("/files/{sha}?name=销毁假冒商品现场.jpg");
    let r = s.client.get(s.url(&path)).bearer_auth(&office).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.bytes().await.unwrap().as_ref(), jpeg("scene").as_slice());
    assert_eq!(
        s.client.get(s.url(&path)).bearer_auth(&police).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        s.client.get(s.url(&path)).bearer_auth(&customs).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_bundle_page_builds_in_the_background_and_lists_the_result() {
    let (s, office, police) = city().await;
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirect
        .post(s.url("/bundles/build"))
        .header("cookie", session(&s, &police).await)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = no_redirect
        .post(s.url("/bundles/build"))
        .header("cookie", session(&s, &office).await)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/bundles");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, html) = page(&s, &office, "/bundles").await;
        assert_eq!(status, StatusCode::OK);
        if html.contains("2021年度质量工作考核材料-") && !html.contains("正在打包") {
            assert!(html.contains("立即打包"));
            assert!(html.contains(" / 100"), "coverage from the audit entry: {html}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the bundle never appeared");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Posts a dashboard form to `path` as a browser does (same origin, logged in), not following
/// the redirect: the status, the `Location` (if any) and the body.
pub async fn post_form(
    s: &TestServer,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let body: String = fields
        .iter()
        .map(|(k, v)| {
            format!("{k}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC))
        })
        .collect::<Vec<_>>()
        .join("&");
    let r = no_redirect
        .post(s.url(path))
        .header("cookie", cookie)
        .header("origin", s.url(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), location, r.text().await.unwrap())
}

/// Posts the contacts form of `department`.
async fn post_contacts(
    s: &TestServer,
    cookie: &str,
    department: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let (status, _, body) =
        post_form(s, cookie, &format!("/departments/{department}/contacts"), fields).await;
    (status, body)
}

#[tokio::test]
async fn the_contacts_form_says_what_is_wrong_next_to_the_field_and_counts_only_reachable_people() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let office = s.token(None, "office").await;
    let cookie = session(&s, &police).await;
    let (_, page_before) = page(&s, &police, "/departments/police").await;
    assert!(page_before.contains("填写或修改联系人") && page_before.contains("未报"));

    // A wrong mobile number: 422, the message beside it, what was typed kept, nothing stored.
    let mut fields = vec![
        ("0_name", "张伟"),
        ("0_position", "副局长"),
        ("0_mobile", "1380000"),
        ("1_name", "李娜"),
        ("1_phone", "0375-2588101"),
        ("1_email", "lina@pds.gov.cn"),
    ];
    let (status, html) = post_contacts(&s, &cookie, "police", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"name="0_mobile" value="1380000""#), "the typed value stays");
    assert!(html.contains("手机号码应为 11 位数字，以 13 至 19 开头</span>"));
    assert!(html.contains("有填写不正确的地方"));
    let status_doc = s.status(&office).await;
    let police_status =
        status_doc["departments"].as_array().unwrap().iter().find(|d| d["id"] == "police").unwrap().clone();
    assert_eq!(police_status["contacts"], false);

    // Corrected: stored, 已报, and the page shows it.
    fields[2] = ("0_mobile", "138 0000 0001");
    let (status, _) = post_contacts(&s, &cookie, "police", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let status_doc = s.status(&office).await;
    let police_status =
        status_doc["departments"].as_array().unwrap().iter().find(|d| d["id"] == "police").unwrap().clone();
    assert_eq!(police_status["contacts"], true);
    let (_, html) = page(&s, &police, "/departments/police").await;
    assert!(html.contains(r#"<span class="yes">已报</span>"#));
    assert!(html.contains(r#"name="1_email" value="lina@pds.gov.cn""#));

    // The office may fill in any department's; another department may not.
    let office_cookie = session(&s, &office).await;
    let (status, _) = post_contacts(&s, &office_cookie, "water", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = post_contacts(&s, &cookie, "water", &fields).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_notice_and_the_receipt_print_the_right_figures() {
    let (s, office, police) = city().await;
    let (status, notice) = page(&s, &office, "/departments/police/notice").await;
    assert_eq!(status, StatusCode::OK);
    snapshot("notice_police", &notice);
    let (status, receipt) = page(&s, &police, "/departments/police/receipt").await;
    assert_eq!(status, StatusCode::OK);
    snapshot("receipt_police", &receipt);
    // All at once: a page per department that still lacks something.
    let (_, all) = page(&s, &office, "/notices").await;
    assert_eq!(all.matches(r#"<article class="notice">"#).count(), 13, "none of the 13 is complete here");
    // A department prints its receipt, not a notice, and not another's receipt.
    assert_eq!(page(&s, &police, "/departments/police/notice").await.0, StatusCode::FORBIDDEN);
    assert_eq!(page(&s, &police, "/departments/water/receipt").await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_office_returns_a_file_from_the_department_page() {
    let (s, office, police) = city().await;
    let (_, before) = page(&s, &office, "/departments/police").await;
    assert!(
        before.contains(r#"<input type="hidden" name="back" value="/departments/police">"#),
        "a form beside each file"
    );
    let (_, own) = page(&s, &police, "/departments/police").await;
    assert!(!own.contains("name=\"verdict\""), "the department sees verdicts, not the buttons");
    let cookie = session(&s, &office).await;
    let path = "08.03 昆仑2021专项行动/文件/关于开展“昆仑2021”专项行动的通知.pdf";
    let fields = [
        ("department", "police"),
        ("verdict", "returned"),
        ("back", "/departments/police"),
        ("reason", "请加盖公章"),
        ("path", path),
    ];
    let (status, location, _) = post_form(&s, &cookie, "/reviews", &fields).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/departments/police"));
    let (_, after) = page(&s, &police, "/departments/police").await;
    assert!(after.contains("请加盖公章"), "the department sees the reason on its page");
}

#[tokio::test]
async fn typical_cases_are_listed_in_the_order_they_are_numbered() {
    let (s, office, police) = city().await;
    s.file(&police, "典型案例/案例十一 假冒伪劣案.pdf", &pdf("case 11")).await;
    s.file(&police, "典型案例/案例二 制售假药案.pdf", &pdf("case 2")).await;
    // 三 is U+4E09, before 二 (U+4E8C) in code order: listed by code point, 案例三 would come first.
    s.file(&police, "典型案例/案例三 虚假宣传案.pdf", &pdf("case 3")).await;
    // The department's page, its 回执 and the bundle all number them 一, 二, 十一.
    let (_, html) = page(&s, &police, "/departments/police").await;
    let (_, receipt) = page(&s, &police, "/departments/police/receipt").await;
    let r = s.req(Method::POST, "/api/v1/bundles", &office).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let name = r.json::<serde_json::Value>().await.unwrap()["name"].as_str().unwrap().to_string();
    let zip = s.req(Method::GET, &format!("/api/v1/bundles/{name}"), &office).send().await.unwrap();
    let zip = zip.bytes().await.unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let entries = archive.file_names().map(|n| n.unwrap().into_owned()).collect::<Vec<_>>().join("\n");
    for listing in [&html, &receipt, &entries] {
        let at = |name: &str| listing.find(name).unwrap_or_else(|| panic!("{name} listed: {listing}"));
        let order = [at("案例一 "), at("案例二 "), at("案例三 "), at("案例十一 ")];
        assert!(order.is_sorted(), "一, 二, 三, 十一: {listing}");
    }
}

#[tokio::test]
async fn a_deadline_hours_away_with_nothing_in_is_not_on_time_and_unknown_pages_say_so_in_chinese() {
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(5);
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30);
    let s = TestServer::with_config(|c| {
        c.deadlines = Some(yingjian_shared::Deadlines { contacts: later, evidence: soon });
    })
    .await;
    let office = s.token(None, "office").await;
    let (_, html) = page(&s, &office, "/overview").await;
    assert!(html.contains(r#"<td class="incomplete">临近截止</td>"#), "hours away, nothing in: not green");
    assert!(!html.contains(r#"<td class="yes">按期</td>"#));

    let (status, missing) = page(&s, &office, "/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing.contains("没有这个页面"), "{missing}");
    let r = s.client.get(s.url("/api/v1/no-such-endpoint")).bearer_auth(&office).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"], "not_found");
}

/// The number in the element with `id` on a page.
fn figure(html: &str, id: &str) -> f64 {
    let at = html.find(&format!(r#"id="{id}">"#)).unwrap_or_else(|| panic!("#{id}: {html}")) + id.len() + 6;
    html[at..].split('<').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn one_headline_figure_on_every_page_and_the_cards_add_up_to_the_total() {
    let (s, office, police_token) = city().await;
    let (_, html) = page(&s, &office, "/overview").await;
    let (complete, partial, missing) =
        (figure(&html, "points-complete"), figure(&html, "points-partial"), figure(&html, "points-missing"));
    assert!(complete > 0.0 && partial > 0.0 && missing > 0.0, "the fixture has some of each");
    assert!((complete + partial + missing - 100.0).abs() < 1e-9, "{complete} + {partial} + {missing}");
    assert!(html.contains("= 共 100 分"));

    // 已齐全 is the headline: the same number from the API, on the overview, the department's
    // page, the office's report and the 打包 page; 已覆盖 is said nowhere.
    let status = s.status(&office).await;
    assert_eq!(status["points_complete"], complete);
    let police = status["departments"].as_array().unwrap().iter().find(|d| d["id"] == "police").unwrap();
    assert_eq!(police["points_complete"], 4.0, "8.3 is 齐全, 11.2 lacks a caption");
    let (_, department) = page(&s, &police_token, "/departments/police").await;
    assert_eq!(police["points_complete"], figure(&department, "points-complete"));
    let (_, report) = page(&s, &office, "/bundles/report.html").await;
    assert!(report.contains(&format!("已齐全 {complete} / 100 分")), "{report}");
    let r = s.req(Method::POST, "/api/v1/bundles", &office).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, bundles) = page(&s, &office, "/bundles").await;
    assert!(bundles.contains("已齐全分值") && bundles.contains(&format!(">{complete} / 100<")), "{bundles}");
    for listing in [&html, &department, &report, &bundles] {
        assert!(!listing.contains("已覆盖"), "one headline figure: {listing}");
    }
}

#[tokio::test]
async fn a_tiff_scan_previews_as_png_for_those_who_may_see_it() {
    let (s, office, police) = city().await;
    let customs = s.token(Some("customs"), "pc-3").await;
    let scan = super::tiff_pages(7, 2);
    s.file(&police, "08.03 昆仑2021专项行动/文件/扫描件.tif", &scan).await;
    let sha = super::sha(&scan);
    let (_, html) = page(&s, &office, "/items/8.3").await;
    assert!(html.contains(&format!(r#"<img src="/files/{sha}/preview.png""#)), "the item page shows the PNG");
    let r =
        s.client.get(s.url(&format!("/files/{sha}/preview.png"))).bearer_auth(&police).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    let r =
        s.client.get(s.url(&format!("/files/{sha}/preview.png"))).bearer_auth(&customs).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "another department's scan does not exist for it");
    // Not a picture it can decode: a clear refusal in Chinese, not a broken image.
    let not_a_picture = super::sha(&pdf("notice"));
    let r = s
        .client
        .get(s.url(&format!("/files/{not_a_picture}/preview.png")))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.text().await.unwrap().contains("无法预览"));
}

#[tokio::test]
async fn the_office_sees_every_departments_contacts_at_once_and_exports_them() {
    let (s, office, police) = city().await;
    let (status, html) = page(&s, &office, "/contacts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("已报 1 / 13 个单位"), "{html}");
    assert!(html.contains("张伟") && html.contains("13800000001") && html.contains("0375-2588101"), "{html}");
    assert_eq!(html.matches(r#"<td class="no">未报</td>"#).count(), 12, "{html}");
    // A department may not look.
    assert_eq!(page(&s, &police, "/contacts").await.0, StatusCode::FORBIDDEN);
    assert_eq!(page(&s, &police, "/contacts.xlsx").await.0, StatusCode::FORBIDDEN);

    // The export, read back by an independent reader (openpyxl).
    let cookie = session(&s, &office).await;
    let r = s.client.get(s.url("/contacts.xlsx")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment;") && disposition.contains(".xlsx"), "{disposition}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.xlsx");
    std::fs::write(&path, r.bytes().await.unwrap()).unwrap();
    let script = "import openpyxl, sys\nsheet = openpyxl.load_workbook(sys.argv[1]).active\n\
                  print([[c for c in row] for row in sheet.iter_rows(min_row=3, values_only=True)])";
    let py = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output().unwrap();
    assert!(py.status.success(), "python: {}", String::from_utf8_lossy(&py.stderr));
    let rows = String::from_utf8_lossy(&py.stdout);
    assert!(rows.contains("'公安局', '分管领导', '张伟'") && rows.contains("'李娜'"), "{rows}");
}

#[tokio::test]
async fn every_file_of_an_item_or_a_department_downloads_as_one_zip() {
    let (s, office, police) = city().await;
    let customs = s.token(Some("customs"), "pc-9").await;
    let fetch = async |token: &str, path: &str| {
        let cookie = session(&s, token).await;
        let r = s.client.get(s.url(path)).header("cookie", cookie).send().await.unwrap();
        (r.status(), r.bytes().await.unwrap().to_vec())
    };
    let dir = tempfile::tempdir().unwrap();
    // Read back by an independent reader (Python's zipfile): every name with its SHA-256.
    let listing = |bytes: &[u8]| {
        let path = dir.path().join("download.zip");
        std::fs::write(&path, bytes).unwrap();
        let script = "import hashlib, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n\
                      for i in z.infolist(): print(i.filename, hashlib.sha256(z.read(i)).hexdigest())";
        let py = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output().unwrap();
        assert!(py.status.success(), "python: {}", String::from_utf8_lossy(&py.stderr));
        String::from_utf8(py.stdout).unwrap()
    };
    let (status, item) = fetch(&office, "/items/8.3/files.zip").await;
    assert_eq!(status, StatusCode::OK);
    let item = listing(&item);
    let notice = format!(
        "公安局/08.03 昆仑2021专项行动/文件/关于开展“昆仑2021”专项行动的通知.pdf {}",
        super::sha(&pdf("notice"))
    );
    assert!(item.contains(&notice), "{item}");
    assert_eq!(item.lines().count(), 2, "{item}");

    let (status, own) = fetch(&police, "/departments/police/files.zip").await;
    assert_eq!(status, StatusCode::OK);
    let own = listing(&own);
    assert!(own.contains("典型案例/案例一 侵犯商标专用权案.pdf") && own.contains("自评报告/"), "{own}");
    assert_eq!(own.lines().count(), 5, "{own}");
    // Another department's files are not its to download; an item shows a department its own.
    assert_eq!(fetch(&customs, "/departments/police/files.zip").await.0, StatusCode::FORBIDDEN);
    let (_, theirs) = fetch(&customs, "/items/8.3/files.zip").await;
    assert!(listing(&theirs).is_empty());
}

/// A message without what it quotes of the request (“…”): the words the page itself chose.
fn own_words(message: &str) -> String {
    message
        .split('“')
        .enumerate()
        .map(|(i, part)| if i == 0 { part } else { part.split_once('”').map_or("", |p| p.1) })
        .collect()
}

#[tokio::test]
async fn error_pages_speak_chinese_alone() {
    let (s, office, police) = city().await;
    let cookie = session(&s, &office).await;
    // What the API says in two languages, a page says in Chinese.
    let cases: [(&str, &[(&str, &str)]); 6] = [
        ("/reviews", &[("department", "nobody"), ("path", "a.pdf"), ("verdict", "accepted")]),
        // Forms a browser would never send: fields missing, a value not among the choices.
        ("/reviews", &[("department", "police")]),
        ("/kinds", &[("department", "police"), ("path", "a.pdf"), ("kind", "nonsense")]),
        ("/holds", &[]),
        (
            "/reviews",
            &[("department", "police"), ("path", "08.03 昆仑2021专项行动/没有.pdf"), ("verdict", "accepted")],
        ),
        ("/notes", &[("department", "police"), ("item", "1.1"), ("text", "x")]),
    ];
    for (path, fields) in cases {
        let (status, _, html) = post_form(&s, &cookie, path, fields).await;
        assert!(status.is_client_error(), "{path}: {status}");
        let message = html.split("<p>").nth(1).unwrap().split("</p>").next().unwrap();
        assert!(!own_words(message).chars().any(|c| c.is_ascii_alphabetic()), "{path}: {message}");
        assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{path}: {message}");
    }
    // A form body of another type.
    let r = s
        .client
        .post(s.url("/notes"))
        .header("cookie", &cookie)
        .header("origin", s.url(""))
        .header("content-type", "text/plain")
        .body("department=police")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let html = r.text().await.unwrap();
    let message = html.split("<p>").nth(1).unwrap().split("</p>").next().unwrap();
    assert!(message.contains("请从页面上的表单提交") && !message.contains("Content-Type"), "{message}");
    // A department's token on another department's page.
    let (status, html) = page(&s, &police, "/departments/customs").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let message = html.split("<p>").nth(1).unwrap().split("</p>").next().unwrap();
    assert!(!own_words(message).chars().any(|c| c.is_ascii_alphabetic()), "{message}");
}

#[tokio::test]
async fn every_page_searches_file_names_and_captions_even_where_nothing_is_read() {
    let (s, office, police) = city().await;
    let customs = s.token(Some("customs"), "pc-9").await;
    let (status, overview) = page(&s, &office, "/overview").await;
    assert_eq!(status, StatusCode::OK);
    assert!(overview.contains(r#"action="/search""#), "the 搜索 box is on every page");
    let q = percent_encoding::utf8_percent_encode("专项行动的通知", percent_encoding::NON_ALPHANUMERIC);
    let (_, found) = page(&s, &office, &format!("/search?q={q}")).await;
    assert!(found.contains("找到 1 个文件") && found.contains("昆仑2021"), "{found}");
    let (_, own) = page(&s, &police, &format!("/search?q={q}")).await;
    assert!(own.contains("找到 1 个文件"), "{own}");
    let (_, theirs) = page(&s, &customs, &format!("/search?q={q}")).await;
    assert!(theirs.contains("找到 0 个文件"), "another department's names are not searched: {theirs}");
}

#[tokio::test]
async fn a_scan_finding_shows_its_page_beside_it_to_those_who_may_see_the_file() {
    let s = TestServer::with_config(|c| c.reading.enabled = true).await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    let customs = s.token(Some("customs"), "pc-2").await;
    let scan = super::pdf_pages("scan", 2, None);
    s.file(&police, "08.03 昆仑2021专项行动/文件/扫描件.pdf", &scan).await;
    s.read_all(&office).await;
    // What the scan checks would say of a blank second page.
    let sha = super::sha(&scan);
    let found = yingjian_aggregator::facts::Facts {
        read: yingjian_shared::ReadState::Done,
        pages: Some(2),
        quality: vec![yingjian_shared::QualityFinding {
            code: yingjian_shared::QualityCode::BlankPage,
            page: 2,
            value: 0.0,
        }],
        ..Default::default()
    };
    s.state
        .db
        .set_reading(sha.clone(), found, String::new(), yingjian_aggregator::READER_VERSION)
        .await
        .unwrap();
    let (_, html) = page(&s, &office, "/items/8.3").await;
    let thumb = format!("/files/{sha}/pages/2.png");
    let line = html.lines().find(|l| l.contains("第2页为空白页")).unwrap_or_else(|| panic!("{html}"));
    assert!(line.contains(&format!(r#"<img class="thumb no-print" src="{thumb}""#)), "{line}");
    // The page itself, small, for the office and the department that sent it.
    for token in [&office, &police] {
        let r = s.client.get(s.url(&thumb)).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/png");
        let png = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
        assert!(png.width() > 0 && png.width().max(png.height()) <= 240, "{}×{}", png.width(), png.height());
    }
    let get = |path: String, token: &str| s.client.get(s.url(&path)).bearer_auth(token).send();
    assert_eq!(
        get(format!("/files/{sha}/pages/3.png"), &office).await.unwrap().status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        get(format!("/files/{sha}/pages/0.png"), &office).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(thumb, &customs).await.unwrap().status(), StatusCode::NOT_FOUND);
}
