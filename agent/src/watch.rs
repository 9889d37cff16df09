//! Filesystem events, debounced, with a polling fallback where native events do not arrive.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, PollWatcher, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventResult, Debouncer, RecommendedCache, new_debouncer, new_debouncer_opt,
};
use tokio::sync::mpsc;
use yingjian_shared::WatchMode;

use crate::newfile;
use crate::sync::Seen;

/// Short: a renamed-in file should reach the server well within a second.
const DEBOUNCE: Duration = Duration::from_millis(50);
/// How often the debouncer's thread looks for events old enough to pass on. It wakes at this
/// pace even when nothing happens (its default, a quarter of `DEBOUNCE`, woke an idle agent 80
/// times a second); an event now waits 50–100 ms.
const DEBOUNCE_TICK: Duration = DEBOUNCE;
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How long the canary write may take to show up as an event before we fall back to polling.
const CANARY_WAIT: Duration = Duration::from_secs(3);
const CANARY_FILE: &str = ".yingjian-canary";

/// What the watcher saw.
#[derive(Debug)]
pub enum Change {
    /// These paths changed, and what the event said of each.
    Paths(Vec<(PathBuf, Seen)>),
    /// The system's watch limit left this folder out: it must be polled.
    Unwatched(PathBuf),
    /// Events were lost: everything must be rescanned.
    Rescan,
}

type Poller = Debouncer<PollWatcher, RecommendedCache>;

/// Keeps the watcher alive; dropping it stops watching. (The mutexes only make it `Sync`.)
pub struct Watch {
    mode: WatchMode,
    _debouncer: std::sync::Mutex<Box<dyn std::any::Any + Send>>,
    tx: mpsc::UnboundedSender<Change>,
    /// Folders the watch limit left out, polled beside the native watch.
    polled: std::sync::Mutex<Option<Poller>>,
}

impl Watch {
    fn new(
        mode: WatchMode,
        debouncer: Box<dyn std::any::Any + Send>,
        tx: mpsc::UnboundedSender<Change>,
    ) -> Watch {
        Watch { mode, _debouncer: std::sync::Mutex::new(debouncer), tx, polled: std::sync::Mutex::new(None) }
    }

    pub fn mode(&self) -> WatchMode {
        let polled = self.polled.lock().is_ok_and(|p| p.is_some());
        if self.mode == WatchMode::Native && polled { WatchMode::Mixed } else { self.mode }
    }

    /// Polls `folder` as well: native events do not come from it.
    pub fn poll_also(&mut self, folder: &Path) -> notify::Result<()> {
        if self.mode == WatchMode::Polling {
            return Ok(());
        }
        let slot = self.polled.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        let debouncer = match slot {
            Some(debouncer) => debouncer,
            None => slot.insert(poller(self.tx.clone())?),
        };
        debouncer.watch(folder, RecursiveMode::Recursive)
    }
}

fn poller(tx: mpsc::UnboundedSender<Change>) -> notify::Result<Poller> {
    let config = notify::Config::default().with_poll_interval(POLL_INTERVAL);
    new_debouncer_opt::<_, PollWatcher, _>(
        DEBOUNCE,
        Some(DEBOUNCE_TICK),
        handler(tx),
        RecommendedCache::new(),
        config,
    )
}

