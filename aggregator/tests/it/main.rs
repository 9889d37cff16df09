//! Aggregator integration tests: the real server in-process on 127.0.0.1:0, real SQLite and
//! blob store in a temporary folder, real HTTP.

mod api;
mod bundle;
mod cli;
mod completeness;
mod counts;
mod crash;
mod demo;
mod handin;
mod pages;
mod print;
mod reviews;
mod schema;

use std::net::SocketAddr;

use reqwest::{Client, Method, RequestBuilder, StatusCode};
use tempfile::TempDir;
use tokio::sync::oneshot;
use yingjian_aggregator::{AppState, Config, Server, token_hash};
use yingjian_shared::sha256_bytes;

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: Client,
    pub dir: TempDir,
    _stop: oneshot::Sender<()>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> TestServer {
        // reqwest is built without a default TLS provider (the agent installs ring at start).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config { data: dir.path().join("data"), ..Config::default() };
        // Reading (OCR) costs seconds of CPU a page: the tests about what was read turn it on.
        config.reading.enabled = false;
        adjust(&mut config);
        let state = AppState::open(config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(Server::new(state.clone(), listener).unwrap().run(async move {
            let _ = stopped.await;
        }));
        TestServer { addr, state, client: Client::new(), dir, _stop: stop }
    }

    /// A new token for a department (by id) or, with `None`, the office.
    pub async fn token(&self, department: Option<&str>, agent: &str) -> String {
        let token = yingjian_aggregator::new_token().unwrap();
        self.state
            .db
            .insert_token(token_hash(&token), department.map(str::to_string), agent.to_string())
            .await
            .unwrap();
        token
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn req(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(token)
    }

    /// Uploads bytes as a blob and files a record for them; returns the record's status.
    pub async fn file(&self, token: &str, path: &str, bytes: &[u8]) -> StatusCode {
        let sha = sha(bytes);
        let put = self
            .req(Method::PUT, &format!("/api/v1/blobs/{sha}"), token)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "blob upload: {}", put.status());
        let record = serde_json::json!({
            "path": path, "sha256": sha, "size": bytes.len(), "modified": "2021-12-01T08:00:00Z"
        });
        self.req(Method::PUT, "/api/v1/evidence", token).json(&record).send().await.unwrap().status()
    }

    pub async fn status(&self, token: &str) -> serde_json::Value {
        let r = self.req(Method::GET, "/api/v1/status", token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// Waits until the worker has read every file on record.
    pub async fn read_all(&self, office: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_mins(10);
        loop {
            let status = self.status(office).await;
            if status["analysis"]["queued"] == 0 {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "files still unread: {}", status["analysis"]);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub fn temp_files(&self) -> usize {
        self.state.blobs.temp_files().unwrap()
    }
}

pub fn sha(bytes: &[u8]) -> String {
    sha256_bytes(bytes).to_string()
}

/// A small valid-looking PDF, distinct per `tag`.
pub fn pdf(tag: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {tag}\n%%EOF\n").into_bytes()
}

/// A JPEG header and some bytes, distinct per `tag`.
pub fn jpeg(tag: &str) -> Vec<u8> {
    let mut v = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec();
    v.extend_from_slice(tag.as_bytes());
    v
}

/// A real PDF of `pages` pages (lopdf writes it), distinct per `tag`, with a creation date
/// (`D:20220115…`) in its Info dictionary when given.
pub fn pdf_pages(tag: &str, pages: u32, created: Option<&str>) -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let kids: Vec<Object> = (0..pages)
        .map(|i| {
            let content = doc.add_object(Stream::new(dictionary! {}, format!("% {tag} {i}").into_bytes()));
            let media: Vec<Object> = vec![0.into(), 0.into(), 595.into(), 842.into()];
            let page = dictionary! { "Type" => "Page", "Parent" => pages_id, "MediaBox" => media, "Contents" => content };
            doc.add_object(page).into()
        })
        .collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => i64::from(pages) }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    if let Some(date) = created {
        let info = doc.add_object(dictionary! { "CreationDate" => Object::string_literal(date) });
        doc.trailer.set("Info", info);
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A little-endian TIFF structure: a header, then one IFD per entry list, chained.
fn tiff_ifds(ifds: &[Vec<(u16, u16, u32, u32)>], tail: &[u8]) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    let mut offset = 8u32;
    out.extend_from_slice(&offset.to_le_bytes());
    for (i, entries) in ifds.iter().enumerate() {
        let size = 2 + 12 * entries.len() as u32 + 4;
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, kind, count, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&value.to_le_bytes());
        }
        offset += size;
        let next = if i + 1 < ifds.len() { offset } else { 0 };
        out.extend_from_slice(&next.to_le_bytes());
    }
    out.extend_from_slice(tail);
    out
}

/// A real TIFF of `pages` one-pixel grey pages (a scanner's multi-page file).
pub fn tiff_pages(tag: u8, pages: usize) -> Vec<u8> {
    let ifd_size = 2 + 12 * 8 + 4;
    let pixels = 8 + (ifd_size * pages) as u32;
    let page = vec![
        (256, 3, 1, 1),      // ImageWidth
        (257, 3, 1, 1),      // ImageLength
        (258, 3, 1, 8),      // BitsPerSample
        (259, 3, 1, 1),      // Compression: none
        (262, 3, 1, 1),      // PhotometricInterpretation: black is zero
        (273, 4, 1, pixels), // StripOffsets
        (278, 3, 1, 1),      // RowsPerStrip
        (279, 4, 1, 1),      // StripByteCounts
    ];
    tiff_ifds(&vec![page; pages], &[tag])
}

/// A JPEG that begins with an EXIF segment giving `taken` (`2021:06:01 09:30:00`) as its
/// DateTimeOriginal, as a camera writes it.
pub fn jpeg_taken(tag: &str, taken: &str) -> Vec<u8> {
    // IFD0 (one entry: the Exif IFD pointer) at 8, the Exif IFD at 26, the date at 44.
    let mut tiff = tiff_ifds(&[vec![(0x8769, 4, 1, 26)]], &[]);
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x9003u16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&20u32.to_le_bytes());
    tiff.extend_from_slice(&44u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(taken.as_bytes());
    tiff.push(0);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = b"\xFF\xD8\xFF\xE1".to_vec();
    out.extend_from_slice(&(app1.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(b"\xFF\xD9");
    out.extend_from_slice(tag.as_bytes());
    out
}
