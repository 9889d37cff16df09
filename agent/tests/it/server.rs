//! The aggregator these tests talk to: the real binary on loopback, with a data folder of its
//! own for each test, reached only as an agent and the office reach it (HTTP) and as its
//! operator looks at it (the data folder).
//!
//! Built for Windows or ARM64, the tests run under wine or qemu, and the aggregator stays a
//! program of this machine: `YINGJIAN_AGGREGATOR` names it (`packaging/cross-test` does).
//! Wine cannot wait for or stop a Linux program it starts, so there the runner starts the
//! servers ahead and lists them in `YINGJIAN_TEST_SERVERS`, one per test.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Running;

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    /// The police department's token.
    pub token: String,
    pub office: String,
    /// Its data folder.
    pub data: PathBuf,
    _process: Option<Running>,
}

impl TestServer {
    pub fn start(dir: &Path) -> TestServer {
        if let Ok(listed) = std::env::var("YINGJIAN_TEST_SERVERS") {
            return claim(&listed);
        }
        let exe = aggregator_exe();
        let data = dir.join("data");
        let config = dir.join("aggregator.toml");
        // Not reading what arrives: these tests are about carrying files.
        std::fs::write(
            &config,
            format!("data = {:?}\n[reading]\nenabled = false\n", data.display().to_string()),
        )
        .unwrap();
        let token = |who: &[&str]| {
            let out = Command::new(&exe)
                .args(["token", "create", "--config"])
                .arg(&config)
                .args(who)
                .output()
                .unwrap();
            assert!(out.status.success(), "token create: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        let police = token(&["--dept", "police", "--agent", "pc-1"]);
        let office = token(&["--office"]);
        let mut child = Command::new(&exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut said = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        said.read_line(&mut line).unwrap();
        let addr = line.trim().rsplit("://").next().unwrap().parse().unwrap_or_else(|_| panic!("{line:?}"));
        TestServer { addr, token: police, office, data, _process: Some(Running(child, PathBuf::new())) }
    }

    /// Blobs stored (each a file under `blobs/`).
    pub fn blob_files(&self) -> usize {
        fn count(dir: &Path) -> usize {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 })
                .sum()
        }
        count(&self.data.join("blobs"))
    }

    /// Uploads being written (`tmp/upload-…`).
    pub fn temp_files(&self) -> usize {
        std::fs::read_dir(self.data.join("tmp"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("upload-"))
            .count()
    }
}

/// The next of the servers the runner started: `url|token|office|data` separated by `;`.
fn claim(listed: &str) -> TestServer {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let entry = listed
        .split(';')
        .nth(n)
        .unwrap_or_else(|| panic!("YINGJIAN_TEST_SERVERS lists fewer than {} servers", n + 1));
    let [url, token, office, data] = entry.split('|').collect::<Vec<_>>()[..] else {
        panic!("YINGJIAN_TEST_SERVERS: {entry:?} is not url|token|office|data");
    };
    TestServer {
        addr: url.trim_start_matches("http://").parse().unwrap(),
        token: token.into(),
        office: office.into(),
        data: this_machine_path(data),
        _process: None,
    }
}

/// A path of the machine the tests run on, as a program built for Windows sees it under wine
/// (drive Z: is the root).
fn this_machine_path(path: &str) -> PathBuf {
    if cfg!(windows) && path.starts_with('/') {
        PathBuf::from(format!("Z:{}", path.replace('/', "\\")))
    } else {
        PathBuf::from(path)
    }
}

/// `YINGJIAN_AGGREGATOR`, or the one built beside these tests (`target/debug`), which
/// `cargo test --workspace` builds.
fn aggregator_exe() -> PathBuf {
    if let Some(exe) = std::env::var_os("YINGJIAN_AGGREGATOR") {
        return exe.into();
    }
    let me = std::env::current_exe().unwrap();
    let beside = me.parent().and_then(Path::parent).map(|dir| dir.join("yingjian-aggregator"));
    beside.filter(|exe| exe.is_file()).unwrap_or_else(|| {
        panic!("no aggregator beside {}: build it (cargo build -p yingjian-aggregator) or set YINGJIAN_AGGREGATOR", me.display())
    })
}
