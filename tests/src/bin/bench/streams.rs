//! `BENCH_ONLY=streams` (also in the whole run): what open live-event streams cost the server
//! per change — 1,000 dashboards in the last week — against one stream, in the same run: server
//! CPU per change and memory per open stream. A change is a department's heartbeat that says
//! something new (a scan waiting, then sent); every stream must have received it before the next
//! is sent. A heartbeat that repeats the last, the most frequent request (each agent's, every
//! minute), wakes no stream: what it costs with the streams open is measured too. Then the same with
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
/// Changes sent one after the other, each as soon as every stream heard the last.
const CHANGES: usize = 200;
/// Changes sent one a second, as in the last week: what the streams cost meanwhile is counted
/// too (their keep-alives, the server asking once a second which tokens were revoked).
const PACED: usize = 60;

/// How changes follow each other.
#[derive(Clone, Copy, PartialEq)]
enum Pace {
    /// As fast as every stream hears them: the fan-out alone.
    Flat,
    /// One a second.
    OneASecond,
}

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

/// A department's heartbeat: `pending` files waiting on its PC.
fn heartbeat(pending: usize) -> serde_json::Value {
    serde_json::json!({"version": "bench", "host": "bench", "watch_mode": "native", "pending": pending})
}

/// What the streams cost per change: server CPU (ms) per change heard by every stream, per
/// heartbeat that repeats the last (heard by none; measured without pace), and RSS (MiB).
struct Costs {
    change: f64,
    repeated: Option<f64>,
    rss: f64,
}

/// What `n` open streams cost, each page fetched again on each change when `page` is given.
async fn with_streams(
    server: &Server,
    client: &Client,
    n: usize,
    page: Option<&Page>,
    rhythm: Pace,
) -> Result<Costs> {
    let Server { process, url, police, office, .. } = server;
    let pid = process.0.id();
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
    let beat = |pending| {
        client.post(format!("{url}/api/v1/heartbeat")).bearer_auth(police).json(&heartbeat(pending)).send()
    };
    let changes = if rhythm == Pace::Flat { CHANGES } else { PACED };
    let mut second = tokio::time::interval(Duration::from_secs(1));
    let cpu = cpu_secs(pid);
    for k in 1..=changes {
        if rhythm == Pace::OneASecond {
            second.tick().await;
        }
        beat(k % 2).await?.error_for_status()?;
        let deadline = tokio::time::Instant::now() + Duration::from_mins(1);
        while heard.load(Ordering::SeqCst) < n * k {
            tokio::time::timeout_at(deadline, news.notified())
                .await
                .map_err(|_| anyhow::anyhow!("change {k} did not reach every stream"))?;
        }
    }
    let change = (cpu_secs(pid) - cpu) * 1000.0 / changes as f64;
    let mut repeated = None;
    if rhythm == Pace::Flat {
        let cpu = cpu_secs(pid);
        for _ in 0..CHANGES {
            beat(changes % 2).await?.error_for_status()?;
        }
        repeated = Some((cpu_secs(pid) - cpu) * 1000.0 / CHANGES as f64);
    }
    // Every stream heard every change, and nothing of the repeated heartbeats.
    anyhow::ensure!(heard.load(Ordering::SeqCst) == n * changes, "a repeated heartbeat reached a stream");
    for reader in readers {
        reader.abort();
    }
    Ok(Costs { change, repeated, rss })
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
    let one = with_streams(&server, &client, 1, None, Pace::Flat).await?;
    let many = with_streams(&server, &client, STREAMS, None, Pace::Flat).await?;
    t.row(
        &format!("server CPU per change, {STREAMS} event streams (ms)"),
        format!("{:.2}", many.change),
        format!("{:.2}", one.change),
        format!(
            "{:.1}× one stream (bar ≤ 2×); {CHANGES} heartbeats saying something new, each heard by every stream",
            many.change / one.change
        ),
    );
    let (one_paced, many_paced) = (
        with_streams(&server, &client, 1, None, Pace::OneASecond).await?.change,
        with_streams(&server, &client, STREAMS, None, Pace::OneASecond).await?.change,
    );
    t.row(
        "the same at one change a second (ms per change)",
        format!("{many_paced:.2}"),
        format!("{one_paced:.2}"),
        format!(
            "{:.1}× one stream; {PACED} s, what the streams cost between changes counted too",
            many_paced / one_paced
        ),
    );
    let (one_repeated, many_repeated) = (one.repeated.unwrap_or(f64::NAN), many.repeated.unwrap_or(f64::NAN));
    t.row(
        &format!("server CPU per repeated heartbeat, {STREAMS} event streams (ms)"),
        format!("{many_repeated:.2}"),
        format!("{one_repeated:.2}"),
        format!(
            "{:.1}× one stream; {CHANGES} heartbeats repeating the last: no stream woken",
            many_repeated / one_repeated
        ),
    );
    t.row(
        "memory per open event stream (KiB)",
        format!("{:.1}", (many.rss - one.rss) * 1024.0 / (STREAMS - 1) as f64),
        "-".into(),
        format!("bar ≤ 64 KiB; RSS {:.0} MiB with one stream, {:.0} MiB with {STREAMS}", one.rss, many.rss),
    );
    drop(server);
    dashboards(bin, scratch, t).await
}

/// The same changes with every stream's page fetching itself again, as `live.js` does: the
/// office's overview of a city (three files for every item of every department).
async fn dashboards(bin: &Path, scratch: &Path, t: &mut Table) -> Result<()> {
    let (server, client) = serve(bin, scratch, "dashboards")?;
    let Server { data, url, office, .. } = &server;
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
    let one = with_streams(&server, &client, 1, Some(&page), Pace::Flat).await?.change;
    let many = with_streams(&server, &client, STREAMS, Some(&page), Pace::Flat).await?.change;
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
