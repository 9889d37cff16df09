//! Each endpoint's success and failure paths.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{TestServer, pdf, sha};

async fn error_code(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_string(), body["message"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn tokens_are_checked_and_revocable() {
    let s = TestServer::start().await;
    let ok = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let none = s.client.get(s.url("/api/v1/status")).send().await.unwrap();
    assert_eq!(error_code(none).await.0, StatusCode::UNAUTHORIZED);
    let forged = s.req(Method::GET, "/api/v1/status", "yj_0000").send().await.unwrap();
    let (status, code, message) = error_code(forged).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    assert!(message.contains("请向市质量强市办公室索取新令牌"), "{message}");

    let token = s.token(Some("police"), "pc-1").await;
    assert_eq!(
        s.req(Method::GET, "/api/v1/catalogue", &token).send().await.unwrap().status(),
        StatusCode::OK
    );
    let id = s.state.db.list_tokens().await.unwrap().last().unwrap().id;
    assert!(s.state.db.revoke_token(id).await.unwrap());
    let revoked = s.req(Method::GET, "/api/v1/catalogue", &token).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn catalogue_is_served() {
    let s = TestServer::start().await;
    let token = s.token(None, "office").await;
    let c: Value =
        s.req(Method::GET, "/api/v1/catalogue", &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(c["year"], 2021);
    assert_eq!(c["departments"].as_array().unwrap().len(), 13);
}

#[tokio::test]
async fn blob_upload_stores_verifies_and_deduplicates() {
    let s = TestServer::start().await;
    let token = s.token(Some("police"), "pc-1").await;
    let bytes = pdf("昆仑");
    let hash = sha(&bytes);
    let path = format!("/api/v1/blobs/{hash}");
    assert_eq!(s.req(Method::HEAD, &path, &token).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let put = s.req(Method::PUT, &path, &token).body(bytes.clone()).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(s.req(Method::HEAD, &path, &token).send().await.unwrap().status(), StatusCode::OK);
    let again = s.req(Method::PUT, &path, &token).body(bytes.clone()).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let stored = stored_bytes(&s, &hash);
    assert_eq!(stored, bytes);
    assert_eq!(s.temp_files(), 0);
}

#[tokio::test]
async fn an_upload_without_a_hash_is_filed_under_the_one_the_server_finds() {
    let s = TestServer::with_config(|c| c.max_upload_bytes = 1024).await;
    let token = s.token(Some("police"), "pc-1").await;
    let bytes = pdf("未命名上传");
    let post = || s.req(Method::POST, "/api/v1/blobs", &token).body(bytes.clone()).send();
    let first = post().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let stored: Value = first.json().await.unwrap();
    assert_eq!(stored, json!({"sha256": sha(&bytes), "size": bytes.len()}));
    assert_eq!(stored_bytes(&s, &sha(&bytes)), bytes);
    // The same content again is received (the server cannot know it before the end) and dropped.
    let again = post().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["sha256"], sha(&bytes));
    assert_eq!(s.state.db.all_blobs().await.unwrap().len(), 1);

    let too_large = s.req(Method::POST, "/api/v1/blobs", &token).body(vec![0u8; 4096]).send().await.unwrap();
    assert_eq!(error_code(too_large).await.1, "too_large");
    let office = s.token(None, "office").await;
    let by_office = s.req(Method::POST, "/api/v1/blobs", &office).body(bytes.clone()).send().await.unwrap();
    assert_eq!(by_office.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.state.db.all_blobs().await.unwrap().len(), 1);
    assert_eq!(s.temp_files(), 0);
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing() {
    let s = TestServer::with_config(|c| c.max_upload_bytes = 1024).await;
    let token = s.token(Some("police"), "pc-1").await;
    let office = s.token(None, "office").await;
    let bytes = pdf("x");
    let other = sha(b"something else");

    let mismatch = s
        .req(Method::PUT, &format!("/api/v1/blobs/{other}"), &token)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_code(mismatch).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch"));
    assert!(message.contains("将自动重新上传"), "{message}");
    assert!(s.state.blobs.open_blob(&other).is_err());

    let big = vec![7u8; 4096];
    let too_large = s
        .req(Method::PUT, &format!("/api/v1/blobs/{}", sha(&big)), &token)
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(too_large).await.1, "too_large");

    // A streamed body of unknown length is cut off once it passes the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..8).map(|_| Ok(vec![1u8; 512])).collect();
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = s
        .req(Method::PUT, &format!("/api/v1/blobs/{}", sha(&[1u8; 4096])), &token)
        .body(streamed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    for bad in ["abc", "zz", &"g".repeat(64), &format!("{other}0")] {
        let r = s
            .req(Method::PUT, &format!("/api/v1/blobs/{bad}"), &token)
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let by_office = s
        .req(Method::PUT, &format!("/api/v1/blobs/{}", sha(&bytes)), &office)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(by_office.status(), StatusCode::FORBIDDEN);

    assert_eq!(s.temp_files(), 0);
    assert!(s.state.db.all_blobs().await.unwrap().is_empty());
    assert_eq!(s.client.get(s.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn evidence_records_are_classified_idempotent_and_withdrawable() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let path = "08.03 昆仑2021专项行动/文件/关于开展“昆仑2021”专项行动的通知（一）.pdf";
    let bytes = pdf("notice");
    assert_eq!(s.file(&police, path, &bytes).await, StatusCode::OK);

    let record =
        json!({"path": path, "sha256": sha(&bytes), "size": bytes.len(), "modified": "2021-12-01T08:00:00Z"});
    let again: Value = s
        .req(Method::PUT, "/api/v1/evidence", &police)
        .json(&record)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["changed"], false);
    assert_eq!(again["item"], "8.3");
    assert_eq!(again["kind"], "document");

    let listed: Value =
        s.req(Method::GET, "/api/v1/evidence", &police).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["path"], path);

    let q = [("path", path)];
    let w: Value = s
        .req(Method::DELETE, "/api/v1/evidence", &police)
        .query(&q)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(w["withdrawn"], true);
    let w: Value = s
        .req(Method::DELETE, "/api/v1/evidence", &police)
        .query(&q)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(w["withdrawn"], false);
    let listed: Value =
        s.req(Method::GET, "/api/v1/evidence", &police).send().await.unwrap().json().await.unwrap();
    assert!(listed.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_records_get_clear_errors() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let bytes = pdf("r");
    let hash = sha(&bytes);
    let put = |v: Value| s.req(Method::PUT, "/api/v1/evidence", &police).json(&v).send();
    let rec = |path: &str| json!({"path": path, "sha256": hash, "size": bytes.len(), "modified": "2021-12-01T08:00:00Z"});

    let unknown_blob = put(rec("08.03 x/a.pdf")).await.unwrap();
    assert_eq!(error_code(unknown_blob).await.0, StatusCode::CONFLICT);
    s.req(Method::PUT, &format!("/api/v1/blobs/{hash}"), &police).body(bytes.clone()).send().await.unwrap();

    for (path, status, hint) in [
        ("01.01 制造业产品质量合格率/a.pdf", StatusCode::UNPROCESSABLE_ENTITY, "responsibility"),
        ("99.01 x/a.pdf", StatusCode::UNPROCESSABLE_ENTITY, "no item 99.1"),
        ("散落的文件.pdf", StatusCode::UNPROCESSABLE_ENTITY, "move it into an item folder"),
        ("08.03 x/~$lock.pdf", StatusCode::UNPROCESSABLE_ENTITY, "not evidence"),
        ("../../etc/passwd", StatusCode::BAD_REQUEST, "'..'"),
        ("/etc/passwd", StatusCode::BAD_REQUEST, "relative"),
        ("C:\\Windows\\a.pdf", StatusCode::BAD_REQUEST, "backslash"),
    ] {
        let (got, _, message) = error_code(put(rec(path)).await.unwrap()).await;
        assert_eq!(got, status, "{path}: {message}");
        assert!(message.contains(hint), "{path}: {message}");
    }
    let wrong_size =
        json!({"path": "08.03 x/a.pdf", "sha256": hash, "size": 1, "modified": "2021-12-01T08:00:00Z"});
    assert_eq!(error_code(put(wrong_size).await.unwrap()).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let malformed = s
        .req(Method::PUT, "/api/v1/evidence", &police)
        .header("content-type", "application/json")
        .body("{\"path\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(malformed).await.0, StatusCode::BAD_REQUEST);
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep = s
        .req(Method::PUT, "/api/v1/evidence", &police)
        .header("content-type", "application/json")
        .body(nested)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(deep).await.0, StatusCode::BAD_REQUEST);
    let office = s.token(None, "office").await;
    let by_office =
        s.req(Method::PUT, "/api/v1/evidence", &office).json(&rec("08.03 x/a.pdf")).send().await.unwrap();
    assert_eq!(by_office.status(), StatusCode::FORBIDDEN);
    assert!(s.state.db.evidence(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn heartbeat_and_contacts() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let office = s.token(None, "office").await;
    let hb = json!({"version": "0.1.0", "host": "pc-1", "watch_mode": "native", "pending": 2,
                    "unsorted": ["散落的文件.pdf"]});
    let r = s.req(Method::POST, "/api/v1/heartbeat", &police).json(&hb).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let contacts = json!({"contacts": [
        {"role": "leader", "name": "张三", "gender": "男", "unit": "市公安局", "position": "副局长", "phone": "0375-1234567", "mobile": "13800000000", "email": "a@example.org"},
        {"role": "staff", "name": "李四", "mobile": "139 0000 0000"}
    ]});
    let r = s.req(Method::PUT, "/api/v1/contacts", &police).json(&contacts).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let mut other = contacts.clone();
    other["department"] = json!("水利局");
    let r = s.req(Method::PUT, "/api/v1/contacts", &police).json(&other).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s.req(Method::PUT, "/api/v1/contacts", &office).json(&other).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = s.req(Method::PUT, "/api/v1/contacts", &office).json(&contacts).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let nameless = json!({"contacts": [{"role": "leader", "name": " "}]});
    let r = s.req(Method::PUT, "/api/v1/contacts", &police).json(&nameless).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Names alone do not reach anyone; a wrong number is named; nothing changes.
    for (wrong, says) in [
        (json!({"role": "staff", "name": "王五"}), "请至少填写手机或电话之一"),
        (json!({"role": "staff", "name": "王五", "mobile": "1380000"}), "手机号码应为 11 位数字"),
        (json!({"role": "staff", "name": "王五", "phone": "266123"}), "请填写电话"),
        (
            json!({"role": "staff", "name": "王五", "mobile": "13800000000", "email": "wangwu"}),
            "邮箱格式不正确",
        ),
    ] {
        let body = json!({"contacts": [contacts["contacts"][0].clone(), wrong]});
        let r = s.req(Method::PUT, "/api/v1/contacts", &police).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let message = r.json::<serde_json::Value>().await.unwrap()["message"].as_str().unwrap().to_string();
        assert!(message.contains("第 2 位（工作人员 王五）") && message.contains(says), "{message}");
    }

    let status = s.status(&office).await;
    let dept =
        |id: &str| status["departments"].as_array().unwrap().iter().find(|d| d["id"] == id).unwrap().clone();
    assert_eq!(dept("police")["contacts"], true);
    assert_eq!(dept("water")["contacts"], true);
    assert_eq!(dept("health")["contacts"], false);
    assert_eq!(dept("police")["unsorted"], json!(["散落的文件.pdf"]));
    assert!(dept("police")["last_heartbeat"].is_string());
}

#[tokio::test]
async fn events_stream_changes_live() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let water = s.token(Some("water"), "pc-1").await;
    let office = s.token(None, "office").await;
    let mut office_events = s.req(Method::GET, "/api/v1/events", &office).send().await.unwrap();
    let mut water_events = s.req(Method::GET, "/api/v1/events", &water).send().await.unwrap();
    assert_eq!(office_events.status(), StatusCode::OK);

    assert_eq!(s.file(&police, "08.03 昆仑/现场照片.jpg", &super::jpeg("a")).await, StatusCode::OK);
    let mut seen = String::new();
    while !seen.contains("现场照片.jpg") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), office_events.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("\"department\":\"police\""), "{seen}");

    // The water department's stream carries nothing of the police's: its next event is its own.
    s.file(&water, "01.06 水利/评价.pdf", &pdf("w")).await;
    let mut water_seen = String::new();
    while !water_seen.contains("评价.pdf") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), water_events.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        water_seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!water_seen.contains("police"), "{water_seen}");
}

/// The kinds of the next `n` events on a stream, and what they said.
async fn next_events(stream: &mut reqwest::Response, n: usize) -> Vec<Value> {
    let mut seen = String::new();
    loop {
        let events: Vec<Value> = seen
            .split("\n\n")
            .filter_map(|frame| frame.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).unwrap())
            .collect();
        // A frame is whole once the blank line after it came.
        if events.len() >= n && seen.ends_with("\n\n") {
            assert_eq!(events.len(), n, "{seen}");
            return events;
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(30), stream.chunk())
            .await
            .expect("an event within 30 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// A heartbeat from the police's PC with `pending` files waiting.
async fn beat(s: &TestServer, police: &str, pending: u64) {
    let hb = json!({"version": "0.1.0", "host": "PC-01", "watch_mode": "native", "pending": pending});
    let r = s.req(Method::POST, "/api/v1/heartbeat", police).json(&hb).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

/// The police's PC as the status says it.
async fn police_pc(s: &TestServer, office: &str) -> Value {
    let status = s.status(office).await;
    let police = status["departments"].as_array().unwrap().iter().find(|d| d["id"] == "police").cloned();
    police.unwrap()["agents"][0].clone()
}

#[tokio::test]
async fn a_heartbeat_that_repeats_the_last_wakes_no_page() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let office = s.token(None, "office").await;
    let mut events = s.req(Method::GET, "/api/v1/events", &office).send().await.unwrap();
    beat(&s, &police, 0).await;
    let first = police_pc(&s, &office).await["last_seen"].clone();
    beat(&s, &police, 0).await;
    // Its time was still taken: the status says when the PC was last heard from.
    assert_ne!(police_pc(&s, &office).await["last_seen"], first);
    let contacts = json!({"contacts": [{"role": "staff", "name": "李四", "mobile": "139 0000 0000"}]});
    let r = s.req(Method::PUT, "/api/v1/contacts", &police).json(&contacts).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    beat(&s, &police, 1).await;
    // The second heartbeat said nothing new: the stream went from the first to the contacts.
    let kinds: Vec<Value> =
        next_events(&mut events, 3).await.into_iter().map(|e| e["kind"].clone()).collect();
    assert_eq!(kinds, [json!("heartbeat"), json!("contacts"), json!("heartbeat")]);
}

#[tokio::test]
async fn a_pc_falling_silent_is_announced_and_so_is_its_return() {
    // Silent after 5 s: each status below is asked right after a heartbeat, well within them.
    let s = TestServer::with_config(|c| c.silent_after_secs = 5).await;
    let police = s.token(Some("police"), "pc-1").await;
    let office = s.token(None, "office").await;
    let mut events = s.req(Method::GET, "/api/v1/events", &office).send().await.unwrap();
    beat(&s, &police, 0).await;
    assert_eq!(next_events(&mut events, 1).await[0]["kind"], "heartbeat");
    assert_eq!(police_pc(&s, &office).await["silent"], false);
    // Nothing more from the PC: the open page hears that it fell silent, though no request came.
    let fell = next_events(&mut events, 1).await.remove(0);
    assert_eq!((fell["kind"].as_str(), fell["department"].as_str()), (Some("heartbeat"), Some("police")));
    assert_eq!(police_pc(&s, &office).await["silent"], true);
    // The same heartbeat as before is news now: the PC is back.
    beat(&s, &police, 0).await;
    assert_eq!(next_events(&mut events, 1).await[0]["kind"], "heartbeat");
    assert_eq!(police_pc(&s, &office).await["silent"], false);
}

#[tokio::test]
async fn audit_log_records_changes_for_the_office_only() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let office = s.token(None, "office").await;
    s.file(&police, "08.03 昆仑/通知,\"一\".pdf", &pdf("a")).await;
    s.req(Method::DELETE, "/api/v1/evidence", &police)
        .query(&[("path", "08.03 昆仑/通知,\"一\".pdf")])
        .send()
        .await
        .unwrap();
    let r = s.req(Method::GET, "/api/v1/audit", &police).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let log: Value = s.req(Method::GET, "/api/v1/audit", &office).send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["withdraw", "record", "upload", "token_create", "token_create"]);
    let csv =
        s.req(Method::GET, "/api/v1/audit?format=csv", &office).send().await.unwrap().text().await.unwrap();
    assert!(csv.contains("\"08.03 昆仑/通知,\"\"一\"\".pdf"), "{csv}");
    assert_eq!(csv.lines().count(), 6);
    // For people: Chinese headers, the department's name, the action in words, China time, the
    // hash in a column of its own.
    assert!(csv.starts_with("\u{feff}编号,时间,单位,客户端,计算机,操作,内容,SHA-256\r\n"), "{csv}");
    let record = csv.lines().find(|l| l.contains("登记材料")).expect("the record in words");
    assert!(record.contains(",公安局,") && record.ends_with(&super::sha(&pdf("a"))), "{record}");
    assert!(!csv.contains("sha256=") && !csv.contains(",police,") && !csv.contains("T0"), "{csv}");
}

/// The bytes the store holds under `sha256`.
fn stored_bytes(s: &TestServer, sha256: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut s.state.blobs.open_blob(sha256).unwrap(), &mut bytes).unwrap();
    bytes
}
