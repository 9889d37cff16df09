//! The agent delivers what the clerk drops, exactly once, and never what it should not.

use std::fs;
use std::io::Write;
use std::time::Duration;

use yingjian_aggregator::Config;
use yingjian_tests::{Aggregator, DeptAgent, Relay, Rng, eventually, sha, temp};

async fn records(server: &Aggregator, token: &str) -> Vec<serde_json::Value> {
    server.get("/api/v1/evidence", token).await.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_writes_moves_deletions_and_ignored_files() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let token = server.token(Some("police")).await;
    let office = server.token(None).await;
    let mut agent = DeptAgent::prepare(dir.path(), "police", &server.url(), &token);
    agent.start().await;

    // Lock, temporary and system files are never sent.
    let item = agent.item("08.03");
    fs::write(item.join("~$通知.docx"), b"lock").unwrap();
    fs::write(item.join("下载中.pdf.crdownload"), b"partial").unwrap();
    fs::write(item.join("Thumbs.db"), b"thumbs").unwrap();
    fs::write(agent.folder.join("放错地方的文件.pdf"), b"%PDF-1.4 unsorted").unwrap();

    // A scan written slowly in several chunks, with a Chinese name, spaces and full-width punctuation.
    let name = "“昆仑2021” 专项行动 部署会（第一次）.pdf";
    let mut chunks: Vec<Vec<u8>> = vec![b"%PDF-1.4\n".to_vec()];
    chunks.extend((0..5).map(|i| vec![b'a' + i; 64 * 1024]));
    let whole: Vec<u8> = chunks.concat();
    {
        let mut f = fs::File::create(item.join(name)).unwrap();
        for chunk in &chunks {
            f.write_all(chunk).unwrap();
            f.flush().unwrap();
            // The writer pauses between chunks for less than the settle time (this is the
            // scenario, not synchronisation).
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    let expected_path = format!("08.03 昆仑2021专项行动/{name}");
    let r = eventually("the slow file on the server", || async {
        records(&server, &token).await.into_iter().find(|r| r["path"] == expected_path.as_str())
    })
    .await;
    assert_eq!(r["sha256"], sha(&whole), "never a half-written version");
    let blobs = server.state.db.all_blobs().await.unwrap();
    assert_eq!(blobs.len(), 1, "no partial blob was ever uploaded: {blobs:?}");
    assert_eq!(server.paths(&token).await, [expected_path], "ignored and unsorted files stay home");

    // The unsorted file is reported in the heartbeat, for the office to see.
    eventually("the unsorted file in the status", || async {
        let status = server.get("/api/v1/status", &office).await;
        let police =
            status["departments"].as_array().unwrap().iter().find(|d| d["id"] == "police").cloned().unwrap();
        police["unsorted"].as_array().unwrap().iter().any(|u| u == "放错地方的文件.pdf").then_some(())
    })
    .await;

    // Moved into another item folder: re-tagged, not uploaded again.
    let other = agent.item("11.02");
    fs::rename(item.join(name), other.join(name)).unwrap();
    let moved = format!("11.02 公安打假机构力量和机制建设/{name}");
    eventually("the move on the server", || async {
        let paths = server.paths(&token).await;
        (paths == [moved.clone()]).then_some(())
    })
    .await;
    assert_eq!(server.audit_count(&office, "upload").await, 1, "the content crossed the wire once");
    assert_eq!(server.audit_count(&office, "withdraw").await, 1);

    // Deleted: withdrawn.
    fs::remove_file(other.join(name)).unwrap();
    eventually("the withdrawal", || async { server.paths(&token).await.is_empty().then_some(()) }).await;
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_down_then_up_loses_nothing_and_restarts_send_nothing_twice() {
    let dir = temp();
    let data = dir.path().join("data");
    // Reserve a port, then let the agent run against it while nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let first = Aggregator::start_on(Config { data: data.clone(), ..Config::default() }, listener);
    let token = first.token(Some("water")).await;
    let office = first.token(None).await;
    first.stop().await;

    let mut agent = DeptAgent::prepare(dir.path(), "water", &format!("http://{addr}"), &token);
    agent.start().await;
    let item = agent.item("01.06");
    for i in 0..5 {
        fs::write(item.join(format!("水利工程质量评价 第{i}份.pdf")), format!("%PDF-1.4 water {i}")).unwrap();
    }
    fs::create_dir(agent.folder.join("自评报告").join("终稿")).unwrap();
    fs::write(agent.folder.join("自评报告/终稿/水利局2021年度自评报告.pdf"), b"%PDF-1.4 report").unwrap();

    // The server comes back on the same address.
    let listener =
        eventually("the port again", || async { tokio::net::TcpListener::bind(addr).await.ok() }).await;
    let server = Aggregator::start_on(Config { data: data.clone(), ..Config::default() }, listener);
    eventually("all six files delivered", || async { (server.paths(&token).await.len() == 6).then_some(()) })
        .await;

    // A restart reconciles against the local state: nothing is uploaded or recorded again.
    agent.stop().await;
    let uploads = server.audit_count(&office, "upload").await;
    let records_before = server.audit_count(&office, "record").await;
    assert_eq!((uploads, records_before), (6, 6));
    agent.start().await;
    // Something new after the restart proves the agent has reconciled and is working.
    fs::write(item.join("重启后新增.pdf"), b"%PDF-1.4 after restart").unwrap();
    eventually("the new file", || async { (server.paths(&token).await.len() == 7).then_some(()) }).await;
    assert_eq!(server.audit_count(&office, "upload").await, 7);
    assert_eq!(server.audit_count(&office, "record").await, 7);
    agent.stop().await;
    for (sha256, size) in server.state.db.all_blobs().await.unwrap() {
        assert_eq!(server.state.blobs.verify(&sha256, size), None, "every blob verifies");
    }
    assert_eq!(server.state.blobs.temp_files().unwrap(), 0);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restored_from_a_backup_gets_back_what_it_lost() {
    let dir = temp();
    let data = dir.path().join("data");
    let backup = dir.path().join("backup");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let restart =
        |listener| Aggregator::start_on(Config { data: data.clone(), ..Config::default() }, listener);
    let rebind = || eventually("the port again", || async { tokio::net::TcpListener::bind(addr).await.ok() });
    let server = restart(listener);
    let token = server.token(Some("water")).await;
    let office = server.token(None).await;
    // The office's backup, taken before the agent delivered anything.
    server.stop().await;
    copy_dir(&data, &backup);
    let server = restart(rebind().await);

    let mut agent = DeptAgent::prepare(dir.path(), "water", &format!("http://{addr}"), &token);
    agent.start().await;
    let item = agent.item("01.06");
    for i in 0..3 {
        fs::write(item.join(format!("备份前 第{i}份.pdf")), format!("%PDF-1.4 before {i}")).unwrap();
    }
    eventually("three files delivered", || async { (server.paths(&token).await.len() == 3).then_some(()) })
        .await;

    // The server is restored from the backup: its records and blobs of the three are gone.
    server.stop().await;
    fs::remove_dir_all(&data).unwrap();
    copy_dir(&backup, &data);
    // Meanwhile a new file cannot be delivered: the agent knows the server was away.
    fs::write(item.join("停机期间.pdf"), b"%PDF-1.4 during").unwrap();
    let agent_state = rusqlite::Connection::open(agent.state.join("agent.sqlite3")).unwrap();
    eventually("a failed delivery", || async {
        let attempts: i64 = agent_state
            .query_row("SELECT attempts FROM files WHERE path LIKE '%停机期间.pdf'", [], |r| r.get(0))
            .unwrap_or(0);
        (attempts > 0).then_some(())
    })
    .await;

    let server = restart(rebind().await);
    eventually("all four files on the restored server", || async {
        (server.paths(&token).await.len() == 4).then_some(())
    })
    .await;
    assert_eq!(
        server.audit_count(&office, "upload").await,
        4,
        "each file uploaded once to the restored server"
    );
    for (sha256, size) in server.state.db.all_blobs().await.unwrap() {
        assert_eq!(server.state.blobs.verify(&sha256, size), None, "every blob verifies");
    }
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmounted_folder_is_not_a_mass_deletion() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let token = server.token(Some("radio")).await;
    let office = server.token(None).await;
    let mut agent = DeptAgent::prepare(dir.path(), "radio", &server.url(), &token);
    agent.start().await;
    fs::write(agent.item("01.05").join("无线电监督检查报告.pdf"), b"%PDF-1.4 radio").unwrap();
    eventually("the file", || async { (server.paths(&token).await.len() == 1).then_some(()) }).await;

    let mode = |server: &Aggregator, office: String| {
        let server_url = server.url();
        async move {
            let status: serde_json::Value = reqwest::Client::new()
                .get(format!("{server_url}/api/v1/status"))
                .bearer_auth(office)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let radio = status["departments"].as_array()?.iter().find(|d| d["id"] == "radio")?.clone();
            radio["agents"][0]["watch_mode"].as_str().map(str::to_string)
        }
    };
    // The share disappears (the folder is moved away, as an unmount would do).
    let away = dir.path().join("unmounted");
    fs::rename(&agent.folder, &away).unwrap();
    eventually("the agent to pause", || async {
        (mode(&server, office.clone()).await? == "paused").then_some(())
    })
    .await;
    assert_eq!(server.paths(&token).await.len(), 1, "nothing withdrawn while the folder is away");
    assert_eq!(server.audit_count(&office, "withdraw").await, 0);

    fs::rename(&away, &agent.folder).unwrap();
    eventually("the agent to resume", || async {
        (mode(&server, office.clone()).await? == "native").then_some(())
    })
    .await;
    fs::write(agent.item("01.05").join("回来以后.pdf"), b"%PDF-1.4 back").unwrap();
    eventually("the new file", || async { (server.paths(&token).await.len() == 2).then_some(()) }).await;
    assert_eq!(server.audit_count(&office, "withdraw").await, 0);
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_moved_in_is_delivered_whole() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let token = server.token(Some("health")).await;
    let mut agent = DeptAgent::prepare(dir.path(), "health", &server.url(), &token);
    agent.start().await;
    let staging = dir.path().join("staging").join("第三季度监测");
    fs::create_dir_all(&staging).unwrap();
    for i in 0..20 {
        fs::write(staging.join(format!("监测报告{i:02}.pdf")), format!("%PDF-1.4 report {i}")).unwrap();
    }
    fs::rename(&staging, agent.item("06.02").join("第三季度监测")).unwrap();
    eventually("all 20 files", || async { (server.paths(&token).await.len() == 20).then_some(()) }).await;
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_crosses_the_wire_once_and_a_move_costs_nothing() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let relay = Relay::start(server.addr).await;
    let token = server.token(Some("police")).await;
    let office = server.token(None).await;
    let mut agent = DeptAgent::prepare(dir.path(), "police", &relay.url(), &token);
    agent.start().await;

    // Larger than the size from which the agent uploads a file while it hashes it.
    let mut rng = Rng::from_env();
    let size = 80usize << 20;
    let content = agent.drop_scan("08.03", "大幅扫描件.pdf", size, &mut rng);
    let first = "08.03 昆仑2021专项行动/大幅扫描件.pdf";
    let r = eventually("the large file on the server", || async {
        records(&server, &token).await.into_iter().find(|r| r["path"] == first)
    })
    .await;
    assert_eq!(r["sha256"], sha(&content));
    let sent = relay.sent();
    assert!(
        sent >= size as u64 && sent < size as u64 * 3 / 2,
        "the content crossed the wire once: {sent} bytes"
    );
    assert_eq!(server.audit_count(&office, "upload").await, 1);

    // Moved into another item folder: re-tagged, and no part of it sent again.
    fs::rename(agent.item("08.03").join("大幅扫描件.pdf"), agent.item("11.02").join("大幅扫描件.pdf"))
        .unwrap();
    let moved = "11.02 公安打假机构力量和机制建设/大幅扫描件.pdf";
    eventually("the move on the server", || async { (server.paths(&token).await == [moved]).then_some(()) })
        .await;
    let cost = relay.sent() - sent;
    assert!(cost < 1 << 20, "a move sends a record, not the file: {cost} bytes");

    // Another department drops the same content: the server keeps one copy, and an upload the
    // agent started before it knew leaves nothing behind.
    let market_token = server.token(Some("market")).await;
    let mut market = DeptAgent::prepare(dir.path(), "market", &relay.url(), &market_token);
    market.start().await;
    market.drop_whole("01.01", "同一扫描件.pdf", &content);
    eventually("the same content from market", || async {
        records(&server, &market_token).await.into_iter().find(|r| r["sha256"] == sha(&content).as_str())
    })
    .await;
    assert_eq!(server.state.db.all_blobs().await.unwrap().len(), 1);
    assert_eq!(server.audit_count(&office, "upload").await, 1);
    eventually("no temporary file left", || async {
        (server.state.blobs.temp_files().unwrap() == 0).then_some(())
    })
    .await;
    market.stop().await;
    agent.stop().await;
}
