//! The agent's engine: reconcile the folder with the local state, settle new files, hash them,
//! and drive the upload and withdrawal queue, with heartbeats to the server. The decisions live
//! in parts of their own: `settle` (when a file is completely written), `hashing`, `deliver`
//! (the delivery slots), `server_check`, and `reporter` (the heartbeat and the to-do file, run
//! beside the deliveries so that neither waits on the other).

mod deliver;
mod hashing;
mod publish;
mod reporter;
mod resumable;
mod server_check;
mod settle;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use yingjian_shared::{Catalogue, ErrorCode, RelPath, SkipReason, SkippedFile, WatchMode, is_image_name};

use deliver::{Delivery, Sent, Slots};
use hashing::{Hashed, Hashing, hash_if_unchanged, hash_while_uploading};
use reporter::{Heard, Reporter};
use settle::Candidates;
pub use settle::Seen;

use crate::client::Client;
use crate::config::AgentConfig;
use crate::error::{AgentError, AgentResult};
use crate::lock::{self, StateLock};
use crate::scan::{self, Found, absence, relative, shown, sidecar_caption, stat};
use crate::state::{FileRow, FileState, State};
use crate::watch::{self, Change, Watch};

/// How often files waiting to settle and free delivery slots are looked at while there is work.
const TICK: Duration = Duration::from_millis(50);
/// The same with nothing settling, hashing or sending: a queued retry waits at most this long
/// past its time, and an idle agent on a clerk's PC wakes once a second, not twenty times.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// Queue rows read to fill the free delivery slots (the first few may be in flight already).
const BATCH: usize = 32;
/// Deliveries running at once. A small file's delivery is mostly waiting (three round trips and
/// the server's sync), so a batch of scans moves at the pace of the slots: eight kept a 2-core
/// server busy where three left it half idle. On a slow link they share it, not add to it.
const IN_FLIGHT: usize = 8;
/// After a network error, no new delivery starts for this long.
const OFFLINE_PAUSE: Duration = Duration::from_secs(1);
/// Hashing stops for a moment after this long, so that finished deliveries are recorded and
/// new ones started while a large batch is hashed.
const HASH_SLICE: Duration = Duration::from_millis(100);
/// Files at least this large are uploaded while they are hashed, not after (`hash_while_uploading`).
const UPLOAD_WHILE_HASHING_FROM: u64 = 64 << 20;
/// Large files hashed and uploaded at once.
const LARGE_AT_ONCE: usize = 2;
/// Batches of at least this many files to hash are reported to the progress callback.
const PROGRESS_FROM: usize = 100;
/// While the server is unreachable (or in trouble), it is looked for after this long, then
/// twice as long each time, up to `PROBE_UP_TO`: its return is noticed within seconds.
const PROBE_FROM: Duration = Duration::from_secs(1);
const PROBE_UP_TO: Duration = Duration::from_secs(5);
/// While the agent's own disk is full, whether there is room again is looked at this often.
const DISK_FULL_RETRY: Duration = Duration::from_secs(2);
/// After a local error that is not a full disk (the state database in trouble), nothing new
/// is taken for this long, so that the log is not flooded.
const TROUBLE_PAUSE: Duration = Duration::from_secs(5);

/// Told how many files of a large batch are left to hash, then 0 when it is done (the CLI
/// shows it in a terminal; the engine itself prints nothing).
pub type Progress = Box<dyn Fn(usize) + Send + Sync>;

