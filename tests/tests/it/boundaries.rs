//! Trust boundaries (issue 14): what another department, a stranger or a careless clerk can do
//! to the server — each finding reproduced and refused.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::time::Duration;

use reqwest::{Client, StatusCode, redirect};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yingjian_tests::{Aggregator, ServerProcess, deliver, eventually, record, sha, temp};

const NOTICE: &[u8] = b"%PDF-1.4 the city's notice, sent to every department";

async fn records(server: &Aggregator, token: &str) -> Vec<Value> {
    server.get("/api/v1/evidence", token).await.as_array().unwrap().clone()
}

async fn status_of(client: &Client, url: String, token: &str) -> StatusCode {
    client.get(url).bearer_auth(token).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn departments_see_only_the_content_they_delivered_themselves() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let (police, market, water) = (
        server.token(Some("police")).await,
        server.token(Some("market")).await,
        server.token(Some("water")).await,
    );
    let office = server.token(None).await;
    let client = Client::new();
    let base = server.url();
    let notice = sha(NOTICE);
    deliver(&client, &base, &police, "08.03 昆仑2021专项行动/公安转发的通知.pdf", NOTICE).await.unwrap();

    // Water never sent those bytes: to it the blob does not exist, whoever holds it.
    let head = client.head(format!("{base}/api/v1/blobs/{notice}")).bearer_auth(&water).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    let r = client
        .put(format!("{base}/api/v1/evidence"))
        .bearer_auth(&water)
        .json(&record("01.06 水利建设质量工作水平评价/偷来的通知.pdf", &notice, NOTICE.len() + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT, "no record, and no size revealed either");
    assert_eq!(status_of(&client, format!("{base}/files/{notice}"), &water).await, StatusCode::NOT_FOUND);
    // Claiming the hash with other bytes is a mismatch, and still gives no access.
    let r = client
        .put(format!("{base}/api/v1/blobs/{notice}"))
        .bearer_auth(&water)
        .body(b"%PDF-1.4 not the notice".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let head = client.head(format!("{base}/api/v1/blobs/{notice}")).bearer_auth(&water).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);

    // Market has the same notice: it sends the whole body (proof of possession), the store
    // keeps one copy, and from then on market may use it like its own.
    deliver(&client, &base, &market, "01.01 制造业产品质量合格率/市场监管局收到的通知.pdf", NOTICE)
        .await
        .unwrap();
    assert_eq!(server.state.db.all_blobs().await.unwrap().len(), 1, "one copy on disk");
    assert_eq!(server.audit_count(&office, "upload").await, 1);
    assert_eq!(server.audit_count(&office, "upload_existing").await, 1);
    let head =
        client.head(format!("{base}/api/v1/blobs/{notice}")).bearer_auth(&market).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);

    // Each sees its own records, and its own name for the file; the office sees both.
    let names =
        |rs: Vec<Value>| rs.iter().map(|r| r["path"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(names(records(&server, &police).await), ["08.03 昆仑2021专项行动/公安转发的通知.pdf"]);
    assert_eq!(
        names(records(&server, &market).await),
        ["01.01 制造业产品质量合格率/市场监管局收到的通知.pdf"]
    );
    assert_eq!(records(&server, &office).await.len(), 2);
    for (token, own_name) in [(&police, "公安转发的通知.pdf"), (&market, "市场监管局收到的通知.pdf")]
    {
        // Even asked for the other department's name, the download is named by the caller's own.
        let other =
            "%E5%B8%82%E5%9C%BA%E7%9B%91%E7%AE%A1%E5%B1%80%E6%94%B6%E5%88%B0%E7%9A%84%E9%80%9A%E7%9F%A5.pdf";
        let r = client
            .get(format!("{base}/files/{notice}?name={other}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let disposition = r.headers()["content-disposition"].to_str().unwrap().to_string();
        let encoded = disposition.split("''").nth(1).unwrap();
        let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8().unwrap();
        assert_eq!(decoded, own_name, "{disposition}");
        assert_eq!(r.bytes().await.unwrap(), NOTICE);
    }
    // The duplicate group is the office's to see; a department's status names no other's copy.
    let police_status = server.get("/api/v1/status", &police).await;
    assert!(police_status["duplicates"].as_array().unwrap().is_empty());
    let office_status = server.get("/api/v1/status", &office).await;
    assert_eq!(office_status["duplicates"][0]["copies"].as_array().unwrap().len(), 2);
    // A move inside one department still costs no bytes: the blob is known to it.
    let r = client
        .put(format!("{base}/api/v1/evidence"))
        .bearer_auth(&police)
        .json(&record("11.02 公安打假机构力量和机制建设/公安转发的通知.pdf", &notice, NOTICE.len()))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    server.stop().await;
}

/// Every name in a zip, with the checks Windows makes when it unpacks one.
fn zip_names(path: &std::path::Path) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    let names: Vec<String> = archive.file_names().map(|n| n.unwrap().to_string()).collect();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut sink = Vec::new();
        entry.read_to_end(&mut sink).unwrap();
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_name_stops_the_bundle_and_concurrent_requests_share_one_build() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let office = server.token(None).await;
    let (pc1, pc2) =
        (server.agent_token("police", "治安科-PC").await, server.agent_token("police", "经侦科-PC").await);
    let client = Client::new();
    let base = server.url();
    let deep =
        (0..12).map(|i| format!("第{i}层很长的子文件夹名称很长的子文件夹名称")).collect::<Vec<_>>().join("/");
    let files: Vec<(&str, String, &[u8])> = vec![
        // Two PCs of one department, one path, different content.
        (&pc1, "自评报告/公安局自评报告.pdf".into(), b"%PDF-1.4 report from PC 1"),
        (&pc2, "自评报告/公安局自评报告.pdf".into(), b"%PDF-1.4 report from PC 2"),
        // Names that sanitise, or compare, to one name on Windows.
        (&pc1, "自评报告/方案:定稿.pdf".into(), b"%PDF-1.4 ascii colon"),
        (&pc1, "自评报告/方案：定稿.pdf".into(), b"%PDF-1.4 full-width colon"),
        (&pc1, "自评报告/汇报.pdf.".into(), b"%PDF-1.4 trailing dot"),
        (&pc1, "自评报告/汇报.pdf".into(), b"%PDF-1.4 plain"),
        (&pc1, "典型案例/Case.PDF".into(), b"%PDF-1.4 upper"),
        (&pc1, "典型案例/case.pdf".into(), b"%PDF-1.4 lower"),
        (&pc1, "典型案例/ＣＡＳＥ.pdf".into(), b"%PDF-1.4 full-width letters: another name"),
        // Device names in the spellings Windows reserves.
        (&pc1, "08.03 昆仑2021专项行动/COM¹".into(), b"%PDF-1.4 superscript device"),
        (&pc1, "自评报告/LPT².txt".into(), b"plain text device"),
        (&pc1, "自评报告/CON".into(), b"console"),
        // Deep folders under 典型案例.
        (&pc1, format!("典型案例/案例一/{deep}/现场照片说明.pdf"), b"%PDF-1.4 deep"),
    ];
    for (token, path, bytes) in &files {
        deliver(&client, &base, token, path, bytes).await.unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    // A field longer than a spreadsheet cell holds is refused where it is written.
    let long_name = "名".repeat(40_000);
    let r = client
        .put(format!("{base}/api/v1/contacts"))
        .bearer_auth(&pc1)
        .json(&json!({"contacts": [{"role": "leader", "name": long_name}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Three requests at once: all succeed, one build.
    let build = || client.post(format!("{base}/api/v1/bundles")).bearer_auth(&office).send();
    let (a, b, c) = tokio::join!(build(), build(), build());
    let mut names = HashSet::new();
    for r in [a, b, c] {
        let r = r.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        names.insert(r.json::<Value>().await.unwrap()["name"].as_str().unwrap().to_string());
    }
    assert_eq!(names.len(), 1, "one bundle of one state: {names:?}");
    assert_eq!(server.audit_count(&office, "bundle").await, 1, "built once");

    let name = names.into_iter().next().unwrap();
    let bytes = client
        .get(format!("{base}/api/v1/bundles/{name}"))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let zip_path = dir.path().join(&name);
    fs::write(&zip_path, &bytes).unwrap();
    assert!(yingjian_aggregator::bundle::verify(&zip_path).unwrap().is_intact());
    let entries = zip_names(&zip_path);
    let mut seen = HashSet::new();
    for entry in &entries {
        assert!(entry.chars().count() <= 200, "{} characters: {entry}", entry.chars().count());
        let key: String = entry.to_lowercase();
        assert!(seen.insert(key), "two entries Windows takes for one: {entry}");
        for component in entry.split('/') {
            let stem = component.split('.').next().unwrap().trim_end().to_uppercase();
            assert!(!["CON", "PRN", "AUX", "NUL", "COM¹", "LPT²"].contains(&stem.as_str()), "{entry}");
            assert!(!component.ends_with(['.', ' ']) && !component.contains([':', '*', '?']), "{entry}");
        }
    }
    let reports: Vec<&String> = entries.iter().filter(|e| e.contains("/00 自评报告/公安局/")).collect();
    assert!(reports.iter().any(|e| e.ends_with("公安局自评报告 (2).pdf")), "{reports:?}");
    assert!(reports.iter().any(|e| e.ends_with("方案：定稿 (2).pdf")), "{reports:?}");
    assert!(reports.iter().any(|e| e.ends_with("汇报 (2).pdf")), "{reports:?}");
    // Every file delivered is in the bundle: 14 files, plus the generated ones and the bag's.
    let evidence = entries
        .iter()
        .filter(|e| e.contains("/00 自评报告/") || e.contains("/00 典型案例/") || e.contains("/08 "));
    assert_eq!(evidence.count(), files.len(), "{entries:#?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_is_shown_in_chinese_audited_and_hides_nothing() {
    let dir = temp();
    let data = dir.path().join("data");
    let server = Aggregator::start(&data).await;
    let office = server.token(None).await;
    let police = server.token(Some("police")).await;
    let client = Client::new();
    let base = server.url();
    deliver(&client, &base, &police, "自评报告/自评报告.pdf", b"%PDF-1.4 report").await.unwrap();
    let good = client.post(format!("{base}/api/v1/bundles")).bearer_auth(&office).send().await.unwrap();
    assert_eq!(good.status(), StatusCode::CREATED);
    let good: Value = good.json().await.unwrap();

    // A blob rots on the disk (same size, other bytes), another goes missing (a bad restore):
    // the next build fails rather than hand either in.
    let rotten = b"%PDF-1.4 a case whose blob rots";
    let lost = b"%PDF-1.4 a case whose blob is lost";
    deliver(&client, &base, &police, "典型案例/案例一.pdf", rotten).await.unwrap();
    deliver(&client, &base, &police, "典型案例/案例二.pdf", lost).await.unwrap();
    let blob = |bytes: &[u8]| {
        let sha = sha(bytes);
        data.join("blobs").join(&sha[..2]).join(&sha[2..4]).join(&sha)
    };
    fs::write(blob(rotten), b"%PDF-1.4 a case whose blob ROTS").unwrap();
    fs::remove_file(blob(lost)).unwrap();
    let r = client.post(format!("{base}/api/v1/bundles")).bearer_auth(&office).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = r.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(!message.contains("disk is full") && !message.contains("EscapeAscii"), "{message}");
    assert!(message.contains("damaged"), "the rotten blob is named: {message}");

    // The 打包 page says so in Chinese; the last good bundle is still listed and served.
    let page = client
        .get(format!("{base}/bundles"))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("打包失败") && page.contains("scrub"), "{page}");
    assert!(!page.contains("磁盘已满"));
    assert!(page.contains(good["name"].as_str().unwrap()));
    let listed = server.get("/api/v1/bundles", &office).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(server.audit_count(&office, "bundle_failed").await, 1);
    let leftovers: Vec<_> =
        fs::read_dir(data.join("bundles")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "nothing but the good bundle: {leftovers:?}");

    // A build killed midway leaves a partial file: never listed, removed at the next start.
    fs::write(data.join("bundles").join(".partial-killed"), b"half a zip").unwrap();
    assert_eq!(server.get("/api/v1/bundles", &office).await.as_array().unwrap().len(), 1);
    server.stop().await;
    let server = Aggregator::start(&data).await;
    assert!(!data.join("bundles").join(".partial-killed").exists());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_while_others_are_served() {
    let dir = temp();
    let server = Aggregator::start_with(&dir.path().join("data"), |c| c.timeouts.header_secs = 1).await;
    let addr = server.addr;
    // Slow-loris: 50 connections that send a header byte every 200 ms and never finish.
    let slow: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".repeat(4);
                for byte in head {
                    if s.write_all(&[byte]).await.is_err() {
                        return true;
                    }
                    // The scenario's pace, not synchronisation.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                false
            })
        })
        .collect();
    // Meanwhile everyone else is served.
    let client = Client::new();
    for _ in 0..20 {
        let r = client.get(format!("{}/healthz", server.url())).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    for task in slow {
        assert!(task.await.unwrap(), "a slow connection was cut off before it finished its headers");
    }
    // An idle keep-alive connection is closed too.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let closed = tokio::time::timeout(yingjian_tests::PATIENCE, idle.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0) | Err(_))), "the idle connection was closed by the server: {closed:?}");
    server.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_while_a_dashboard_holds_an_event_stream() {
    let dir = temp();
    let data = dir.path().join("data");
    let office = ServerProcess::cli(&data, &["token", "create", "--office"]).trim().to_string();
    let server = ServerProcess::start(&data, ServerProcess::free_port()).await;
    let stream = Client::new()
        .get(format!("{}/api/v1/events", server.url()))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut stream = stream;
    let reader = tokio::spawn(async move {
        loop {
            match stream.chunk().await {
                Ok(Some(_)) => {}
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    });
    let status = server.terminate().await;
    assert!(status.success(), "{status}");
    // Ended by the server (the stream's last chunk), not cut off when the process gave up waiting.
    assert!(reader.await.unwrap(), "the event stream was cut off instead of closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_s_event_stream_ends() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let watcher = server.token(None).await;
    let mut stream = Client::new()
        .get(format!("{}/api/v1/events", server.url()))
        .bearer_auth(&watcher)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let id = server.state.db.list_tokens().await.unwrap()[0].id;
    assert!(server.state.db.revoke_token(id).await.unwrap());
    // Nothing else happens: the stream ends all the same (the server asks the database once a
    // second while streams are open), instead of waiting for a change to carry.
    let ended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = ended.clone();
    tokio::spawn(async move {
        while let Ok(Some(_)) = stream.chunk().await {}
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    eventually("the revoked stream ends", || async {
        ended.load(std::sync::atomic::Ordering::SeqCst).then_some(())
    })
    .await;
    // A stream is not opened again with it.
    let again = Client::new().get(format!("{}/api/v1/events", server.url())).bearer_auth(&watcher).send();
    assert_eq!(again.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_live_on_the_server_and_only_this_site_may_open_one() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let office = server.token(None).await;
    let browser = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    let login = |origin: Option<String>| {
        let mut r = browser
            .post(format!("{}/login", server.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={office}"));
        if let Some(origin) = origin {
            r = r.header("origin", origin);
        }
        r.send()
    };

    // Another site's page cannot log a browser in (nor do anything else that changes state).
    let r = login(Some("http://evil.example".into())).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("set-cookie").is_none());

    let r = login(Some(server.url())).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(!set.contains(&office), "the cookie is not the token: {set}");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains("Secure"), "plain HTTP: a Secure cookie would never come back");
    let cookie = set.split(';').next().unwrap().to_string();
    let overview =
        || browser.get(format!("{}/overview", server.url())).header("cookie", cookie.clone()).send();
    assert_eq!(overview().await.unwrap().status(), StatusCode::OK);

    // Logout ends the session on the server: the same cookie replayed leads to the login page.
    let r = browser
        .post(format!("{}/logout", server.url()))
        .header("cookie", cookie.clone())
        .header("origin", server.url())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let replay = overview().await.unwrap();
    assert_eq!(
        (replay.status(), replay.headers()["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/login?next=%2Foverview")
    );

    // Revoking the token ends its sessions.
    let r = login(None).await.unwrap();
    let cookie2 = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = browser.get(format!("{}/overview", server.url())).header("cookie", cookie2.clone());
    assert_eq!(page.send().await.unwrap().status(), StatusCode::OK);
    let id = server.state.db.list_tokens().await.unwrap()[0].id;
    server.state.db.revoke_token(id).await.unwrap();
    let page = browser.get(format!("{}/overview", server.url())).header("cookie", cookie2);
    assert_eq!(page.send().await.unwrap().status(), StatusCode::SEE_OTHER);
    server.stop().await;
}
