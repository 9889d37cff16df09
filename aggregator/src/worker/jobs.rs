//! The jobs a worker runs, one variant each, dispatched in the child. Each job's code lives with
//! what it is about; a job answers a serialisable value, or why it refuses (in Chinese).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Network;

/// One job for a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "job", content = "with", rename_all = "snake_case")]
pub enum Job {
    /// Checks of the worker itself (limits, crashes, the network), for the tests.
    Probe(super::Probe),
    /// A stored file read: text, fields, scan checks (`reading::job`).
    Read(crate::reading::job::ReadJob),
    /// A picture's first page as a PNG preview (`pictures::preview`).
    Preview(crate::pictures::PreviewJob),
    /// An Office file turned into a PDF by LibreOffice (`libreoffice::convert`).
    Convert(crate::libreoffice::ConvertJob),
    /// A printed volume drawn (`print::render`); boxed, the largest by far.
    PrintVolume(Box<crate::print::VolumeJob>),
}

/// What a job may know of where it runs.
pub struct Context {
    /// The job's folder: its temporary files, and what it writes for the parent.
    pub dir: PathBuf,
    pub network: Network,
}

/// Runs `job` in this (the child) process.
pub fn dispatch(job: Job, context: &Context) -> Result<serde_json::Value, String> {
    fn answer<T: Serialize>(value: Result<T, String>) -> Result<serde_json::Value, String> {
        value.and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string()))
    }
    match job {
        Job::Probe(probe) => answer(probe.run(context)),
        Job::Read(job) => answer(job.run(&context.dir)),
        Job::Preview(job) => answer(crate::pictures::preview(&job)),
        Job::Convert(job) => answer(crate::libreoffice::convert(&job, &context.dir)),
        Job::PrintVolume(job) => answer(crate::print::render(&job)),
    }
}
