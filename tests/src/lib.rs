//! A city in a box for the end-to-end tests: the real aggregator on loopback, real agents on
//! real temporary folders, and polling helpers that wait for an outcome instead of sleeping.

pub mod garage;
pub mod hostile;
pub mod netns;
pub mod postgres;
pub mod tus;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use yingjian_agent::{Agent, AgentConfig, init_folder};
use yingjian_aggregator::{AppState, Config, Server, new_token, token_hash};
use yingjian_shared::{Catalogue, sha256_bytes};

/// How long a helper waits for an outcome before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Aggregator {
    pub addr: SocketAddr,
    pub state: AppState,
    pub data: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<yingjian_aggregator::AppResult<()>>>,
}

impl Aggregator {
    pub async fn start(data: &Path) -> Aggregator {
        Self::start_with(data, |_| {}).await
    }

    /// Starts with the embedded defaults changed by `adjust`.
    pub async fn start_with(data: &Path, adjust: impl FnOnce(&mut Config)) -> Aggregator {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut config = Config { data: data.to_path_buf(), ..Config::default() };
        // Reading (OCR) costs seconds of CPU a page: the tests about reading turn it on.
        config.reading.enabled = false;
        adjust(&mut config);
        Self::start_on(config, listener)
    }

    pub fn start_on(config: Config, listener: TcpListener) -> Aggregator {
        install_crypto();
        let data = config.data.clone();
        let state = AppState::open(config).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(Server::new(state.clone(), listener).unwrap().run(async move {
            let _ = stopped.await;
        }));
        Aggregator { addr, state, data, stop: Some(stop), task: Some(task) }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn token(&self, department: Option<&str>) -> String {
        match department {
            Some(d) => self.agent_token(d, "pc-1").await,
            None => self.new_token(None, "office").await,
        }
    }

    /// A token for another agent installation (PC) of a department.
    pub async fn agent_token(&self, department: &str, agent: &str) -> String {
        self.new_token(Some(department), agent).await
    }

    async fn new_token(&self, department: Option<&str>, agent: &str) -> String {
        let token = new_token().unwrap();
        let department = department.map(str::to_string);
        self.state.db.insert_token(token_hash(&token), department, agent.to_string()).await.unwrap();
        token
    }

    /// GETs a JSON document with the given token.
    pub async fn get(&self, path: &str, token: &str) -> Value {
        get_json(&self.url(), path, token).await.unwrap_or_else(|| panic!("GET {path} failed"))
    }

    /// The paths of a department's records on file.
    pub async fn paths(&self, token: &str) -> Vec<String> {
        let records = self.get("/api/v1/evidence", token).await;
        records.as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap().to_string()).collect()
    }

