//! Faults: the aggregator killed at random moments during a sync, an agent killed mid-queue,
//! the data folder out of space. After each, every file is delivered exactly once, every blob
//! verifies and no temporary file is left. (The aggregator unreachable for a while is
//! `agent_sync::server_down_then_up_loses_nothing_and_restarts_send_nothing_twice`.)

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use yingjian_tests::{
    Aggregator, DeptAgent, Rng, ServerProcess, audit_counts, binary, eventually, eventually_within, get_json,
    long, sha, temp,
};

/// Waiting out retry back-offs that several faults in a row have stretched.
const AFTER_FAULTS: Duration = Duration::from_mins(3);

/// Writes `n` files of random content and size into `folder`; returns name → SHA-256.
fn random_files(
    rng: &mut Rng,
    folder: &Path,
    n: usize,
    sizes: std::ops::Range<u64>,
) -> BTreeMap<String, String> {
    fs::create_dir_all(folder).unwrap();
    let mut written = BTreeMap::new();
    for i in 0..n {
        let len = rng.within(sizes.clone()) as usize;
        let mut bytes = b"%PDF-1.4\n".to_vec();
        bytes.extend(rng.bytes(len));
        let name = format!("材料{i:04}.pdf");
        fs::write(folder.join(&name), &bytes).unwrap();
        written.insert(name, sha(&bytes));
    }
    written
}

/// name → SHA-256 of the department's records whose path is in `dir`; empty while the server
/// is down.
async fn on_server(url: &str, token: &str, dir: &str) -> BTreeMap<String, String> {
    let records = get_json(url, "/api/v1/evidence", token).await.unwrap_or(Value::Null);
    records
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let (folder, name) = r["path"].as_str()?.rsplit_once('/')?;
            let sha256 = r["sha256"].as_str()?;
            (folder == dir).then(|| (name.to_string(), sha256.to_string()))
        })
        .collect()
}

/// Each file one upload and one record, nothing updated, every blob intact, `tmp/` empty.
async fn assert_exactly_once(url: &str, office: &str, data: &Path, files: usize) {
    let counts = audit_counts(url, office).await;
    let count = |a: &str| counts.get(a).copied().unwrap_or(0);
    assert_eq!((count("upload"), count("record"), count("record_update")), (files, files, 0), "{counts:?}");
    let scrub = ServerProcess::cli(data, &["scrub"]);
    assert!(
        scrub.contains(&format!("{files} blobs checked, 0 damaged, 0 stored without a record")),
        "{scrub}"
    );
    assert!(scrub.contains("status counts agree with the records"), "{scrub}");
    let left: Vec<_> = fs::read_dir(data.join("tmp"))
        .unwrap()
        .chain(fs::read_dir(data.join("tmp/uploads")).unwrap())
        .flatten()
        .map(|e| e.file_name())
        // The worker's job folders (files still being read) are not uploads; a killed server's
        // are cleared at its next start.
        .filter(|name| name != "uploads" && name != "worker")
        .collect();
    assert!(left.is_empty(), "no temporary file or partial upload is left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregator_killed_at_random_moments_loses_nothing() {
    let mut rng = Rng::from_env();
    let dir = temp();
    let data = dir.path().join("data");
    let token = ServerProcess::cli(&data, &["token", "create", "--dept", "police"]).trim().to_string();
    let office = ServerProcess::cli(&data, &["token", "create", "--office"]).trim().to_string();
    let port = ServerProcess::free_port();
    let mut server = ServerProcess::start(&data, port).await;
    let mut agent = DeptAgent::prepare(dir.path(), "police", &server.url(), &token);
    agent.start().await;

    let staging = dir.path().join("staging");
    let files = random_files(&mut rng, &staging, 300, 16 << 10..1 << 20);
    let item = agent.item("08.03");
    let dir_name = format!("{}/批量", item.file_name().unwrap().to_str().unwrap());
    fs::rename(&staging, item.join("批量")).unwrap();

    let kills = if long() { 10 } else { 3 };
    let mut killed_mid_sync = 0;
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.within(50..600))).await;
        let arrived = on_server(&server.url(), &token, &dir_name).await.len();
        if arrived == files.len() {
            break;
        }
        server.kill();
        killed_mid_sync += 1;
        // Whatever the kill left in tmp/ is cleared at start: the final check would find it.
        server = ServerProcess::start(&data, port).await;
    }
    assert!(killed_mid_sync > 0, "the sync finished before the first kill");
    eprintln!("the aggregator was killed {killed_mid_sync} times during the sync");

    let url = server.url();
    let arrived = eventually_within(AFTER_FAULTS, "all 300 files after the kills", || async {
        let now = on_server(&url, &token, &dir_name).await;
        (now.len() == files.len()).then_some(now)
    })
    .await;
    assert_eq!(arrived, files, "every file, with its content");
    agent.stop().await;
    assert_exactly_once(&url, &office, &data, files.len()).await;
}

struct AgentProcess(Child);

