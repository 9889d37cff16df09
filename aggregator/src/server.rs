//! The running server: `launch` (what every way of starting a server runs) and the accept loop
//! with its timeouts over a listener the caller bound.

use std::future::Future;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::config::{Config, ConfigError};
use crate::error::AppResult;
use crate::state::AppState;

/// Requests in flight when the server is told to stop get this long to finish.
const DRAIN: Duration = Duration::from_secs(10);

/// A server ready to serve: what a crashed server left in `tmp/` and `bundles/` is cleared and
/// the configuration checked (the nightly time, the TLS certificate and key). `serve`, `demo` and the tests all start their server this way
/// (`launch` does both steps), so the tests run the server the CLI runs.
pub struct Server {
    state: AppState,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    nightly: Option<crate::bundle::nightly::Nightly>,
}

impl Server {
    pub fn new(state: AppState, listener: TcpListener) -> AppResult<Server> {
        // Uploads and bundles in flight when the last server stopped were never acknowledged.
        state.blobs.clear_tmp()?;
        state.bundles.clear_partial()?;
        let nightly = crate::bundle::nightly::Nightly::from_config(&state.config.bundle)?;
        // Model files not of this build would fail every scan's reading, one by one: the server
        // says so now instead.
        if let (true, Some(folder)) = (state.config.reading.enabled, &state.config.reading.models) {
            yingjian_reader::ocr::verify_folder(folder).map_err(|e| {
                ConfigError::Setting(format!(
                    "[reading] models: {e} (reinstall the package, point models at the folder of this build's models, or set enabled = false)"
                ))
            })?;
        }
        let tls = match &state.config.tls {
            Some(files) => Some(tokio_rustls::TlsAcceptor::from(
                crate::tls::server_config(&files.cert, &files.key).map_err(ConfigError::from)?,
            )),
            None => None,
        };
        Ok(Server { state, listener, tls, nightly })
    }

    /// Serves, with the background work (reading, the nightly bundle, who fell silent), until
    /// `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> AppResult<()> {
        let state = self.state.clone();
        tokio::spawn(async move { state.hear_announcements().await });
        tokio::spawn(crate::presence::announce_silence(self.state.services.clone()));
        let services = self.state.services.clone();
        tokio::spawn(async move { services.watch_revocations().await });
        if self.state.config.reading.enabled {
            tokio::spawn(crate::reading::run(self.state.services.clone()));
        }
        if let Some(nightly) = self.nightly {
            tokio::spawn(nightly.run(self.state.services.clone(), self.state.bundles.clone()));
        }
        serve(self.listener, self.state, self.tls, shutdown).await
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
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> AppResult<()> {
    tracing::info!(address = %listener.local_addr()?, "aggregator listening");
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
