//! Nothing in an evidence folder is lost silently: every file arrives or is listed, in Chinese,
//! with what to do, in `status`, the heartbeat and the department's page; the agent pauses
//! and says why when its marker goes, polls what the watch limit leaves out, and sends what
//! waited for the server the moment it is back.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use yingjian_aggregator::Config;
use yingjian_tests::{
    Aggregator, DeptAgent, OneDepartment, PATIENCE, binary, eventually, eventually_within, sha, temp,
};

/// `yingjian-agent status` for `agent`, as the clerk runs it.
fn status_cli(agent: &DeptAgent) -> String {
    let out = Command::new(binary("yingjian-agent"))
        .args(["status", "--server", &agent.config.server, "--folder"])
        .arg(&agent.folder)
        .arg("--state")
        .arg(&agent.state)
        .env("YINGJIAN_TOKEN", agent.config.token.as_deref().unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// (name, reason) of what the department's agent lists as left out.
async fn skipped(server: &Aggregator, office: &str) -> BTreeSet<(String, String)> {
    let police = server.department_status(office, "police").await;
    police["agents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["skipped"].as_array().cloned().unwrap_or_default())
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["reason"].as_str().unwrap().to_string()))
        .collect()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_names_links_and_empty_files_are_listed_with_a_reason_never_dropped() {
    use std::os::unix::ffi::OsStrExt;

    let OneDepartment { dir: _dir, server, token, office, mut agent } =
        OneDepartment::prepare("police").await;
    let item = agent.item("08.03");
    let other = agent.item("11.02");
    let at = |folder: &Path, name: &str| format!("{}/{name}", folder.file_name().unwrap().to_str().unwrap());
    // Copied from a Mac: the name on disk is decomposed (NFD).
    fs::write(item.join("re\u{301}sume\u{301}.pdf"), b"%PDF-1.4 resume").unwrap();
    // The same name twice, in two Unicode forms: one can cross the wire, the other is refused.
    fs::write(other.join("café.pdf"), b"%PDF-1.4 composed").unwrap();
    fs::write(other.join("cafe\u{301}.pdf"), b"%PDF-1.4 decomposed").unwrap();
    // GBK bytes from an old zip ("扫描件.pdf"), and a newline in a name.
    let gbk = b"\xc9\xa8\xc3\xe8\xbc\xfe.pdf";
    fs::write(item.join(std::ffi::OsStr::from_bytes(gbk)), b"%PDF-1.4 gbk").unwrap();
    fs::write(item.join("第一页\n第二页.pdf"), b"%PDF-1.4 newline").unwrap();
    // A link out of the folder, a loop, and an empty file.
    std::os::unix::fs::symlink("/etc/passwd", item.join("密码.pdf")).unwrap();
    std::os::unix::fs::symlink(item.join("环2.pdf"), item.join("环1.pdf")).unwrap();
    std::os::unix::fs::symlink(item.join("环1.pdf"), item.join("环2.pdf")).unwrap();
    fs::write(item.join("新建文本文档.txt"), b"").unwrap();
    agent.start().await;

    let resume = at(&item, "résumé.pdf");
    let cafe = at(&other, "café.pdf");
    eventually("the NFD file and the NFC twin on the server", || async {
        let mut paths = server.paths(&token).await;
        paths.sort();
        (paths == [resume.clone(), cafe.clone()]).then_some(())
    })
    .await;
    let records = server.get("/api/v1/evidence", &token).await;
    let twin = records.as_array().unwrap().iter().find(|r| r["path"] == cafe.as_str()).unwrap();
    assert_eq!(twin["sha256"], sha(b"%PDF-1.4 composed"), "the NFC file is the one delivered");

    // A file sent, then emptied: withdrawn, and listed.
    fs::write(item.join("后来清空.pdf"), b"%PDF-1.4 emptied later").unwrap();
    let emptied = at(&item, "后来清空.pdf");
    eventually("the file to be emptied", || async {
        server.paths(&token).await.contains(&emptied).then_some(())
    })
    .await;
    fs::File::create(item.join("后来清空.pdf")).unwrap();
    eventually("the emptied file withdrawn", || async {
        (!server.paths(&token).await.contains(&emptied)).then_some(())
    })
    .await;

    let expected: BTreeSet<(String, String)> = [
        (at(&item, &String::from_utf8_lossy(gbk)), "bad_name"),
        (at(&item, "第一页\u{FFFD}第二页.pdf"), "bad_name"),
        (at(&other, "cafe\u{301}.pdf"), "name_clash"),
        (at(&item, "密码.pdf"), "link"),
        (at(&item, "环1.pdf"), "link"),
        (at(&item, "环2.pdf"), "link"),
        (at(&item, "新建文本文档.txt"), "empty"),
        (at(&item, "后来清空.pdf"), "empty"),
    ]
    .into_iter()
    .map(|(n, r)| (n, r.to_string()))
    .collect();
    eventually("every left-out file in the heartbeat", || async {
        (skipped(&server, &office).await == expected).then_some(())
    })
    .await;

    // The status document says why in Chinese too, for scripts.
    let police = server.department_status(&office, "police").await.to_string();
    assert!(
        police.contains("文件名含无法识别的字符，请重命名")
            && police.contains("是空文件（0 字节），不会上传")
    );

    // The department's page and the clerk's `status` say why, in Chinese.
    let page = server.page(&office, "/departments/police").await;
    for reason in ["文件名含无法识别的字符，请重命名", "是空文件（0 字节），不会上传", "是快捷方式（链接）"]
    {
        assert!(page.contains(reason), "the page names {reason}");
    }
    let status = status_cli(&agent);
    assert!(
        status.contains("已上传 2 个，待上传 0 个，已删除、待从服务器撤下 0 个，未能上传 0 个。"),
        "{status}"
    );
    assert!(status.contains("不上传的文件 8 个："), "{status}");
    assert!(status.contains("\u{FFFD}第二页.pdf：文件名含无法识别的字符，请重命名"), "{status}");
    assert!(status.contains("公安局"), "the department by name: {status}");

    // Restarts and rescans leave the NFD file alone: not withdrawn, not sent again.
    let uploads = server.audit_count(&office, "upload").await;
    agent.stop().await;
    agent.start().await;
    fs::write(item.join("重启后.pdf"), b"%PDF-1.4 after").unwrap();
    let after = at(&item, "重启后.pdf");
    eventually("the file after the restart", || async {
        server.paths(&token).await.contains(&after).then_some(())
    })
    .await;
    assert!(server.paths(&token).await.contains(&resume));
    assert_eq!(server.audit_count(&office, "withdraw").await, 1, "only the emptied file");
    assert_eq!(server.audit_count(&office, "upload").await, uploads + 1, "only the new file");
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_in_open_append_close_cycles_is_sent_whole_not_once_per_cycle() {
    let OneDepartment { dir: _dir, server, token, office, mut agent } =
        OneDepartment::prepare("police").await;
    agent.start().await;
    let path = agent.item("08.03").join("逐页扫描.pdf");
    let mut whole = Vec::new();
    for page in 0..30u8 {
        let chunk = vec![b'a' + page % 26; 4096];
        let mut f = fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
        f.write_all(&chunk).unwrap();
        drop(f);
        whole.extend_from_slice(&chunk);
        // The writer's own pace between pages: the scenario, not synchronisation.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expected = sha(&whole);
    eventually("the whole file on the server", || async {
        let records = server.get("/api/v1/evidence", &token).await;
        records.as_array().unwrap().iter().any(|r| r["sha256"] == expected.as_str()).then_some(())
    })
    .await;
    let updates = server.audit_count(&office, "record_update").await;
    assert!(updates <= 2, "{updates} partial versions were filed before the whole file (30 before the fix)");
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_marker_pauses_the_agent_and_everyone_is_told_why() {
    let OneDepartment { dir: _dir, server, token, office, mut agent } =
        OneDepartment::prepare("police").await;
    agent.start().await;
    let item = agent.item("08.03");
    fs::write(item.join("暂停前.pdf"), b"%PDF-1.4 before").unwrap();
    eventually("the first file", || async { (server.paths(&token).await.len() == 1).then_some(()) }).await;

    fs::remove_file(agent.folder.join(yingjian_agent::MARKER_FILE)).unwrap();
    let mode = |s: serde_json::Value| s["agents"][0]["watch_mode"].as_str().map(str::to_string);
    eventually("the heartbeat says why it paused", || async {
        (mode(server.department_status(&office, "police").await).as_deref() == Some("no_marker"))
            .then_some(())
    })
    .await;
    fs::write(item.join("暂停时.pdf"), b"%PDF-1.4 while paused").unwrap();
    fs::remove_file(item.join("暂停前.pdf")).unwrap();
    let status = status_cli(&agent);
    assert!(status.contains("同步已暂停：文件夹中的隐藏标记文件 .yingjian-folder 被删除了"), "{status}");
    let page = server.page(&office, "/departments/police").await;
    assert!(page.contains("标记文件 .yingjian-folder 被删除"), "the department page says why");

    // `init` puts the marker back: the agent resumes and catches up.
    let catalogue = yingjian_shared::Catalogue::builtin();
    yingjian_agent::init_folder(catalogue, catalogue.department("police").unwrap(), &agent.folder).unwrap();
    let after = format!("{}/暂停时.pdf", item.file_name().unwrap().to_str().unwrap());
    eventually("caught up after the marker is back", || async {
        (server.paths(&token).await == [after.clone()]).then_some(())
    })
    .await;
    eventually("watching again", || async {
        (mode(server.department_status(&office, "police").await).as_deref() == Some("native")).then_some(())
    })
    .await;
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_waited_for_the_server_goes_the_moment_it_is_back_not_at_the_end_of_its_backoff() {
    let dir = temp();
    let data = dir.path().join("data");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let first = Aggregator::start_on(Config { data: data.clone(), ..Config::default() }, listener);
    let token = first.token(Some("police")).await;
    first.stop().await;
    // While the server is away its port stays taken (by something that hangs up at once), so
    // that no other test's server starts there meanwhile.
    let hang_up = tokio::spawn({
        let listener =
            eventually("the port again", || async { tokio::net::TcpListener::bind(addr).await.ok() }).await;
        async move {
            while let Ok((connection, _)) = listener.accept().await {
                drop(connection);
            }
        }
    });

    let mut agent = DeptAgent::prepare(dir.path(), "police", &format!("http://{addr}"), &token);
    agent.start().await;
    fs::write(agent.item("08.03").join("断网时放入.pdf"), b"%PDF-1.4 offline").unwrap();
    // The delivery fails for want of the server; then, as after a long outage, its next try is
    // an hour away.
    let db = agent.state.join("agent.sqlite3");
    eventually("a failed delivery", || async {
        let conn = rusqlite::Connection::open(&db).ok()?;
        let n: i64 = conn
            .query_row("SELECT count(*) FROM files WHERE offline = 1 AND attempts > 0", [], |r| r.get(0))
            .ok()?;
        (n == 1).then_some(())
    })
    .await;
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let hour_ahead = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap()
        + Duration::from_hours(1))
    .as_millis() as i64;
    conn.execute("UPDATE files SET next_try = ?1", [hour_ahead]).unwrap();

    hang_up.abort();
    let _ = hang_up.await;
    let listener =
        eventually("the port again", || async { tokio::net::TcpListener::bind(addr).await.ok() }).await;
    let server = Aggregator::start_on(Config { data, ..Config::default() }, listener);
    eventually_within(PATIENCE, "the file, well before its backoff ends", || async {
        (server.paths(&token).await.len() == 1).then_some(())
    })
    .await;
    agent.stop().await;
}

/// The agent binary with the system's inotify watches limited to `watches`, in a user
/// namespace of its own (so the limit is its alone), on `config`.
#[cfg(target_os = "linux")]
fn agent_with_watch_limit(watches: usize, config: &Path) -> std::process::Child {
    Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c"])
        .arg(format!(
            "echo {watches} > /proc/sys/user/max_inotify_watches && exec \"$0\" run --config \"$1\""
        ))
        .arg(binary("yingjian-agent"))
        .arg(config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("unshare (util-linux) runs the agent in a user namespace")
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_the_watch_limit_leaves_out_is_polled_and_the_heartbeat_says_so() {
    let OneDepartment { dir, server, token, office, agent } = OneDepartment::prepare("police").await;
    let config = dir.path().join("agent.toml");
    fs::write(
        &config,
        format!(
            "server = \"{}\"\ntoken = \"{token}\"\nfolder = {:?}\nstate = {:?}\nsettle_ms = 200\nheartbeat_secs = 1\nrescan_secs = 3600\n",
            server.url(),
            agent.folder,
            agent.state
        ),
    )
    .unwrap();
    // Exactly enough watches for the folders `init` made.
    let folders = walk_folders(&agent.folder);
    let mut child = agent_with_watch_limit(folders, &config);
    let mode = async || {
        let police = server.department_status(&office, "police").await;
        police["agents"][0]["watch_mode"].as_str().map(str::to_string)
    };
    eventually("watching natively", || async { (mode().await.as_deref() == Some("native")).then_some(()) })
        .await;

    let new = agent.item("08.03").join("新建文件夹");
    fs::create_dir(&new).unwrap();
    eventually("the heartbeat says part is polled", || async {
        (mode().await.as_deref() == Some("mixed")).then_some(())
    })
    .await;
    fs::write(new.join("限额之外.pdf"), b"%PDF-1.4 beyond the watch limit").unwrap();
    let expected =
        format!("{}/新建文件夹/限额之外.pdf", agent.item("08.03").file_name().unwrap().to_str().unwrap());
    // The periodic rescan is an hour away: only polling finds it.
    eventually("the file in the unwatched folder", || async {
        server.paths(&token).await.contains(&expected).then_some(())
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(target_os = "linux")]
fn walk_folders(root: &Path) -> usize {
    1 + fs::read_dir(root)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| walk_folders(&e.path()))
        .sum::<usize>()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_to_do_file_follows_the_status_and_the_receipt_lists_what_the_server_holds() {
    let OneDepartment { dir: _dir, server, token, office, mut agent } =
        OneDepartment::prepare("police").await;
    agent.start().await;
    let todo = agent.folder.join(yingjian_shared::TODO_FILE);
    let read = || fs::read(&todo).map(|b| String::from_utf8(b).unwrap()).unwrap_or_default();
    let until = |what: &'static str, pass: fn(&str) -> bool| {
        let read = &read;
        eventually(what, move || async move { pass(&read()).then_some(()) })
    };

    // Missing at first; readable in Notepad (a BOM, CRLF).
    until("the to-do file lists the missing item", |t| t.contains("08.03 昆仑2021专项行动（4分）：缺失"))
        .await;
    let text = read();
    assert!(text.starts_with('\u{feff}') && text.contains("\r\n"), "UTF-8 with a BOM and CRLF");
    for part in ["公安局迎检待办", "截止时间：", "自评报告：未交", "联系人名单：未报"]
    {
        assert!(text.contains(part), "{part}: {text}");
    }

    // Delivered: no longer missing.
    let item = agent.item("08.03");
    fs::write(item.join("部署会议纪要.pdf"), b"%PDF-1.4 minutes").unwrap();
    until("the delivered item leaves the list", |t| !t.contains("08.03 昆仑2021专项行动（4分）：缺失")).await;

    // Returned by the office: the file and the reason are listed.
    let path = format!("{}/部署会议纪要.pdf", item.file_name().unwrap().to_str().unwrap());
    let r = reqwest::Client::new()
        .put(format!("{}/api/v1/reviews", server.url()))
        .bearer_auth(&office)
        .json(&serde_json::json!({
            "department": "police", "path": path, "verdict": "returned", "reason": "请补充会议签到表"
        }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    until("the return with its reason", |t| t.contains("被退回的文件") && t.contains("请补充会议签到表"))
        .await;

    // Answered by a new version: the return leaves the list.
    fs::write(item.join("部署会议纪要.pdf"), b"%PDF-1.4 minutes with the sign-in sheet").unwrap();
    until("the answered return leaves the list", |t| !t.contains("请补充会议签到表")).await;
    // The agent's own file is never uploaded, nor reported as misplaced.
    assert_eq!(server.paths(&token).await, std::slice::from_ref(&path));
    let police = server.department_status(&office, "police").await;
    assert!(police["unsorted"].as_array().unwrap().is_empty());

    // The receipt: every file the server holds, with its hash's first 16 digits.
    let out = Command::new(binary("yingjian-agent"))
        .args(["status", "--receipt", "--server", &server.url(), "--folder"])
        .arg(&agent.folder)
        .arg("--state")
        .arg(&agent.state)
        .env("YINGJIAN_TOKEN", &token)
        .output()
        .unwrap();
    let receipt = String::from_utf8(out.stdout).unwrap();
    assert!(receipt.contains("公安局迎检材料回执"), "{receipt}");
    assert!(receipt.contains("服务器上共有本单位文件 1 个"), "{receipt}");
    let sha = sha(b"%PDF-1.4 minutes with the sign-in sheet");
    assert!(receipt.contains("08.03") && receipt.contains("部署会议纪要.pdf"), "{receipt}");
    assert!(receipt.contains(&sha[..16]), "{receipt}");
    agent.stop().await;
}
