//! `migrate`: a populated SQLite + folder state moved into PostgreSQL + Garage, verified; the
//! bundle built before and after is byte-identical, a second run only verifies, and every
//! column of PostgreSQL's schema is carried.

use std::collections::BTreeSet;
use std::process::Command;

use yingjian_aggregator::bundle::{Bundles, Layout};
use yingjian_aggregator::db::{NOT_CARRIED, TABLES};
use yingjian_aggregator::{AppState, Config};
use yingjian_tests::garage::Garage;
use yingjian_tests::postgres::Postgres;
use yingjian_tests::{Aggregator, Rng, binary, deliver, temp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_moves_into_postgresql_and_an_object_store_unchanged() {
    let (Some(pg), Some(garage)) = (Postgres::start(), Garage::start()) else { return };
    let dir = temp();
    let data = dir.path().join("data");
    let server = Aggregator::start(&data).await;
    let office = server.token(None).await;
    let client = reqwest::Client::new();
    let mut rng = Rng::from_env();
    let mut big = b"%PDF-1.4\n".to_vec();
    big.extend((0..(7 << 20) / 8).flat_map(|_| rng.next_u64().to_le_bytes()));
    let notice = b"%PDF-1.4\n% notice\n%%EOF\n".to_vec();
    for (department, path, bytes) in [
        ("police", "08.03 昆仑2021专项行动/文件/通知.pdf", &notice),
        ("police", "08.03 昆仑2021专项行动/文件/扫描件.pdf", &big),
        ("police", "自评报告/公安局自评报告.pdf", &notice),
        ("water", "01.06 水利工程质量/文件/通知.pdf", &notice),
    ] {
        let token = server.token(Some(department)).await;
        deliver(&client, &server.url(), &token, path, bytes).await.unwrap();
    }
    // A verdict and a note of the office's, and a session: they move too.
    let review = client
        .put(format!("{}/api/v1/reviews", server.url()))
        .bearer_auth(&office)
        .json(&serde_json::json!({
            "department": "police", "path": "08.03 昆仑2021专项行动/文件/扫描件.pdf",
            "verdict": "returned", "reason": "请补盖公章"
        }))
        .send()
        .await
        .unwrap();
    assert!(review.status().is_success(), "{}", review.status());
    let before = Bundles::new(dir.path().join("before"))
        .build(&server.state, "test", Layout::Plain, |_, _| {})
        .await
        .unwrap();
    let status_before = server.get("/api/v1/status", &office).await;
    server.stop().await;

    let config = dir.path().join("aggregator.toml");
    std::fs::write(
        &config,
        format!(
            "data = {:?}\n[database]\nurl = {:?}\n{}",
            dir.path().join("moved"),
            pg.url(),
            garage.config_toml()
        ),
    )
    .unwrap();
    let migrate = || {
        let out = Command::new(binary("yingjian-aggregator"))
            .args(["migrate", "--from"])
            .arg(&data)
            .arg("--to")
            .arg(&config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let first = migrate();
    assert!(first.contains("blobs: 2 sent, 0 already there"), "{first}");
    assert!(first.contains("tables copied: tokens 5, blobs 2, evidence 4"), "{first}");
    // Run again (as after an interruption): nothing is sent twice, everything is verified.
    let again = migrate();
    assert!(again.contains("blobs: 0 sent, 2 already there"), "{again}");
    assert!(again.contains("tables already there, verified"), "{again}");
    // Every column PostgreSQL's migrations make is carried, or derived by the target itself.
    let columns = pg.query(
        "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public'",
    );
    let schema: BTreeSet<String> = columns
        .lines()
        .filter(|c| !NOT_CARRIED.iter().any(|n| c == n || c.split('.').next() == Some(*n)))
        .map(str::to_string)
        .collect();
    let carried: BTreeSet<String> = TABLES
        .iter()
        .flat_map(|(table, columns)| columns.iter().map(move |(c, _)| format!("{table}.{c}")))
        .collect();
    assert_eq!(schema, carried);

    // The moved state: the same bundle, byte for byte, and the same status.
    let moved = AppState::open(Config::load(Some(&config)).unwrap()).unwrap();
    let after =
        Bundles::new(dir.path().join("after")).build(&moved, "test", Layout::Plain, |_, _| {}).await.unwrap();
    assert_eq!(after.name, before.name);
    assert!(std::fs::read(&after.path).unwrap() == std::fs::read(&before.path).unwrap(), "byte-identical");
    let mut status_after = serde_json::to_value(moved.status(None).await.unwrap()).unwrap();
    let mut status_before = status_before;
    for s in [&mut status_after, &mut status_before] {
        s.as_object_mut().unwrap().remove("generated");
    }
    assert_eq!(status_after, status_before);
    // The counts kept as the rows arrived in PostgreSQL equal a count of them.
    yingjian_tests::assert_counts_kept(&moved.db).await;
    // New records go on after the copied ids.
    let token = yingjian_aggregator::new_token().unwrap();
    let id =
        moved.db.insert_token(yingjian_aggregator::token_hash(&token), None, "after".into()).await.unwrap();
    assert_eq!(id, 6, "ids continue after the 5 tokens copied");
}

/// `migrate` SIGKILLed while the blobs are on their way (a slow link to the object store): run
/// again, it keeps what arrived whole, sends the rest, copies the tables, and the city reads
/// the same as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_migrate_goes_on_where_it_stopped() {
    let (Some(pg), Some(garage)) = (Postgres::start(), Garage::start()) else { return };
    let dir = temp();
    let data = dir.path().join("data");
    let server = Aggregator::start(&data).await;
    let office = server.token(None).await;
    let police = server.token(Some("police")).await;
    let client = reqwest::Client::new();
    let mut rng = Rng::from_env();
    let files = 12;
    for i in 0..files {
        let mut bytes = format!("%PDF-1.4\n% {i}\n").into_bytes();
        bytes.extend((0..(1 << 20) / 8).flat_map(|_| rng.next_u64().to_le_bytes()));
        deliver(&client, &server.url(), &police, &format!("08.03 专项行动/文件/材料{i:02}.pdf"), &bytes)
            .await
            .unwrap();
    }
    let status_before = server.get("/api/v1/status", &office).await;
    server.stop().await;

    // The object store behind a slow link, so that the kill falls mid-way (the scenario).
    let port: u16 = garage.settings.endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let link = yingjian_tests::Relay::start(([127, 0, 0, 1], port).into()).await;
    link.throttle(2 << 20);
    let config = dir.path().join("aggregator.toml");
    let toml = format!("data = {:?}\n[database]\nurl = {:?}\n", dir.path().join("moved"), pg.url());
    std::fs::write(&config, format!("{toml}{}", garage.config_toml_via(&link.url()))).unwrap();
    let migrate = || {
        let mut command = Command::new(binary("yingjian-aggregator"));
        command.args(["migrate", "--from"]).arg(&data).arg("--to").arg(&config);
        command
    };
    let mut first = migrate().stdout(std::process::Stdio::null()).spawn().unwrap();
    let direct = garage.settings.clone();
    let arrived = move || {
        let direct = direct.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                yingjian_aggregator::blobs::S3Blobs::open(&direct).unwrap().list_files("blobs").unwrap().len()
            })
            .await
            .unwrap()
        }
    };
    let some = yingjian_tests::eventually("a few blobs in the store", || async {
        let n = arrived().await;
        (n >= 3).then_some(n)
    })
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(some < files, "killed mid-way ({some} of {files} blobs there)");

    link.throttle(0);
    let out = migrate().output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    let there = arrived().await;
    assert_eq!(there, files, "every blob in the store");
    let (sent, kept) = said
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("blobs: ")?;
            let (sent, rest) = rest.split_once(" sent, ")?;
            Some((sent.parse::<usize>().ok()?, rest.split(' ').next()?.parse::<usize>().ok()?))
        })
        .unwrap_or_else(|| panic!("{said}"));
    assert!(kept >= some && sent + kept == files, "{said}");
    assert!(said.contains("tables copied: tokens 2, blobs 12, evidence 12"), "{said}");

    let moved = AppState::open(Config::load(Some(&config)).unwrap()).unwrap();
    let mut status_after = serde_json::to_value(moved.status(None).await.unwrap()).unwrap();
    let mut status_before = status_before;
    for s in [&mut status_after, &mut status_before] {
        s.as_object_mut().unwrap().remove("generated");
    }
    assert_eq!(status_after, status_before);
}
