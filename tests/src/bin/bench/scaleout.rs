//! `BENCH_ONLY=scaleout`: the release aggregator on PostgreSQL + Garage (both started here, as
//! the tests start them) beside the same on SQLite + a folder: ingest of 200 × 5 MiB through one
//! and through two instances, and `GET /api/v1/status` with `BENCH_RECORDS` records (default
//! 100,000) and ten times as many on each.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::StreamExt;
use reqwest::Client;
use yingjian_tests::garage::Garage;
use yingjian_tests::postgres::Postgres;

use super::{Proc, Table, cli, env_num};

/// A server on `data` (with `config`, if any): the process, its URL.
fn serve(bin: &Path, data: &Path, config: Option<&Path>) -> Result<(Proc, String)> {
    let mut command = Command::new(bin.join("yingjian-aggregator"));
    command.args(["serve", "--listen", "127.0.0.1:0", "--data"]).arg(data);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let url = line.trim().rsplit(' ').next().context("address")?.to_string();
    Ok((Proc(child), url))
}

fn token(bin: &Path, data: &Path, config: Option<&Path>, who: &[&str]) -> Result<String> {
    let mut args = vec!["token", "create"];
    args.extend_from_slice(who);
    let config = config.map(|c| c.display().to_string());
    if let Some(c) = &config {
        args.extend(["--config", c]);
    }
    cli(bin, data, &args)
}

/// 200 distinct 5 MiB files delivered 8 at a time, spread over `urls`: seconds.
async fn ingest(client: &Client, urls: &[String], token: &str, seed: u64) -> Result<Duration> {
    let t0 = Instant::now();
    futures_util::stream::iter(0..200u64)
        .map(|i| {
            let (client, url) = (client.clone(), urls[(i as usize) % urls.len()].clone());
            async move {
                let mut state = seed * 1000 + i + 1;
                let mut bytes = b"%PDF-1.4\n".to_vec();
                bytes.extend((0..(5 << 20) / 8).flat_map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()
                }));
                let path = format!("08.03 x/批量{seed}-{i:03}.pdf");
                yingjian_tests::deliver(&client, &url, token, &path, &bytes).await.map_err(anyhow::Error::msg)
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<()>>>()?;
    Ok(t0.elapsed())
}

/// Copies of the one record the department has, each with a path and a blob row of its own,
/// numbered `from..=to` (`?1`, `?2`), the fake hashes being the numbers in hex: a million
/// delivered over HTTP would take most of an hour here. `{n}` is the numbers, `{hex}` the hash.
const FILL: &str = "
    INSERT INTO blobs (sha256, size, magic, stored, pages, doc_date, examined, printed_pages)
        SELECT {hex}, b.size, b.magic, b.stored, b.pages, b.doc_date, b.examined, b.printed_pages
        FROM {n}, (SELECT b.* FROM blobs b JOIN evidence e ON e.sha256 = b.sha256
                   ORDER BY e.id LIMIT 1) b;
    INSERT INTO evidence (department, agent, path, sha256, size, modified, caption, placement,
                          item, kind, problem, received)
        SELECT e.department, e.agent, '08.03 x/文件' || i || '.pdf', {hex}, e.size, e.modified,
               e.caption, e.placement, e.item, e.kind, e.problem, e.received
        FROM {n}, (SELECT * FROM evidence ORDER BY id LIMIT 1) e;";

/// Fills the records of one engine up to a count.
enum Filler<'a> {
    Sqlite(rusqlite::Connection),
    Postgres(&'a Postgres),
}

impl Filler<'_> {
    fn fill(&mut self, from: u64, to: u64) -> Result<()> {
        match self {
            Filler::Sqlite(conn) => {
                let numbers = format!(
                    "(WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {to}) SELECT i FROM n)"
                );
                let sql = FILL.replace("{n}", &numbers).replace("{hex}", "printf('%064x', i)");
                conn.execute_batch(&format!("BEGIN; {sql} COMMIT;"))?;
            }
            Filler::Postgres(pg) => {
                let numbers = format!("generate_series({from}, {to}) AS n(i)");
                let sql = FILL.replace("{n}", &numbers).replace("{hex}", "lpad(to_hex(i), 64, '0')");
                // ANALYZE: the planner's statistics as autovacuum keeps them in a running
                // deployment, not those of an empty table just filled.
                pg.sql(&format!("BEGIN; {sql} COMMIT; ANALYZE;"));
            }
        }
        Ok(())
    }
}

