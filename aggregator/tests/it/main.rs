//! Aggregator integration tests: the real server in-process on 127.0.0.1:0, real SQLite and
//! blob store in a temporary folder, real HTTP.

mod api;
mod bundle;
mod cli;
mod completeness;
mod crash;
mod demo;
mod pages;
mod reviews;

use std::net::SocketAddr;

use reqwest::{Client, Method, RequestBuilder, StatusCode};
use tempfile::TempDir;
use tokio::sync::oneshot;
use yingjian_aggregator::{AppState, Config, Server, token_hash};
use yingjian_shared::sha256_reader;

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

    pub fn temp_files(&self) -> usize {
        self.state.blobs.temp_files().unwrap()
    }
}

pub fn sha(bytes: &[u8]) -> String {
    sha256_reader(bytes).unwrap().0.to_string()
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
