//! The running server: shared state, `launch` (what every way of starting a server runs), and the
//! accept loop with its timeouts over a listener the caller bound.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use jiff::Timestamp;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use yingjian_shared::{Catalogue, Deadlines, Event, EventKind, RelPath, Status};

use crate::blobs::BlobStore;
use crate::bundle::Bundles;
use crate::config::Config;
use crate::db::{Db, StatusData};
use crate::error::{AppError, AppResult};

/// Live events kept for slow subscribers before they miss some (they are then told to reload).
/// Every field of an event is length-capped, so this bounds what a subscriber that never reads
/// can hold, whoever sends what.
pub const EVENT_BACKLOG: usize = 1024;

/// Requests in flight when the server is told to stop get this long to finish.
const DRAIN: Duration = Duration::from_secs(10);

/// A database snapshot for completeness and the change generation it was read at.
type CachedStatus = (u64, Arc<StatusData>);

/// Everything a request handler may reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub blobs: BlobStore,
    pub bundles: Bundles,
    pub catalogue: Arc<Catalogue>,
    pub deadlines: Deadlines,
    pub config: Arc<Config>,
    pub events: broadcast::Sender<Event>,
    /// Cancelled when the server stops: ends the event streams and the nightly job, which would
    /// otherwise keep a graceful shutdown waiting forever.
    pub shutdown: CancellationToken,
    /// The last database snapshot for completeness, with the change generation it was read at.
    status_cache: Arc<tokio::sync::Mutex<Option<CachedStatus>>>,
    /// Bumped by every change; a cached snapshot of an older generation is read again.
    generation: Arc<AtomicU64>,
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
        let bundles = Bundles::new(config.data.join("bundles"));
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        Ok(AppState {
            db,
            blobs,
            bundles,
            catalogue: Arc::new(catalogue),
            deadlines,
            config: Arc::new(config),
            events,
            shutdown: CancellationToken::new(),
            status_cache: Arc::default(),
            generation: Arc::default(),
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
        let data = Arc::new(self.db.status_data(self.deadlines.evidence).await?);
        *cache = Some((generation, data.clone()));
        Ok(data)
    }

    /// The status document, for the whole city (`None`) or one department.
    pub async fn status(&self, department: Option<&str>) -> AppResult<Status> {
        Ok(self.status_of(&*self.status_data().await?, department))
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

/// A server ready to serve: what a crashed server left in `tmp/` and `bundles/` is cleared and
/// the configuration checked. `serve`, `demo` and the tests all start their server this way
/// (`launch` does both steps), so the tests run the server the CLI runs.
pub struct Server {
    state: AppState,
    listener: TcpListener,
    nightly: Option<crate::bundle::nightly::Nightly>,
}

impl Server {
    pub fn new(state: AppState, listener: TcpListener) -> AppResult<Server> {
        // Uploads and bundles in flight when the last server stopped were never acknowledged.
        state.blobs.clear_tmp()?;
        state.bundles.clear_partial()?;
        let nightly = crate::bundle::nightly::Nightly::from_config(&state.config.bundle)?;
        Ok(Server { state, listener, nightly })
    }

    /// Serves (and runs the nightly bundle) until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> AppResult<()> {
        if let Some(nightly) = self.nightly {
            tokio::spawn(nightly.run(self.state.clone()));
        }
        serve(self.listener, self.state, shutdown).await
    }
}

/// Starts a server on `listener` and serves until `shutdown` completes.
pub async fn launch(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> AppResult<()> {
    Server::new(state, listener)?.run(shutdown).await
}

/// The accept loop: HTTP/1.1 (HTTPS when the configuration names a certificate and key) with a
/// header-read timeout that also closes idle keep-alive connections, a TLS handshake timeout and
/// a body idle timeout, so that slow or silent connections cannot pile up. On `shutdown` it stops
/// accepting, ends the event streams and lets requests in flight finish.
async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> AppResult<()> {
    tracing::info!(address = %listener.local_addr()?, "aggregator listening");
    let tls = match &state.config.tls {
        Some(files) => {
            Some(tokio_rustls::TlsAcceptor::from(crate::tls::server_config(&files.cert, &files.key)?))
        }
        None => None,
    };
    let stop = state.shutdown.clone();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            tokio::select! {
                () = shutdown => stop.cancel(),
                () = stop.cancelled() => {}
            }
        }
    });
    let limits = &state.config.timeouts;
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(limits.header_secs));
    let handshake = Duration::from_secs(limits.header_secs);
    let router = crate::api::router(state.clone());
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // Out of file descriptors, usually: wait for some to be freed.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let service = TowerToHyperService::new(router.clone());
        match &tls {
            None => spawn_connection(&h1, graceful.watcher(), tcp, service),
            Some(acceptor) => {
                // The header timer starts only once TLS is up: the handshake has its own, and runs
                // off the accept loop so that a slow client holds up no one else.
                let (acceptor, h1, watcher) = (acceptor.clone(), h1.clone(), graceful.watcher());
                tokio::spawn(async move {
                    match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => spawn_connection(&h1, watcher, stream, service),
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running after {DRAIN:?}: stopping anyway");
    }
    Ok(())
}

fn spawn_connection<IO>(
    h1: &http1::Builder,
    watcher: Watcher,
    io: IO,
    service: TowerToHyperService<axum::Router>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = watcher.watch(h1.serve_connection(TokioIo::new(io), service));
    tokio::spawn(async move {
        // A client that goes away or times out is not the server's error.
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection ended");
        }
    });
}

/// The URL scheme the server answers on.
pub fn scheme(config: &Config) -> &'static str {
    if config.tls.is_some() { "https" } else { "http" }
}
