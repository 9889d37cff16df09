//! What a job is to the worker: a value sent to the child under its name. Each job's code lives
//! with what it is about; the child finds it by name in the table it is given (`crate::jobs`),
//! so the worker knows no job but its own probes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Network;

/// A job for a worker.
pub trait Job: Serialize {
    /// Its name on the way to the child.
    const NAME: &'static str;
}

/// What the child reads: a job's name and the job.
#[derive(Serialize, Deserialize)]
pub(super) struct Named<S, T> {
    pub job: S,
    pub with: T,
}

/// What a job may know of where it runs.
pub struct Context {
    /// The job's folder: its temporary files, and what it writes for the parent.
    pub dir: PathBuf,
    pub network: Network,
}

/// The child's table of jobs: runs the job of `name` sent as `with`, answering a serialisable
/// value or why it refuses (in Chinese); `None` for a name it does not know.
pub type Dispatch =
    fn(name: &str, with: serde_json::Value, context: &Context) -> Option<Result<serde_json::Value, String>>;
