//! The worker: a child process of the aggregator's own binary, confined before it reads a job —
//! its memory, CPU time and wall-clock time bounded, no network, a folder of its own — whose
//! every failure is one job's, never the server's: hostile files previewed, printed and read.

use std::time::{Duration, Instant};

use yingjian_aggregator::config::WorkerSettings;
use yingjian_aggregator::worker::{Limits, Network, Probe, Worker, WorkerError};
use yingjian_tests::hostile::{bilevel_tiff, docx_linking, good_pdf, long_pdf, nested_pdf, png};
use yingjian_tests::temp;

fn worker(data: &std::path::Path) -> Worker {
    let settings = WorkerSettings { memory_mib: 256, cpu_secs: 2, ..WorkerSettings::default() };
    Worker::new(&settings, data)
}

const PATIENT: Duration = Duration::from_mins(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_answered_in_a_folder_of_its_own_without_network() {
    let dir = temp();
    let worker = worker(dir.path());
    let echoed: String = worker.run(&Probe::Echo("读取".into()), PATIENT).await.unwrap();
    assert_eq!(echoed, "读取");
    let folder = worker.folder().unwrap();
    let at: serde_json::Value = worker.run_in(&folder, &Probe::Where, PATIENT).await.unwrap();
    assert_eq!(at["dir"].as_str().unwrap(), folder.path().to_str().unwrap());
    assert_eq!(at["tmpdir"].as_str().unwrap(), folder.path().to_str().unwrap());
    assert!(folder.path().starts_with(dir.path().join("tmp/worker")));
    let path = folder.path().to_path_buf();
    drop(folder);
    assert!(!path.exists(), "the job's folder goes with it");
    // Nothing listening is reached: the namespace has no route to this machine's loopback.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let to = listener.local_addr().unwrap();
    let connected: bool = worker.run(&Probe::Connect(to), PATIENT).await.unwrap();
    assert_eq!(worker.network(), Some(Network::Isolated), "this machine allows network namespaces");
    assert!(!connected);
    assert!(listener.accept().is_err(), "no connection reached the listener");
    assert!(worker.peak_rss() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_limit_costs_the_job_alone() {
    let dir = temp();
    let worker = worker(dir.path());
    let refused = worker.run::<String>(&Probe::Refuse("图片过大".into()), PATIENT).await;
    assert!(matches!(&refused, Err(WorkerError::Refused(why)) if why == "图片过大"), "{refused:?}");

    // Within the limit: fine, and the peak reported is about what was used.
    let held: u64 = worker.run(&Probe::Allocate(64), PATIENT).await.unwrap();
    assert_eq!(held, 64 << 20);
    assert!(worker.peak_rss() >= 64 << 20 && worker.peak_rss() < 256 << 20, "{}", worker.peak_rss());
    // Past it: out of memory, and the child never held more than its limit.
    let swollen = worker.run::<u64>(&Probe::Allocate(1024), PATIENT).await;
    assert!(matches!(swollen, Err(WorkerError::OutOfMemory)), "{swollen:?}");
    assert!(worker.peak_rss() < 256 << 20);

    let spun = worker.run::<u64>(&Probe::Spin, PATIENT).await;
    assert!(matches!(spun, Err(WorkerError::CpuLimit)), "{spun:?}");

    let started = Instant::now();
    let slept = worker.run::<u64>(&Probe::Sleep(600), Duration::from_secs(1)).await;
    assert!(matches!(slept, Err(WorkerError::Timeout(_))), "{slept:?}");
    assert!(started.elapsed() < Duration::from_mins(1));

    let deep = worker.run::<u64>(&Probe::Recurse(1_000_000), PATIENT).await;
    assert!(matches!(&deep, Err(WorkerError::StackOverflow)), "{deep:?}");
    assert!(deep.unwrap_err().reason_zh().contains("嵌套过深"));

    let panicked = worker.run::<u64>(&Probe::Panic, PATIENT).await;
    assert!(matches!(panicked, Err(WorkerError::Crashed { .. })), "{panicked:?}");

    // And the pool still works.
    let limits = Limits { memory: 512 << 20, cpu: Duration::from_secs(5) };
    let folder = worker.folder().unwrap();
    let held: u64 = worker.run_limited(&folder, &Probe::Allocate(300), PATIENT, limits).await.unwrap();
    assert_eq!(held, 300 << 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_given_up_is_killed() {
    let dir = temp();
    let worker = worker(dir.path());
    let job = Probe::Sleep(600);
    let given_up = tokio::time::timeout(Duration::from_millis(500), worker.run::<u64>(&job, PATIENT)).await;
    assert!(given_up.is_err());
    // Its slot is free again and the next job runs.
    let echoed: String = worker.run(&Probe::Echo("next".into()), PATIENT).await.unwrap();
    assert_eq!(echoed, "next");
    // No sleeping worker is left: every child of this process is gone or a zombie being reaped.
    yingjian_tests::eventually("the given-up worker to be gone", || async {
        let mine = std::process::id().to_string();
        let sleeping = std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let cmd = std::fs::read_to_string(e.path().join("cmdline")).unwrap_or_default();
            // ppid is the 4th field of stat.
            let ppid = stat.rsplit(')').next().and_then(|s| s.split_whitespace().nth(1)).unwrap_or("");
            ppid == mine && cmd.contains("worker") && !stat.contains(") Z")
        });
        (!sleeping).then_some(())
    })
    .await;
}

// ── hostile files through the real server ─────────────────────────────────────────────────

/// The server's own resident memory now, bytes.
fn own_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_files_cost_themselves_alone_in_previews_and_print() {
    let dir = temp();
    let memory_mib = 1024;
    let server = yingjian_tests::Aggregator::start_with(&dir.path().join("data"), |c| {
        c.worker.memory_mib = memory_mib;
        c.print.office_timeout_secs = 60;
        c.reading.enabled = true;
        c.reading.memory_mib = memory_mib;
    })
    .await;
    let police = server.token(Some("police")).await;
    let office = server.token(None).await;
    let client = reqwest::Client::new();
    // Whatever LibreOffice would fetch goes here: nothing may arrive.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let trap_url = format!("http://{}/picture.png", trap.local_addr().unwrap());
    let item = "08.03 昆仑2021专项行动";
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("01 正常文件.pdf", good_pdf()),
        ("02 嵌套.pdf", nested_pdf(100_000)),
        ("03 大图16000.png", png(16_000, false)),
        ("04 大图20000.png", png(20_000, false)),
        ("05 黑白32000.tif", bilevel_tiff(32_000)),
        ("06 坏像素.png", png(2_000, true)),
        ("07 外链图片.docx", docx_linking(&trap_url)),
        ("08 十万页.pdf", long_pdf(100_000)),
        ("09 正常文件二.pdf", good_pdf()),
    ];
    let before = own_rss();
    for (name, bytes) in &files {
        yingjian_tests::deliver(&client, &server.url(), &police, &format!("{item}/{name}"), bytes)
            .await
            .unwrap();
    }

    // Previews: refused with a reason or shrunk, never the server's memory.
    for (name, bytes) in &files[2..6] {
        let sha = yingjian_tests::sha(bytes);
        let r = client
            .get(format!("{}/files/{sha}/preview.png", server.url()))
            .bearer_auth(&police)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap();
        if *name == "05 黑白32000.tif" {
            // Shrunk while it was expanded.
            assert_eq!(status, 200, "{name}");
            let shown = image::load_from_memory(&body).unwrap();
            assert!(shown.width() <= 1600 && shown.height() <= 1600);
        } else {
            assert_eq!(status, 415, "{name}: {}", String::from_utf8_lossy(&body));
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains("无法预览"), "{name}: {text}");
        }
    }
    assert!(server.get("/api/v1/status", &office).await.is_object());

    // The print build: every volume written, each hostile file a placeholder naming it, with
    // qpdf (the packages' way: a PDF's pages copied as they are; the nested one would be copied
    // as a broken page) and without (pages drawn again: the nested one kills its worker).
    let out = dir.path().join("print");
    let report = yingjian_aggregator::print::build(&server.state, &out, yingjian_aggregator::print::Of::Copy)
        .await
        .unwrap();
    let mut without_qpdf = server.state.clone();
    let mut config = (*server.state.config).clone();
    config.print.qpdf = Some(String::new());
    without_qpdf.services.config = std::sync::Arc::new(config);
    let drawn = yingjian_aggregator::print::build(
        &without_qpdf,
        &dir.path().join("drawn"),
        yingjian_aggregator::print::Of::Copy,
    )
    .await
    .unwrap();
    for (report, why) in
        [(&report, "无法读取（PDF 文件已损坏或结构异常"), (&drawn, "无法读取（文件结构嵌套过深")]
    {
        assert!(!report.written.is_empty());
        let problems = report.problems.join("\n");
        for name in ["02 嵌套.pdf", "03 大图16000.png", "04 大图20000.png", "06 坏像素.png", "08 十万页.pdf"]
        {
            assert!(problems.contains(name), "{name} is not named among the problems:\n{problems}");
        }
        for name in ["01 正常文件.pdf", "09 正常文件二.pdf", "05 黑白32000.tif"] {
            assert!(!problems.contains(name), "{name} should print:\n{problems}");
        }
        let line = |name: &str| problems.lines().find(|l| l.contains(name)).unwrap_or_default().to_string();
        assert!(line("十万页.pdf").contains("页数过多"), "{problems}");
        assert!(line("大图20000.png").contains("20000×20000"), "{problems}");
        assert!(line("嵌套.pdf").contains(why), "{problems}");
    }
    for volume in report.written.iter().map(|(volume, _)| volume) {
        let check = std::process::Command::new("qpdf").arg("--check").arg(volume).output().unwrap();
        let said =
            format!("{}{}", String::from_utf8_lossy(&check.stdout), String::from_utf8_lossy(&check.stderr));
        assert!(check.status.success(), "{said}");
    }
    // What cost the worker its life is in the audit log, by file.
    let audit = server.get("/api/v1/audit", &office).await;
    let unreadable: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "unreadable")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    // Once a build.
    assert_eq!(unreadable.len(), 2, "{unreadable:?}");
    assert!(unreadable.iter().all(|u| u.contains("嵌套.pdf")), "{unreadable:?}");
    // Every volume written: a cover, a 目录, and at least a page for each content (the two
    // good PDFs are one content, printed once).
    assert!(report.written.iter().all(|(volume, _)| volume.exists()));
    let pages: usize = report.written.iter().map(|(_, pages)| pages).sum();
    assert!(pages >= 2 * report.written.len() + files.len() - 1, "{:?}", report.written);
    // Reading: each file read, or refused with its reason, in the background.
    let list =
        yingjian_tests::eventually_within(Duration::from_mins(10), "every file read or refused", || async {
            let list = server.get("/api/v1/evidence", &police).await.as_array()?.clone();
            list.iter().all(|e| e["facts"]["read"] != "queued").then_some(list)
        })
        .await;
    for (name, _) in &files {
        let entry = list.iter().find(|e| e["path"].as_str().is_some_and(|p| p.ends_with(name))).unwrap();
        let facts = &entry["facts"];
        let refused = facts["read"] == "failed" && facts["failure"].as_str().is_some_and(|w| !w.is_empty());
        assert!(facts["read"] == "done" || refused, "{name}: {facts}");
    }
    // The bundle of that state: built, the hostile documents in it as sent (it parses nothing).
    let names = yingjian_tests::Bundle::build(&server.url(), &office).await.names;
    for name in ["02 嵌套.pdf", "07 外链图片.docx", "08 十万页.pdf"] {
        assert!(names.iter().any(|n| n.ends_with(name)), "{name} in the bundle: {names:?}");
    }
    assert!(trap.accept().is_err(), "LibreOffice reached for the linked picture");
    // The worker never held more than its limit; the server barely grew.
    assert!(server.state.worker.peak_rss() > 0);
    assert!(server.state.worker.peak_rss() <= 2 * (memory_mib << 20), "{}", server.state.worker.peak_rss());
    let grown = own_rss().saturating_sub(before);
    assert!(grown < 300 << 20, "the server's own memory grew by {} MiB", grown >> 20);
    // And it keeps answering.
    assert!(server.get("/api/v1/status", &office).await.is_object());
    server.stop().await;
}

