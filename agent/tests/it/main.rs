//! The real agent binary against the real aggregator on loopback: killed with SIGKILL in the
//! middle of an upload it delivers every file exactly once after a restart; links never steer
//! it; one runs per state folder; slow links and slow servers never stall it.

mod clerk;
mod links;
mod server;
mod setup;
mod slow;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use yingjian_shared::Catalogue;

use crate::server::TestServer;

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

/// A process, killed when the test ends, and the file its standard error goes to (empty when
/// it goes nowhere).
pub struct Running(pub Child, pub std::path::PathBuf);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent(server: &str, token: &str, folder: &std::path::Path, state: &std::path::Path) -> Running {
    let child = agent_command(&[])
        .args(["run", "--server", server, "--settle-ms", "100", "--folder"])
        .arg(folder)
        .arg("--state")
        .arg(state)
        .env("YINGJIAN_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Running(child, std::path::PathBuf::new())
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
    let setup = Setup::start();
    let (proxy, forwarded) = slow_proxy(setup.server.addr).await;
    let big: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(setup.item("08.03").join("专项行动总结（扫描件）.pdf"), &big).unwrap();
    std::fs::write(setup.item("11.02").join("机构设置文件.pdf"), b"%PDF-1.4 small").unwrap();

    let mut first = agent(&format!("http://{proxy}"), &setup.server.token, &setup.folder, &setup.agent_state);
    wait_for("the upload to be under way", async || forwarded.load(Ordering::SeqCst) > 1024 * 1024).await;
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let big_on_file = async || setup.records().await.iter().any(|r| r.path.as_str().starts_with("08.03"));
    assert!(!big_on_file().await, "the big file cannot be on file: its upload was cut off");
    // The server drops the broken upload and its temporary file.
    wait_for("the temporary file to go", async || setup.server.temp_files() == 0).await;

    let _second = agent(&setup.url(), &setup.server.token, &setup.folder, &setup.agent_state);
    wait_for("both files on file", async || setup.records().await.len() == 2).await;
    assert_eq!(setup.server.blob_files(), 2, "each content stored once");
    let log = setup.audit().await;
    let count = |action: &str| log.iter().filter(|e| e.action == action).count();
    assert_eq!((count("upload"), count("record")), (2, 2), "exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_folder_is_watched() {
    let setup = Setup::start();
    let dir = setup.dir.path();
    let item = setup.item("08.03");
    std::fs::write(item.join("启动前.pdf"), b"%PDF-1.4 before").unwrap();
    let server = setup.url();
    let token = &setup.server.token;

    // `--folder evidence`, as a clerk would type it in the folder above.
    let _agent = Running(
        agent_command(&[])
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
            .current_dir(dir)
            .env("YINGJIAN_TOKEN", token)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        std::path::PathBuf::new(),
    );
    let on_file = async |n: usize| setup.records().await.len() == n;
    // Delivered by the first reconcile, which runs once the watcher is up.
    wait_for("the file that was there before", async || on_file(1).await).await;
    // Delivered only if events under a relative folder are understood (the rescan is minutes away).
    std::fs::write(item.join("启动后.pdf"), b"%PDF-1.4 after").unwrap();
    wait_for("the file written after the start", async || on_file(2).await).await;
    // The log goes to a daily file in the state folder too (a service has no console).
    let logged = || {
        std::fs::read_dir(dir.join("state/logs")).ok().into_iter().flatten().flatten().any(|e| {
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
    pub server: TestServer,
    pub folder: std::path::PathBuf,
    pub agent_state: std::path::PathBuf,
}

impl Setup {
    pub fn start() -> Setup {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(dir.path());
        let folder = dir.path().join("evidence");
        let catalogue = Catalogue::builtin();
        yingjian_agent::init_folder(catalogue, catalogue.department("police").unwrap(), &folder).unwrap();
        let agent_state = dir.path().join("state");
        Setup { dir, server, folder, agent_state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
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
                "server = \"{server}\"\ntoken = \"{}\"\nfolder = '{}'\nstate = '{}'\nsettle_ms = 100\nheartbeat_secs = 1\n{extra}\n",
                self.server.token,
                self.folder.display(),
                self.agent_state.display()
            ),
        )
        .unwrap();
        path
    }

    /// What the server holds from the department, as the agent asks for it.
    pub async fn records(&self) -> Vec<yingjian_shared::EvidenceEntry> {
        self.get("/api/v1/evidence", &self.server.token).await
    }

    /// The audit log, newest first.
    pub async fn audit(&self) -> Vec<Logged> {
        self.get("/api/v1/audit?limit=1000", &self.server.office).await
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, token: &str) -> T {
        let response =
            reqwest::Client::new().get(format!("{}{path}", self.url())).bearer_auth(token).send().await;
        response.unwrap().error_for_status().unwrap().json().await.unwrap()
    }

    /// The department's status as the office sees it.
    pub async fn status(&self) -> Option<yingjian_shared::DepartmentStatus> {
        let status: yingjian_shared::Status = reqwest::Client::new()
            .get(format!("{}/api/v1/status", self.url()))
            .bearer_auth(&self.server.office)
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

/// An entry of the audit log.
#[derive(serde::Deserialize)]
pub struct Logged {
    pub action: String,
}

/// The agent binary running `args` (with the config file), its output kept.
pub fn agent_with(config: &std::path::Path, args: &[&str], wrap: &[&str]) -> Running {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let mut command = agent_command(wrap);
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
    Running(child, said)
}

/// The agent binary as a command, started through `wrap` (another user, say) and, for a build
/// of another architecture, through the emulator that `YINGJIAN_TEST_WRAP` names
/// (`qemu-aarch64-static -L /usr/aarch64-linux-gnu`).
pub fn agent_command(wrap: &[&str]) -> Command {
    let emulator = std::env::var("YINGJIAN_TEST_WRAP").unwrap_or_default();
    let mut words =
        wrap.iter().map(|w| (*w).to_string()).chain(emulator.split_whitespace().map(str::to_string));
    let exe = env!("CARGO_BIN_EXE_yingjian-agent");
    match words.next() {
        Some(first) => {
            let mut command = Command::new(first);
            command.args(words).arg(exe);
            command
        }
        None => Command::new(exe),
    }
}

/// `yingjian-agent status` with the config file, as the clerk runs it.
pub fn status_cli(config: &std::path::Path) -> String {
    let out = agent_command(&[])
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
