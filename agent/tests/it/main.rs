//! The real agent binary against the real aggregator on loopback: killed with SIGKILL in the
//! middle of an upload it delivers every file exactly once after a restart; links never steer
//! it; one runs per state folder; slow links and slow servers never stall it.

mod clerk;
mod links;
mod slow;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use yingjian_aggregator::{AppState, Config, launch, new_token, token_hash};
use yingjian_shared::Catalogue;

/// Forwards to `target`, the client's bytes slowly (about 1 MB/s), counting them.
async fn slow_proxy(target: std::net::SocketAddr) -> (std::net::SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let forwarded = Arc::new(AtomicU64::new(0));
    let counter = forwarded.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let server = TcpStream::connect(target).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                });
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n) = cr.read(&mut buf).await {
                    if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    counter.fetch_add(n as u64, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
                let _ = sw.shutdown().await;
            });
        }
    });
    (addr, forwarded)
}

/// A process, and the file its standard error goes to.
pub struct AgentProcess(pub Child, pub std::path::PathBuf);

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent(server: &str, token: &str, folder: &std::path::Path, state: &std::path::Path) -> AgentProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_yingjian-agent"))
        .args(["run", "--server", server, "--settle-ms", "100", "--folder"])
        .arg(folder)
        .arg("--state")
        .arg(state)
        .env("YINGJIAN_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    AgentProcess(child, std::path::PathBuf::new())
}

/// The aggregator on `dir/data`, not reading what arrives: these tests are about carrying files.
fn server(dir: &std::path::Path) -> AppState {
    let mut config = Config { data: dir.join("data"), ..Config::default() };
    config.reading.enabled = false;
    AppState::open(config).unwrap()
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_mins(1);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_upload_then_restarted_delivers_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = server(dir.path());
    let token = new_token().unwrap();
    state.db.insert_token(token_hash(&token), Some("police".into()), "pc-1".into()).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server_addr = listener.local_addr().unwrap();
    tokio::spawn(launch(state.clone(), listener, std::future::pending()));
    let (proxy, forwarded) = slow_proxy(server_addr).await;

    let folder = dir.path().join("evidence");
    let catalogue = Catalogue::builtin();
    yingjian_agent::init_folder(catalogue, catalogue.department("police").unwrap(), &folder).unwrap();
    let big: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(folder.join("08.03 昆仑2021专项行动/专项行动总结（扫描件）.pdf"), &big).unwrap();
    std::fs::write(folder.join("11.02 公安打假机构力量和机制建设/机构设置文件.pdf"), b"%PDF-1.4 small")
        .unwrap();
    let agent_state = dir.path().join("state");

    let mut first = agent(&format!("http://{proxy}"), &token, &folder, &agent_state);
    wait_for("the upload to be under way", async || forwarded.load(Ordering::SeqCst) > 1024 * 1024).await;
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let big_on_file = async || {
        state
            .db
            .evidence(Some("police".into()))
            .await
            .unwrap()
            .iter()
            .any(|r| r.path.as_str().starts_with("08.03"))
    };
    assert!(!big_on_file().await, "the big file cannot be on file: its upload was cut off");
    // The server drops the broken upload and its temporary file.
    wait_for("the temporary file to go", async || state.blobs.temp_files().unwrap() == 0).await;

    let _second = agent(&format!("http://{server_addr}"), &token, &folder, &agent_state);
    wait_for("both files on file", async || {
        state.db.evidence(Some("police".into())).await.unwrap().len() == 2
    })
    .await;
    let blobs = state.db.all_blobs().await.unwrap();
    assert_eq!(blobs.len(), 2, "each content stored once: {blobs:?}");
    let log = state.db.audit(1000, None).await.unwrap();
    let count = |action: &str| log.iter().filter(|e| e.action == action).count();
    assert_eq!((count("upload"), count("record")), (2, 2), "exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_folder_is_watched() {
    let dir = tempfile::tempdir().unwrap();
    let state = server(dir.path());
    let token = new_token().unwrap();
    state.db.insert_token(token_hash(&token), Some("police".into()), "pc-1".into()).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(launch(state.clone(), listener, std::future::pending()));
    let catalogue = Catalogue::builtin();
    let folder = dir.path().join("evidence");
    yingjian_agent::init_folder(catalogue, catalogue.department("police").unwrap(), &folder).unwrap();
    let item = folder.join("08.03 昆仑2021专项行动");
    std::fs::write(item.join("启动前.pdf"), b"%PDF-1.4 before").unwrap();

    // `--folder evidence`, as a clerk would type it in the folder above.
    let _agent = AgentProcess(
        Command::new(env!("CARGO_BIN_EXE_yingjian-agent"))
            .args([
                "run",
                "--server",
                &server,
                "--settle-ms",
                "100",
                "--folder",
                "evidence",
                "--state",
                "state",
            ])
            .current_dir(dir.path())
            .env("YINGJIAN_TOKEN", &token)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        std::path::PathBuf::new(),
    );
    let on_file = async |n: usize| state.db.evidence(Some("police".into())).await.unwrap().len() == n;
    // Delivered by the first reconcile, which runs once the watcher is up.
    wait_for("the file that was there before", async || on_file(1).await).await;
    // Delivered only if events under a relative folder are understood (the rescan is minutes away).
    std::fs::write(item.join("启动后.pdf"), b"%PDF-1.4 after").unwrap();
    wait_for("the file written after the start", async || on_file(2).await).await;
    // The log goes to a daily file in the state folder too (a service has no console).
    let logged = || {
        std::fs::read_dir(dir.path().join("state/logs")).ok().into_iter().flatten().flatten().any(|e| {
            let path = e.path();
            path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("agent."))
                && path.extension().is_some_and(|x| x == "log")
                && std::fs::read_to_string(&path).is_ok_and(|log| log.contains("synced"))
        })
    };
    wait_for("the log file", async || logged()).await;
}

