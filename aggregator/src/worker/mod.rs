//! The worker: what a department sent is parsed in a child process of this same binary
//! (`yingjian-aggregator worker`), never in the server's. The child takes its limits first thing
//! — address space (`RLIMIT_AS`), CPU time (`RLIMIT_CPU`), no core dump, a network namespace of
//! its own where the kernel allows one — then reads one job as JSON on its standard input and
//! writes one reply as JSON on its standard output; its standard error goes to the log. It runs
//! in a process group of its own with a folder of its own (`<data>/tmp/worker/<random>`, removed
//! after), so a wall-clock timeout, a request that gives up, or a crash ends the whole group
//! (LibreOffice's `soffice.bin` too) and costs that one job. At most `[worker] slots` run at
//! once.

mod child;
mod job;
mod probe;

use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::Semaphore;

use crate::blobs::BlobStore;
use crate::config::WorkerSettings;

pub use child::{WorkerArgs, main as child_main};
pub use job::{Context, Dispatch, Job};
pub use probe::Probe;

/// The most a reply may hold: replies carry findings and small pictures, never a file.
const MAX_REPLY: u64 = 64 << 20;
/// The most of a child's standard error kept to tell why it died.
const STDERR_TAIL: usize = 8 * 1024;

/// Why a job gave no answer.
#[derive(Debug, Error)]
pub enum WorkerError {
    /// The child died of a signal (`None`: it panicked or exited without a reply).
    #[error("the worker crashed (signal {signal:?}): {detail}")]
    Crashed { signal: Option<i32>, detail: String },
    /// It overflowed its stack (a structure nested past any document's).
    #[error("the worker overflowed its stack")]
    StackOverflow,
    /// It ran out of its address space.
    #[error("the worker ran out of memory")]
    OutOfMemory,
    /// It used up its CPU time.
    #[error("the worker used up its CPU time")]
    CpuLimit,
    /// It did not finish in time and was killed with its process group.
    #[error("the worker did not finish within {0:?}")]
    Timeout(Duration),
    /// The child refused the job and said why, in Chinese, for people.
    #[error("the worker refused: {0}")]
    Refused(String),
    /// The child could not be started or spoken to.
    #[error("the worker could not be run: {0}")]
    Io(#[from] io::Error),
}

impl WorkerError {
    /// Why, for the office and the clerks (「无法读取（…）」 wraps it).
    pub fn reason_zh(&self) -> String {
        match self {
            WorkerError::StackOverflow => "文件结构嵌套过深，读取时出错".into(),
            WorkerError::Crashed { .. } => "文件已损坏或格式异常，读取时出错".into(),
            WorkerError::OutOfMemory => "读取时超出内存限制".into(),
            WorkerError::CpuLimit => "读取时超出计算时间限制".into(),
            WorkerError::Timeout(_) => "处理超时".into(),
            WorkerError::Refused(why) => why.clone(),
            WorkerError::Io(_) => "服务器未能启动读取程序".into(),
        }
    }
}

/// What a child may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Address space, bytes.
    pub memory: u64,
    /// CPU time.
    pub cpu: Duration,
}

/// Whether the child got a network namespace of its own (none to reach anything through).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// A new, empty network namespace: no connection can be made.
    Isolated,
    /// The kernel refused a namespace: jobs must refuse external links themselves.
    Shared,
}

/// What the child writes on its standard output.
#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    #[serde(flatten)]
    outcome: Outcome,
    network: Network,
    /// The child's peak resident memory (`VmHWM`), bytes; 0 where unknown.
    peak_rss: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Ok(serde_json::Value),
    Refused(String),
}

/// The pool of workers of a server (or of a CLI command). Cheap to clone.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    program: Option<PathBuf>,
    /// `<data>/tmp/worker`: each job's folder is made below.
    root: PathBuf,
    limits: Limits,
    timeout: Duration,
    slots: Semaphore,
    /// The highest peak resident memory a child reported.
    peak_rss: AtomicU64,
    /// The network the last child had: 0 unknown, 1 isolated, 2 shared.
    network: AtomicU64,
}

/// A job's folder, `<data>/tmp/worker/<random>`: the child's temporary files, blobs staged for it
/// and what it writes; removed when dropped.
pub struct JobDir {
    dir: tempfile::TempDir,
}

impl JobDir {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The file a child reads blob `sha256` from: the store's own file where the blob store is a
/// folder (the child opens it read-only), else a copy streamed into `dir` (the job's folder).
/// Blocking.
pub fn blob_input(blobs: &dyn BlobStore, sha256: &str, dir: &Path) -> io::Result<PathBuf> {
    if let Some(path) = blobs.local_path(sha256) {
        return Ok(path);
    }
    let target = dir.join(format!("blob-{sha256}"));
    if target.exists() {
        return Ok(target);
    }
    let mut reader = blobs.open_blob(sha256)?;
    let mut file = std::fs::File::create(&target)?;
    io::copy(&mut reader, &mut file)?;
    file.flush()?;
    Ok(target)
}

impl Worker {
    /// Workers as `settings` say, with their folders under `<data>/tmp/worker`.
    pub fn new(settings: &WorkerSettings, data: &Path) -> Worker {
        let program = settings.program.clone().or_else(own_binary);
        if program.is_none() {
            tracing::warn!("the worker program was not found: files will not be read (set [worker] program)");
        }
        Worker {
            inner: Arc::new(Inner {
                program,
                root: data.join("tmp").join("worker"),
                limits: Limits {
                    memory: settings.memory_mib.max(64) << 20,
                    cpu: Duration::from_secs(settings.cpu_secs.max(1)),
                },
                timeout: Duration::from_secs(settings.timeout_secs.max(1)),
                slots: Semaphore::new(settings.slots.max(1)),
                peak_rss: AtomicU64::new(0),
                network: AtomicU64::new(0),
            }),
        }
    }

