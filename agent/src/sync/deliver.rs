//! Deliveries: one queue entry sent to the server (withdrawal, or blob and record), run as a
//! task of its own in one of a fixed number of slots, so that they go on while the next files
//! are hashed and a path is never sent twice at once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use jiff::Timestamp;
use tokio::task::{JoinError, JoinHandle};
use yingjian_shared::{EvidenceRecord, RelPath, Sha256Hex};

use super::resumable::{self, RESUMABLE_FROM};
use crate::client::Client;
use crate::error::{AgentError, AgentResult};
use crate::scan::{Found, stat};
use crate::state::{FileRow, FileState, State};

/// One finished delivery, with the row as it was when it started.
pub struct Delivery {
    pub rel: RelPath,
    pub row: FileRow,
    pub result: AgentResult<Sent>,
}

/// What became of one queue entry.
pub enum Sent {
    Done,
    Withdrawn,
    Changed(Found),
    Gone,
}

/// Deliveries under way, at most `capacity` at once, one per path.
pub struct Slots {
    capacity: usize,
    running: FuturesUnordered<JoinHandle<Delivery>>,
    paths: HashSet<String>,
}

/// Deliveries still running when the agent stops are ended, as a process exit would end them:
/// the queue keeps them for the next start.
impl Drop for Slots {
    fn drop(&mut self) {
        for delivery in &self.running {
            delivery.abort();
        }
    }
}

impl Slots {
    pub fn new(capacity: usize) -> Slots {
        Slots { capacity, running: FuturesUnordered::new(), paths: HashSet::new() }
    }

    pub fn is_full(&self) -> bool {
        self.paths.len() >= self.capacity
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    pub fn is_sending(&self, path: &str) -> bool {
        self.paths.contains(path)
    }

    /// Starts delivering `row` (the file at `os`) in a task of its own.
    pub fn start(&mut self, client: Client, state: Arc<State>, rel: RelPath, os: PathBuf, row: FileRow) {
        self.paths.insert(row.path.clone());
        self.running.push(tokio::spawn(async move {
            let result = deliver(&client, &state, &rel, &os, &row).await;
            Delivery { rel, row, result }
        }));
    }

    /// The next delivery to finish; its slot is free again.
    pub async fn finished(&mut self) -> Option<Result<Delivery, JoinError>> {
        let joined = self.running.next().await?;
        Some(self.free(joined))
    }

    /// A delivery that has finished already, if any, without waiting.
    pub fn finished_now(&mut self) -> Option<Result<Delivery, JoinError>> {
        let joined = self.running.next().now_or_never()??;
        Some(self.free(joined))
    }

    fn free(&mut self, joined: Result<Delivery, JoinError>) -> Result<Delivery, JoinError> {
        if let Ok(d) = &joined {
            self.paths.remove(&d.row.path);
        }
        joined
    }
}

/// Withdraws the record, or uploads the blob if the server lacks it (a large one resumably)
/// and then files the record, unless the file on disk is no longer the version that was hashed.
async fn deliver(
    client: &Client,
    state: &State,
    rel: &RelPath,
    os: &Path,
    row: &FileRow,
) -> AgentResult<Sent> {
    if row.state == FileState::Withdraw {
        return client.withdraw(rel).await.map(|()| Sent::Withdrawn);
    }
    match stat(os) {
        Some((size, mtime)) if (size, mtime) == (row.size, row.mtime) => {}
        Some((size, mtime)) => {
            return Ok(Sent::Changed(Found { rel: rel.clone(), os: os.to_path_buf(), size, mtime }));
        }
        None => return Ok(Sent::Gone),
    }
    if !client.has_blob(&row.sha256).await? {
        // Large files, and any that would take longer than the stall interval on this link,
        // go resumably: a cut then costs only the part under way.
        if row.size >= RESUMABLE_FROM || client.would_take_long(row.size) {
            resumable::send(client, state, rel, os, (row.size, row.mtime), Some(&row.sha256)).await?;
        } else {
            client.put_blob(&row.sha256, os, row.size).await?;
        }
    }
    let modified = Timestamp::from_nanosecond(i128::from(row.mtime)).unwrap_or(Timestamp::UNIX_EPOCH);
    let record = EvidenceRecord {
        path: rel.clone(),
        sha256: Sha256Hex::parse(&row.sha256).map_err(|e| AgentError::Config(e.to_string()))?,
        size: row.size,
        modified,
        caption: row.caption.clone(),
    };
    client.put_evidence(&record).await?;
    Ok(Sent::Done)
}
