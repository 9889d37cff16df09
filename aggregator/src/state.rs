//! `AppState`: everything a request handler may reach — the stores, the catalogue, the live
//! events, the shutdown signal and the status document with its snapshot cache.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use yingjian_shared::{Catalogue, Deadlines, Event, EventKind, RelPath, Status};

use crate::blobs::{BlobStore, LocalBlobs, S3Blobs};
use crate::bundle::Bundles;
use crate::config::Config;
use crate::db::{Db, Recount, StatusData};
use crate::error::{AppError, AppResult};
use crate::print::Printouts;
use crate::reading::{Knowledge, Told};
use crate::uploads::Uploads;
use crate::worker::Worker;

/// Live events kept for slow subscribers before they miss some (they are then told to reload).
/// Every field of an event is length-capped, so this bounds what a subscriber that never reads
/// can hold, whoever sends what.
const EVENT_BACKLOG: usize = 1024;

/// How long the revoked tokens, once asked of the database, answer every open stream.
const REVOKED_FRESH: Duration = Duration::from_secs(1);

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

/// The revoked tokens' ids and when they were asked of the database.
type Revoked = (std::time::Instant, Arc<HashSet<i64>>);

/// A database snapshot for completeness and the change generation it was read at.
type CachedStatus = (u64, Arc<StatusData>);
/// What was read in the stored contents and the change generation it was read at.
type CachedKnowledge = (u64, Arc<Knowledge>);

/// Everything a request handler may reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub blobs: Arc<dyn BlobStore>,
    pub bundles: Bundles,
    /// The printable PDFs (纸质版) built from the 打包 page.
    pub printouts: Printouts,
    /// Resumable (tus) uploads under way.
    pub uploads: Arc<Uploads>,
    /// The child processes that parse what departments sent (previews, the print build).
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
    pub reading: crate::reading::Queue,
    /// What was read in the stored contents, with the generation it was read at.
    knowledge_cache: Arc<tokio::sync::Mutex<Option<CachedKnowledge>>>,
    /// The live event streams open on this instance, by token.
    streams: Arc<Mutex<HashMap<i64, usize>>>,
    /// Shared by the open streams: a thousand of them ask the database once a second, not a
    /// thousand times.
    revoked: Arc<tokio::sync::Mutex<Option<Revoked>>>,
}

/// An open event stream's place among its token's: given back when dropped.
pub struct StreamSlot {
    token: i64,
    streams: Arc<Mutex<HashMap<i64, usize>>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = streams.get_mut(&self.token) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                streams.remove(&self.token);
            }
        }
    }
}

impl AppState {
    /// Opens the data folder (creating it on a first run) with the configured catalogue.
    pub fn open(mut config: Config) -> AppResult<AppState> {
        std::fs::create_dir_all(&config.data).map_err(|e| {
            AppError::Config(format!("cannot create the data folder {}: {e}", config.data.display()))
        })?;
        // The worker runs in a folder of its own: the paths it is given must not depend on ours.
        config.data = std::path::absolute(&config.data).map_err(|e| {
            AppError::Config(format!("cannot resolve the data folder {}: {e}", config.data.display()))
        })?;
        crate::print::check_programs(&config.print)?;
        let catalogue = config.catalogue()?;
        let deadlines = config.deadlines.clone().unwrap_or_else(|| catalogue.deadlines.clone());
        let db = match &config.database.url {
            None => Db::open(&config.data.join("yingjian.sqlite3"))?,
            Some(url) => Db::open_postgres(url, config.database.ca.as_deref())?,
        };
        let shared = match &config.blobs.s3 {
            None => None,
            Some(s3) => Some(S3Blobs::open(s3).map_err(|e| {
                AppError::Config(format!(
                    "[blobs] s3: cannot use bucket {:?} at {}: {e}",
                    s3.bucket, s3.endpoint
                ))
            })?),
        };
        let blobs: Arc<dyn BlobStore> = match &shared {
            None => Arc::new(LocalBlobs::open(&config.data, config.direct_io)?),
            Some(s3) => Arc::new(s3.clone()),
        };
        let expire = Duration::from_secs(config.uploads.expire_secs);
        let uploads = Arc::new(match &shared {
            None => Uploads::open(&config.data, expire)?,
            Some(s3) => Uploads::shared(s3.clone(), expire),
        });
        let printouts = Printouts::new(config.data.join("print"), shared.clone());
        let bundles = Bundles::with_store(config.data.join("bundles"), shared);
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        let worker = Worker::new(&config.worker, &config.data);
        Ok(AppState {
            db,
            blobs,
            bundles,
            printouts,
            uploads,
            worker,
            catalogue: Arc::new(catalogue),
            deadlines,
            config: Arc::new(config),
            events,
            shutdown: CancellationToken::new(),
            status_cache: Arc::default(),
            counted: Arc::default(),
            generation: Arc::default(),
            reading: crate::reading::Queue::default(),
            knowledge_cache: Arc::default(),
            streams: Arc::default(),
            revoked: Arc::default(),
        })
    }

    /// A place for another event stream of `token`, unless it holds `max_event_streams` already.
    pub fn open_stream(&self, token: i64) -> Option<StreamSlot> {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        let open = streams.entry(token).or_default();
        if *open >= self.config.max_event_streams {
            return None;
        }
        *open += 1;
        Some(StreamSlot { token, streams: self.streams.clone() })
    }

    /// Tells live subscribers (the dashboard) that something changed.
    pub fn publish(
        &self,
        kind: EventKind,
        department: Option<&str>,
        path: Option<RelPath>,
        detail: Option<String>,
    ) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let event =
            Event { kind, department: department.map(str::to_string), path, detail, at: Timestamp::now() };
        let payload = serde_json::to_string(&event).unwrap_or_default();
        if !self.db.announces() {
            // No subscriber is not an error.
            let _ = self.events.send(Announced::new(event, &payload));
            return;
        }
        // Every instance, this one too, hears it from the database (`hear_announcements`).
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
                // `None`: the connection was (re)opened and something may have been missed.
                if let Some(payload) = payload
                    && let Ok(event) = serde_json::from_str::<Event>(&payload)
                {
                    let _ = events.send(Announced::new(event, &payload));
                }
            })
            .await;
    }

    /// Whether a token was revoked, as the database said within the last second (by the CLI
    /// of another process or instance, so it is asked, not told).
    pub async fn revoked(&self, token: i64) -> AppResult<bool> {
        let mut known = self.revoked.lock().await;
        let fresh = known.as_ref().filter(|(asked, _)| asked.elapsed() < REVOKED_FRESH);
        let ids = if let Some((_, ids)) = fresh {
            ids.clone()
        } else {
            let ids: Arc<HashSet<i64>> = Arc::new(self.db.revoked_tokens().await?.into_iter().collect());
            *known = Some((std::time::Instant::now(), ids.clone()));
            ids
        };
        Ok(ids.contains(&token))
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
                self.db
                    .count_against(self.deadlines.evidence, crate::reading::VERSION, Recount::IfChanged)
                    .await?;
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
