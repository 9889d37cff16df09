//! A slow, lossy link, made here in a network namespace (`ip netns`, veth, `tc netem`): a large
//! file cut three times on the way, sent by the agent (resumably), against `curl` sending bytes
//! of the same size uncut over the same link. `BENCH_ONLY=netem`; root only.
//!
//! `BENCH_NETEM_MIB` (default 300), `BENCH_NETEM` (the netem settings of each direction,
//! default `rate 20mbit delay 20ms loss 1%`: 40 ms round trip) and `BENCH_NETEM_CUTS` (default
//! 3, at most 3; 0 sends the agent's file uncut, as curl's) change the scenario: a county
//! office's line is `BENCH_NETEM_MIB=4 BENCH_NETEM='rate 200kbit delay 20ms' BENCH_NETEM_CUTS=0`. A kernel
//! without netem (`sch_netem`) gets the rate alone, shaped by `tbf`, and the table says so.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use yingjian_tests::netns::Link;
use yingjian_tests::{Rng, write_random};

use super::{Proc, Table, cli, env_num};

const PORT: u16 = 18080;

pub async fn netem(bin: &Path, scratch: &Path, t: &mut Table) -> Result<()> {
    let mib = env_num("BENCH_NETEM_MIB", 300);
    let size = mib << 20;
    let settings = std::env::var("BENCH_NETEM").unwrap_or_else(|_| "rate 20mbit delay 20ms loss 1%".into());
    let (link, shaping) =
        Link::create("bench", 213, &settings).context("a network namespace (root, iproute2)")?;
    println!("link: {shaping}");
    let data = scratch.join("netem-data");
    let police = cli(bin, &data, &["token", "create", "--dept", "police"])?;
    let market = cli(bin, &data, &["token", "create", "--dept", "market"])?;
    let _server = Proc(
        link.command(&bin.join("yingjian-aggregator"))
            .args(["serve", "--listen", &format!("{}:{PORT}", link.ns_ip()), "--data"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let direct = format!("http://{}:{PORT}", link.ns_ip());
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{direct}/healthz")).send().await.is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            bail!("the server in the namespace does not answer");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both go through the same relay, which is where the agent's connections are cut.
    let relay = yingjian_tests::Relay::start(SocketAddr::new(link.ns_ip().parse()?, PORT)).await;

    // curl, uncut: another department, so that the server reads every byte either way.
    let uncut = scratch.join("netem-uncut.bin");
    let cut = scratch.join("netem-cut.bin");
    write_random(&uncut, mib << 20, &mut Rng::seeded(11))?;
    write_random(&cut, mib << 20, &mut Rng::seeded(12))?;
    let sha = |p: &Path| -> Result<String> {
        Ok(yingjian_shared::sha256_reader(std::fs::File::open(p)?)?.0.to_string())
    };
    let before = link.sent();
    let t0 = Instant::now();
    let status = Command::new("curl")
        .args(["-sS", "-f", "-o", "/dev/null", "-H", &format!("Authorization: Bearer {market}"), "-T"])
        .arg(&uncut)
        .arg(format!("{}/api/v1/blobs/{}", relay.url(), sha(&uncut)?))
        .status()?;
    if !status.success() {
        bail!("curl failed");
    }
    let curl_secs = t0.elapsed().as_secs_f64();
    let curl_wire = link.sent() - before;

    // The agent, its connection cut as many times as asked.
    let catalogue = yingjian_shared::Catalogue::builtin();
    let folder = scratch.join("netem-evidence");
    yingjian_agent::init_folder(catalogue, catalogue.department("police").context("police")?, &folder)?;
    let config = scratch.join("netem-agent.toml");
    std::fs::write(
        &config,
        format!(
            "server = \"{}\"\ntoken = \"{police}\"\nfolder = '{}'\nstate = '{}'\nsettle_ms = 200\nheartbeat_secs = 5\n",
            relay.url(),
            folder.display(),
            scratch.join("netem-agent-state").display()
        ),
    )?;
    let _agent = Proc(
        Command::new(bin.join("yingjian-agent"))
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let expected = sha(&cut)?;
    let (relayed, before) = (relay.sent(), link.sent());
    let t0 = Instant::now();
    std::fs::rename(&cut, folder.join("08.03 昆仑2021专项行动/大卷扫描.pdf"))?;
    let cut_count = usize::try_from(env_num("BENCH_NETEM_CUTS", 3)).unwrap_or(3).min(3);
    // Cut at 30 %, 55 % and 80 % of the file (as many as asked), the next cut last.
    let mut cuts: Vec<f64> = [0.3, 0.55, 0.8].into_iter().take(cut_count).rev().collect();
    loop {
        if let Some(&at) = cuts.last()
            && (relay.sent() - relayed) as f64 >= at * size as f64
        {
            relay.cut();
            cuts.pop();
        }
        if cuts.is_empty() {
            let records: serde_json::Value = client
                .get(format!("{direct}/api/v1/evidence"))
                .bearer_auth(&police)
                .send()
                .await?
                .json()
                .await?;
            if records.as_array().is_some_and(|r| r.iter().any(|r| r["sha256"] == expected.as_str())) {
                break;
            }
        }
        if t0.elapsed() > Duration::from_secs(curl_secs as u64 * 3 + 120) {
            bail!("the agent's file did not arrive");
        }
        tokio::time::sleep(Duration::from_millis(if cuts.is_empty() { 500 } else { 20 })).await;
    }
    let agent_secs = t0.elapsed().as_secs_f64();
    let agent_wire = link.sent() - before;
    t.row(
        &format!("{mib} MiB over the slow link, curl uncut (s)"),
        "-".into(),
        format!("{curl_secs:.1}"),
        format!("{:.3}× the file on the wire", curl_wire as f64 / size as f64),
    );
    t.row(
        &format!("the same size by the agent, cut {cut_count} times (s)"),
        format!("{agent_secs:.1}"),
        format!("{curl_secs:.1}"),
        format!("{:.2}× curl's time (bar: 1.10)", agent_secs / curl_secs),
    );
    t.row(
        &format!("  on the wire, cut {cut_count} times (× the file)"),
        format!("{:.3}", agent_wire as f64 / size as f64),
        format!("{:.3}", curl_wire as f64 / size as f64),
        "bar: 1.10; restarting from byte 0 each time would be 1.8".into(),
    );
    Ok(())
}
