//! Reading every stored file, once, in the background: the worker process reads it (text layer,
//! OCR, fields, scan checks) and the answer is kept with the blob. Never in a request's path;
//! resumable across restarts (what is unread is simply what has no reading of this version);
//! a file that cannot be read is kept as failed with the reason, and the queue goes on.

pub mod job;
pub mod office;

use std::time::Duration;

use yingjian_shared::{EventKind, QualityCode, QualityFinding, ReadState};

use crate::db::DbError;
use crate::facts::{Facts, READER_VERSION};
use crate::knowledge::topics::Topics;
use crate::services::Services;
use crate::worker::{Limits, WorkerError, blob_input};

/// Blobs asked for at a time.
const BATCH: u32 = 16;

/// Reads what is unread until the server stops.
pub async fn run(state: Services) {
    let stop = state.shutdown.clone();
    let topics = Topics::of(&state.catalogue);
    loop {
        let wake = state.reading.woken();
        match read_some(&state, &topics).await {
            Ok(0) => {}
            Ok(_) => continue,
            Err(e) => tracing::warn!(error = %e, "reading: cannot ask the database what to read"),
        }
        // Asleep until new content, with a slow poll for what other instances stored.
        tokio::select! {
            () = wake => {}
            () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
            () = stop.cancelled() => return,
        }
        if stop.is_cancelled() {
            return;
        }
    }
}

/// Reads one batch; how many blobs it read.
async fn read_some(state: &Services, topics: &Topics) -> Result<usize, DbError> {
    let unread = state.db.unread_blobs(READER_VERSION, BATCH).await?;
    for (sha, _size) in &unread {
        if state.shutdown.is_cancelled() {
            break;
        }
        let (facts, text) = match read_one(state, topics, sha).await {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(sha256 = %sha, error = %e, "reading: a file could not be read");
                (
                    Facts { read: ReadState::Failed, failure: Some(e.reason_zh()), ..Facts::default() },
                    String::new(),
                )
            }
        };
        let held = facts.classification.is_some();
        state.db.set_reading(sha.clone(), facts, text, READER_VERSION).await?;
        state.publish(EventKind::Read, None, None, held.then(|| "held".to_string()));
    }
    Ok(unread.len())
}

/// One blob through the worker, with the memory and time that OCR of a long scan needs.
async fn read_one(state: &Services, topics: &Topics, sha256: &str) -> Result<(Facts, String), WorkerError> {
    let (worker, blobs, sha) = (state.worker.clone(), state.blobs.clone(), sha256.to_string());
    let (dir, blob) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        let dir = worker.folder()?;
        let blob = blob_input(&*blobs, &sha, dir.path())?;
        Ok((dir, blob))
    })
    .await
    .map_err(std::io::Error::other)??;
    let settings = &state.config.reading;
    let timeout = Duration::from_secs(settings.timeout_secs.max(1));
    let limits = Limits { memory: settings.memory_mib.max(256) << 20, cpu: timeout };
    let job = job::ReadJob {
        blob,
        quality: state.config.quality.clone(),
        models: settings.models.clone(),
        soffice: crate::programs::soffice(state.config.print.soffice.as_deref()),
        office_limit: Duration::from_secs(state.config.print.office_timeout_secs.max(1)),
    };
    let reading: yingjian_reader::Reading = state.worker.run_limited(&dir, &job, timeout, limits).await?;
    let (mut facts, text) = facts_of(reading);
    facts.topics = topics.rank(&text);
    Ok((facts, text))
}

/// The row kept for a reading, and its text for search.
fn facts_of(r: yingjian_reader::Reading) -> (Facts, String) {
    let value = |f: Option<yingjian_reader::fields::Field>| f.map(|f| f.value);
    let fields = r.fields;
    let facts = Facts {
        read: ReadState::Done,
        text: r.text_source,
        pages: r.pages,
        doc_number: value(fields.doc_number),
        issuer: value(fields.issuer),
        date: value(fields.date),
        title: value(fields.title),
        classification: value(fields.classification),
        quality: r.quality.iter().map(finding).collect(),
        signature: r.signature,
        failure: None,
        printed: None,
        topics: Vec::new(),
    };
    (facts, r.text)
}

fn finding(f: &yingjian_reader::quality::Finding) -> QualityFinding {
    use yingjian_reader::quality::Code;
    let code = match f.code {
        Code::LowResolution => QualityCode::LowResolution,
        Code::ColourLost => QualityCode::ColourLost,
        Code::BlankPage => QualityCode::BlankPage,
        Code::Skewed => QualityCode::Skewed,
        Code::Blurred => QualityCode::Blurred,
        Code::TooDark => QualityCode::TooDark,
    };
    QualityFinding { code, page: f.page, value: f.value }
}
