//! `Services`: what requests, background work and builds all reach — the stores, the worker,
//! the catalogue and configuration, the live events, the shutdown signal, and the status
//! document and what was read in the contents, each with its snapshot cache. Request handlers
//! reach it through `AppState`, which adds what only they hold.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use tokio::sync::{Notify, broadcast, watch};
use tokio_util::sync::CancellationToken;
use yingjian_shared::{Catalogue, Deadlines, Event, EventKind, RelPath, Status};

use crate::blobs::BlobStore;
use crate::config::Config;
use crate::db::{Db, Recount, StatusData};
use crate::error::AppResult;
use crate::facts::READER_VERSION;
use crate::knowledge::{Knowledge, Told};
use crate::worker::Worker;

/// Live events kept for slow subscribers before they miss some (they are then told to reload).
/// Every field of an event is length-capped, so this bounds what a subscriber that never reads
/// can hold, whoever sends what.
const EVENT_BACKLOG: usize = 1024;

/// How often the revoked tokens are asked of the database while event streams are open.
const REVOKED_EVERY: Duration = Duration::from_secs(1);

/// A change as every open event stream sends it: the event, and its Server-Sent Events frame
/// (`data: <JSON>`), made once for all of them.
#[derive(Debug, Clone)]
pub struct Announced {
    pub event: Arc<Event>,
    pub frame: Bytes,
}

impl Announced {
    fn new(event: Event, json: &str) -> Announced {
        Announced { event: Arc::new(event), frame: Bytes::from(format!("data: {json}\n\n")) }
    }
}

impl std::ops::Deref for Announced {
    type Target = Event;
    fn deref(&self) -> &Event {
        &self.event
    }
}

/// The revoked tokens' ids.
pub type Revoked = Arc<HashSet<i64>>;

/// A database snapshot for completeness and the change generation it was read at.
type CachedStatus = (u64, Arc<StatusData>);
/// What was read in the stored contents and the change generation it was read at.
type CachedKnowledge = (u64, Arc<Knowledge>);

/// Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub blobs: Arc<dyn BlobStore>,
    /// The child processes that parse what departments sent (readings, previews, the print).
    pub worker: Worker,
    pub catalogue: Arc<Catalogue>,
    pub deadlines: Deadlines,
    pub config: Arc<Config>,
    pub events: broadcast::Sender<Announced>,
    /// Cancelled when the server stops: ends the event streams and the nightly job, which would
    /// otherwise keep a graceful shutdown waiting forever.
    pub shutdown: CancellationToken,
    /// The last database snapshot for completeness, with the change generation it was read at.
    status_cache: Arc<tokio::sync::Mutex<Option<CachedStatus>>>,
    /// Set once the kept counts are this process's deadline and reader's (`Db::count_against`).
    counted: Arc<tokio::sync::OnceCell<()>>,
    /// Bumped by every change; a cached snapshot of an older generation is read again.
    generation: Arc<AtomicU64>,
    /// Wakes the background reading of new content.
    pub reading: Queue,
    /// What was read in the stored contents, with the generation it was read at.
    knowledge_cache: Arc<tokio::sync::Mutex<Option<CachedKnowledge>>>,
    /// The revoked tokens as the database said at most a second ago, for the open streams:
    /// asked once for all of them (`watch_revocations`), and each told only when it changes.
    revoked: watch::Sender<Revoked>,
}

/// Wakes the reading job when new content arrives.
#[derive(Clone, Default)]
pub struct Queue {
    wake: Arc<Notify>,
}

impl Queue {
    /// Something new may wait to be read.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Until `wake` is called.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

impl Services {
    pub fn new(
        db: Db,
        blobs: Arc<dyn BlobStore>,
        worker: Worker,
        catalogue: Catalogue,
        deadlines: Deadlines,
        config: Config,
    ) -> Services {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        Services {
            db,
            blobs,
            worker,
            catalogue: Arc::new(catalogue),
            deadlines,
            config: Arc::new(config),
            events,
            shutdown: CancellationToken::new(),
            status_cache: Arc::default(),
            counted: Arc::default(),
            generation: Arc::default(),
            reading: Queue::default(),
            knowledge_cache: Arc::default(),
            revoked: watch::Sender::new(Revoked::default()),
        }
    }

