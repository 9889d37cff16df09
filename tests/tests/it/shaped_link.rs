//! The agent on a county office's line: real links shaped in network namespaces the test makes
//! (root, iproute2, `tc`), the real server behind each. A 4 MiB scan over 200 kbit/s takes about
//! three minutes, longer than the agent's stall interval: a long transfer is not a stalled one,
//! and it arrives whole, once. A 64 MiB file over 2 Mbit/s is cut on the way and goes on where it
//! was. Both at once, so the test costs the longer of the two.

use std::net::SocketAddr;
use std::time::Duration;

use yingjian_tests::netns::Link;
use yingjian_tests::{DeptAgent, Relay, Rng, ServerProcess, eventually_within, temp, write_random};

/// Ten times what the file needs on the link, and a few minutes for a loaded machine.
fn patience(bytes: u64, bits_per_sec: u64) -> Duration {
    Duration::from_secs(bytes * 8 / bits_per_sec * 2 + 240)
}

/// One department's agent sending one file of `mib` MiB to a server behind a link of `rate`;
/// the connection cut once at 40 % when `cut`. Answers the bytes that crossed the link towards
/// the server, over the file's size.
async fn send_over(name: &str, net: u8, rate_bits: u64, mib: usize, cut: bool) -> f64 {
    let dir = temp();
    let (link, shaping) = Link::create(name, net, &format!("rate {}kbit delay 20ms", rate_bits / 1000))
        .expect("a network namespace: the tests run as root with iproute2 (.ci/run installs it)");
    eprintln!("{name}: {shaping}");
    let data = dir.path().join("data");
    let token = ServerProcess::cli(&data, &["token", "create", "--dept", "police"]).trim().to_string();
    let server = ServerProcess::start_behind(&link, &data, 18_300).await;
    let relay = Relay::start(SocketAddr::new(link.ns_ip().parse().unwrap(), server.port)).await;
    let mut agent = DeptAgent::prepare(dir.path(), "police", &relay.url(), &token);
    agent.start().await;
    let size = mib << 20;
    let made = dir.path().join("scan.pdf");
    write_random(&made, size as u64, &mut Rng::seeded(net.into())).unwrap();
    let sha = yingjian_shared::sha256_reader(std::fs::File::open(&made).unwrap()).unwrap().0.to_string();
    let before = link.sent();
    std::fs::rename(&made, agent.item("08.03").join("大卷扫描.pdf")).unwrap();
    if cut {
        eventually_within(patience(size as u64, rate_bits), "40 % of the file on its way", || async {
            (relay.sent() >= size as u64 * 2 / 5).then_some(())
        })
        .await;
        relay.cut();
    }
    let url = format!("{}/api/v1/evidence", server.url());
    let client = reqwest::Client::new();
    eventually_within(patience(size as u64, rate_bits), "the file on the server", || async {
        let list: serde_json::Value =
            client.get(&url).bearer_auth(&token).send().await.ok()?.json().await.ok()?;
        list.as_array()?.iter().any(|e| e["sha256"] == sha.as_str()).then_some(())
    })
    .await;
    let wire = (link.sent() - before) as f64 / size as f64;
    agent.stop().await;
    wire
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_crosses_a_200_kbit_line_whole_and_a_cut_file_goes_on_where_it_was() {
    let (slow, cut) =
        tokio::join!(send_over("county", 214, 200_000, 4, false), send_over("cut", 215, 2_000_000, 64, true));
    eprintln!("on the wire: {slow:.3}× (200 kbit/s), {cut:.3}× (2 Mbit/s, cut)");
    // Sent once: a transfer restarted from its first byte would put 1.4–2× the file on the wire.
    assert!(slow < 1.15, "4 MiB at 200 kbit/s: {slow:.3}× the file crossed the link");
    assert!(cut < 1.15, "64 MiB at 2 Mbit/s, cut at 40 %: {cut:.3}× the file crossed the link");
}
