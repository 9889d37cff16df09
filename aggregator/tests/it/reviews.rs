//! The office returns a file with a reason and leaves notes; the department sees both in its
//! status; a new version or a withdrawal answers the return (issue 16, review and return).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{TestServer, jpeg, pdf};

const NOTICE: &str = "08.03 昆仑2021专项行动/文件/关于开展专项行动的通知.pdf";

fn item<'a>(status: &'a Value, code: &str) -> &'a Value {
    let police = status["departments"].as_array().unwrap().iter().find(|d| d["id"] == "police").unwrap();
    police["items"].as_array().unwrap().iter().find(|i| i["code"] == code).unwrap()
}

async fn put(s: &TestServer, path: &str, token: &str, body: Value) -> StatusCode {
    s.req(Method::PUT, path, token).json(&body).send().await.unwrap().status()
}

#[tokio::test]
async fn a_returned_file_holds_its_item_until_the_department_answers_it() {
    let s = TestServer::start().await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    assert_eq!(s.file(&police, NOTICE, &pdf("first draft")).await, StatusCode::OK);
    assert_eq!(
        s.file(&police, "08.03 昆仑2021专项行动/图片/销毁假冒商品现场.jpg", &jpeg("scene")).await,
        StatusCode::OK
    );
    assert_eq!(item(&s.status(&police).await, "8.3")["status"], "complete");

    // Refused: a department may not review, a return needs a reason, a file must be on record.
    let returned =
        json!({"department": "公安局", "path": NOTICE, "verdict": "returned", "reason": "请补充盖章页"});
    assert_eq!(put(&s, "/api/v1/reviews", &police, returned.clone()).await, StatusCode::FORBIDDEN);
    let no_reason = json!({"department": "police", "path": NOTICE, "verdict": "returned", "reason": "  "});
    assert_eq!(put(&s, "/api/v1/reviews", &office, no_reason).await, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown =
        json!({"department": "police", "path": "08.03 昆仑2021专项行动/没有.pdf", "verdict": "accepted"});
    assert_eq!(put(&s, "/api/v1/reviews", &office, unknown).await, StatusCode::NOT_FOUND);
    let long =
        json!({"department": "police", "path": NOTICE, "verdict": "returned", "reason": "长".repeat(501)});
    assert_eq!(put(&s, "/api/v1/reviews", &office, long).await, StatusCode::UNPROCESSABLE_ENTITY);

    // Returned: the item is 待完善 with the reason, for the department as for the office.
    assert_eq!(put(&s, "/api/v1/reviews", &office, returned).await, StatusCode::NO_CONTENT);
    for token in [&police, &office] {
        let status = s.status(token).await;
        let i = item(&status, "8.3");
        assert_eq!(i["status"], "incomplete");
        assert!(
            i["reasons"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("请补充盖章页")),
            "{i}"
        );
        assert_eq!(i["returned"][0]["path"], NOTICE);
        assert_eq!(i["returned"][0]["answered"], false);
    }
    let html = s.client.get(s.url("/departments/police")).bearer_auth(&police).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(
        html.contains("已退回《关于开展专项行动的通知.pdf》：请补充盖章页"),
        "the department's page says so"
    );
    let page =
        s.client.get(s.url("/items/8.3")).bearer_auth(&office).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("已退回：请补充盖章页") && page.contains("action=\"/reviews\""),
        "the office's item page"
    );

    // A note the department sees until the office clears it.
    let note = json!({"department": "police", "item": "8.3", "text": "请补充2021年第四季度抽检报告"});
    assert_eq!(put(&s, "/api/v1/notes", &office, note).await, StatusCode::NO_CONTENT);
    assert_eq!(item(&s.status(&police).await, "8.3")["note"], "请补充2021年第四季度抽检报告");
    let elsewhere = json!({"department": "police", "item": "1.1", "text": "不是公安局的事项"});
    assert_eq!(put(&s, "/api/v1/notes", &office, elsewhere).await, StatusCode::UNPROCESSABLE_ENTITY);

    // The department delivers a new version at the same path: the return is answered, the
    // item is 齐全 again, and the office still sees what was returned.
    assert_eq!(s.file(&police, NOTICE, &pdf("with the seal page")).await, StatusCode::OK);
    let status = s.status(&office).await;
    let i = item(&status, "8.3");
    assert_eq!(i["status"], "complete", "{i}");
    assert_eq!(i["returned"][0]["answered"], true);
    let clear = json!({"department": "police", "item": "8.3", "text": ""});
    assert_eq!(put(&s, "/api/v1/notes", &office, clear).await, StatusCode::NO_CONTENT);
    assert!(item(&s.status(&police).await, "8.3").get("note").is_none());

    // Accepted, then taken back; every verdict is in the audit log.
    let accepted = json!({"department": "police", "path": NOTICE, "verdict": "accepted"});
    assert_eq!(put(&s, "/api/v1/reviews", &office, accepted).await, StatusCode::NO_CONTENT);
    assert!(item(&s.status(&office).await, "8.3")["returned"].as_array().unwrap().is_empty());
    let cleared = json!({"department": "police", "path": NOTICE, "verdict": "cleared"});
    assert_eq!(put(&s, "/api/v1/reviews", &office, cleared.clone()).await, StatusCode::NO_CONTENT);
    assert_eq!(
        put(&s, "/api/v1/reviews", &office, cleared).await,
        StatusCode::NOT_FOUND,
        "nothing left to take back"
    );
    let audit: Value =
        s.req(Method::GET, "/api/v1/audit", &office).send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> =
        audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "review").count(), 3);
    assert_eq!(actions.iter().filter(|a| **a == "note").count(), 2);
}

