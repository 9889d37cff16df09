//! Benchmarks of the real release binaries on this machine, printed as a table with the anchors
//! (`openssl dgst -sha256`) beside them. Run through `bench/run.sh`; never part of the tests.
//!
//! Environment: `BENCH_MIB` (size of the big file, default 1024), `BENCH_RECORDS` (records for
//! the status query, default 100000), `BENCH_FILES` (files for the restart, default 10000),
//! `BENCH_ONLY=flood` (only the hostile-client rows), `BENCH_ONLY=netem` (only the slow-link
//! rows of `netem`, which the whole run leaves out: root only, several minutes),
//! `BENCH_ONLY=scaleout` (PostgreSQL + Garage beside SQLite + a folder: `scaleout`, also at the
//! end of the whole run when both are installed), `BENCH_ONLY=streams` (1,000 open event
//! streams against one, then 1,000 overviews refreshing themselves: `streams`, also in the
//! whole run), `BENCH_ONLY=reading` (the reader on
//! the project's own corpus beside tesseract and RapidOCR: `reading`, which the whole run leaves
//! out: it needs LibreOffice and poppler, and takes minutes), `BENCH_ONLY=hostile` (the hostile
//! files of the second red team beside a clean set: `hostile`, also in the whole run),
//! `BENCH_ONLY=paper` (the 纸质版 and the bundle of real 300-dpi scans beside qpdf and tar:
//! `paper`, also at the end of the whole run when LibreOffice, poppler and qpdf are there).

mod flood;
mod hostile;
mod netem;
mod paper;
mod reading;
mod scaleout;
mod streams;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use reqwest::Client;
use yingjian_tests::{Rng, write_random};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The best time of `runs`, each started with nothing from before left to flush (`sync`, untimed).
fn best_of<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        Command::new("sync").status()?;
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed());
    }
    Ok(best)
}

fn median(runs: &mut [Duration]) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// "min–max s" of sorted runs.
fn spread(sorted: &[Duration]) -> String {
    let (first, last) = (sorted[0], sorted[sorted.len() - 1]);
    format!("{:.2}–{:.2} s", first.as_secs_f64(), last.as_secs_f64())
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Peak resident memory of a process, in MiB (VmHWM).
fn peak_rss_mib(pid: u32) -> f64 {
    memory_mib(pid, "VmHWM:")
}

/// A process and every process under it, as `/proc` lists their children now.
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut next = 0;
    while let Some(&p) = out.get(next) {
        next += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else { continue };
        for task in tasks.flatten() {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            out.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
    }
    out
}

/// Current resident memory of a process, in MiB (VmRSS).
fn rss_mib(pid: u32) -> f64 {
    memory_mib(pid, "VmRSS:")
}

/// A `/proc/<pid>/status` memory line, in MiB.
fn memory_mib(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server's live events (`GET /api/v1/events`), read to learn when files are recorded.
/// Polling the evidence list instead would cost the measured server, on the same two cores,
/// a noticeable share of what is measured. Subscribed before a drop, so nothing is missed.
struct Arrivals {
    events: reqwest::Response,
    pending: Vec<u8>,
}

impl Arrivals {
    async fn subscribe(client: &Client, url: &str, token: &str) -> Result<Arrivals> {
        let events =
            client.get(format!("{url}/api/v1/events")).bearer_auth(token).send().await?.error_for_status()?;
        Ok(Arrivals { events, pending: Vec::new() })
    }

    /// Waits until `n` different files whose path contains `name` have been recorded.
    async fn wait(&mut self, name: &str, n: usize) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        let deadline = tokio::time::Instant::now() + Duration::from_mins(10);
        while seen.len() < n {
            let chunk = tokio::time::timeout_at(deadline, self.events.chunk())
                .await
                .with_context(|| format!("{name}: {} of {n} arrived", seen.len()))??
                .context("the event stream ended")?;
            self.pending.extend_from_slice(&chunk);
            while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                if line.starts_with("event: resync") {
                    bail!("the bench read the server's events too slowly and missed some: run it again");
                }
                if let Some(data) = line.strip_prefix("data: ")
                    && let Ok(event) = serde_json::from_str::<yingjian_shared::Event>(data.trim())
                    && event.kind == yingjian_shared::EventKind::Evidence
                    && let Some(path) = event.path
                    && path.as_str().contains(name)
                {
                    seen.insert(path);
                }
            }
        }
        Ok(())
    }
}