/// A server on loopback with a department's token and the office's, and a department folder
/// laid out by `init`: how the tests below begin.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub server: AppState,
    pub addr: std::net::SocketAddr,
    pub token: String,
    pub office: String,
    pub folder: std::path::PathBuf,
    pub agent_state: std::path::PathBuf,
}

impl Setup {
    pub async fn new() -> Setup {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let server = server(dir.path());
        let token = new_token().unwrap();
        server.db.insert_token(token_hash(&token), Some("police".into()), "pc-1".into()).await.unwrap();
        let office = new_token().unwrap();
        server.db.insert_token(token_hash(&office), None, "office".into()).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(launch(server.clone(), listener, std::future::pending()));
        let folder = dir.path().join("evidence");
        let catalogue = Catalogue::builtin();
        yingjian_agent::init_folder(catalogue, catalogue.department("police").unwrap(), &folder).unwrap();
        let agent_state = dir.path().join("state");
        Setup { dir, server, addr, token, office, folder, agent_state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The item folder whose name starts with `code`.
    pub fn item(&self, code: &str) -> std::path::PathBuf {
        std::fs::read_dir(&self.folder)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(code))
            .unwrap()
    }

    /// `agent.toml` for the agent binary against `server`, with `extra` lines.
    pub fn config(&self, server: &str, extra: &str) -> std::path::PathBuf {
        let path = self.dir.path().join("agent.toml");
        std::fs::write(
            &path,
            format!(
                "server = \"{server}\"\ntoken = \"{}\"\nfolder = \"{}\"\nstate = \"{}\"\nsettle_ms = 100\nheartbeat_secs = 1\n{extra}\n",
                self.token,
                self.folder.display(),
                self.agent_state.display()
            ),
        )
        .unwrap();
        path
    }

    pub async fn records(&self) -> Vec<yingjian_shared::EvidenceEntry> {
        self.server.db.evidence(Some("police".into())).await.unwrap()
    }

    /// The department's status as the office sees it.
    pub async fn status(&self) -> Option<yingjian_shared::DepartmentStatus> {
        let status: yingjian_shared::Status = reqwest::Client::new()
            .get(format!("{}/api/v1/status", self.url()))
            .bearer_auth(&self.office)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        status.departments.into_iter().find(|d| d.id == "police")
    }

    /// What the agent's heartbeat lists as left out or unread: (name, reason label).
    pub async fn skipped(&self) -> Vec<(String, String)> {
        let Some(status) = self.status().await else { return Vec::new() };
        status
            .agents
            .iter()
            .flat_map(|a| a.skipped.iter().map(|s| (s.name.clone(), s.message.clone())))
            .collect()
    }
}

/// The agent binary running `args` (with the config file), its output kept.
pub fn agent_with(config: &std::path::Path, args: &[&str], wrap: &[&str]) -> AgentProcess {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let exe = env!("CARGO_BIN_EXE_yingjian-agent");
    let mut command = match wrap.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    // What it says goes to a file beside the config (a pipe nobody reads would fill up and
    // stop it).
    let said = config.with_extension(format!("{}.stderr", RUNS.fetch_add(1, Ordering::SeqCst)));
    let child = command
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("YINGJIAN_TOKEN")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&said).unwrap())
        .spawn()
        .unwrap();
    AgentProcess(child, said)
}

/// `yingjian-agent status` with the config file, as the clerk runs it.
pub fn status_cli(config: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_yingjian-agent"))
        .args(["status", "--config"])
        .arg(config)
        .env_remove("YINGJIAN_TOKEN")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Polls `check` until it answers `Some`, failing after `patience`.
pub async fn eventually<T>(what: &str, patience: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
