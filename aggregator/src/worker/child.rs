//! The child's side: `yingjian-aggregator worker`. It confines itself before it reads a byte of
//! input — its limits, then a network namespace of its own — while it is still the only thread
//! (a user namespace can be entered by a single-threaded process only), so it runs before any
//! async runtime starts.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::job::{Context, Dispatch, Job, Named};
use super::{Network, Outcome, Probe, Reply};

/// The most a job description may be: paths and names, never a file.
const MAX_JOB: u64 = 16 << 20;

/// `worker`'s arguments, set by the parent.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Address space, bytes.
    #[arg(long)]
    memory: u64,
    /// CPU time, seconds.
    #[arg(long)]
    cpu_secs: u64,
    /// The job's folder.
    #[arg(long)]
    dir: PathBuf,
}

/// Runs one job from standard input, found in `jobs` by its name (the worker's own probes
/// besides); the reply goes to standard output.
pub fn main(args: &WorkerArgs, jobs: Dispatch) -> ExitCode {
    let network = confine(args.memory, args.cpu_secs);
    if network == Network::Shared {
        tracing::info!("no network namespace for the worker: external links are refused by the jobs");
    }
    let mut input = Vec::new();
    if let Err(e) = io::stdin().take(MAX_JOB).read_to_end(&mut input) {
        tracing::error!(error = %e, "the worker cannot read its job");
        return ExitCode::FAILURE;
    }
    let context = Context { dir: args.dir.clone(), network };
    let answer = match serde_json::from_slice::<Named<String, serde_json::Value>>(&input) {
        Ok(Named { job, with }) if job == Probe::NAME => Some(
            serde_json::from_value::<Probe>(with)
                .map_err(|e| e.to_string())
                .and_then(|probe| probe.run(&context)),
        ),
        Ok(Named { job, with }) => jobs(&job, with, &context),
        Err(_) => None,
    };
    let outcome = match answer {
        Some(Ok(value)) => Outcome::Ok(value),
        Some(Err(why)) => Outcome::Refused(why),
        None => {
            tracing::error!("the worker's job does not parse or is not known");
            return ExitCode::FAILURE;
        }
    };
    let reply = Reply { outcome, network, peak_rss: peak_rss() };
    let mut out = io::stdout().lock();
    match serde_json::to_writer(&mut out, &reply).and_then(|()| out.flush().map_err(serde_json::Error::io)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the worker cannot write its reply");
            ExitCode::FAILURE
        }
    }
}

/// Limits and a network namespace of its own; says whether that namespace was had.
#[cfg(target_os = "linux")]
fn confine(memory: u64, cpu_secs: u64) -> Network {
    use rustix::process::{Resource, Rlimit, setrlimit};
    use rustix::thread::UnshareFlags;
    let limit = |resource, soft: u64, hard: u64| {
        if let Err(e) = setrlimit(resource, Rlimit { current: Some(soft), maximum: Some(hard) }) {
            tracing::warn!(?resource, error = %e, "the worker cannot set a limit");
        }
    };
    limit(Resource::As, memory, memory);
    // SIGXCPU at the soft limit, SIGKILL a little later if it is ignored.
    limit(Resource::Cpu, cpu_secs, cpu_secs + 2);
    limit(Resource::Core, 0, 0);
    // Only namespaces are unshared, never the file table (what makes `unshare` unsafe in general),
    // and this process is still single-threaded. Privileged: a network namespace alone; else a
    // user namespace with it, where the kernel allows unprivileged ones.
    #[expect(deprecated, reason = "unshare_unsafe is unsafe only for CLONE_FILES, which is not used")]
    let isolated = rustix::thread::unshare(UnshareFlags::NEWNET).is_ok()
        || rustix::thread::unshare(UnshareFlags::NEWUSER | UnshareFlags::NEWNET).is_ok();
    if isolated { Network::Isolated } else { Network::Shared }
}

#[cfg(not(target_os = "linux"))]
fn confine(_memory: u64, _cpu_secs: u64) -> Network {
    Network::Shared
}

/// `VmHWM` of this process, bytes (0 where the system does not say).
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}