/// `GET /api/v1/status` read afresh (a heartbeat before each makes the server read the database
/// again) with the police holding `records` records, for each count: median of 11, ms. One
/// record is delivered, the rest copied by `filler`.
async fn status_ms(
    client: &Client,
    url: &str,
    police: &str,
    office: &str,
    filler: &mut Filler<'_>,
    counts: &[u64],
) -> Result<Vec<f64>> {
    let bytes = b"%PDF-1.4 record 0".to_vec();
    yingjian_tests::deliver(client, url, police, "08.03 x/文件0.pdf", &bytes)
        .await
        .map_err(anyhow::Error::msg)?;
    let heartbeat =
        serde_json::json!({"version": "bench", "host": "bench", "watch_mode": "native", "pending": 0});
    let (mut held, mut out) = (1, Vec::new());
    for &records in counts {
        filler.fill(held, records - 1)?;
        held = records;
        let mut times = Vec::new();
        for _ in 0..11 {
            client
                .post(format!("{url}/api/v1/heartbeat"))
                .bearer_auth(police)
                .json(&heartbeat)
                .send()
                .await?;
            let t0 = Instant::now();
            let r = client.get(format!("{url}/api/v1/status")).bearer_auth(office).send().await?;
            let body = r.error_for_status()?.bytes().await?;
            times.push(t0.elapsed());
            anyhow::ensure!(body.len() > 1000, "a status document");
        }
        times.sort();
        out.push(times[5].as_secs_f64() * 1000.0);
    }
    Ok(out)
}

pub async fn scaleout(bin: &Path, scratch: &Path, t: &mut Table) -> Result<()> {
    let (Some(pg), Some(garage)) = (Postgres::start(), Garage::start()) else {
        t.row("scale-out rows", "skipped".into(), "-".into(), "needs PostgreSQL 15 and garage".into());
        return Ok(());
    };
    let client = Client::new();
    let records = env_num("BENCH_RECORDS", 100_000);
    let config = scratch.join("scaleout.toml");
    std::fs::write(&config, format!("[database]\nurl = {:?}\n{}", pg.url(), garage.config_toml()))?;

    // One machine, for the comparison.
    let local = scratch.join("local");
    let local_police = token(bin, &local, None, &["--dept", "police"])?;
    let (local_server, local_url) = serve(bin, &local, None)?;
    let on_sqlite = ingest(&client, std::slice::from_ref(&local_url), &local_police, 1).await?;

    let (a_data, b_data) = (scratch.join("a"), scratch.join("b"));
    let police = token(bin, &a_data, Some(&config), &["--dept", "police"])?;
    let (a, a_url) = serve(bin, &a_data, Some(&config))?;
    let (b, b_url) = serve(bin, &b_data, Some(&config))?;
    let one = ingest(&client, std::slice::from_ref(&a_url), &police, 2).await?;
    let two = ingest(&client, &[a_url.clone(), b_url.clone()], &police, 3).await?;
    t.row(
        "200 × 5 MiB ingested, PostgreSQL + Garage (s)",
        format!("{:.2} / {:.2}", one.as_secs_f64(), two.as_secs_f64()),
        format!("{:.2}", on_sqlite.as_secs_f64()),
        "one instance / two instances; anchor: one instance on SQLite + folder; 8 uploads at a time, all on this machine".into(),
    );

    // Fresh servers for the status: records of the ingest above are not part of the count.
    drop((a, b, local_server));
    let counts: Vec<u64> = [records, records * 10].into();
    let (pg_status, sqlite_status) = (scratch.join("pg-status"), scratch.join("sqlite-status"));
    let pg_db = Postgres::start().context("a second PostgreSQL")?;
    std::fs::write(&config, format!("[database]\nurl = {:?}\n{}", pg_db.url(), garage.config_toml()))?;
    let police = token(bin, &pg_status, Some(&config), &["--dept", "police"])?;
    let office = token(bin, &pg_status, Some(&config), &["--office"])?;
    let (_pg_server, pg_url) = serve(bin, &pg_status, Some(&config))?;
    let pg_ms = status_ms(&client, &pg_url, &police, &office, &mut Filler::Postgres(&pg_db), &counts).await?;
    let local_police = token(bin, &sqlite_status, None, &["--dept", "police"])?;
    let local_office = token(bin, &sqlite_status, None, &["--office"])?;
    let (_sqlite_server, sqlite_url) = serve(bin, &sqlite_status, None)?;
    let conn = rusqlite::Connection::open(sqlite_status.join("yingjian.sqlite3"))?;
    conn.busy_timeout(Duration::from_mins(2))?;
    let sqlite_ms =
        status_ms(&client, &sqlite_url, &local_police, &local_office, &mut Filler::Sqlite(conn), &counts)
            .await?;
    for ((records, pg_ms), sqlite_ms) in counts.iter().zip(pg_ms).zip(sqlite_ms) {
        t.row(
            &format!("GET /api/v1/status, {records} records, PostgreSQL (ms)"),
            format!("{pg_ms:.1}"),
            format!("{sqlite_ms:.1}"),
            "read afresh, median of 11; anchor: the same on SQLite; records copied by SQL".into(),
        );
    }
    Ok(())
}
