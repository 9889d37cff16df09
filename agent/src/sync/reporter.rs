//! What the agent tells (the heartbeat, the clerk's to-do file) and the check that the server
//! still holds what was delivered: run beside the deliveries in a task of their own, each
//! request with its own time limit, so that a slow or failing server never delays a file.
//! The engine hands it snapshots of what it knows; a newer one replaces one not yet told.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use yingjian_shared::{Catalogue, DepartmentStatus, EvidenceListed, Heartbeat, HeldFile};

use super::server_check;
use crate::client::Client;
use crate::state::State;
use crate::todo;

/// The heartbeat gets this long; the status and the records (which may be long lists on a
/// slow link) get longer.
const HEARTBEAT_WITHIN: Duration = Duration::from_secs(30);
const LISTS_WITHIN: Duration = Duration::from_mins(5);
/// How often the delivered files are compared with the server's records when the server never
/// seemed to go away (after an outage, and at start, at once).
const CHECK_SERVER_EVERY: Duration = Duration::from_hours(1);

/// What the engine knows, for the heartbeat and the to-do file.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub heartbeat: Heartbeat,
    /// Refused by the server: path and reason.
    pub refused: Vec<(String, String)>,
    /// Left out: shown name and reason.
    pub skipped: Vec<(String, String)>,
    /// Not read yet, and why (no permission, locked).
    pub unreadable: Vec<(String, String)>,
    pub unsorted: Vec<String>,
    /// The folder is not there (or its marker is gone): the to-do file is left alone.
    pub paused: bool,
    /// Files waiting to be sent, and why sending waits, if it does.
    pub waiting: u64,
    pub held_back: Option<String>,
    /// Counts the times the server was lost: a change makes the records check due.
    pub outages: u64,
}

/// What the heartbeat learnt of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// It answered.
    Reached,
    /// It did not, for want of the server (unreachable, slow, in trouble): the engine looks
    /// for it more often.
    Lost,
    /// It refused for another reason.
    Refused,
}

/// The task, and where snapshots go to it. Dropping it ends the task.
pub struct Reporter {
    snapshots: watch::Sender<Option<Arc<Snapshot>>>,
    task: JoinHandle<()>,
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the server said of the department, kept for when it cannot be asked.
struct Told {
    department: DepartmentStatus,
    held: Vec<HeldFile>,
    read: Vec<EvidenceListed>,
    at: Timestamp,
}

impl Reporter {
    /// Starts the task; what each heartbeat learns goes to `heard`.
    pub fn start(
        client: Client,
        state: Arc<State>,
        root: std::path::PathBuf,
        catalogue: Catalogue,
        heard: mpsc::UnboundedSender<Heard>,
    ) -> Reporter {
        let (snapshots, mut rx) = watch::channel::<Option<Arc<Snapshot>>>(None);
        let task = tokio::spawn(async move {
            let mut told: Option<Told> = None;
            let mut checked: Option<(u64, Instant)> = None;
            while rx.changed().await.is_ok() {
                let Some(snapshot) = rx.borrow_and_update().clone() else { continue };
                let outcome =
                    match tokio::time::timeout(HEARTBEAT_WITHIN, client.heartbeat(&snapshot.heartbeat)).await
                    {
                        Ok(Ok(())) => Heard::Reached,
                        Ok(Err(e)) if !e.waits_for_server() => {
                            tracing::debug!(error = %e, "heartbeat refused");
                            Heard::Refused
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "heartbeat not delivered");
                            Heard::Lost
                        }
                        Err(_) => {
                            tracing::debug!("heartbeat not answered in time");
                            Heard::Lost
                        }
                    };
                if heard.send(outcome).is_err() {
                    return;
                }
                if !snapshot.paused {
                    let answer = if outcome == Heard::Reached { ask(&client).await } else { None };
                    let fresh = answer.is_some();
                    told = answer.or(told);
                    write_todo(&root, &catalogue, &snapshot, told.as_ref(), fresh);
                }
                let due = checked.is_none_or(|(outages, at)| {
                    outages != snapshot.outages || at.elapsed() >= CHECK_SERVER_EVERY
                });
                if outcome == Heard::Reached && due {
                    match tokio::time::timeout(LISTS_WITHIN, server_check::refill(&client, &state)).await {
                        Ok(Ok(lost)) => {
                            if lost > 0 {
                                tracing::warn!(
                                    lost,
                                    "the server lacks files this agent delivered (restored from a backup, or a power cut?): sending them again"
                                );
                            }
                            checked = Some((snapshot.outages, Instant::now()));
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "cannot compare with the server's records"),
                        Err(_) => tracing::debug!("the server's records did not come in time"),
                    }
                }
            }
        });
        Reporter { snapshots, task }
    }

    /// Hands the task what the engine knows now; it tells it as soon as it is free.
    pub fn publish(&self, snapshot: Snapshot) {
        self.snapshots.send_replace(Some(Arc::new(snapshot)));
    }
}

/// The department's status and what the server read in its files, if both come in time.
async fn ask(client: &Client) -> Option<Told> {
    let status = match tokio::time::timeout(LISTS_WITHIN, client.status()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "no status for the to-do file");
            return None;
        }
        Err(_) => return None,
    };
    let department = status.departments.into_iter().next()?;
    // Without the reading the to-do file still says the rest.
    let read = tokio::time::timeout(LISTS_WITHIN, client.evidence_read())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Some(Told { department, held: status.held, read, at: Timestamp::now() })
}

/// Rewrites the clerk's to-do file from what the server said last and what the agent sees
/// now; `fresh` when the server answered just now.
fn write_todo(
    root: &std::path::Path,
    catalogue: &Catalogue,
    snapshot: &Snapshot,
    told: Option<&Told>,
    fresh: bool,
) {
    let Some(told) = told else { return };
    let skipped: Vec<(String, &str)> =
        snapshot.skipped.iter().map(|(n, r)| (n.clone(), r.as_str())).collect();
    let local = todo::Local {
        failed: &snapshot.refused,
        skipped: &skipped,
        unsorted: &snapshot.unsorted,
        read: &told.read,
        unreadable: &snapshot.unreadable,
        waiting: snapshot.waiting,
        held_back: snapshot.held_back.as_deref(),
        lost_since: (!fresh).then_some(told.at),
    };
    let text = todo::render(&told.department, &told.held, catalogue, Timestamp::now(), &local);
    match todo::write_if_changed(root, &text) {
        Ok(true) => tracing::debug!("to-do file updated"),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "cannot write the to-do file"),
    }
}
