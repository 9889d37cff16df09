//! The aggregator's v1 API as the agent uses it.

use std::future::Future;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Body, Method, Response, StatusCode};
use yingjian_shared::{
    BlobStored, Catalogue, ErrorBody, EvidenceAck, EvidenceEntry, EvidenceRecord, HOST_HEADER, Heartbeat,
    RelPath, Status,
};

use crate::error::{AgentError, AgentResult};

const TUS_RESUMABLE: &str = "tus-resumable";
const TUS_VERSION: &str = "1.0.0";

/// Upload bodies are read in chunks of this size, a few ahead of the network. Small enough
/// that a slow link still takes one well within the stall interval: taking chunks is how an
/// upload shows that bytes move.
const BODY_CHUNK: usize = 64 << 10;
const BODY_CHUNKS_AHEAD: usize = 4;
/// How much of an upload may sit in buffers (the HTTP library's and the system's) after the
/// last chunk was taken, and the slowest link it is allowed to drain at: the pace of the body
/// says nothing once all of it fits in the buffers.
const IN_BUFFERS: u64 = 8 << 20;
const SLOWEST_LINK: f64 = 16.0 * 1024.0;
/// How long a request other than an upload may wait for its next byte.
pub const DEFAULT_STALL: Duration = Duration::from_mins(1);

#[derive(Clone)]
pub struct Client {
    /// Requests with small bodies: a read that waits longer than the stall interval fails.
    http: reqwest::Client,
    /// Uploads: no timer on the whole; `guarded` fails one only when no byte moves.
    upload: reqwest::Client,
    base: String,
    stall: Duration,
    /// The pace of the last upload that took long enough to measure, in bytes per second
    /// (0: not known yet).
    pace: Arc<AtomicU64>,
}

