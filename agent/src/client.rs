//! The aggregator's v1 API as the agent uses it.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

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

/// Upload bodies are read in chunks of this size, a few ahead of the network.
const BODY_CHUNK: usize = 256 << 10;
const BODY_CHUNKS_AHEAD: usize = 4;

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
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
        let mut builder = reqwest::Client::builder();
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                AgentError::Config(format!("cannot read the CA certificate {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                AgentError::Config(format!("{} is not a PEM certificate: {e}", path.display()))
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            // No overall timeout: a 1 GiB scan over a slow link takes as long as it takes.
            .read_timeout(Duration::from_mins(2))
            .user_agent(concat!("yingjian-agent/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client { http, base: base.to_string() })
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
        let r = self.http.put(self.url(&format!("/api/v1/blobs/{sha256}"))).header(CONTENT_LENGTH, size);
        check(r.body(file_body(file, 0).await?).send().await?).await.map(|_| ())
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
                code: "no_location".into(),
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
        let r = self
            .http
            .patch(url)
            .header(TUS_RESUMABLE, TUS_VERSION)
            .header("upload-offset", from)
            .header(CONTENT_TYPE, "application/offset+octet-stream")
            .header(CONTENT_LENGTH, size - from)
            .body(file_body(file, from).await?)
            .send()
            .await?;
        let r = check(r).await?;
        if r.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        Ok(Some(r.json().await?))
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

/// A request body read from the file, from byte `from` on, by one blocking task for the whole
/// file (tokio's file reads hand every chunk to the blocking pool and copy it once more). The
/// task stops when the request is dropped.
async fn file_body(path: &Path, from: u64) -> AgentResult<Body> {
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
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    Ok(Body::wrap_stream(chunks))
}

/// Turns an error status into `AgentError::Server` with the server's message.
async fn check(r: Response) -> AgentResult<Response> {
    let status = r.status();
    if status.is_success() {
        return Ok(r);
    }
    let body: Option<ErrorBody> = r.json().await.ok();
    let (code, message) =
        body.map_or_else(|| ("http".to_string(), status.to_string()), |b| (b.error, b.message));
    Err(AgentError::Server { status: status.as_u16(), code, message })
}
