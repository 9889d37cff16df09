//! The running server: shared state, the router, and `serve` over a listener the caller bound.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use yingjian_shared::{Catalogue, Deadlines, Event, EventKind, RelPath};

use crate::blobs::BlobStore;
use crate::config::Config;
use crate::db::{Db, StatusData};
use crate::error::{AppError, AppResult};

/// Live events kept for slow subscribers before they miss some (they then reload).
const EVENT_BACKLOG: usize = 1024;

/// A database snapshot for completeness and the change generation it was read at.
type CachedStatus = (u64, Arc<StatusData>);

/// Everything a request handler may reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub blobs: BlobStore,
    pub catalogue: Arc<Catalogue>,
    pub deadlines: Deadlines,
    pub config: Arc<Config>,
    pub events: broadcast::Sender<Event>,
    /// The last database snapshot for completeness, with the change generation it was read at.
    status_cache: Arc<tokio::sync::Mutex<Option<CachedStatus>>>,
    /// Bumped by every change; a cached snapshot of an older generation is read again.
    generation: Arc<AtomicU64>,
    /// Bytes done and total of the bundle being built from the dashboard, if one is.
    pub bundle_progress: Arc<std::sync::Mutex<Option<(u64, u64)>>>,
}

impl AppState {
    /// Opens the data folder (creating it on a first run) with the configured catalogue.
    pub fn open(config: Config) -> AppResult<AppState> {
        std::fs::create_dir_all(&config.data).map_err(|e| {
            AppError::Config(format!("cannot create the data folder {}: {e}", config.data.display()))
        })?;
        let catalogue = config.catalogue()?;
        let deadlines = config.deadlines.clone().unwrap_or_else(|| catalogue.deadlines.clone());
        let db = Db::open(&config.data.join("yingjian.sqlite3"))?;
        let blobs = BlobStore::open(&config.data)?;
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        Ok(AppState {
            db,
            blobs,
            catalogue: Arc::new(catalogue),
            deadlines,
            config: Arc::new(config),
            events,
            status_cache: Arc::default(),
            generation: Arc::default(),
            bundle_progress: Arc::default(),
        })
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
        // No subscriber is not an error.
        let _ = self.events.send(event);
    }

    /// What completeness reads, from the cache unless something changed since it was read.
    /// Every change is committed before it is published, so a snapshot is never staler than
    /// the generation it is filed under.
    pub async fn status_data(&self) -> AppResult<Arc<StatusData>> {
        let generation = self.generation.load(Ordering::SeqCst);
        let mut cache = self.status_cache.lock().await;
        if let Some((cached, data)) = cache.as_ref()
            && *cached == generation
        {
            return Ok(data.clone());
        }
        let data = Arc::new(self.db.status_data(self.deadlines.evidence).await?);
        *cache = Some((generation, data.clone()));
        Ok(data)
    }

    pub fn router(&self) -> Router {
        crate::api::router(self.clone())
    }
}

/// Serves until `shutdown` completes, then lets requests in flight finish. HTTPS when the
/// configuration names a certificate and key.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> AppResult<()> {
    tracing::info!(address = %listener.local_addr()?, "aggregator listening");
    let router = state.router();
    match &state.config.tls {
        Some(files) => {
            let config = crate::tls::server_config(&files.cert, &files.key)?;
            let listener = crate::tls::TlsListener::new(listener, config)?;
            axum::serve(listener, router).with_graceful_shutdown(shutdown).await?;
        }
        None => axum::serve(listener, router).with_graceful_shutdown(shutdown).await?,
    }
    Ok(())
}

/// The URL scheme the server answers on.
pub fn scheme(config: &Config) -> &'static str {
    if config.tls.is_some() { "https" } else { "http" }
}