    /// The configured limits.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// The configured wall-clock timeout of a job.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The highest peak resident memory any child of this pool reported, in bytes.
    pub fn peak_rss(&self) -> u64 {
        self.inner.peak_rss.load(Ordering::Relaxed)
    }

    /// The network the last child that answered had (`None` before any answered).
    pub fn network(&self) -> Option<Network> {
        match self.inner.network.load(Ordering::Relaxed) {
            1 => Some(Network::Isolated),
            2 => Some(Network::Shared),
            _ => None,
        }
    }

    /// A new job folder (blocking: it makes a folder).
    pub fn folder(&self) -> io::Result<JobDir> {
        std::fs::create_dir_all(&self.inner.root)?;
        Ok(JobDir { dir: tempfile::Builder::new().prefix("job-").tempdir_in(&self.inner.root)? })
    }

    /// Runs `job` in a child of its own folder, within the configured limits and `timeout`.
    pub async fn run<R: DeserializeOwned>(
        &self,
        job: &impl Job,
        timeout: Duration,
    ) -> Result<R, WorkerError> {
        let dir = self.folder()?;
        self.run_in(&dir, job, timeout).await
    }

    /// Runs `job` in a child working in `dir` (which holds what `blob_input` staged for it),
    /// within the configured limits and `timeout`. Dropping the future kills the child's process
    /// group: a request that gives up ends its job.
    pub async fn run_in<R: DeserializeOwned>(
        &self,
        dir: &JobDir,
        job: &impl Job,
        timeout: Duration,
    ) -> Result<R, WorkerError> {
        self.run_limited(dir, job, timeout, self.inner.limits).await
    }

    /// `run_in` with limits of its own (a test's, or a job known to need more).
    pub async fn run_limited<R: DeserializeOwned, J: Job>(
        &self,
        dir: &JobDir,
        job: &J,
        timeout: Duration,
        limits: Limits,
    ) -> Result<R, WorkerError> {
        let _slot = self.inner.slots.acquire().await.map_err(io::Error::other)?;
        let program = self.inner.program.as_ref().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no worker program (set [worker] program)")
        })?;
        let input = serde_json::to_vec(&job::Named { job: J::NAME, with: job }).map_err(io::Error::other)?;
        let mut command = Command::new(program);
        command
            .arg("worker")
            .arg("--memory")
            .arg(limits.memory.to_string())
            .arg("--cpu-secs")
            .arg(limits.cpu.as_secs().max(1).to_string())
            .arg("--dir")
            .arg(dir.path())
            .current_dir(dir.path())
            .env("TMPDIR", dir.path())
            .env("HOME", dir.path())
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            // One heap arena: each further one reserves 64 MiB of the address space.
            .env("MALLOC_ARENA_MAX", "1")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for proxy in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
            command.env_remove(proxy);
        }
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn()?;
        let group = Group::new(&child);
        let mut talk = tokio::task::spawn_blocking(move || talk(child, &input));
        let Ok(talked) = tokio::time::timeout(timeout, &mut talk).await else {
            group.kill();
            // Reaped at once: the group was killed.
            let _ = talk.await;
            tracing::warn!(?timeout, "a worker job timed out and was killed with its process group");
            return Err(WorkerError::Timeout(timeout));
        };
        let talked = talked.map_err(io::Error::other)?;
        // What the child started and left behind (an Office suite) goes with it.
        group.kill();
        let (status, stdout, stderr) = talked?;
        let reply = classify(status, &stdout, &stderr)?;
        self.inner.peak_rss.fetch_max(reply.peak_rss, Ordering::Relaxed);
        let network = if reply.network == Network::Isolated { 1 } else { 2 };
        self.inner.network.store(network, Ordering::Relaxed);
        match reply.outcome {
            Outcome::Ok(value) => serde_json::from_value(value)
                .map_err(|e| WorkerError::Io(io::Error::other(format!("the worker's reply: {e}")))),
            Outcome::Refused(why) => Err(WorkerError::Refused(why)),
        }
    }
}

/// This server's own binary; in a test harness (whose binary is not the server's), the
/// `yingjian-aggregator` that cargo builds beside it.
fn own_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let name = format!("yingjian-aggregator{}", std::env::consts::EXE_SUFFIX);
    if exe.file_name().is_some_and(|n| n == name.as_str()) {
        return Some(exe);
    }
    // target/<profile>/deps/<test> → target/<profile>/yingjian-aggregator
    exe.ancestors().skip(1).take(2).map(|dir| dir.join(&name)).find(|p| p.is_file())
}