    /// Tells live subscribers (the dashboard) that something changed, on every instance.
    pub fn publish(
        &self,
        kind: EventKind,
        department: Option<&str>,
        path: Option<RelPath>,
        detail: Option<String>,
    ) {
        let (event, payload) = Self::event(kind, department, path, detail);
        if !self.db.announces() {
            self.tell_here(event, &payload);
            return;
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.announce(payload);
    }

    /// A change no page shows (a heartbeat that repeats the last): what is read from the
    /// database is read afresh, on every instance, and no open stream is woken.
    pub fn touch(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if self.db.announces() {
            // An empty payload moves the other instances' generation only (`hear_announcements`).
            self.announce(String::new());
        }
    }

    /// Tells this instance's subscribers only: for what every instance sees for itself (an
    /// agent falling silent as time passes).
    pub fn publish_here(&self, kind: EventKind, department: Option<&str>, detail: Option<String>) {
        let (event, payload) = Self::event(kind, department, None, detail);
        self.tell_here(event, &payload);
    }

    fn event(
        kind: EventKind,
        department: Option<&str>,
        path: Option<RelPath>,
        detail: Option<String>,
    ) -> (Event, String) {
        let event =
            Event { kind, department: department.map(str::to_string), path, detail, at: Timestamp::now() };
        let payload = serde_json::to_string(&event).unwrap_or_default();
        (event, payload)
    }

    fn tell_here(&self, event: Event, payload: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        // No subscriber is not an error.
        let _ = self.events.send(Announced::new(event, payload));
    }

    /// Every instance, this one too, hears it from the database (`hear_announcements`).
    fn announce(&self, payload: String) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let db = self.db.clone();
        runtime.spawn(async move {
            if let Err(e) = db.announce(payload).await {
                tracing::warn!(error = %e, "cannot announce a change to the other instances");
            }
        });
    }

    /// Passes the changes every instance announces (PostgreSQL) to this one's subscribers, and
    /// reads the status again after each, until the server stops. Nothing to hear on SQLite.
    pub async fn hear_announcements(&self) {
        let (generation, events) = (self.generation.clone(), self.events.clone());
        self.db
            .listen(self.shutdown.clone(), move |payload| {
                generation.fetch_add(1, Ordering::SeqCst);
                // `None`: the connection was (re)opened and something may have been missed; an
                // empty payload: a change no page shows (`touch`).
                if let Some(payload) = payload
                    && let Ok(event) = serde_json::from_str::<Event>(&payload)
                {
                    let _ = events.send(Announced::new(event, &payload));
                }
            })
            .await;
    }

    /// The revoked tokens, and news of each change to them (`watch_revocations`).
    pub fn revocations(&self) -> watch::Receiver<Revoked> {
        self.revoked.subscribe()
    }

    /// Until the server stops: asks the database once a second, while an event stream is open,
    /// which tokens are revoked (by the CLI of another process or instance, so it is asked, not
    /// told), and tells the open streams when that changed. A failed question leaves what was
    /// known.
    pub async fn watch_revocations(&self) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(REVOKED_EVERY) => {}
                () = self.shutdown.cancelled() => return,
            }
            if self.revoked.receiver_count() == 0 {
                continue;
            }
            match self.db.revoked_tokens().await {
                Ok(ids) => {
                    let ids: HashSet<i64> = ids.into_iter().collect();
                    self.revoked.send_if_modified(|known| {
                        let changed = **known != ids;
                        if changed {
                            *known = Arc::new(ids);
                        }
                        changed
                    });
                }
                Err(e) => tracing::warn!(error = %e, "cannot ask the database which tokens are revoked"),
            }
        }
    }

    /// The change generation: equal before and after a series of reads means they saw one state.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// What completeness reads, from the cache unless something changed since it was read.
    /// Every change is committed before it is published, so a snapshot is never staler than
    /// the generation it is filed under.
    pub async fn status_data(&self) -> AppResult<Arc<StatusData>> {
        let generation = self.generation();
        let mut cache = self.status_cache.lock().await;
        if let Some((cached, data)) = cache.as_ref()
            && *cached == generation
        {
            return Ok(data.clone());
        }
        // The counts were kept against the deadline and reader of whoever served last: made
        // this process's own once, before it first reads them.
        self.counted
            .get_or_try_init(|| async {
                self.db.count_against(self.deadlines.evidence, READER_VERSION, Recount::IfChanged).await?;
                AppResult::Ok(())
            })
            .await?;
        let data = Arc::new(self.db.status_data().await?);
        *cache = Some((generation, data.clone()));
        Ok(data)
    }

    /// What was read in the stored contents, from the cache unless something changed.
    pub async fn knowledge(&self) -> AppResult<Arc<Knowledge>> {
        let generation = self.generation();
        let mut cache = self.knowledge_cache.lock().await;
        if let Some((cached, knowledge)) = cache.as_ref()
            && *cached == generation
        {
            return Ok(knowledge.clone());
        }
        let knowledge = Arc::new(Knowledge::load(&self.db).await?);
        *cache = Some((generation, knowledge.clone()));
        Ok(knowledge)
    }

    /// How records' fields are told: the catalogue and the city.
    pub fn told(&self) -> Told<'_> {
        Told { catalogue: &self.catalogue, city: &self.config.city }
    }

    /// The status document, for the whole city (`None`) or one department, with the reading's
    /// progress and the files held for a 密级 mark.
    pub async fn status(&self, department: Option<&str>) -> AppResult<Status> {
        let data = self.status_data().await?;
        let mut status = self.status_of(&data, department);
        status.analysis = data.analysis;
        status.held = self.db.held(department.map(str::to_string)).await?;
        Ok(status)
    }

    /// The status document of a snapshot already read.
    pub fn status_of(&self, data: &StatusData, department: Option<&str>) -> Status {
        let silent_after = Duration::from_secs(self.config.silent_after_secs);
        crate::completeness::compute(
            &self.catalogue,
            &self.deadlines,
            data,
            Timestamp::now(),
            silent_after,
            department,
        )
    }
}