#[tokio::test]
async fn a_returned_report_is_not_counted_until_it_is_answered_and_a_withdrawal_answers_too() {
    let s = TestServer::start().await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    let report = "自评报告/公安局自评报告.pdf";
    assert_eq!(s.file(&police, report, &pdf("report")).await, StatusCode::OK);
    let police_of = |status: &Value| {
        status["departments"].as_array().unwrap().iter().find(|d| d["id"] == "police").cloned().unwrap()
    };
    assert_eq!(police_of(&s.status(&police).await)["report"], true);
    let returned =
        json!({"department": "police", "path": report, "verdict": "returned", "reason": "缺少主要领导签字"});
    assert_eq!(put(&s, "/api/v1/reviews", &office, returned).await, StatusCode::NO_CONTENT);
    let dept = police_of(&s.status(&police).await);
    assert_eq!(dept["report"], false);
    assert_eq!(dept["returned"][0]["reason"], "缺少主要领导签字");
    // Withdrawn (the clerk deletes it): answered, and there is no report until a new one comes.
    let r = s.req(Method::DELETE, &format!("/api/v1/evidence?path={}", "%E8%87%AA%E8%AF%84%E6%8A%A5%E5%91%8A%2F%E5%85%AC%E5%AE%89%E5%B1%80%E8%87%AA%E8%AF%84%E6%8A%A5%E5%91%8A.pdf"), &police);
    assert_eq!(r.send().await.unwrap().status(), StatusCode::OK);
    let dept = police_of(&s.status(&office).await);
    assert_eq!(dept["returned"][0]["answered"], true);
    assert_eq!(s.file(&police, report, &pdf("report, signed")).await, StatusCode::OK);
    assert_eq!(police_of(&s.status(&police).await)["report"], true);
}