/// The child's process group, killed when this is dropped (the job given up) or asked to.
struct Group {
    #[cfg(target_os = "linux")]
    pid: Option<rustix::process::Pid>,
}

impl Group {
    #[cfg_attr(not(target_os = "linux"), expect(unused_variables))]
    fn new(child: &std::process::Child) -> Group {
        Group {
            #[cfg(target_os = "linux")]
            pid: rustix::process::Pid::from_child(child).into(),
        }
    }

    fn kill(&self) {
        #[cfg(target_os = "linux")]
        if let Some(pid) = self.pid {
            // ESRCH: the group is gone already.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Writes the job, reads the reply (bounded) and the standard error (to the log, its tail
/// kept), and reaps the child. Blocking.
fn talk(
    mut child: std::process::Child,
    input: &[u8],
) -> io::Result<(std::process::ExitStatus, Vec<u8>, String)> {
    let stderr = child.stderr.take().map(|err| {
        std::thread::spawn(move || {
            let mut tail = String::new();
            for line in io::BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                tracing::info!(target: "worker", "{line}");
                tail.push_str(&line);
                tail.push('\n');
                if tail.len() > STDERR_TAIL {
                    let cut = tail.len() - STDERR_TAIL;
                    let cut = (cut..tail.len()).find(|i| tail.is_char_boundary(*i)).unwrap_or(tail.len());
                    tail.drain(..cut);
                }
            }
            tail
        })
    });
    if let Some(mut stdin) = child.stdin.take() {
        // A child that died early cannot take it; its status says why.
        let _ = stdin.write_all(input);
    }
    let mut stdout = Vec::new();
    if let Some(out) = child.stdout.take() {
        out.take(MAX_REPLY).read_to_end(&mut stdout)?;
    }
    let status = child.wait()?;
    let tail = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    Ok((status, stdout, tail))
}

/// The signal a process gets at its soft CPU-time limit (SIGKILL follows at the hard one).
const SIGXCPU: i32 = 24;

/// What the child's end says: its reply, or why there is none.
fn classify(status: std::process::ExitStatus, stdout: &[u8], stderr: &str) -> Result<Reply, WorkerError> {
    if status.success()
        && let Ok(reply) = serde_json::from_slice::<Reply>(stdout)
    {
        return Ok(reply);
    }
    // What the child's runtime printed as it died.
    if stderr.contains("memory allocation of") || stderr.contains("capacity overflow") {
        return Err(WorkerError::OutOfMemory);
    }
    if stderr.contains("overflowed its stack") {
        return Err(WorkerError::StackOverflow);
    }
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    #[cfg(not(unix))]
    let signal: Option<i32> = None;
    if signal == Some(SIGXCPU) || (signal == Some(9) && stderr.contains("CPU time limit")) {
        return Err(WorkerError::CpuLimit);
    }
    let detail = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no reply").to_string();
    tracing::warn!(?signal, code = ?status.code(), %detail, "a worker ended without an answer");
    Err(WorkerError::Crashed { signal, detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_a_reason_in_chinese() {
        let all = [
            WorkerError::StackOverflow,
            WorkerError::Crashed { signal: Some(11), detail: String::new() },
            WorkerError::OutOfMemory,
            WorkerError::CpuLimit,
            WorkerError::Timeout(Duration::from_secs(1)),
            WorkerError::Refused("图片过大".into()),
            WorkerError::Io(io::Error::other("x")),
        ];
        for e in all {
            let why = e.reason_zh();
            assert!(why.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{e}: {why}");
        }
    }

    #[test]
    fn a_reply_reads_back_and_a_missing_one_is_a_crash() {
        let reply = Reply {
            outcome: Outcome::Ok(serde_json::json!({"a": 1})),
            network: Network::Isolated,
            peak_rss: 5,
        };
        let bytes = serde_json::to_vec(&reply).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            let ok = classify(std::process::ExitStatus::from_raw(0), &bytes, "").unwrap();
            assert_eq!((ok.peak_rss, ok.network), (5, Network::Isolated));
            let oom = classify(
                std::process::ExitStatus::from_raw(6),
                b"",
                "memory allocation of 1073741824 bytes failed\n",
            );
            assert!(matches!(oom, Err(WorkerError::OutOfMemory)));
            assert!(matches!(
                classify(std::process::ExitStatus::from_raw(24), b"", ""),
                Err(WorkerError::CpuLimit)
            ));
            assert!(matches!(
                classify(std::process::ExitStatus::from_raw(11), b"", "x"),
                Err(WorkerError::Crashed { signal: Some(11), .. })
            ));
            // Exit 0 with garbage is no answer either.
            assert!(matches!(
                classify(std::process::ExitStatus::from_raw(0), b"{", ""),
                Err(WorkerError::Crashed { signal: None, .. })
            ));
        }
    }
}