pub struct Agent {
    config: AgentConfig,
    /// Held for the agent's life: one agent per state folder.
    _lock: StateLock,
    root: PathBuf,
    catalogue: Catalogue,
    client: Client,
    state: Arc<State>,
    host: String,
    candidates: Candidates,
    unsorted: BTreeSet<RelPath>,
    /// Files left out, by their shown name.
    skipped: BTreeMap<String, SkipReason>,
    /// Real paths of files whose name on disk is not their wire path (not NFC).
    disk: HashMap<RelPath, PathBuf>,
    /// Why the agent is paused (the folder is missing, or its marker is), if it is.
    paused: Option<WatchMode>,
    watch: Option<Watch>,
    slots: Slots,
    /// Large files being hashed and uploaded at once, and their paths.
    hashing: FuturesUnordered<JoinHandle<AgentResult<Hashing>>>,
    hashing_paths: HashSet<RelPath>,
    /// Size and mtime of large files withdrawn since the start: one that reappears elsewhere
    /// was moved, and its content is on the server already.
    withdrawn_large: HashSet<(u64, i64)>,
    offline_until: Option<Instant>,
    /// A request failed for want of the server, and none has succeeded since: the first that
    /// does makes everything waiting on the server due at once (also true at start, for what an
    /// earlier run left backing off).
    server_lost: bool,
    /// While the server is lost, when to look for it next, and how long to wait after that.
    probe_at: Instant,
    probe_every: Duration,
    /// Counts the times the server was lost: the reporter compares the records after each.
    outages: u64,
    /// The heartbeat and the to-do file, in a task of their own (while `run` runs), and what
    /// it heard of the server.
    reporter: Option<Reporter>,
    heard: Option<mpsc::UnboundedReceiver<Heard>>,
    /// The agent's own disk is full: nothing new is taken; when to look for room again.
    disk_full: Option<Instant>,
    /// After another local error, nothing new is taken until then.
    trouble_until: Option<Instant>,
    progress: Option<Progress>,
    /// A large batch is being hashed and reported.
    reporting: bool,
}

impl Agent {
    /// Opens the local state and learns the catalogue (from the server, else the built-in one).
    pub async fn new(config: AgentConfig) -> AgentResult<Agent> {
        let host = host_name();
        let client = Client::new(&config.base_url()?, config.token()?, &host, config.ca_cert.as_deref())?;
        let catalogue = match tokio::time::timeout(Duration::from_secs(5), client.catalogue()).await {
            Ok(Ok(c)) => c,
            _ => Catalogue::builtin().clone(),
        };
        // One agent per state folder: a second would send everything twice.
        let lock = lock::hold(&config.state)?;
        let state = Arc::new(State::open(&config.state).map_err(|e| match e {
            AgentError::Io(io) => AgentError::StateFolder(config.state.clone(), io),
            other => other,
        })?);
        // A restart starts fresh: whatever an earlier run left backing off is due now.
        state.fresh_start()?;
        let client = client.with_stall(Duration::from_secs(config.stall_secs.max(1)));
        // Events name absolute paths: a relative folder (`--folder .`) would match none of them.
        let root = std::path::absolute(&config.folder)?;
        Ok(Agent {
            config,
            _lock: lock,
            root,
            catalogue,
            client,
            state,
            host,
            candidates: Candidates::default(),
            unsorted: BTreeSet::new(),
            skipped: BTreeMap::new(),
            disk: HashMap::new(),
            paused: None,
            watch: None,
            slots: Slots::new(IN_FLIGHT),
            hashing: FuturesUnordered::new(),
            hashing_paths: HashSet::new(),
            withdrawn_large: HashSet::new(),
            offline_until: None,
            server_lost: true,
            probe_at: Instant::now(),
            probe_every: PROBE_FROM,
            outages: 0,
            reporter: None,
            heard: None,
            disk_full: None,
            trouble_until: None,
            progress: None,
            reporting: false,
        })
    }

    /// Reports the progress of large batches to `progress`.
    #[must_use]
    pub fn with_progress(mut self, progress: Progress) -> Agent {
        self.progress = Some(progress);
        self
    }

