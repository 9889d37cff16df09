//! The jobs a worker child runs, by name: the table `yingjian-aggregator worker` is given. Each
//! job's code lives with what it is about; only this table knows them all.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::libreoffice::ConvertJob;
use crate::pictures::PreviewJob;
use crate::print::VolumeJob;
use crate::reading::job::ReadJob;
use crate::worker::{Context, Job};

/// Runs the job `name` (see `worker::Dispatch`).
pub fn dispatch(
    name: &str,
    with: serde_json::Value,
    context: &Context,
) -> Option<Result<serde_json::Value, String>> {
    fn run<J: Job + DeserializeOwned, T: Serialize>(
        with: serde_json::Value,
        f: impl FnOnce(J) -> Result<T, String>,
    ) -> Option<Result<serde_json::Value, String>> {
        let job = serde_json::from_value::<J>(with).ok()?;
        Some(f(job).and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string())))
    }
    match name {
        ReadJob::NAME => run(with, |job: ReadJob| job.run(&context.dir)),
        PreviewJob::NAME => run(with, |job: PreviewJob| crate::pictures::preview(&job)),
        ConvertJob::NAME => {
            run(with, |job: ConvertJob| crate::libreoffice::convert(&job, &context.dir, None))
        }
        VolumeJob::NAME => run(with, |job: VolumeJob| crate::print::render(&job)),
        _ => None,
    }
}