#[tokio::test]
async fn answered_returns_wait_in_the_recheck_list_and_all_of_a_department_is_accepted_at_once() {
    let s = TestServer::start().await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    let picture = "08.03 昆仑2021专项行动/图片/销毁假冒商品现场.jpg";
    let report = "自评报告/公安局自评报告.pdf";
    for (path, bytes) in [(NOTICE, pdf("first draft")), (picture, jpeg("scene")), (report, pdf("report"))] {
        assert_eq!(s.file(&police, path, &bytes).await, StatusCode::OK);
    }
    let page = async |path: &str| {
        s.client.get(s.url(path)).bearer_auth(&office).send().await.unwrap().text().await.unwrap()
    };
    // A report is reviewable like evidence.
    let department = page("/departments/police").await;
    assert!(department.contains(r#"id="review-police-自评报告/公安局自评报告.pdf""#), "{department}");
    let returned =
        json!({"department": "police", "path": report, "verdict": "returned", "reason": "缺少盖章"});
    assert_eq!(put(&s, "/api/v1/reviews", &office, returned).await, StatusCode::NO_CONTENT);
    assert!(!page("/overview").await.contains("待复核"), "nothing answered yet");
    // The department answers with a new version: the office finds it under 待复核.
    assert_eq!(s.file(&police, report, &pdf("report, stamped")).await, StatusCode::OK);
    let overview = page("/overview").await;
    assert!(overview.contains("<h2>待复核</h2>") && overview.contains("退回理由：缺少盖章"), "{overview}");

    // 全部通过: every file without a verdict on its version, each audited.
    let accepted = s
        .client
        .post(s.url("/reviews/all"))
        .bearer_auth(&office)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("department=police&back=%2Fdepartments%2Fpolice")
        .send()
        .await
        .unwrap();
    assert!(accepted.status().is_success() || accepted.status().is_redirection(), "{}", accepted.status());
    let verdicts = s.status(&office).await;
    assert_eq!(item(&verdicts, "8.3")["status"], "complete");
    assert!(!page("/overview").await.contains("待复核"), "the answered return was accepted");
    let department = page("/departments/police").await;
    assert_eq!(department.matches(">通过</span>").count(), 3, "{department}");
    let audit: Value =
        s.req(Method::GET, "/api/v1/audit", &office).send().await.unwrap().json().await.unwrap();
    let reviews = audit.as_array().unwrap().iter().filter(|e| e["action"] == "review").count();
    assert_eq!(reviews, 4, "one return and three acceptances: {audit}");
}

#[tokio::test]
async fn a_caption_given_to_a_picture_answers_its_return() {
    let s = TestServer::start().await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    let picture = "08.03 昆仑2021专项行动/图片/IMG_0001.jpg";
    let bytes = jpeg("scene");
    assert_eq!(s.file(&police, picture, &bytes).await, StatusCode::OK);
    let returned =
        json!({"department": "police", "path": picture, "verdict": "returned", "reason": "请补充文字说明"});
    assert_eq!(put(&s, "/api/v1/reviews", &office, returned).await, StatusCode::NO_CONTENT);
    assert_eq!(item(&s.status(&office).await, "8.3")["returned"][0]["answered"], false);
    // The same picture, now with the caption the clerk put beside it.
    let record = json!({"path": picture, "sha256": super::sha(&bytes), "size": bytes.len(),
                        "modified": "2021-12-01T08:00:00Z", "caption": "2021年6月1日 销毁假冒商品现场"});
    assert_eq!(put(&s, "/api/v1/evidence", &police, record).await, StatusCode::OK);
    assert_eq!(item(&s.status(&office).await, "8.3")["returned"][0]["answered"], true);
}

#[tokio::test]
async fn the_office_gives_a_file_its_kind_and_it_holds_when_the_file_is_sent_again() {
    let s = TestServer::start().await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    // Both in the item folder itself, in no kind folder: 未分类, and the item 待完善.
    let notice = "08.03 昆仑2021专项行动/通知.pdf";
    let picture = "08.03 昆仑2021专项行动/IMG_0001.jpg";
    let bytes = jpeg("scene");
    assert_eq!(s.file(&police, notice, &pdf("notice")).await, StatusCode::OK);
    assert_eq!(s.file(&police, picture, &bytes).await, StatusCode::OK);
    assert_eq!(item(&s.status(&office).await, "8.3")["status"], "incomplete");

    // Refused: a department may not, a file not on record, a report has no kind.
    let change = |path: &str, kind: &str| json!({"department": "公安局", "path": path, "kind": kind});
    assert_eq!(put(&s, "/api/v1/kinds", &police, change(notice, "document")).await, StatusCode::FORBIDDEN);
    let missing = change("08.03 昆仑2021专项行动/没有.pdf", "document");
    assert_eq!(put(&s, "/api/v1/kinds", &office, missing).await, StatusCode::NOT_FOUND);
    assert_eq!(s.file(&police, "自评报告/自评报告.pdf", &pdf("report")).await, StatusCode::OK);
    let report = change("自评报告/自评报告.pdf", "document");
    assert_eq!(put(&s, "/api/v1/kinds", &office, report).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(put(&s, "/api/v1/kinds", &office, change(notice, "nonsense")).await, StatusCode::BAD_REQUEST);

    // The notice by the API, the picture by the item page's form.
    assert_eq!(put(&s, "/api/v1/kinds", &office, change(notice, "document")).await, StatusCode::NO_CONTENT);
    let page = s.req(Method::GET, "/items/8.3", &office).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("更改类别"), "{page}");
    let form = format!("department=police&path={picture}&kind=picture&back=%2Fitems%2F8.3");
    let r = s
        .req(Method::POST, "/kinds", &office)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let listed: Value =
        s.req(Method::GET, "/api/v1/evidence", &police).send().await.unwrap().json().await.unwrap();
    let kind_of =
        |path: &str| listed.as_array().unwrap().iter().find(|r| r["path"] == path).unwrap()["kind"].clone();
    assert_eq!((kind_of(notice), kind_of(picture)), (json!("document"), json!("picture")));
    // A picture now: without a caption it still holds the item, for that reason alone.
    let i = item(&s.status(&office).await, "8.3").clone();
    assert_eq!(i["status"], "incomplete");
    assert!(i["reasons"].to_string().contains("图片缺少文字说明"), "{i}");

    // The agent sends the picture again with its caption: still a picture, and the item complete.
    let record = json!({"path": picture, "sha256": super::sha(&bytes), "size": bytes.len(),
                        "modified": "2021-12-01T08:00:00Z", "caption": "2021年6月1日 销毁假冒商品现场"});
    let ack: Value = s
        .req(Method::PUT, "/api/v1/evidence", &police)
        .json(&record)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ack["kind"], "picture");
    assert_eq!(item(&s.status(&office).await, "8.3")["status"], "complete");

    // Audited, in Chinese on the audit page; the status counts followed.
    let audit: Value =
        s.req(Method::GET, "/api/v1/audit", &office).send().await.unwrap().json().await.unwrap();
    let kinds: Vec<_> = audit.as_array().unwrap().iter().filter(|e| e["action"] == "kind").collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.iter().any(|e| e["detail"].as_str().unwrap().ends_with("类别改为图片")), "{kinds:?}");
    let page = s.req(Method::GET, "/audit", &office).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("更改类别"));
    let (kept, counted) = s.state.db.kept_and_counted().await.unwrap();
    assert_eq!(kept, counted);
}