    /// The `Cookie` header of a dashboard session opened with `token`.
    pub async fn session(&self, token: &str) -> String {
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let login = client
            .post(format!("{}/login", self.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .unwrap();
        login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string()
    }

    /// A dashboard page as a browser logged in with `token` gets it.
    pub async fn page(&self, token: &str, path: &str) -> String {
        let cookie = self.session(token).await;
        // Not led to the login by a redirect: a page refused is a failure here.
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = client.get(format!("{}{path}", self.url())).header("cookie", cookie).send().await.unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.text().await.unwrap()
    }

    /// The status of one department, as the office sees it.
    pub async fn department_status(&self, office: &str, department: &str) -> Value {
        let status = self.get("/api/v1/status", office).await;
        status["departments"].as_array().unwrap().iter().find(|d| d["id"] == department).cloned().unwrap()
    }

    /// How often the audit log has `action`.
    pub async fn audit_count(&self, office: &str, action: &str) -> usize {
        audit_counts(&self.url(), office).await.get(action).copied().unwrap_or(0)
    }
}

/// GETs a JSON document from the server at `base`; `None` if it is down or refuses.
pub async fn get_json(base: &str, path: &str, token: &str) -> Option<Value> {
    install_crypto();
    let r = Client::new().get(format!("{base}{path}")).bearer_auth(token).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

/// How often the audit log of the server at `base` has each action.
pub async fn audit_counts(base: &str, office: &str) -> BTreeMap<String, usize> {
    let log = get_json(base, "/api/v1/audit?limit=100000", office).await.expect("the audit log");
    let mut counts = BTreeMap::new();
    for e in log.as_array().unwrap() {
        *counts.entry(e["action"].as_str().unwrap().to_string()).or_default() += 1;
    }
    counts
}

/// Asserts that the status counts a database kept with each change equal a count of its records.
pub async fn assert_counts_kept(db: &yingjian_aggregator::db::Db) {
    let (kept, counted) = db.kept_and_counted().await.unwrap();
    assert!(!kept.groups.is_empty(), "records were counted");
    assert_eq!(kept, counted, "the kept status counts differ from a recount");
}

/// The SHA-256 of `bytes`, as the wire spells it.
pub fn sha(bytes: &[u8]) -> String {
    sha256_bytes(bytes).to_string()
}

/// An evidence record as an agent sends it.
pub fn record(path: &str, sha256: &str, size: usize) -> Value {
    serde_json::json!({"path": path, "sha256": sha256, "size": size, "modified": "2021-12-01T08:00:00Z"})
}

/// Files `bytes` at `path` as a department's agent does: the blob, then the record.
pub async fn deliver(
    client: &Client,
    base: &str,
    token: &str,
    path: &str,
    bytes: &[u8],
) -> Result<(), String> {
    let sha = sha(bytes);
    let put = client
        .put(format!("{base}/api/v1/blobs/{sha}"))
        .bearer_auth(token)
        .body(bytes.to_vec())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !put.status().is_success() {
        return Err(format!("blob for {path}: {}", put.status()));
    }
    let r = client
        .put(format!("{base}/api/v1/evidence"))
        .bearer_auth(token)
        .json(&record(path, &sha, bytes.len()))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("record for {path}: {}", r.status()));
    }
    Ok(())
}

/// A loopback relay in front of a server that counts the bytes sent through it towards the
/// server: what an agent's traffic costs on the wire. It can also be slowed down, and cut. In
/// front of several servers it is a load balancer that fails over: each connection goes to
/// the first that accepts it.
pub struct Relay {
    pub addr: SocketAddr,
    sent: Arc<AtomicU64>,
    /// Bytes per second towards the server; 0 for as fast as it goes.
    rate: Arc<AtomicU64>,
    cut: Arc<tokio::sync::Notify>,
    task: JoinHandle<()>,
}

impl Relay {
    pub async fn start(server: SocketAddr) -> Relay {
        Self::start_over(vec![server]).await
    }