fn handler(tx: mpsc::UnboundedSender<Change>) -> impl FnMut(DebounceEventResult) + Send + 'static {
    move |result: DebounceEventResult| match result {
        Ok(events) => {
            let mut paths = Vec::new();
            for event in events {
                if event.need_rescan() {
                    let _ = tx.send(Change::Rescan);
                    continue;
                }
                // Opening or reading a file or folder changes nothing, and the agent's own scans
                // and hashing cause such events: looking again would loop on itself.
                if matches!(event.kind, EventKind::Access(kind) if kind != AccessKind::Close(AccessMode::Write))
                {
                    continue;
                }
                let seen = match event.kind {
                    EventKind::Access(AccessKind::Close(AccessMode::Write)) => Seen::Closed,
                    EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both)) => Seen::Complete,
                    _ => Seen::Changed,
                };
                // A rename names both ends; each is looked at: one is gone, the other is new.
                paths.extend(event.paths.iter().map(|p| (p.clone(), seen)));
            }
            if !paths.is_empty() {
                let _ = tx.send(Change::Paths(paths));
            }
        }
        Err(errors) => {
            for error in errors {
                if matches!(error.kind, notify::ErrorKind::MaxFilesWatch) {
                    // notify stops adding watches at the limit: the folder it could not watch
                    // (and all that is created after it) is polled instead.
                    tracing::warn!(paths = ?error.paths, "the system's watch limit is reached; polling what it leaves out");
                    for path in error.paths {
                        let _ = tx.send(Change::Unwatched(path));
                    }
                } else {
                    tracing::warn!(%error, "watch error; rescanning");
                }
            }
            let _ = tx.send(Change::Rescan);
        }
    }
}

/// Starts watching `folder`: native events when they work, polling otherwise.
pub async fn start(
    folder: &Path,
    force_poll: bool,
) -> notify::Result<(Watch, mpsc::UnboundedReceiver<Change>)> {
    if !force_poll {
        let (tx, mut rx) = mpsc::unbounded_channel();
        match new_debouncer(DEBOUNCE, Some(DEBOUNCE_TICK), handler(tx.clone())) {
            Ok(mut debouncer) => {
                if debouncer.watch(folder, RecursiveMode::Recursive).is_ok()
                    && canary_seen(folder, &mut rx).await
                {
                    return Ok((Watch::new(WatchMode::Native, Box::new(debouncer), tx), rx));
                }
                tracing::warn!("native file events do not arrive for this folder; polling instead");
            }
            Err(e) => tracing::warn!(error = %e, "native watching unavailable; polling instead"),
        }
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let mut debouncer = poller(tx.clone())?;
    debouncer.watch(folder, RecursiveMode::Recursive)?;
    Ok((Watch::new(WatchMode::Polling, Box::new(debouncer), tx), rx))
}

/// Writes a hidden file and waits for its event: on network shares native events never come.
/// The file is new, under a name no one can plant a link at ahead.
async fn canary_seen(folder: &Path, rx: &mut mpsc::UnboundedReceiver<Change>) -> bool {
    let Ok((mut file, canary)) = newfile::create_beside(&folder.join(CANARY_FILE), true) else {
        return false;
    };
    let written = std::io::Write::write_all(&mut file, b"yingjian").is_ok();
    drop(file);
    let seen = written
        && tokio::time::timeout(CANARY_WAIT, async {
            while let Some(change) = rx.recv().await {
                if let Change::Paths(paths) = change
                    && paths.iter().any(|(p, _)| p.file_name() == canary.file_name())
                {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
    let _ = std::fs::remove_file(&canary);
    seen
}

#[cfg(test)]
mod tests {
    use notify::Event;
    use notify::event::CreateKind;
    use notify_debouncer_full::DebouncedEvent;

    use super::*;

    #[test]
    fn reading_a_folder_or_file_is_not_a_change() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut handle = handler(tx);
        let event = |kind: EventKind, path: &str| {
            DebouncedEvent::new(Event::new(kind).add_path(PathBuf::from(path)), std::time::Instant::now())
        };
        handle(Ok(vec![
            event(EventKind::Access(AccessKind::Open(AccessMode::Any)), "/ev/08.03 x"),
            event(EventKind::Access(AccessKind::Close(AccessMode::Read)), "/ev/08.03 x/a.pdf"),
            event(EventKind::Create(CreateKind::File), "/ev/08.03 x/b.pdf"),
            event(EventKind::Access(AccessKind::Close(AccessMode::Write)), "/ev/08.03 x/b.pdf"),
        ]));
        let Some(Change::Paths(paths)) = rx.try_recv().ok() else { panic!("one change expected") };
        let b = PathBuf::from("/ev/08.03 x/b.pdf");
        assert_eq!(paths, [(b.clone(), Seen::Changed), (b, Seen::Closed)]);
        assert!(rx.try_recv().is_err());
    }
}
