//! A real Garage (an S3-compatible object store) for the tests: one node in a temporary folder
//! on loopback ports, with a layout, a key and a bucket, stopped when dropped. `garage` must be
//! on PATH (`.ci/run` installs it); without it `Garage::start` says SKIPPED and gives `None`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use yingjian_aggregator::config::S3Settings;

use crate::ServerProcess;

pub const BUCKET: &str = "yingjian";

pub struct Garage {
    child: Child,
    dir: TempDir,
    pub settings: S3Settings,
}

impl Garage {
    pub fn start() -> Option<Garage> {
        if Command::new("garage").arg("--version").output().is_err() {
            eprintln!("SKIPPED: garage is not on PATH (cargo install garage --version 2.5.0 --locked)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let (rpc, s3) = (ServerProcess::free_port(), ServerProcess::free_port());
        let root = dir.path().display();
        std::fs::write(
            dir.path().join("garage.toml"),
            format!(
                "metadata_dir = \"{root}/meta\"\ndata_dir = \"{root}/data\"\ndb_engine = \"sqlite\"\n\
                 replication_factor = 1\ncompression_level = \"none\"\nrpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
                 rpc_public_addr = \"127.0.0.1:{rpc}\"\n\
                 rpc_secret = \"1799bccfd7411eddcf9ebd316bc1f5287ad12a68094e1c6ac6abde7e6feae1ec\"\n\
                 [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3}\"\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new("garage")
            .arg("-c")
            .arg(dir.path().join("garage.toml"))
            .arg("server")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut garage = Garage {
            child,
            settings: S3Settings {
                endpoint: format!("http://127.0.0.1:{s3}"),
                bucket: BUCKET.into(),
                region: "garage".into(),
                access_key: String::new(),
                secret_key: String::new(),
            },
            dir,
        };
        // The node answers once its RPC is up (`node id` alone reads a local file).
        garage.until("the garage node answers", |g| g.cli_ok(&["status"]));
        let node = garage.cli(&["node", "id", "-q"]);
        let node = node.trim().split('@').next().unwrap().to_string();
        garage.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        garage.cli(&["layout", "apply", "--version", "1"]);
        let key = garage.cli(&["key", "create", "yingjian-tests"]);
        let field = |name: &str| {
            key.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("{name} in: {key}"))
                .trim()
                .to_string()
        };
        garage.settings.access_key = field("Key ID:");
        garage.settings.secret_key = field("Secret key:");
        garage.cli(&["bucket", "create", BUCKET]);
        garage.cli(&["bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "yingjian-tests"]);
        // The S3 API serves once the layout has reached it.
        let settings = garage.settings.clone();
        garage.until("the S3 API serves the bucket", move |_| {
            yingjian_aggregator::blobs::S3Blobs::open(&settings).ok().map(|_| String::new())
        });
        Some(garage)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `[blobs]` table of an `aggregator.toml` that uses this bucket.
    pub fn config_toml(&self) -> String {
        self.config_toml_via(&self.settings.endpoint)
    }

    /// The same, reaching the store at `endpoint` (a relay in front of it).
    pub fn config_toml_via(&self, endpoint: &str) -> String {
        let s = &self.settings;
        format!(
            "[blobs.s3]\nendpoint = {:?}\nbucket = {:?}\nregion = {:?}\naccess_key = {:?}\nsecret_key = {:?}\n",
            endpoint, s.bucket, s.region, s.access_key, s.secret_key
        )
    }

    fn cli_ok(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("garage")
            .arg("-c")
            .arg(self.dir.path().join("garage.toml"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
    }

    /// Runs the garage CLI, which must succeed.
    pub fn cli(&self, args: &[&str]) -> String {
        self.cli_ok(args).unwrap_or_else(|| panic!("garage {args:?} failed; the server said: {}", self.log()))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Polls a readiness condition of the node (blocking: the node is another process).
    fn until(&mut self, what: &str, mut ready: impl FnMut(&Garage) -> Option<String>) -> String {
        let deadline = Instant::now() + crate::PATIENCE;
        loop {
            if let Some(value) = ready(self) {
                return value;
            }
            assert!(self.child.try_wait().unwrap().is_none(), "garage stopped: {}", self.log());
            assert!(Instant::now() < deadline, "timed out waiting for: {what}; {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