    /// Runs until `shutdown` completes. Work in flight is left in the queue for the next start.
    /// Only a bug (a task of its own that panicked) ends it early: a full disk, a server away
    /// or a file it cannot read are waited out and told.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> AgentResult<()> {
        tokio::pin!(shutdown);
        let (heard_tx, heard_rx) = mpsc::unbounded_channel();
        self.reporter = Some(Reporter::start(
            self.client.clone(),
            self.state.clone(),
            self.root.clone(),
            self.catalogue.clone(),
            heard_tx,
        ));
        self.heard = Some(heard_rx);
        let mut changes = self.resume().await;
        let tick = tokio::time::sleep(TICK);
        tokio::pin!(tick);
        // `resume` has just reconciled: the first periodic rescan is one period away.
        let every = Duration::from_secs(self.config.rescan_secs.max(1));
        let mut rescan = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut heartbeat = tokio::time::interval(Duration::from_secs(self.config.heartbeat_secs.max(1)));
        let mut presence = tokio::time::interval(Duration::from_secs(1));
        loop {
            let done = tokio::select! {
                () = &mut shutdown => break,
                Some(change) = recv(&mut changes) => self.on_change(change),
                Some(heard) = recv_heard(&mut self.heard) => self.on_heard(heard),
                Some(joined) = self.slots.finished(), if !self.slots.is_empty() => {
                    self.delivered(joined).and_then(|()| self.send_due())
                }
                Some(joined) = self.hashing.next(), if !self.hashing.is_empty() => {
                    let hashing = joined?;
                    match hashing {
                        Ok(hashing) => {
                            self.hashing_paths.remove(&hashing.rel);
                            self.hashed(hashing).and_then(|()| self.send_due())
                        }
                        Err(e) => Err(e),
                    }
                }
                () = &mut tick => {
                    tick.as_mut().reset(tokio::time::Instant::now() + IDLE_TICK);
                    if self.taking() {
                        match self.settle_ready().await {
                            Ok(()) => self.send_due(),
                            Err(e) => Err(e),
                        }
                    } else {
                        Ok(())
                    }
                }
                _ = presence.tick() => {
                    let absent = absence(&self.root);
                    if absent.is_none() == self.paused.is_some() {
                        changes = self.resume().await;
                    }
                    self.paused = self.paused.and(absent);
                    if self.server_lost && Instant::now() >= self.probe_at {
                        // The heartbeat doubles as the probe: the first to succeed ends the wait.
                        self.probe_at = Instant::now() + self.probe_every;
                        self.probe_every = (self.probe_every * 2).min(PROBE_UP_TO);
                        self.publish()
                    } else {
                        Ok(())
                    }
                }
                _ = rescan.tick() => self.reconcile(),
                _ = heartbeat.tick() => self.publish(),
            };
            if let Err(e) = done {
                self.trouble(e)?;
            }
            let soon = tokio::time::Instant::now() + TICK;
            if self.busy() && tick.deadline() > soon {
                tick.as_mut().reset(soon);
            }
        }
        for hashing in &self.hashing {
            hashing.abort();
        }
        tracing::info!("agent stopped");
        Ok(())
    }

    /// A local error: a full disk is waited out (and told); anything else pauses new work for
    /// a moment. Only an internal task that panicked (a bug) ends the agent.
    fn trouble(&mut self, e: AgentError) -> AgentResult<()> {
        if matches!(e, AgentError::Task(_)) {
            return Err(e);
        }
        let now = Instant::now();
        if e.is_disk_full() {
            if self.disk_full.is_none() {
                tracing::error!(state = %self.config.state.display(), error = %e,
                    "the agent's disk is full: nothing new is taken until there is room again");
                self.disk_full = Some(now + DISK_FULL_RETRY);
                // Said at once, not at the next heartbeat.
                let _ = self.publish();
            }
            self.disk_full = Some(now + DISK_FULL_RETRY);
        } else {
            tracing::error!(error = %e, "local error; going on in a moment");
            self.trouble_until = Some(now + TROUBLE_PAUSE);
        }
        Ok(())
    }

    /// Whether new work is taken now: not while the disk is full (but whether there is room
    /// again is looked at every few seconds) or just after a local error.
    /// Files settling, being hashed or sent: the loop looks at them every `TICK`.
    fn busy(&self) -> bool {
        self.candidates.len() > 0 || !self.hashing.is_empty() || !self.slots.is_empty()
    }

    fn taking(&mut self) -> bool {
        let now = Instant::now();
        if self.trouble_until.is_some_and(|t| now < t) {
            return false;
        }
        self.trouble_until = None;
        match self.disk_full {
            None => true,
            Some(retry) if now < retry => false,
            Some(_) => {
                if self.state.has_room() {
                    tracing::info!("there is room on the agent's disk again: going on");
                    self.disk_full = None;
                    // What changed meanwhile may not all have been recorded: look again.
                    if let Err(e) = self.reconcile() {
                        tracing::warn!(error = %e, "reconcile failed");
                    }
                    let _ = self.publish();
                    true
                } else {
                    self.disk_full = Some(now + DISK_FULL_RETRY);
                    false
                }
            }
        }
    }

    /// (Re)starts watching and reconciles; pauses instead while the folder is not there.
    async fn resume(&mut self) -> Option<mpsc::UnboundedReceiver<Change>> {
        self.watch = None;
        if let Some(why) = absence(&self.root) {
            if self.paused.is_none() {
                tracing::warn!(folder = %self.root.display(), ?why,
                    "the evidence folder is missing or unmounted, or its marker file was deleted: pausing; nothing is withdrawn");
            }
            self.paused = Some(why);
            return None;
        }
        self.paused = None;
        let changes = match watch::start(&self.root, self.config.poll).await {
            Ok((watch, rx)) => {
                tracing::info!(mode = ?watch.mode(), folder = %self.root.display(), "watching");
                self.watch = Some(watch);
                Some(rx)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot watch the folder; relying on periodic rescans");
                None
            }
        };
        if let Err(e) = self.reconcile() {
            tracing::error!(error = %e, "reconcile failed");
        }
        changes
    }

    fn watch_mode(&self) -> WatchMode {
        match (&self.watch, self.paused) {
            (_, Some(why)) => why,
            (Some(w), None) => w.mode(),
            (None, None) => WatchMode::Polling,
        }
    }

    /// Compares the whole folder with the local state: new and changed files become candidates,
    /// files that are gone are withdrawn. Unchanged files (same size and mtime) are not hashed.
    pub fn reconcile(&mut self) -> AgentResult<()> {
        if let Some(why) = absence(&self.root) {
            self.paused = Some(why);
            return Ok(());
        }
        let started = Instant::now();
        let found = scan::scan(&self.catalogue, &self.root, &self.root);
        let files = found.evidence.len();
        let known: HashMap<String, FileRow> =
            self.state.all()?.into_iter().map(|r| (r.path.clone(), r)).collect();
        let mut present = BTreeSet::new();
        self.disk.clear();
        for f in found.evidence {
            present.insert(f.rel.to_string());
            self.want(f, known.get(present.last().expect("just inserted")), Seen::Changed);
        }
        for path in known.keys().filter(|p| !present.contains(*p)) {
            self.state.gone(path)?;
        }
        self.unsorted = found.unsorted.into_iter().collect();
        let skipped = found.skipped.into_iter().map(|f| (f.name, f.reason)).collect();
        self.note_skipped(&skipped);
        self.skipped = skipped;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::info!(files, to_hash = self.candidates.len(), elapsed_ms, "reconciled");
        Ok(())
    }

    /// Makes a found file a candidate unless the state already has exactly this version.
    fn want(&mut self, f: Found, known: Option<&FileRow>, seen: Seen) {
        if f.os != self.naive_path(&f.rel) {
            self.disk.insert(f.rel.clone(), f.os.clone());
        }
        if let Some(r) = known
            && r.size == f.size
            && r.mtime == f.mtime
            && r.state != FileState::Withdraw
        {
            // The picture did not change, but its caption may have (while the agent was not
            // running, say): then its record goes again.
            if self.caption_moved(&f, r) {
                self.candidates.again(f.rel, f.os, f.size, f.mtime, Instant::now());
            }
            return;
        }
        self.candidates.want(f.rel, f.os, f.size, f.mtime, seen, Instant::now());
    }

    /// Whether a picture's caption `.txt` says something else than its record (gone, new or
    /// edited). A picture without either costs one look at the folder entry, no read.
    fn caption_moved(&self, f: &Found, row: &FileRow) -> bool {
        if !is_image_name(f.rel.file_name()) {
            return false;
        }
        let txt = std::fs::symlink_metadata(f.os.with_extension("txt")).is_ok();
        (txt || row.caption.is_some()) && sidecar_caption(&self.root, &f.os) != row.caption
    }

    /// Logs each file newly left out, once.
    fn note_skipped(&self, skipped: &BTreeMap<String, SkipReason>) {
        for (name, reason) in skipped.iter().filter(|(name, _)| !self.skipped.contains_key(*name)) {
            tracing::warn!(file = %name, reason = reason.label(), "left out");
        }
    }

    fn on_change(&mut self, change: Change) -> AgentResult<()> {
        if self.paused.is_some() {
            return Ok(());
        }
        let paths = match change {
            Change::Rescan => return self.reconcile(),
            Change::Unwatched(folder) => {
                if let Some(watch) = &mut self.watch
                    && let Err(e) = watch.poll_also(&folder)
                {
                    tracing::error!(error = %e, folder = %folder.display(), "cannot poll a folder; relying on periodic rescans");
                }
                // What arrived before polling began is found by looking now.
                vec![(folder, Seen::Changed)]
            }
            Change::Paths(paths) => paths,
        };
        for (os, seen) in paths {
            // What was said of this path (or below it) before is looked at anew.
            let name = shown(&self.root, &os);
            let below = format!("{name}/");
            self.skipped.retain(|s, _| *s != name && !s.starts_with(&below));
            let mut skipped = BTreeMap::new();
            if os.is_dir() {
                let found = scan::scan(&self.catalogue, &self.root, &os);
                for f in found.evidence {
                    let known = self.state.get(f.rel.as_str())?;
                    self.want(f, known.as_ref(), seen);
                }
                self.unsorted.extend(found.unsorted);
                skipped.extend(found.skipped.into_iter().map(|f| (f.name, f.reason)));
            } else if std::fs::symlink_metadata(&os).is_ok() {
                if is_txt(&os) {
                    self.caption_changed(&os);
                }
                match scan::scan_one(&self.catalogue, &self.root, &os) {
                    scan::One::Evidence(f) => {
                        let known = self.state.get(f.rel.as_str())?;
                        self.want(f, known.as_ref(), seen);
                    }
                    scan::One::Unsorted(rel) => {
                        self.unsorted.insert(rel);
                    }
                    scan::One::Skipped(SkippedFile { name, reason, .. }, empty) => {
                        skipped.insert(name, reason);
                        // An empty file where a version was sent: withdrawn once it stays empty.
                        if let Some(f) = empty
                            && self.state.get(f.rel.as_str())?.is_some()
                        {
                            self.want(f, None, Seen::Changed);
                        }
                    }
                    scan::One::Other => {}
                }
            } else if let Some(rel) = relative(&self.root, &os) {
                if is_txt(&os) {
                    // A caption deleted: the picture's record goes again, without it.
                    self.caption_changed(&os);
                }
                if let Some(why) = absence(&self.root) {
                    // The whole folder went away: not a mass deletion.
                    self.paused = Some(why);
                    return Ok(());
                }
                // A name not in NFC that clashed with its NFC twin: the twin is still there.
                if os != self.naive_path(&rel) && self.naive_path(&rel).exists() {
                    continue;
                }
                self.disk.remove(&rel);
                self.candidates.remove(&rel);
                self.unsorted.retain(|u| u != &rel && !u.as_str().starts_with(&format!("{rel}/")));
                self.state.gone_under(rel.as_str())?;
            }
            self.note_skipped(&skipped);
            self.skipped.extend(skipped);
        }
        Ok(())
    }

    /// A `.txt` beside a picture changed: the picture's record must carry the new caption.
    fn caption_changed(&mut self, txt: &Path) {
        let Some(dir) = txt.parent() else { return };
        let Some(stem) = txt.file_stem() else { return };
        // Nothing is looked at through a linked folder.
        if scan::through_linked_folder(&self.root, txt, false) {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !is_image_name(name) || path.file_stem() != Some(stem) {
                continue;
            }
            // Look at the picture again: `settled` re-sends its record if the caption changed.
            let (Some(rel), Some((size, mtime))) = (relative(&self.root, &path), stat(&path)) else {
                continue;
            };
            self.candidates.again(rel, path, size, mtime, Instant::now());
        }
    }

    /// Hashes candidates that have held still long enough, and queues them.
    async fn settle_ready(&mut self) -> AgentResult<()> {
        let busy = &self.hashing_paths;
        let ready =
            self.candidates.ready(Instant::now(), self.config.settle(), |rel| busy.contains(rel), stat);
        // A first run over a large folder hashes many files at once: say how far it is.
        let total = ready.len();
        self.reporting = self.progress.is_some() && (self.reporting || total >= PROGRESS_FROM);
        let started = Instant::now();
        for (done, rel) in ready.into_iter().enumerate() {
            if started.elapsed() >= HASH_SLICE {
                // The rest are still ready at the next tick.
                break;
            }
            if self.reporting
                && let Some(progress) = &self.progress
            {
                progress(total - done - 1);
                self.reporting = done + 1 < total;
            }
            let Some(c) = self.candidates.get(&rel) else { continue };
            let (os, size, mtime) = (c.os.clone(), c.size, c.mtime);
            if size == 0 {
                // Emptied and left empty: not evidence; a version sent before is withdrawn.
                self.candidates.remove(&rel);
                self.state.gone(rel.as_str())?;
                continue;
            }
            if size >= UPLOAD_WHILE_HASHING_FROM && self.online() && !self.moved(size, mtime)? {
                if self.hashing.len() < LARGE_AT_ONCE {
                    let (client, state) = (self.client.clone(), self.state.clone());
                    self.hashing_paths.insert(rel.clone());
                    self.hashing.push(tokio::spawn(async move {
                        let hashed = hash_while_uploading(&client, &state, &rel, &os, (size, mtime)).await?;
                        Ok(Hashing { rel, os, size, mtime, hashed })
                    }));
                }
                // Otherwise it waits, ready, for a free slot.
                continue;
            }
            let hashed = {
                let os = os.clone();
                tokio::task::spawn_blocking(move || hash_if_unchanged(&os, size, mtime)).await?
            };
            self.hashed(Hashing { rel, os, size, mtime, hashed })?;
            // Deliveries finish while a batch is hashed: fill their slots now, not after the slice.
            while let Some(joined) = self.slots.finished_now() {
                self.delivered(joined)?;
            }
            self.send_due()?;
        }
        Ok(())
    }

    /// Queues a hashed file, or puts it back among the candidates if it changed meanwhile.
    fn hashed(&mut self, hashing: Hashing) -> AgentResult<()> {
        let Hashing { rel, os, size, mtime, hashed } = hashing;
        match hashed {
            Hashed::Done(sha) => {
                let caption =
                    if is_image_name(rel.file_name()) { sidecar_caption(&self.root, &os) } else { None };
                if self.state.settled(rel.as_str(), size, mtime, sha.as_str(), caption.as_deref())? {
                    tracing::debug!(path = %rel, size, "queued");
                }
                self.candidates.taken(&rel, Instant::now());
            }
            Hashed::Changed => self.candidates.changed(&rel, Instant::now()),
            Hashed::Unreadable(why) => {
                tracing::debug!(path = %rel, reason = why.label(), "cannot read it now; trying again later");
                self.candidates.unreadable(&rel, why, Instant::now());
            }
            Hashed::Gone => {
                self.candidates.remove(&rel);
            }
        }
        Ok(())
    }

    /// Whether a large file of this size and mtime was seen before, at another path: then it
    /// was moved, and hashing it first lets the delivery find its content on the server.
    fn moved(&self, size: u64, mtime: i64) -> AgentResult<bool> {
        Ok(self.withdrawn_large.contains(&(size, mtime)) || self.state.seen_before(size, mtime)?)
    }

    /// Whether the server is believed reachable and the folder is there.
    fn online(&self) -> bool {
        self.paused.is_none() && self.offline_until.is_none_or(|t| Instant::now() >= t)
    }

    /// A request failed for want of the server: it is looked for with a backoff of its own,
    /// short, so that its return is noticed within seconds.
    fn server_gone(&mut self) {
        if !self.server_lost {
            self.probe_every = PROBE_FROM;
            self.probe_at = Instant::now() + self.probe_every;
            self.outages += 1;
        }
        self.server_lost = true;
    }

    /// What the heartbeat learnt of the server.
    fn on_heard(&mut self, heard: Heard) -> AgentResult<()> {
        match heard {
            Heard::Reached => self.server_here(),
            Heard::Lost => {
                self.server_gone();
                Ok(())
            }
            Heard::Refused => Ok(()),
        }
    }

    /// A request succeeded: if the server had been lost, everything that waited on it is due.
    fn server_here(&mut self) -> AgentResult<()> {
        if self.server_lost {
            self.server_lost = false;
            self.offline_until = None;
            let due = self.state.server_back()?;
            if due > 0 {
                tracing::info!(files = due, "the server is back: sending what waited for it");
            }
            self.send_due()?;
        }
        Ok(())
    }

    /// Starts deliveries from the queue (uploads, records, withdrawals) up to `IN_FLIGHT`.
    /// They run as tasks of their own, so they go on while the next files are hashed.
    fn send_due(&mut self) -> AgentResult<()> {
        if self.slots.is_full() || !self.online() || self.disk_full.is_some() {
            return Ok(());
        }
        for row in self.state.due(BATCH)? {
            if self.slots.is_full() {
                break;
            }
            if self.slots.is_sending(&row.path) {
                continue;
            }
            let Ok(rel) = RelPath::parse(&row.path) else {
                self.state.forget(&row.path)?;
                continue;
            };
            let os = self.os_path(&rel);
            self.slots.start(self.client.clone(), self.state.clone(), rel, os, row);
        }
        Ok(())
    }

    /// Applies what became of one delivery to the local state.
    fn delivered(&mut self, joined: Result<Delivery, tokio::task::JoinError>) -> AgentResult<()> {
        let Delivery { rel, row, result } = joined?;
        match result {
            Ok(Sent::Withdrawn) => {
                self.server_here()?;
                tracing::info!(path = %rel, "withdrawn");
                self.state.withdrawn(&row)?;
                if row.size >= UPLOAD_WHILE_HASHING_FROM {
                    self.withdrawn_large.insert((row.size, row.mtime));
                }
            }
            Ok(Sent::Done) => {
                self.server_here()?;
                tracing::info!(path = %rel, "synced");
                self.state.mark_synced(&row)?;
            }
            Ok(Sent::Changed(found)) => {
                self.server_here()?;
                // The file changed since it was hashed: settle it again.
                self.want(found, None, Seen::Changed);
            }
            Ok(Sent::Gone) => self.state.gone(&row.path)?,
            Err(AgentError::Server { code: Some(ErrorCode::HashMismatch), .. }) => {
                let os = self.os_path(&rel);
                if let Some((size, mtime)) = stat(&os) {
                    self.want(Found { rel, os, size, mtime }, None, Seen::Changed);
                }
            }
            Err(e) if e.is_permanent() => {
                tracing::warn!(path = %rel, error = %e, "refused by the server");
                self.state.mark_failed(&row, &e.for_clerk())?;
            }
            Err(e) => {
                tracing::debug!(path = %rel, error = %e, attempts = row.attempts + 1, "will retry");
                // Unreachable, stalled, in trouble (5xx) or not taking the token: tried again
                // the moment any request succeeds, not at the end of its backoff.
                let waits = e.waits_for_server();
                self.state.retry_later(&row, &e.for_clerk(), waits)?;
                if matches!(e, AgentError::Network(_) | AgentError::Stalled(_)) {
                    // The rest of the queue would fail the same way: no new delivery for a
                    // moment. (Only a delivery pauses deliveries: a failed heartbeat or probe
                    // must not keep them from ever being tried.)
                    self.offline_until = Some(Instant::now() + OFFLINE_PAUSE);
                }
                if waits {
                    self.server_gone();
                }
            }
        }
        Ok(())
    }

    /// Where the file of `rel` is on disk.
    fn os_path(&self, rel: &RelPath) -> PathBuf {
        self.disk.get(rel).cloned().unwrap_or_else(|| self.naive_path(rel))
    }

    /// Where the file of `rel` would be if its name on disk were its wire path.
    fn naive_path(&self, rel: &RelPath) -> PathBuf {
        rel.components().fold(self.root.clone(), |p, c| p.join(c))
    }
}

async fn recv(changes: &mut Option<mpsc::UnboundedReceiver<Change>>) -> Option<Change> {
    match changes {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_heard(heard: &mut Option<mpsc::UnboundedReceiver<Heard>>) -> Option<Heard> {
    match heard {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Whether `os` names a `.txt` (a picture's caption, perhaps).
fn is_txt(os: &Path) -> bool {
    os.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

/// This PC's name, for the office to tell agents apart.
pub fn host_name() -> String {
    std::env::var("COMPUTERNAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
