//! Resumable uploads (tus 1.0 under `/api/v1/uploads`): the protocol as its spec says, an
//! independent client (tuspy) resuming across a server restart, and the agent resuming a large
//! file across a cut, its own restart and the server's, sending little twice.

use std::fs;
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use yingjian_aggregator::Config;
use yingjian_tests::tus::{TUS, create, head, header, patch};
use yingjian_tests::{Aggregator, DeptAgent, Relay, Rng, eventually, eventually_within, sha, temp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tus_protocol_as_its_spec_says_scoped_to_the_department_and_kept_across_a_restart() {
    let dir = temp();
    let data = dir.path().join("data");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = || Config { data: data.clone(), max_upload_bytes: 1 << 20, ..Config::default() };
    let server = Aggregator::start_on(config(), listener);
    let base = server.url();
    let police = server.token(Some("police")).await;
    let market = server.token(Some("market")).await;
    let office = server.token(None).await;
    // No pooled connections: the server restarts below, and a connection kept from before could
    // be reused in the instant before its close arrives.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();

    // What the server offers, asked without a token as tus clients do.
    let caps =
        client.request(reqwest::Method::OPTIONS, format!("{base}/api/v1/uploads")).send().await.unwrap();
    assert_eq!(caps.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&caps, "tus-version"), "1.0.0");
    assert_eq!(header(&caps, "tus-extension"), "creation,termination,expiration");
    assert_eq!(header(&caps, "tus-max-size"), (1 << 20).to_string());

    // Refusals: another protocol version, too large, the office (uploads are a department's).
    let old = client
        .post(format!("{base}/api/v1/uploads"))
        .bearer_auth(&police)
        .header("tus-resumable", "0.2.2")
        .header("upload-length", 10)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (old.status(), header(&old, "tus-version")),
        (StatusCode::PRECONDITION_FAILED, "1.0.0".into())
    );
    assert_eq!(create(&client, &base, &police, 2 << 20, "").await.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(create(&client, &base, &office, 10, "").await.status(), StatusCode::FORBIDDEN);

    let content = b"%PDF-1.4 resumable upload, sent in pieces".to_vec();
    let filename = "ZmlsZS5wZGY="; // "file.pdf"
    let created = create(&client, &base, &police, content.len(), &format!("filename {filename}")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(header(&created, "tus-resumable"), "1.0.0");
    assert!(!header(&created, "upload-expires").is_empty());
    let url = format!("{base}{}", header(&created, "location"));

    let first = patch(&client, &url, &police, 0, &content[..10]).await;
    assert_eq!((first.status(), header(&first, "upload-offset")), (StatusCode::NO_CONTENT, "10".into()));
    // A wrong offset, a wrong content type: refused, nothing written.
    assert_eq!(patch(&client, &url, &police, 3, &content[3..]).await.status(), StatusCode::CONFLICT);
    let typed = client
        .patch(&url)
        .bearer_auth(&police)
        .header(TUS.0, TUS.1)
        .header("upload-offset", 10)
        .header("content-type", "application/pdf")
        .body(content[10..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(typed.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Another department's upload does not exist for it.
    assert_eq!(head(&client, &url, &market).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(patch(&client, &url, &market, 10, &content[10..]).await.status(), StatusCode::NOT_FOUND);

    // The server restarts: the partial upload is still there, at its synced offset.
    server.stop().await;
    let listener =
        eventually("the port again", || async { tokio::net::TcpListener::bind(addr).await.ok() }).await;
    let server = Aggregator::start_on(config(), listener);
    let at = head(&client, &url, &police).await;
    assert_eq!(at.status(), StatusCode::OK);
    assert_eq!(header(&at, "upload-offset"), "10");
    assert_eq!(header(&at, "upload-length"), content.len().to_string());
    assert_eq!(header(&at, "cache-control"), "no-store");

    // More bytes than the length: refused.
    let mut too_long = content[10..].to_vec();
    too_long.extend_from_slice(b"extra");
    assert_eq!(patch(&client, &url, &police, 10, &too_long).await.status(), StatusCode::BAD_REQUEST);
    let offset: usize = header(&head(&client, &url, &police).await, "upload-offset").parse().unwrap();
    let done = patch(&client, &url, &police, offset, &content[offset..]).await;
    assert_eq!(done.status(), StatusCode::OK);
    let stored: serde_json::Value = done.json().await.unwrap();
    assert_eq!(stored["sha256"], sha(&content));
    assert_eq!(stored["size"], content.len());
    // It is a blob of the department's now, as if sent by PUT; the upload is gone.
    let blob = client
        .head(format!("{base}/api/v1/blobs/{}", sha(&content)))
        .bearer_auth(&police)
        .send()
        .await
        .unwrap();
    assert_eq!(blob.status(), StatusCode::OK);
    assert_eq!(server.state.blobs.verify(&sha(&content), content.len() as u64), None);
    assert_eq!(head(&client, &url, &police).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(server.audit_count(&office, "upload").await, 1);

    // A named hash is checked at the end: a mismatch is refused and the upload dropped.
    let wrong = format!("sha256 {}", base64_of(&sha(b"something else")));
    let created = create(&client, &base, &police, 4, &wrong).await;
    let url = format!("{base}{}", header(&created, "location"));
    assert_eq!(patch(&client, &url, &police, 0, b"abcd").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(head(&client, &url, &police).await.status(), StatusCode::NOT_FOUND);

    // Termination.
    let created = create(&client, &base, &police, 4, "").await;
    let url = format!("{base}{}", header(&created, "location"));
    let ended = client.delete(&url).bearer_auth(&police).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_eq!(head(&client, &url, &police).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(fs::read_dir(data.join("tmp/uploads")).unwrap().count(), 0, "nothing left behind");
    server.stop().await;

    // Expiration: an upload that does not grow is dropped after `[uploads] expire_secs`.
    let server = Aggregator::start_with(&dir.path().join("other"), |c| c.uploads.expire_secs = 1).await;
    let token = server.token(Some("police")).await;
    let created = create(&client, &server.url(), &token, 4, "").await;
    let url = format!("{}{}", server.url(), header(&created, "location"));
    eventually("the idle upload expired", || async {
        (head(&client, &url, &token).await.status() == StatusCode::NOT_FOUND).then_some(())
    })
    .await;
    server.stop().await;
}

fn base64_of(text: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", "import base64,sys; print(base64.b64encode(sys.argv[1].encode()).decode())", text])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// tuspy, the tus project's Python client: `start` sends the first `stop_at` bytes and prints
/// the upload's address; `resume` goes on from the server's offset and prints where it began.
const TUSPY: &str = r#"
import sys
from tusclient import client
base, token, path, mode = sys.argv[1:5]
c = client.TusClient(base + "/api/v1/uploads", headers={"Authorization": "Bearer " + token})
if mode == "start":
    u = c.uploader(path, chunk_size=64 * 1024, metadata={"filename": "tuspy.pdf"})
    u.upload(stop_at=int(sys.argv[5]))
    print(u.url)
else:
    u = c.uploader(path, url=sys.argv[5], chunk_size=64 * 1024)
    print(u.offset)
    u.upload()
"#;

fn tuspy(args: &[&str]) -> String {
    let out = Command::new("python3").arg("-c").arg(TUSPY).args(args).output().unwrap();
    assert!(out.status.success(), "tuspy (pip install tuspy): {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_tus_client_resumes_across_a_server_restart() {
    let dir = temp();
    let data = dir.path().join("data");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Aggregator::start_on(Config { data: data.clone(), ..Config::default() }, listener);
    let token = server.token(Some("police")).await;
    let mut rng = Rng::from_env();
    let content: Vec<u8> = (0..(1 << 20) / 8).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
    let file = dir.path().join("scan.pdf");
    fs::write(&file, &content).unwrap();
    let file = file.to_str().unwrap().to_string();

    let url = tuspy(&[&server.url(), &token, &file, "start", &(256 * 1024).to_string()]);
    server.stop().await;
    let listener =
        eventually("the port again", || async { tokio::net::TcpListener::bind(addr).await.ok() }).await;
    let server = Aggregator::start_on(Config { data, ..Config::default() }, listener);
    let resumed_at = tuspy(&[&server.url(), &token, &file, "resume", &url]);
    assert_eq!(resumed_at, (256 * 1024).to_string(), "tuspy went on from the server's offset");
    let blob = reqwest::Client::new()
        .head(format!("{}/api/v1/blobs/{}", server.url(), sha(&content)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(blob.status(), StatusCode::OK);
    assert_eq!(server.state.blobs.verify(&sha(&content), content.len() as u64), None);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_resumes_across_a_cut_an_agent_restart_and_a_server_restart() {
    let dir = temp();
    let data = dir.path().join("data");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Aggregator::start_on(Config { data: data.clone(), ..Config::default() }, listener);
    let relay = Relay::start(addr).await;
    // A slow link, so that each break comes in the middle of the upload.
    relay.throttle(8 << 20);
    let token = server.token(Some("police")).await;
    let mut agent = DeptAgent::prepare(dir.path(), "police", &relay.url(), &token);
    agent.start().await;

    let mut rng = Rng::from_env();
    let size = 32usize << 20;
    let content = agent.drop_scan("08.03", "整卷扫描.pdf", size, &mut rng);
    let sent_at_least = |mib: u64| {
        let relay = &relay;
        move || async move { (relay.sent() >= mib << 20).then_some(()) }
    };

    // 1. The link breaks.
    eventually("6 MiB on the way", sent_at_least(6)).await;
    relay.cut();
    // 2. The agent restarts: it goes on with the same upload.
    eventually("14 MiB on the way", sent_at_least(14)).await;
    agent.stop().await;
    let uploads: i64 = rusqlite::Connection::open(agent.state.join("agent.sqlite3"))
        .unwrap()
        .query_row("SELECT count(*) FROM uploads", [], |r| r.get(0))
        .unwrap();
    assert_eq!(uploads, 1, "the upload's address is kept for the next start");
    agent.start().await;
    // 3. The server restarts (and the link breaks with it).
    eventually("22 MiB on the way", sent_at_least(22)).await;
    relay.cut();
    server.stop().await;
    let parts: Vec<u64> = fs::read_dir(data.join("tmp/uploads"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "part"))
        .map(|e| e.metadata().unwrap().len())
        .collect();
    assert!(parts.len() == 1 && parts[0] > 8 << 20, "the partial upload survives: {parts:?}");
    let listener =
        eventually("the port again", || async { tokio::net::TcpListener::bind(addr).await.ok() }).await;
    let server = Aggregator::start_on(Config { data: data.clone(), ..Config::default() }, listener);

    let expected = sha(&content);
    eventually_within(Duration::from_mins(2), "the large file on the server", || async {
        let records = server.get("/api/v1/evidence", &token).await;
        records.as_array().unwrap().iter().any(|r| r["sha256"] == expected.as_str()).then_some(())
    })
    .await;
    let sent = relay.sent();
    assert!(
        sent < size as u64 * 11 / 10,
        "three breaks cost little more than the file: {sent} bytes for {size} (from zero each time: about 1.7×)"
    );
    assert_eq!(server.state.blobs.verify(&expected, size as u64), None);
    assert_eq!(fs::read_dir(data.join("tmp/uploads")).unwrap().count(), 0, "the finished upload is gone");
    agent.stop().await;
}