struct Table(Vec<[String; 4]>);

impl Table {
    fn row(&mut self, what: &str, ours: String, anchor: String, note: String) {
        println!("{what:<48} {ours:>16} {anchor:>16}  {note}");
        self.0.push([what.into(), ours, anchor, note]);
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bin = std::env::current_exe()?.parent().context("bench binary has a folder")?.to_path_buf();
    let scratch = tempfile::tempdir()?;
    let mib = env_num("BENCH_MIB", 1024);
    let big_bytes = mib << 20;
    let mut t = Table(Vec::new());
    println!("{:<48} {:>16} {:>16}  ratio / note", "measure", "yingjian", "anchor");
    match std::env::var("BENCH_ONLY").as_deref() {
        Ok("flood") => return flood::flood(&bin, scratch.path(), &mut t).await,
        Ok("netem") => return netem::netem(&bin, scratch.path(), &mut t).await,
        Ok("scaleout") => return scaleout::scaleout(&bin, scratch.path(), &mut t).await,
        Ok("streams") => return streams::streams(&bin, scratch.path(), &mut t).await,
        Ok("reading") => return reading::reading(scratch.path(), &mut t),
        Ok("hostile") => return hostile::hostile_rows(&bin, scratch.path(), &mut t).await,
        Ok("paper") => return paper::paper(&bin, scratch.path(), &mut t).await,
        _ => {}
    }

    // 1. Hashing.
    let big = scratch.path().join("big.bin");
    write_random(&big, mib << 20, &mut Rng::seeded(1))?;
    let openssl = best_of(3, || {
        let out = Command::new("openssl").args(["dgst", "-sha256"]).arg(&big).output()?;
        if !out.status.success() {
            bail!("openssl failed");
        }
        Ok(())
    });
    let ours = best_of(3, || Ok(yingjian_shared::sha256_reader(std::fs::File::open(&big)?)?))?;
    // What this disk allows: a stored upload is synced, so it cannot beat a synced copy.
    let copy = scratch.path().join("copy.bin");
    let dd = best_of(2, || {
        Ok(Command::new("dd")
            .arg(format!("if={}", big.display()))
            .arg(format!("of={}", copy.display()))
            .args(["bs=1M", "conv=fdatasync", "status=none"])
            .status()?)
    })?;
    std::fs::remove_file(&copy)?;
    let anchor_mbps = openssl.as_ref().map_or(f64::NAN, |d| mbps(big_bytes, *d));
    t.row(
        &format!("hash {mib} MiB (MB/s)"),
        format!("{:.0}", mbps(big_bytes, ours)),
        format!("{anchor_mbps:.0}"),
        format!("{:.0}% of openssl dgst (bar: 90%)", 100.0 * mbps(big_bytes, ours) / anchor_mbps),
    );

    // 2. The aggregator as a process.
    let data = scratch.path().join("data");
    let (server, url, police, office) = start_server(&bin, &data)?;
    let client = Client::new();

    let upload = |url: &str, path: PathBuf, token: String| {
        let (client, url) = (client.clone(), url.to_string());
        async move {
            let sha = yingjian_shared::sha256_reader(std::fs::File::open(&path)?)?.0;
            let size = std::fs::metadata(&path)?.len();
            let file = tokio::fs::File::open(&path).await?;
            let body =
                reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024));
            let t0 = Instant::now();
            let r = client
                .put(format!("{url}/api/v1/blobs/{sha}"))
                .bearer_auth(token)
                .header("content-length", size)
                .body(body)
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("upload: {}", r.status());
            }
            anyhow::Ok(t0.elapsed())
        }
    };
    // Three different files (content already stored would cost nothing), each after a `sync`
    // so that no earlier write is still being flushed to the disk under the measurement.
    let mut others = Vec::new();
    for seed in 2..8 {
        let p = scratch.path().join(format!("big{seed}.bin"));
        write_random(&p, mib << 20, &mut Rng::seeded(seed))?;
        others.push(p);
    }
    // The same three files, through the page cache and past it (`direct_io`), on two servers in
    // this run: the switch is kept only while this row shows what it gains.
    let cached_data = scratch.path().join("cached");
    std::fs::create_dir_all(&cached_data)?;
    let cached_config = scratch.path().join("cached.toml");
    std::fs::write(&cached_config, "direct_io = false\n")?;
    let (cached_server, cached_url, cached_police, _) =
        start_server_with(&bin, &cached_data, &["--config", &cached_config.to_string_lossy()])?;
    let measure = async |url: &str, pid: u32, token: &str| -> Result<(f64, f64, f64)> {
        let (mut took, cpu_before) = (Vec::new(), cpu_secs(pid));
        for p in std::iter::once(&big).chain(&others[..2]) {
            Command::new("sync").status()?;
            took.push(mbps(big_bytes, upload(url, p.clone(), token.to_string()).await?));
        }
        let cpu_per_gib = (cpu_secs(pid) - cpu_before) / 3.0 / (big_bytes as f64 / f64::from(1 << 30));
        let (best, worst) = took.iter().fold((0f64, f64::MAX), |(b, w), &x| (b.max(x), w.min(x)));
        Ok((best, worst, cpu_per_gib))
    };
    let (cached_best, cached_worst, cached_cpu) =
        measure(&cached_url, cached_server.0.id(), &cached_police).await?;
    let (best, worst, direct_cpu) = measure(&url, server.0.id(), &police).await?;
    drop(cached_server);
    std::fs::remove_dir_all(&cached_data)?;
    t.row(
        &format!("upload {mib} MiB over loopback (MB/s)"),
        format!("{best:.0}"),
        format!("{anchor_mbps:.0}"),
        format!(
            "{:.0}% of openssl dgst (bar: 60%); {:.0}% of dd conv=fdatasync ({:.0} MB/s); worst of 3: {worst:.0}",
            100.0 * best / anchor_mbps,
            100.0 * best / mbps(big_bytes, dd),
            mbps(big_bytes, dd)
        ),
    );
    let measured = others.drain(..2).collect::<Vec<_>>();
    let started = Instant::now();
    let all =
        futures_util::future::join_all(others.iter().map(|p| upload(&url, p.clone(), police.clone()))).await;
    for r in all {
        r?;
    }
    t.row(
        "the same, through the page cache (MB/s)",
        format!("{cached_best:.0}"),
        format!("{best:.0}"),
        format!(
            "direct_io = false beside the default; worst of 3: {cached_worst:.0}; server CPU {cached_cpu:.2} s/GiB against {direct_cpu:.2} s/GiB past the cache"
        ),
    );
    t.row(
        &format!("aggregator peak RSS, 4 × {mib} MiB at once (MiB)"),
        format!("{:.1}", peak_rss_mib(server.0.id())),
        "-".into(),
        format!("bar: 64 MiB; {:.1} s", started.elapsed().as_secs_f64()),
    );
    for p in others.into_iter().chain(measured) {
        std::fs::remove_file(p)?;
    }

    // 3. The agent as a process. The sections above have filled the page cache with ~15 GiB;
    // Syncthing's harness runs later, after this scratch folder is gone. To start both from the
    // same state, the cache is emptied here (root only; otherwise the run goes on as it is).
    Command::new("sync").status()?;
    if std::fs::write("/proc/sys/vm/drop_caches", "1").is_err() {
        println!("(page cache not emptied: needs root)");
    }
    let catalogue = yingjian_shared::Catalogue::builtin();
    let folder = scratch.path().join("evidence");
    yingjian_agent::init_folder(catalogue, catalogue.department("police").context("police")?, &folder)?;
    let item = folder.join("08.03 昆仑2021专项行动");
    let staging = scratch.path().join("staging");
    std::fs::create_dir_all(&staging)?;
    let state = scratch.path().join("agent-state");
    // Only a restart's log is read; an unread pipe would block the agent once it fills.
    let start_agent = |log: Stdio| -> Result<Proc> {
        Ok(Proc(
            Command::new(bin.join("yingjian-agent"))
                .args(["run", "--server", &url, "--folder"])
                .arg(&folder)
                .arg("--state")
                .arg(&state)
                .env("YINGJIAN_TOKEN", &police)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?,
        ))
    };
    let mut agent = start_agent(Stdio::null())?;
    let mut arrivals = Arrivals::subscribe(&client, &url, &police).await?;
    // Let the agent start watching: a first file makes sure.
    std::fs::write(item.join("warmup.pdf"), b"%PDF-1.4 warmup")?;
    arrivals.wait("warmup.pdf", 1).await?;

    write_random(&staging.join("renamed.pdf"), 1 << 20, &mut Rng::seeded(7))?;
    Command::new("sync").status()?;
    let t0 = Instant::now();
    std::fs::rename(staging.join("renamed.pdf"), item.join("renamed.pdf"))?;
    arrivals.wait("renamed.pdf", 1).await?;
    t.row(
        "1 MiB renamed in → on server (s)",
        format!("{:.3}", t0.elapsed().as_secs_f64()),
        "1.000".into(),
        "bar: 0.3 s; anchor: Syncthing at its most eager".into(),
    );
    let t0 = Instant::now();
    write_random(&item.join("written.pdf"), 1 << 20, &mut Rng::seeded(8))?;
    arrivals.wait("written.pdf", 1).await?;
    t.row(
        "1 MiB written in place → on server (s)",
        format!("{:.3}", t0.elapsed().as_secs_f64()),
        "-".into(),
        "bar: settle (2 s) + 0.3 s".into(),
    );

    // The batch and the big file are each dropped three times (new content every time) and the
    // median is reported, as Syncthing's harness reports the median of its runs.
    let mut batch_runs = Vec::new();
    for run in 0..3u64 {
        let batch = staging.join(format!("batch{run}"));
        std::fs::create_dir_all(&batch)?;
        for i in 0..200 {
            write_random(
                &batch.join(format!("批量{run}-{i:03}.pdf")),
                5 << 20,
                &mut Rng::seeded(1000 * (run + 1) + i),
            )?;
        }
        // As Syncthing's harness does: staged files on disk before the drop.
        Command::new("sync").status()?;
        let t0 = Instant::now();
        std::fs::rename(&batch, item.join(format!("batch{run}")))?;
        arrivals.wait(&format!("批量{run}-"), 200).await?;
        batch_runs.push(t0.elapsed());
    }
    t.row(
        "200 × 5 MiB dropped at once → all on server (s)",
        format!("{:.2}", median(&mut batch_runs).as_secs_f64()),
        "-".into(),
        format!("median of 3, {}; bar: half of Syncthing's (bench/syncthing_pair.sh)", spread(&batch_runs)),
    );

    // New content each time: the first big file is already on the server and would cost nothing.
    let mut big_runs = Vec::new();
    for run in 0..3u64 {
        let name = format!("大文件{run}.pdf");
        write_random(&staging.join(&name), mib << 20, &mut Rng::seeded(99 + run))?;
        Command::new("sync").status()?;
        let t0 = Instant::now();
        std::fs::rename(staging.join(&name), item.join(&name))?;
        arrivals.wait(&name, 1).await?;
        big_runs.push(t0.elapsed());
        if run < 2 {
            // Only one goes into the bundle below.
            std::fs::remove_file(item.join(&name))?;
        }
    }
    t.row(
        &format!("{mib} MiB renamed in → on server (s)"),
        format!("{:.2}", median(&mut big_runs).as_secs_f64()),
        "-".into(),
        format!("median of 3, {}; bar: half of Syncthing's", spread(&big_runs)),
    );
    t.row(
        "agent peak RSS (MiB)",
        format!("{:.1}", peak_rss_mib(agent.0.id())),
        "-".into(),
        "bar: 40 MiB".into(),
    );

    // 4. The bundle of what the agent delivered, against tar over the same files.
    let out = scratch.path().join("bundles");
    // Each of the three writers starts with nothing of the others' left to flush.
    let (bundle_time, bundle_rss, _) = timed_aggregator(&bin, "bundle", &data, &out)?;
    let tar_file = scratch.path().join("anchor.tar");
    let tar = best_of(1, || {
        Ok(Command::new("tar").arg("cf").arg(&tar_file).arg("-C").arg(&folder).arg(".").status()?)
    })?;
    std::fs::remove_file(&tar_file)?;
    let zip_file = scratch.path().join("anchor.zip");
    let zip = best_of(1, || {
        let status = Command::new("zip")
            .args(["-0", "-r", "-q"])
            .arg(&zip_file)
            .arg(".")
            .current_dir(&folder)
            .status()?;
        if !status.success() {
            bail!("zip failed (apt-get install zip)");
        }
        Ok(())
    });
    let _ = std::fs::remove_file(&zip_file);
    let zip_note = zip.as_ref().map_or_else(
        |e| format!("zip -0 -r: {e}"),
        |z| {
            format!(
                "zip -0 -r {:.2} s ({:.2}×)",
                z.as_secs_f64(),
                bundle_time.as_secs_f64() / z.as_secs_f64()
            )
        },
    );
    t.row(
        "bundle of everything delivered (s)",
        format!("{:.2}", bundle_time.as_secs_f64()),
        format!("{:.2}", tar.as_secs_f64()),
        format!(
            "{:.2}× tar cf (bar: 1.2×); {zip_note}; peak RSS {bundle_rss:.1} MiB (bar: 64)",
            bundle_time.as_secs_f64() / tar.as_secs_f64()
        ),
    );
    std::fs::remove_dir_all(&out)?;

    // 4b. The paper version of that state, with 100 real 40-page PDFs (a line of text on every
    // page) and 20 pictures added: pages drawn per second and the peak memory.
    for i in 0..100u32 {
        let path = format!("08.03 昆仑2021专项行动/文件/印证材料{i:03}.pdf");
        yingjian_tests::deliver(&client, &url, &police, &path, &text_pdf(i, 40))
            .await
            .map_err(anyhow::Error::msg)?;
    }
    for i in 0..20u32 {
        let path = format!("08.03 昆仑2021专项行动/图片/现场照片{i:02}.png");
        yingjian_tests::deliver(&client, &url, &police, &path, &picture(i)?)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    let print_out = scratch.path().join("print");
    let (print_time, print_rss, said) = timed_aggregator(&bin, "print", &data, &print_out)?;
    let pages: usize = said
        .lines()
        .filter_map(|l| l.split('\t').nth(1)?.strip_suffix(" pages")?.parse::<usize>().ok())
        .sum();
    t.row(
        &format!("纸质版, {pages} pages (pages/s)"),
        format!("{:.0}", pages as f64 / print_time.as_secs_f64()),
        "-".into(),
        format!(
            "{:.1} s for {} volumes (4000 PDF pages, 20 pictures, placeholders for the rest); peak RSS {print_rss:.1} MiB",
            print_time.as_secs_f64(),
            said.lines().count()
        ),
    );
    std::fs::remove_dir_all(&print_out)?;

    // 5. Restart over many unchanged files.
    let files = env_num("BENCH_FILES", 20_000);
    let many = item.join("many");
    std::fs::create_dir_all(&many)?;
    let written = Instant::now();
    for i in 0..files {
        std::fs::write(many.join(format!("f{i:05}.pdf")), format!("%PDF-1.4 many {i}"))?;
    }
    arrivals.wait("/many/", files as usize).await?;
    t.row(
        &format!("{files} small files written → all on server (s)"),
        format!("{:.1}", written.elapsed().as_secs_f64()),
        "-".into(),
        "from the first write; the writing itself included".into(),
    );
    drop(agent);
    agent = start_agent(Stdio::piped())?;
    let stderr = agent.0.stderr.take().context("stderr")?;
    let line = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("reconciled"))
        .context("no reconcile line")?;
    let field = |name: &str| {
        line.split_whitespace().find_map(|w| w.strip_prefix(&format!("{name}="))).unwrap_or("?").to_string()
    };
    t.row(
        &format!("restart over {} unchanged files (ms)", field("files")),
        field("elapsed_ms"),
        "-".into(),
        format!("bar: 2000 ms; files hashed again: {}", field("to_hash")),
    );
    // The agent left alone over those files: what it costs the clerk's PC while nothing changes.
    let idle = Duration::from_secs(10);
    let (wakes0, cpu0) = (wakeups(agent.0.id()), cpu_secs(agent.0.id()));
    std::thread::sleep(idle);
    let (wakes1, cpu1) = (wakeups(agent.0.id()), cpu_secs(agent.0.id()));
    t.row(
        &format!("agent idle over {} files (wake-ups/s)", field("files")),
        format!("{:.1}", (wakes1 - wakes0) as f64 / idle.as_secs_f64()),
        "-".into(),
        format!(
            "every thread's context switches over {} s; {:.2} % of a core",
            idle.as_secs(),
            100.0 * (cpu1 - cpu0) / idle.as_secs_f64()
        ),
    );
    // 6. Status with many records.
    let records = env_num("BENCH_RECORDS", 100_000);

    let mut tokens = Vec::new();
    for d in &catalogue.departments {
        let folder = catalogue.items_for(&d.id).find(|i| i.is_scored()).map(|i| i.code.padded());
        tokens.push((
            cli(&bin, &data, &["token", "create", "--dept", &d.id])?,
            folder.context("every department has an item")?,
        ));
    }
    let tokens = Arc::new(tokens);
    let fill = Instant::now();
    futures_util::stream::iter(0..records)
        .map(|i| {
            let (client, url, tokens) = (client.clone(), url.clone(), tokens.clone());
            async move {
                let (token, folder) = &tokens[(i % tokens.len() as u64) as usize];
                let bytes = format!("%PDF-1.4 record {i}").into_bytes();
                let path = format!("{folder} x/文件{i}.pdf");
                yingjian_tests::deliver(&client, &url, token, &path, &bytes)
                    .await
                    .map_err(anyhow::Error::msg)?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<()>>>()?;
    let fill = fill.elapsed();
    // Uncached: a heartbeat before each request makes the server read the database again.
    let heartbeat =
        serde_json::json!({"version": "bench", "host": "bench", "watch_mode": "native", "pending": 0});
    let mut fresh = Vec::new();
    let mut cached = Vec::new();
    for _ in 0..11 {
        client.post(format!("{url}/api/v1/heartbeat")).bearer_auth(&police).json(&heartbeat).send().await?;
        for times in [&mut fresh, &mut cached] {
            let t0 = Instant::now();
            client.get(format!("{url}/api/v1/status")).bearer_auth(&office).send().await?.bytes().await?;
            times.push(t0.elapsed());
        }
    }
    fresh.sort();
    cached.sort();
    t.row(
        &format!("GET /api/v1/status, {records} records (ms, median)"),
        format!("{:.1}", fresh[5].as_secs_f64() * 1000.0),
        "-".into(),
        format!(
            "bar: 50 ms; {:.1} ms unchanged since the last read; filled at {:.0} records/s",
            cached[5].as_secs_f64() * 1000.0,
            records as f64 / fill.as_secs_f64()
        ),
    );

    drop(agent);
    drop(server);
    flood::flood(&bin, scratch.path(), &mut t).await?;
    streams::streams(&bin, scratch.path(), &mut t).await?;
    hostile::hostile_rows(&bin, scratch.path(), &mut t).await?;
    if paper::tools().is_ok() {
        paper::paper(&bin, scratch.path(), &mut t).await?;
    }
    scaleout::scaleout(&bin, scratch.path(), &mut t).await?;
    Ok(())
}

/// `yingjian-aggregator <args> --data <data>`: its standard output, trimmed.
fn cli(bin: &Path, data: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(bin.join("yingjian-aggregator")).args(args).arg("--data").arg(data).output()?;
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// The release aggregator on `data` and a free loopback port, with a police and an office
/// token: the server, its URL and the two tokens.
fn start_server(bin: &Path, data: &Path) -> Result<(Proc, String, String, String)> {
    start_server_with(bin, data, &[])
}

/// `start_server` with more arguments for `serve` (a `--config`).
fn start_server_with(bin: &Path, data: &Path, serve: &[&str]) -> Result<(Proc, String, String, String)> {
    let police = cli(bin, data, &["token", "create", "--dept", "police"])?;
    let office = cli(bin, data, &["token", "create", "--office"])?;
    let mut child = Command::new(bin.join("yingjian-aggregator"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(serve)
        .arg("--data")
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let server = Proc(child);
    let url = line.trim().rsplit(' ').next().context("address")?.to_string();
    Ok((server, url, police, office))
}

/// Context switches of every thread of a process so far: how often it woke.
fn wakeups(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// CPU seconds a process has used, user and system (`/proc/<pid>/stat`, 100 ticks a second).
fn cpu_secs(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            Some((rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

/// Runs `yingjian-aggregator <command> --data DATA --out OUT` from a synced disk: how long it
/// took, its peak RSS and what it printed.
fn timed_aggregator(bin: &Path, command: &str, data: &Path, out: &Path) -> Result<(Duration, f64, String)> {
    Command::new("sync").status()?;
    let said = tempfile::NamedTempFile::new()?;
    let t0 = Instant::now();
    let mut child = Command::new(bin.join("yingjian-aggregator"))
        .args([command, "--data"])
        .arg(data)
        .arg("--out")
        .arg(out)
        .stdout(said.reopen()?)
        .stderr(Stdio::null())
        .spawn()?;
    let mut rss = 0.0f64;
    while child.try_wait()?.is_none() {
        // The process and what it runs (the worker, and the programs the worker runs): each
        // look reads a file per thread, so not so often that looking costs the measured a core.
        rss = descendants(child.id()).into_iter().map(peak_rss_mib).fold(rss, f64::max);
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok((t0.elapsed(), rss, std::fs::read_to_string(said.path())?))
}

/// A real PDF of `pages` pages with a line of text on each (lopdf writes it), distinct per `seed`.
fn text_pdf(seed: u32, pages: u32) -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font =
        doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let kids: Vec<Object> = (0..pages)
        .map(|i| {
            let text = format!("BT /F1 14 Tf 72 760 Td (Evidence {seed} page {i}) Tj ET");
            let content = doc.add_object(Stream::new(dictionary! {}, text.into_bytes()));
            let media: Vec<Object> = vec![0.into(), 0.into(), 595.into(), 842.into()];
            let resources = dictionary! { "Font" => dictionary! { "F1" => font } };
            let page = dictionary! { "Type" => "Page", "Parent" => pages_id, "MediaBox" => media, "Contents" => content, "Resources" => resources };
            doc.add_object(page).into()
        })
        .collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => i64::from(pages) }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("a PDF in memory");
    out
}

/// A photo-sized PNG (1600 × 1200), distinct per `seed`.
fn picture(seed: u32) -> Result<Vec<u8>> {
    let img = image::RgbImage::from_fn(1600, 1200, |x, y| {
        image::Rgb([(x + seed) as u8, (y ^ seed) as u8, (x ^ y) as u8])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}