    pub async fn start_over(servers: Vec<SocketAddr>) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = Arc::new(AtomicU64::new(0));
        let rate = Arc::new(AtomicU64::new(0));
        let cut = Arc::new(tokio::sync::Notify::new());
        let (counter, pace, cutter) = (sent.clone(), rate.clone(), cut.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut upstream = None;
                for server in &servers {
                    if let Ok(stream) = TcpStream::connect(server).await {
                        upstream = Some(stream);
                        break;
                    }
                }
                let Some(upstream) = upstream else { continue };
                let (counter, pace, cutter) = (counter.clone(), pace.clone(), cutter.clone());
                tokio::spawn(async move {
                    let (mut from_client, mut to_client) = client.into_split();
                    let (mut from_server, mut to_server) = upstream.into_split();
                    let up = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                            counter.fetch_add(n as u64, Ordering::Relaxed);
                            if to_server.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            let rate = pace.load(Ordering::Relaxed);
                            if rate > 0 {
                                // The link's pace (the scenario, not synchronisation).
                                tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
                            }
                        }
                        let _ = to_server.shutdown().await;
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                        let _ = to_client.shutdown().await;
                    };
                    // A cut drops both directions at once, as a broken link does.
                    tokio::select! {
                        _ = async { tokio::join!(up, down) } => {}
                        () = cutter.notified() => {}
                    }
                });
            }
        });
        Relay { addr, sent, rate, cut, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes sent towards the server so far, headers included.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends at most `bytes_per_sec` towards the server from now on (0: no limit).
    pub fn throttle(&self, bytes_per_sec: u64) {
        self.rate.store(bytes_per_sec, Ordering::Relaxed);
    }

    /// Breaks every connection open now; new ones go through.
    pub fn cut(&self) {
        self.cut.notify_waiters();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One department's agent, run in-process on its own folder and state.
pub struct DeptAgent {
    pub folder: PathBuf,
    pub state: PathBuf,
    pub config: AgentConfig,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl DeptAgent {
    /// Lays out the department's folder with `init` and returns an agent ready to start.
    pub fn prepare(root: &Path, department: &str, server: &str, token: &str) -> DeptAgent {
        let folder = root.join(format!("{department}-evidence"));
        let state = root.join(format!("{department}-state"));
        let catalogue = Catalogue::builtin();
        init_folder(catalogue, catalogue.department(department).unwrap(), &folder).unwrap();
        let config = AgentConfig {
            server: server.to_string(),
            token: Some(token.to_string()),
            folder: folder.clone(),
            state: state.clone(),
            settle_ms: 500,
            rescan_secs: 300,
            heartbeat_secs: 1,
            stall_secs: 60,
            poll: false,
            ca_cert: None,
        };
        DeptAgent { folder, state, config, stop: None, task: None }
    }

    pub async fn start(&mut self) {
        let agent = Agent::new(self.config.clone()).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        self.stop = Some(stop);
        self.task = Some(tokio::spawn(async move {
            agent
                .run(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        }));
    }

    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// The item folder whose name starts with `code` (`08.03`).
    pub fn item(&self, code: &str) -> PathBuf {
        std::fs::read_dir(&self.folder)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(code))
            .unwrap_or_else(|| panic!("no item folder {code}"))
    }

    /// A scan of `size` random bytes put into item `code` as `name` by
    /// `drop_whole`. Returns its bytes.
    pub fn drop_scan(&self, code: &str, name: &str, size: usize, rng: &mut Rng) -> Vec<u8> {
        let content = rng.bytes(size);
        self.drop_whole(code, name, &content);
        content
    }

    /// `bytes` put into item `code` as `name` whole at once: written beside the evidence
    /// folder, then renamed in.
    pub fn drop_whole(&self, code: &str, name: &str, bytes: &[u8]) {
        let staging = self.folder.with_extension("staging");
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(staging.join(name), bytes).unwrap();
        std::fs::rename(staging.join(name), self.item(code).join(name)).unwrap();
    }
}

/// A server, the office's token and one department's agent with its token, prepared (not
/// started): how most agent tests begin.
pub struct OneDepartment {
    pub dir: TempDir,
    pub server: Aggregator,
    pub token: String,
    pub office: String,
    pub agent: DeptAgent,
}

impl OneDepartment {
    pub async fn prepare(department: &str) -> OneDepartment {
        let dir = temp();
        let server = Aggregator::start(&dir.path().join("data")).await;
        let token = server.token(Some(department)).await;
        let office = server.token(None).await;
        let agent = DeptAgent::prepare(dir.path(), department, &server.url(), &token);
        OneDepartment { dir, server, token, office, agent }
    }
}

/// The hand-in as the office gets it: the bundle of the current state, built through the API and
/// downloaded, open as a zip.
pub struct Bundle {
    zip: zip::ZipArchive<std::io::Cursor<Vec<u8>>>,
    /// Its name, which carries the state's fingerprint.
    pub name: String,
    /// Every name in it.
    pub names: Vec<String>,
}

impl Bundle {
    pub async fn build(base: &str, office: &str) -> Bundle {
        let client = Client::new();
        let built = client.post(format!("{base}/api/v1/bundles")).bearer_auth(office).send().await.unwrap();
        assert!(built.status().is_success(), "bundle: {}", built.status());
        let built: Value = built.json().await.unwrap();
        let name = built["name"].as_str().unwrap().to_string();
        let download = client.get(format!("{base}/api/v1/bundles/{name}")).bearer_auth(office).send();
        let bytes = download.await.unwrap().bytes().await.unwrap();
        let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let names = zip.file_names().filter_map(Result::ok).map(|n| n.to_string()).collect();
        Bundle { zip, name, names }
    }

    /// The bytes of the one file whose name ends with `suffix`.
    pub fn file(&mut self, suffix: &str) -> Vec<u8> {
        let name = self
            .names
            .iter()
            .find(|n| n.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} in the bundle"));
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut self.zip.by_name(name).unwrap(), &mut bytes).unwrap();
        bytes
    }

    /// The 目录, as HTML.
    pub fn toc(&mut self) -> String {
        String::from_utf8(self.file("00 目录.html")).unwrap()
    }
}

/// Polls `check` until it returns `Some`, failing the test after `PATIENCE`.
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(PATIENCE, what, check).await
}

/// `eventually` with its own patience, for outcomes that wait out retry back-offs.
pub async fn eventually_within<T, F, Fut>(patience: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A release or debug binary of the workspace, built beside this test (by `cargo test --workspace`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let path =
        exe.parent().and_then(Path::parent).unwrap().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is not built: run the tests with `cargo test --workspace`", path.display());
    path
}

/// The real aggregator binary, serving `data` on a fixed loopback port so that it can be
/// killed and started again where the agents expect it.
pub struct ServerProcess {
    child: Child,
    pub data: PathBuf,
    host: String,
    pub port: u16,
}

impl ServerProcess {
    /// A loopback port that was free a moment ago.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// Starts the server and waits until it answers.
    pub async fn start(data: &Path, port: u16) -> ServerProcess {
        Self::start_configured(data, port, None).await
    }

    /// Starts the server with a config file (its data folder still `data`).
    pub async fn start_configured(data: &Path, port: u16, config: Option<&Path>) -> ServerProcess {
        let mut command = Command::new(binary("yingjian-aggregator"));
        command.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"]).arg(data);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        Self::spawned(command, data, "127.0.0.1".into(), port).await
    }

    /// Starts the server inside `link`'s network namespace, on its address there: whoever
    /// connects to it crosses the link.
    pub async fn start_behind(link: &netns::Link, data: &Path, port: u16) -> ServerProcess {
        let mut command = link.command(&binary("yingjian-aggregator"));
        command.args(["serve", "--listen", &format!("{}:{port}", link.ns_ip()), "--data"]).arg(data);
        Self::spawned(command, data, link.ns_ip(), port).await
    }

    async fn spawned(mut command: Command, data: &Path, host: String, port: u16) -> ServerProcess {
        install_crypto();
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let server = ServerProcess { child, data: data.to_path_buf(), host, port };
        let url = format!("{}/healthz", server.url());
        eventually("the server answers", || async {
            reqwest::get(&url).await.ok().filter(|r| r.status().is_success())
        })
        .await;
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// SIGKILL: no shutdown, no flush, whatever was under way is cut off.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, as systemd stops a service; returns once the process has exited.
    #[cfg(unix)]
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let child = std::sync::Mutex::new(&mut self.child);
        eventually("the server exits after SIGTERM", || {
            let exited = child.lock().unwrap().try_wait().unwrap();
            async move { exited }
        })
        .await
    }

    /// `yingjian-aggregator <args> --data <data>`, which must succeed; returns standard output.
    pub fn cli(data: &Path, args: &[&str]) -> String {
        let out =
            Command::new(binary("yingjian-aggregator")).args(args).arg("--data").arg(data).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic generator for fault timing and file contents; the seed is printed so
/// that a failing run can be replayed with `YINGJIAN_SEED`.
pub struct Rng(u64);

impl Rng {
    pub fn from_env() -> Rng {
        let seed = std::env::var("YINGJIAN_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("YINGJIAN_SEED={seed}");
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A generator from a fixed seed (small seeds spread over the word first).
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `range`.
    pub fn within(&mut self, range: std::ops::Range<u64>) -> u64 {
        range.start + self.next_u64() % (range.end - range.start)
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes()[..chunk.len()]);
        }
        out
    }
}

/// A file of `len` random bytes, written a MiB at a time (a scan's worth of incompressible
/// content for the bench and the link tests).
pub fn write_random(path: &Path, len: u64, rng: &mut Rng) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut left = len;
    while left > 0 {
        let n = left.min(1 << 20);
        std::io::Write::write_all(&mut file, &rng.bytes(n as usize))?;
        left -= n;
    }
    std::io::Write::flush(&mut file)
}

/// Whether the long variants of the fault and load suites run (`YINGJIAN_LONG=1`).
pub fn long() -> bool {
    std::env::var("YINGJIAN_LONG").is_ok_and(|v| v == "1")
}

/// reqwest is built without a default TLS provider; every test process installs ring once.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn temp() -> TempDir {
    tempfile::tempdir().unwrap()
}