impl Client {
    pub fn new(base: &str, token: &str, host: &str, ca_cert: Option<&Path>) -> AgentResult<Client> {
        // reqwest is built without a default crypto provider: ring serves both sides.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
            AgentError::Config("the token contains characters a token never has: copy it again".into())
        })?;
        headers.insert(AUTHORIZATION, bearer);
        if let Ok(host) = HeaderValue::from_str(host) {
            headers.insert(HOST_HEADER, host);
        }
        let certs = match ca_cert {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    AgentError::Config(format!("cannot read the CA certificate {}: {e}", path.display()))
                })?;
                Some(reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    AgentError::Config(format!("{} is not a PEM certificate: {e}", path.display()))
                })?)
            }
            None => None,
        };
        let builder = || {
            let mut builder = reqwest::Client::builder()
                .default_headers(headers.clone())
                .connect_timeout(Duration::from_secs(10))
                // A link that died without a word is noticed by the system too.
                .tcp_keepalive(Duration::from_secs(30))
                .user_agent(concat!("yingjian-agent/", env!("CARGO_PKG_VERSION")));
            if let Some(certs) = &certs {
                builder = builder.tls_certs_merge(certs.clone());
            }
            builder
        };
        // No overall timeout on either: a 1 GiB scan over a slow link takes as long as it takes.
        // The read timeout runs while a request waits for any byte back, which an upload does
        // for its whole length: uploads are on a client without it.
        let http = builder().read_timeout(DEFAULT_STALL).build()?;
        let upload = builder();
        // Bytes that sit unacknowledged for the stall interval end the connection: a dead link
        // is noticed even once the whole body is in the system's buffers.
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        let upload = upload.tcp_user_timeout(DEFAULT_STALL);
        let upload = upload.build()?;
        Ok(Client {
            http,
            upload,
            base: base.to_string(),
            stall: DEFAULT_STALL,
            pace: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Fails uploads after `stall` without a byte moving (by default a minute).
    #[must_use]
    pub fn with_stall(mut self, stall: Duration) -> Client {
        self.stall = stall;
        self
    }

    /// Whether sending `size` bytes would take longer than the stall interval at the pace
    /// last seen: such a file goes by resumable upload, so that a cut costs no more than the
    /// part under way.
    pub fn would_take_long(&self, size: u64) -> bool {
        let pace = self.pace.load(Ordering::Relaxed);
        pace > 0 && size / pace >= self.stall.as_secs()
    }

    /// Runs an upload (`send`), failing it when its body has not moved for the stall interval,
    /// or, once the body is all taken, when the answer takes longer than the stall interval
    /// plus what the buffers may still hold would take on a slow link (a dead link is noticed
    /// sooner by the system: `tcp_user_timeout`). Records the pace.
    async fn guarded<T>(&self, moved: &Moved, send: impl Future<Output = AgentResult<T>>) -> AgentResult<T> {
        tokio::pin!(send);
        let started = Instant::now();
        loop {
            let (last, bytes, done) = moved.get();
            let mut patience = self.stall;
            if done {
                patience += Duration::from_secs_f64(IN_BUFFERS.min(bytes) as f64 / SLOWEST_LINK);
            }
            tokio::select! {
                result = &mut send => {
                    let secs = started.elapsed().as_secs_f64();
                    // Short uploads say little about the link.
                    if result.is_ok() && secs >= 1.0 {
                        self.pace.store((bytes as f64 / secs) as u64, Ordering::Relaxed);
                    }
                    return result;
                }
                () = tokio::time::sleep_until(last + patience) => {
                    if moved.get() == (last, bytes, done) {
                        return Err(AgentError::Stalled(self.stall.as_secs()));
                    }
                }
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn catalogue(&self) -> AgentResult<Catalogue> {
        let text = check(self.http.get(self.url("/api/v1/catalogue")).send().await?).await?.text().await?;
        Catalogue::from_json(&text).map_err(|e| AgentError::Config(format!("the server's catalogue: {e}")))
    }

    pub async fn has_blob(&self, sha256: &str) -> AgentResult<bool> {
        let r = self.http.request(Method::HEAD, self.url(&format!("/api/v1/blobs/{sha256}"))).send().await?;
        match r.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => check(r).await.map(|_| false),
        }
    }

    /// Streams the file from disk; the server checks that it hashes to `sha256`.
    pub async fn put_blob(&self, sha256: &str, file: &Path, size: u64) -> AgentResult<()> {
        let moved = Moved::new(size);
        let body = file_body(file, 0, moved.clone()).await?;
        let r = self.upload.put(self.url(&format!("/api/v1/blobs/{sha256}"))).header(CONTENT_LENGTH, size);
        self.guarded(&moved, async { check(r.body(body).send().await?).await.map(|_| ()) }).await
    }

    /// Starts a resumable (tus) upload of `size` bytes and answers its address.
    pub async fn create_upload(&self, size: u64, sha256: Option<&str>, name: &str) -> AgentResult<String> {
        let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
        let metadata = match sha256 {
            Some(sha) => format!("filename {},sha256 {}", b64(name), b64(sha)),
            None => format!("filename {}", b64(name)),
        };
        let r = self
            .http
            .post(self.url("/api/v1/uploads"))
            .header(TUS_RESUMABLE, TUS_VERSION)
            .header("upload-length", size)
            .header("upload-metadata", metadata)
            .send()
            .await?;
        let r = check(r).await?;
        let location =
            r.headers().get(LOCATION).and_then(|v| v.to_str().ok()).ok_or_else(|| AgentError::Server {
                status: r.status().as_u16(),
                code: None,
                message: "the server started an upload but did not say where".into(),
            })?;
        Ok(if location.starts_with('/') { self.url(location) } else { location.to_string() })
    }

    /// How many bytes of the upload at `url` the server holds; `None` if it holds none any
    /// more (finished, ended or expired).
    pub async fn upload_offset(&self, url: &str) -> AgentResult<Option<u64>> {
        let r = self.http.head(url).header(TUS_RESUMABLE, TUS_VERSION).send().await?;
        if matches!(r.status(), StatusCode::NOT_FOUND | StatusCode::GONE) {
            return Ok(None);
        }
        let r = check(r).await?;
        Ok(r.headers().get("upload-offset").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()))
    }

    /// Sends the file from byte `from` to its end into the upload at `url`: the server's
    /// answer once it holds the whole file, `None` if it does not yet.
    pub async fn patch_upload(
        &self,
        url: &str,
        file: &Path,
        from: u64,
        size: u64,
    ) -> AgentResult<Option<BlobStored>> {
        let moved = Moved::new(size - from);
        let body = file_body(file, from, moved.clone()).await?;
        let r = self
            .upload
            .patch(url)
            .header(TUS_RESUMABLE, TUS_VERSION)
            .header("upload-offset", from)
            .header(CONTENT_TYPE, "application/offset+octet-stream")
            .header(CONTENT_LENGTH, size - from)
            .body(body);
        self.guarded(&moved, async {
            let r = check(r.send().await?).await?;
            if r.status() == StatusCode::NO_CONTENT {
                return Ok(None);
            }
            Ok(Some(r.json().await?))
        })
        .await
    }

    /// Gives up the upload at `url` (best effort: an upload left alone expires).
    pub async fn end_upload(&self, url: &str) {
        let _ = self.http.delete(url).header(TUS_RESUMABLE, TUS_VERSION).send().await;
    }

    pub async fn put_evidence(&self, record: &EvidenceRecord) -> AgentResult<EvidenceAck> {
        let r = self.http.put(self.url("/api/v1/evidence")).json(record).send().await?;
        Ok(check(r).await?.json().await?)
    }

    /// The records the server holds for this department.
    pub async fn evidence(&self) -> AgentResult<Vec<EvidenceEntry>> {
        Ok(check(self.http.get(self.url("/api/v1/evidence")).send().await?).await?.json().await?)
    }

    /// The department's records with what the server read in each (fields, scan findings).
    pub async fn evidence_read(&self) -> AgentResult<Vec<yingjian_shared::EvidenceListed>> {
        Ok(check(self.http.get(self.url("/api/v1/evidence")).send().await?).await?.json().await?)
    }

    pub async fn withdraw(&self, path: &RelPath) -> AgentResult<()> {
        let r =
            self.http.delete(self.url("/api/v1/evidence")).query(&[("path", path.as_str())]).send().await?;
        check(r).await.map(|_| ())
    }

    pub async fn heartbeat(&self, heartbeat: &Heartbeat) -> AgentResult<()> {
        let r = self.http.post(self.url("/api/v1/heartbeat")).json(heartbeat).send().await?;
        check(r).await.map(|_| ())
    }

    pub async fn status(&self) -> AgentResult<Status> {
        Ok(check(self.http.get(self.url("/api/v1/status")).send().await?).await?.json().await?)
    }
}

/// How far an upload's body has got: when a chunk was last taken, how many bytes were taken,
/// and whether all were.
#[derive(Clone)]
struct Moved(Arc<Mutex<(Instant, u64, bool)>>, u64);

impl Moved {
    /// For a body of `len` bytes.
    fn new(len: u64) -> Moved {
        Moved(Arc::new(Mutex::new((Instant::now(), 0, false))), len)
    }

    fn get(&self) -> (Instant, u64, bool) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn taken(&self, bytes: u64, done: bool) {
        let mut moved = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let total = moved.1 + bytes;
        // The HTTP library may never ask past the last byte of a body of known length.
        *moved = (Instant::now(), total, done || total >= self.1);
    }
}

/// A request body read from the file, from byte `from` on, by one blocking task for the whole
/// file (tokio's file reads hand every chunk to the blocking pool and copy it once more). The
/// task stops when the request is dropped. Each chunk taken is told to `moved`.
async fn file_body(path: &Path, from: u64, moved: Moved) -> AgentResult<Body> {
    let mut file = tokio::fs::File::open(path).await?.into_std().await;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(from))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(BODY_CHUNKS_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        loop {
            let mut chunk = Vec::with_capacity(BODY_CHUNK);
            match (&mut file).take(BODY_CHUNK as u64).read_to_end(&mut chunk) {
                Ok(0) => return,
                Ok(_) if tx.blocking_send(Ok(Bytes::from(chunk))).is_ok() => {}
                Ok(_) => return,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let chunks = futures_util::stream::unfold((rx, moved), |(mut rx, moved)| async move {
        let chunk = rx.recv().await;
        match &chunk {
            Some(Ok(bytes)) => moved.taken(bytes.len() as u64, false),
            Some(Err(_)) => {}
            None => moved.taken(0, true),
        }
        chunk.map(|c| (c, (rx, moved)))
    });
    Ok(Body::wrap_stream(chunks))
}

/// Turns an error status into `AgentError::Server` with the server's message.
async fn check(r: Response) -> AgentResult<Response> {
    let status = r.status();
    if status.is_success() {
        return Ok(r);
    }
    let body: Option<ErrorBody> = r.json().await.ok();
    let (code, message) = body.map_or_else(|| (None, status.to_string()), |b| (Some(b.error), b.message));
    Err(AgentError::Server { status: status.as_u16(), code, message })
}
