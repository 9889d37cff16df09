//! `BENCH_ONLY=streams` (also in the whole run): what open live-event streams cost the server
//! per change — 1,000 dashboards in the last week — against one stream, in the same run: server
//! CPU per change and memory per open stream. A change is a department's heartbeat, the most
//! frequent one; every stream must have received it before the next is sent. Then the same with
//! what a browser's page does on each change (`live.js`): fetch itself again, as a browser's
//! cache does it (`If-None-Match`), every page the overview of a city's worth of records.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::Client;

use super::{Proc, Table, cli, cpu_secs, memory_mib, start_server_with};

const STREAMS: usize = 1000;
const CHANGES: usize = 200;

/// What a page does when its stream hears a change: fetch itself again with its session.
#[derive(Clone)]
struct Page {
    client: Client,
    url: String,
    cookie: String,
}

impl Page {
    /// The page again, as a browser's cache asks for it; its `ETag` for the next time.
    async fn refetch(&self, etag: Option<String>) -> Result<Option<String>> {
        let mut get = self.client.get(&self.url).header("cookie", &self.cookie);
        if let Some(tag) = &etag {
            get = get.header("if-none-match", tag);
        }
        let r = get.send().await?.error_for_status()?;
        let fresh = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
        r.bytes().await?;
        Ok(fresh.or(etag))
    }
}

/// Server CPU per change (ms) and RSS (MiB) with `n` streams open, each page fetched again on
/// each change when `page` is given.
async fn with_streams(
    client: &Client,
    url: &str,
    office: &str,
    police: &str,
    pid: u32,
    n: usize,
    page: Option<&Page>,
) -> Result<(f64, f64)> {
    let heard = Arc::new(AtomicUsize::new(0));
    // Woken by each frame a stream reads: waiting spins on nothing the server shares its cores with.
    let news = Arc::new(tokio::sync::Notify::new());
    let mut readers = Vec::new();
    for _ in 0..n {
        let mut events = client
            .get(format!("{url}/api/v1/events"))
            .bearer_auth(office)
            .send()
            .await?
            .error_for_status()?;
        let (heard, news, page) = (heard.clone(), news.clone(), page.cloned());
        readers.push(tokio::spawn(async move {
            let mut etag = None;
            while let Ok(Some(chunk)) = events.chunk().await {
                let messages = chunk.windows(5).filter(|w| w == b"data:").count();
                if let Some(page) = &page
                    && messages > 0
                {
                    etag = page.refetch(etag).await?;
                }
                heard.fetch_add(messages, Ordering::SeqCst);
                news.notify_one();
            }
            anyhow::Ok(())
        }));
    }
    let rss = memory_mib(pid, "VmRSS:");
    let heartbeat =
        serde_json::json!({"version": "bench", "host": "bench", "watch_mode": "native", "pending": 0});
    let cpu = cpu_secs(pid);
    for k in 1..=CHANGES {
        client
            .post(format!("{url}/api/v1/heartbeat"))
            .bearer_auth(police)
            .json(&heartbeat)
            .send()
            .await?
            .error_for_status()?;
        let deadline = tokio::time::Instant::now() + Duration::from_mins(1);
        while heard.load(Ordering::SeqCst) < n * k {
            tokio::time::timeout_at(deadline, news.notified())
                .await
                .map_err(|_| anyhow::anyhow!("change {k} did not reach every stream"))?;
        }
    }
    let per_change = (cpu_secs(pid) - cpu) * 1000.0 / CHANGES as f64;
    for reader in readers {
        reader.abort();
    }
    Ok((per_change, rss))
}

/// A server in `scratch/name` that takes `STREAMS` streams of one token and reads nothing (a
/// reading's announcement would be a change of its own), and a client holding one connection
/// per stream, as a thousand browsers would.
fn serve(bin: &Path, scratch: &Path, name: &str) -> Result<(Server, Client)> {
    let data = scratch.join(name);
    std::fs::create_dir_all(&data)?;
    let config = scratch.join(format!("{name}.toml"));
    std::fs::write(&config, format!("max_event_streams = {}\n[reading]\nenabled = false\n", STREAMS + 1))?;
    let config = config.to_str().context("config path")?.to_string();
    let (process, url, police, office) = start_server_with(bin, &data, &["--config", &config])?;
    let client = Client::builder().pool_max_idle_per_host(0).build()?;
    Ok((Server { process, data, url, police, office }, client))
}

struct Server {
    process: Proc,
    data: PathBuf,
    url: String,
    police: String,
    office: String,
}

pub async fn streams(bin: &Path, scratch: &Path, t: &mut Table) -> Result<()> {
    let (server, client) = serve(bin, scratch, "streams")?;
    let Server { process, url, police, office, .. } = &server;
    let pid = process.0.id();
    let (one_cpu, one_rss) = with_streams(&client, url, office, police, pid, 1, None).await?;
    let (many_cpu, many_rss) = with_streams(&client, url, office, police, pid, STREAMS, None).await?;
    t.row(
        &format!("server CPU per change, {STREAMS} event streams (ms)"),
        format!("{many_cpu:.2}"),
        format!("{one_cpu:.2}"),
        format!(
            "{:.1}× one stream (bar ≤ 2×); {CHANGES} heartbeats, each heard by every stream",
            many_cpu / one_cpu
        ),
    );
    t.row(
        "memory per open event stream (KiB)",
        format!("{:.1}", (many_rss - one_rss) * 1024.0 / (STREAMS - 1) as f64),
        "-".into(),
        format!("bar ≤ 64 KiB; RSS {one_rss:.0} MiB with one stream, {many_rss:.0} MiB with {STREAMS}"),
    );
    drop(server);
    dashboards(bin, scratch, t).await
}

/// The same heartbeats with every stream's page fetching itself again, as `live.js` does: the
/// office's overview of a city (three files for every item of every department).
async fn dashboards(bin: &Path, scratch: &Path, t: &mut Table) -> Result<()> {
    let (server, client) = serve(bin, scratch, "dashboards")?;
    let Server { process, data, url, police, office } = &server;
    let pid = process.0.id();
    let catalogue = yingjian_shared::Catalogue::builtin();
    let mut files = 0;
    for d in &catalogue.departments {
        let token = cli(bin, data, &["token", "create", "--dept", &d.id])?;
        for item in catalogue.items_for(&d.id) {
            for n in 1..=3 {
                let path = format!("{} x/文件{n}.pdf", item.code.padded());
                let bytes = format!("%PDF-1.4 {} {path}", d.id).into_bytes();
                yingjian_tests::deliver(&client, url, &token, &path, &bytes)
                    .await
                    .map_err(anyhow::Error::msg)?;
                files += 1;
            }
        }
    }
    let login = Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let session = login
        .post(format!("{url}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={office}"))
        .send()
        .await?;
    let cookie = session.headers().get("set-cookie").context("no session")?.to_str()?;
    // The pages' fetches share connections, as a browser's do.
    let page = Page {
        client: Client::new(),
        url: format!("{url}/overview"),
        cookie: cookie.split(';').next().unwrap_or_default().to_string(),
    };
    let (one, _) = with_streams(&client, url, office, police, pid, 1, Some(&page)).await?;
    let (many, _) = with_streams(&client, url, office, police, pid, STREAMS, Some(&page)).await?;
    t.row(
        &format!("server CPU per change, {STREAMS} overview pages refreshing themselves (ms)"),
        format!("{many:.2}"),
        format!("{one:.2}"),
        format!(
            "{:.1}× one page; {CHANGES} heartbeats, the overview of {files} files fetched again after each",
            many / one
        ),
    );
    Ok(())
}