impl AgentProcess {
    fn start(server: &str, token: &str, folder: &Path, state: &Path) -> AgentProcess {
        let child = Command::new(binary("yingjian-agent"))
            .args(["run", "--server", server, "--settle-ms", "100", "--folder"])
            .arg(folder)
            .arg("--state")
            .arg(state)
            .env("YINGJIAN_TOKEN", token)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        AgentProcess(child)
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_killed_mid_queue_delivers_everything_once_after_a_restart() {
    let mut rng = Rng::from_env();
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let token = server.token(Some("market")).await;
    let office = server.token(None).await;
    // The folder laid out by `init`; the agent itself runs as its own process.
    let layout = DeptAgent::prepare(dir.path(), "market", &server.url(), &token);
    let item = layout.item("01.01");
    let dir_name = format!("{}/批量", item.file_name().unwrap().to_str().unwrap());
    let files = random_files(&mut rng, &dir.path().join("staging"), 600, 1 << 10..64 << 10);
    fs::rename(dir.path().join("staging"), item.join("批量")).unwrap();

    let agent = AgentProcess::start(&server.url(), &token, &layout.folder, &layout.state);
    let url = server.url();
    let at_kill = eventually("the first files on the server", || async {
        let n = on_server(&url, &token, &dir_name).await.len();
        (n >= 30).then_some(n)
    })
    .await;
    drop(agent); // SIGKILL
    assert!(at_kill < files.len(), "the queue was not empty when the agent was killed");
    eprintln!("the agent was killed with {at_kill} of {} files delivered", files.len());

    let _agent = AgentProcess::start(&server.url(), &token, &layout.folder, &layout.state);
    let arrived = eventually_within(AFTER_FAULTS, "all files after the restart", || async {
        let now = on_server(&url, &token, &dir_name).await;
        (now.len() == files.len()).then_some(now)
    })
    .await;
    assert_eq!(arrived, files);
    assert_exactly_once(&url, &office, &server.data, files.len()).await;
    server.stop().await;
}

/// Free bytes on the filesystem holding `path`, as `df` reports them.
fn available_bytes(path: &Path) -> u64 {
    let out = Command::new("df").args(["--output=avail", "-B1"]).arg(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap().lines().nth(1).unwrap().trim().parse().unwrap()
}

/// The last error of every file the agent still has to send, from its state database.
fn waiting_errors(state: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(state).unwrap();
    let mut stmt = conn.prepare("SELECT coalesce(error, '') FROM files WHERE state = 'send'").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// A small tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` where the test may not mount (not root, or no mount permission in a container).
    fn mount(at: &Path, mib: u64) -> Option<Tmpfs> {
        fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_clear_errors_and_recovers_when_space_returns() {
    let dir = temp();
    let Some(mount) = Tmpfs::mount(&dir.path().join("small"), 24) else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); the disk-full case was not run");
        return;
    };
    let data = mount.0.join("data");
    let server = Aggregator::start(&data).await;
    let token = server.token(Some("police")).await;
    let office = server.token(None).await;
    // Fill the disk, leaving about one megabyte.
    let filler = mount.0.join("filler");
    let free = available_bytes(&mount.0);
    fs::write(&filler, vec![0u8; (free - (1 << 20)) as usize]).unwrap();

    // A clear error for an upload that does not fit, and nothing left behind.
    let bytes = vec![7u8; 2 << 20];
    let r = reqwest::Client::new()
        .put(format!("{}/api/v1/blobs/{}", server.url(), sha(&bytes)))
        .bearer_auth(&token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 507);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "storage_full");
    assert!(body["message"].as_str().unwrap().contains("服务器磁盘已满"), "{body}");
    assert_eq!(server.state.blobs.temp_files().unwrap(), 0);

    // An agent keeps its files waiting, with the server's reason, while the disk is full ...
    let mut agent = DeptAgent::prepare(dir.path(), "police", &server.url(), &token);
    agent.start().await;
    let mut rng = Rng::from_env();
    let item = agent.item("08.03");
    let staging = dir.path().join("staging");
    let files = random_files(&mut rng, &staging, 5, 2 << 20..3 << 20);
    fs::rename(&staging, item.join("批量")).unwrap();
    let state = agent.state.join("agent.sqlite3");
    eventually_within(AFTER_FAULTS, "every file refused for want of space", || async {
        let errors = waiting_errors(&state);
        (errors.len() == files.len() && errors.iter().all(|e| e.contains("磁盘已满"))).then_some(())
    })
    .await;

    // ... and delivers them all once space returns.
    fs::remove_file(&filler).unwrap();
    let dir_name = format!("{}/批量", item.file_name().unwrap().to_str().unwrap());
    let url = server.url();
    let arrived = eventually_within(AFTER_FAULTS, "the files once space returned", || async {
        let now = on_server(&url, &token, &dir_name).await;
        (now.len() == files.len()).then_some(now)
    })
    .await;
    assert_eq!(arrived, files);
    agent.stop().await;
    for (sha256, size) in server.state.db.all_blobs().await.unwrap() {
        assert_eq!(server.state.blobs.verify(&sha256, size), None);
    }
    let counts = audit_counts(&url, &office).await;
    assert_eq!((counts.get("upload"), counts.get("record")), (Some(&files.len()), Some(&files.len())));
    assert_eq!(server.state.blobs.temp_files().unwrap(), 0);
    server.stop().await;
    drop(mount);
}
