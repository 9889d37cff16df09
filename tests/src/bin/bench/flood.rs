//! `BENCH_ONLY=flood` (also in the whole run): what a hostile client costs a fresh server.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use reqwest::Client;

use super::{Table, peak_rss_mib, rss_mib, start_server};

/// What a hostile client costs a fresh server (docs/api.md, *Limits*): 500 connections that trickle
/// header bytes, and a subscriber to the live events that never reads while a department sends
/// heartbeats with the longest host name allowed. Reports the memory held and how requests from
/// everyone else fare meanwhile.
pub async fn flood(bin: &Path, scratch: &Path, t: &mut Table) -> Result<()> {
    const SLOW: usize = 500;
    const HEARTBEATS: usize = 5000;
    let data = scratch.join("flood");
    let (server, url, police, office) = start_server(bin, &data)?;
    let pid = server.0.id();
    let addr = url.trim_start_matches("http://").to_string();
    let client = Client::new();
    let healthz = |n: usize| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let mut took = Vec::new();
            for _ in 0..n {
                let t0 = Instant::now();
                client.get(format!("{url}/healthz")).send().await?.error_for_status()?;
                took.push(t0.elapsed());
            }
            took.sort();
            anyhow::Ok(took[n / 2])
        }
    };
    let quiet = healthz(200).await?;
    let idle_rss = rss_mib(pid);

    // The non-reading subscriber: asks for the stream, then never reads a byte.
    let mut subscriber = tokio::net::TcpStream::connect(&addr).await?;
    tokio::io::AsyncWriteExt::write_all(
        &mut subscriber,
        format!("GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {office}\r\n\r\n")
            .as_bytes(),
    )
    .await?;
    // The slow-loris: each connection sends a header byte every second and never finishes.
    let stop = tokio_util::sync::CancellationToken::new();
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        let (addr, stop) = (addr.clone(), stop.clone());
        slow.push(tokio::spawn(async move {
            let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else { return 0u32 };
            let mut reconnects = 0;
            let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            let mut i = 0;
            loop {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = stop.cancelled() => return reconnects,
                }
                if tokio::io::AsyncWriteExt::write_all(&mut s, &head[i % head.len()..][..1]).await.is_err() {
                    // Cut off by the header timeout: come back, as an attacker would.
                    reconnects += 1;
                    let Ok(again) = tokio::net::TcpStream::connect(&addr).await else { return reconnects };
                    s = again;
                }
                i += 1;
            }
        }));
    }
    let host = "主".repeat(yingjian_shared::limits::HOST_CHARS);
    let heartbeat =
        serde_json::json!({"version": "bench", "host": host, "watch_mode": "native", "pending": 0});
    let started = Instant::now();
    for _ in 0..HEARTBEATS {
        client.post(format!("{url}/api/v1/heartbeat")).bearer_auth(&police).json(&heartbeat).send().await?;
    }
    let beats = started.elapsed();
    let flooded = healthz(200).await?;
    let flooded_rss = rss_mib(pid);
    // Long enough for the header timeout (20 s) to have cut every slow connection at least once.
    tokio::time::sleep(Duration::from_secs(25).saturating_sub(started.elapsed())).await;
    stop.cancel();
    let mut cut = 0;
    for task in slow {
        cut += u32::from(task.await? > 0);
    }
    let peak = peak_rss_mib(pid);
    t.row(
        &format!("{SLOW} slow connections + a non-reading subscriber: RSS (MiB)"),
        format!("{flooded_rss:.1}"),
        format!("{idle_rss:.1}"),
        format!(
            "idle server beside it; peak {peak:.1} MiB after {HEARTBEATS} heartbeats of the longest host"
        ),
    );
    t.row(
        "GET /healthz during that flood (ms, median)",
        format!("{:.2}", flooded.as_secs_f64() * 1000.0),
        format!("{:.2}", quiet.as_secs_f64() * 1000.0),
        format!(
            "quiet server beside it; {cut} of {SLOW} slow connections cut by the header timeout; heartbeats at {:.0}/s",
            HEARTBEATS as f64 / beats.as_secs_f64()
        ),
    );
    drop(subscriber);
    drop(server);
    Ok(())
}