// ── what a client may hold open ───────────────────────────────────────────────────────────

async fn create_upload(server: &yingjian_tests::Aggregator, token: &str, length: u64) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v1/uploads", server.url()))
        .bearer_auth(token)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", length.to_string())
        .send()
        .await
        .unwrap()
}

fn parts(data: &std::path::Path) -> usize {
    std::fs::read_dir(data.join("tmp/uploads")).unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_holds_few_uploads_open_and_the_office_sees_and_removes_them() {
    let dir = temp();
    let data = dir.path().join("data");
    let server = yingjian_tests::Aggregator::start_with(&data, |c| {
        c.uploads.max_open = 3;
        c.uploads.max_promised_bytes = 1000;
    })
    .await;
    let police = server.token(Some("police")).await;
    let other = server.token(Some("market")).await;
    let office = server.token(None).await;
    for _ in 0..3 {
        assert_eq!(create_upload(&server, &police, 100).await.status().as_u16(), 201);
    }
    let refused = create_upload(&server, &police, 100).await;
    assert_eq!(refused.status().as_u16(), 429);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many");
    assert!(body["message"].as_str().unwrap().contains("断点续传"), "{body}");
    assert_eq!(parts(&data), 6, "a refused creation leaves nothing");
    // Bytes promised count too, per department.
    assert_eq!(create_upload(&server, &other, 900).await.status().as_u16(), 201);
    let refused = create_upload(&server, &other, 200).await;
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(parts(&data), 8);

    // The office sees them, by department and PC, and removes one (audited).
    let page = server.page(&office, "/uploads").await;
    assert!(page.contains("未完成的上传") && page.contains("pc-1"), "{page}");
    let open = server.state.uploads.list().unwrap();
    assert_eq!(open.len(), 4);
    let (id, _) = open.iter().find(|(_, u)| u.info.department == "police").unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = client
        .post(format!("{}/login", server.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={office}"))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let removed = client
        .post(format!("{}/uploads/remove", server.url()))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("id={id}"))
        .send()
        .await
        .unwrap();
    assert!(removed.status().is_redirection(), "{}", removed.status());
    assert_eq!(parts(&data), 6);
    let audit = server.get("/api/v1/audit", &office).await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "upload_removed" && e["department"] == "police")
    );
    // The place it held is free again.
    assert_eq!(create_upload(&server, &police, 100).await.status().as_u16(), 201);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_holds_few_event_streams_open() {
    let dir = temp();
    let server =
        yingjian_tests::Aggregator::start_with(&dir.path().join("data"), |c| c.max_event_streams = 2).await;
    let police = server.token(Some("police")).await;
    let open = || async {
        reqwest::Client::new()
            .get(format!("{}/api/v1/events", server.url()))
            .bearer_auth(&police)
            .send()
            .await
            .unwrap()
    };
    let first = open().await;
    let second = open().await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = open().await;
    assert_eq!(third.status().as_u16(), 429);
    let body: serde_json::Value = third.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("实时更新"), "{body}");
    // Another token is not held back by this one's.
    let other = server.token(Some("market")).await;
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/events", server.url()))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A stream closed gives its place back.
    drop(first);
    yingjian_tests::eventually("a place for another stream", || async {
        let r = open().await;
        (r.status().as_u16() == 200).then_some(())
    })
    .await;
    drop(second);
    server.stop().await;
}
