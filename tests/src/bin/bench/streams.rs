//! `BENCH_ONLY=streams` (also in the whole run): what open live-event streams cost the server
//! per change — 1,000 dashboards in the last week — against one stream, in the same run: server
//! CPU per change and memory per open stream. A change is a department's heartbeat, the most
//! frequent one; every stream must have received it before the next is sent.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::Client;

use super::{Table, cpu_secs, memory_mib, start_server_with};

const STREAMS: usize = 1000;
const CHANGES: usize = 200;

/// Server CPU per change (ms) and RSS (MiB) with `n` streams open.
async fn with_streams(
    client: &Client,
    url: &str,
    office: &str,
    police: &str,
    pid: u32,
    n: usize,
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
        let (heard, news) = (heard.clone(), news.clone());
        readers.push(tokio::spawn(async move {
            while let Ok(Some(chunk)) = events.chunk().await {
                let messages = chunk.windows(5).filter(|w| w == b"data:").count();
                heard.fetch_add(messages, Ordering::SeqCst);
                news.notify_one();
            }
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

pub async fn streams(bin: &Path, scratch: &Path, t: &mut Table) -> Result<()> {
    let data = scratch.join("streams");
    std::fs::create_dir_all(&data)?;
    let config = scratch.join("streams.toml");
    std::fs::write(&config, format!("max_event_streams = {}\n", STREAMS + 1))?;
    let config = config.to_str().context("config path")?.to_string();
    let (server, url, police, office) = start_server_with(bin, &data, &["--config", &config])?;
    let pid = server.0.id();
    // One connection per stream, as a thousand browsers would hold.
    let client = Client::builder().pool_max_idle_per_host(0).build()?;
    let (one_cpu, one_rss) = with_streams(&client, &url, &office, &police, pid, 1).await?;
    let (many_cpu, many_rss) = with_streams(&client, &url, &office, &police, pid, STREAMS).await?;
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
    Ok(())
}
