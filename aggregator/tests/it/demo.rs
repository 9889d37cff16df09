//! `demo` as a newcomer runs it: a file dropped into a department's folder reaches the status,
//! and Ctrl-C (SIGINT) stops the server and every agent.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_the_city_and_stops_cleanly_on_ctrl_c() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .args(["demo", "--listen", "127.0.0.1:0", "--dir"])
        .arg(&demo_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let (mut url, mut token) = (String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("dashboard:") {
            url = rest.trim().trim_end_matches("/login").to_string();
        }
        if let Some(rest) = line.trim().strip_prefix("office token:") {
            token = rest.trim().to_string();
            break;
        }
    }
    assert!(url.starts_with("http://127.0.0.1:") && token.starts_with("yj_"), "{url} {token}");

    let item = demo_dir.join("公安局").join("11.02 公安打假机构力量和机制建设");
    assert!(item.is_dir(), "init made the item folders");
    std::fs::write(item.join("公安机关打假机构设置文件.pdf"), b"%PDF-1.4 dropped by the test").unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let status: serde_json::Value = client
            .get(format!("{url}/api/v1/status"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let police =
            status["departments"].as_array().unwrap().iter().find(|d| d["id"] == "police").unwrap().clone();
        let item = police["items"].as_array().unwrap().iter().find(|i| i["code"] == "11.2").unwrap().clone();
        // The other departments' samples arrive on their own schedule: wait for them too.
        if item["files"] == 1 && status["points_covered"].as_f64().unwrap() > 5.0 {
            break;
        }
        assert!(Instant::now() < deadline, "the dropped file or the samples never reached the status");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let needle = demo_dir.to_str().unwrap().to_string();
    assert!(processes_mentioning(&needle).len() >= 14, "the demo and 13 agents run");
    Command::new("kill").args(["-INT", &demo.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while demo.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the demo did not stop on SIGINT");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(demo.wait().unwrap().success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("demo stopped")), "{rest:?}");
    assert!(processes_mentioning(&needle).is_empty(), "no process left behind");
}
