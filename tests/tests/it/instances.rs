//! Two aggregator instances, each with a data folder of its own, serving one deployment: records
//! in one PostgreSQL, blobs in one Garage. Agents are split between them; a token, a session,
//! the status and the live events are the same whichever instance a request reaches.

use std::fs;
use std::time::Duration;

use yingjian_tests::garage::Garage;
use yingjian_tests::postgres::Postgres;
use yingjian_tests::{Aggregator, DeptAgent, Relay, Rng, ServerProcess, binary, eventually, temp, tus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_serve_one_deployment() {
    let (Some(pg), Some(garage)) = (Postgres::start(), Garage::start()) else { return };
    let dir = temp();
    let start = |data: std::path::PathBuf| {
        let (url, s3) = (pg.url(), garage.settings.clone());
        async move {
            Aggregator::start_with(&data, move |c| {
                c.database.url = Some(url);
                c.blobs.s3 = Some(s3);
            })
            .await
        }
    };
    let (a, b) = (start(dir.path().join("a")).await, start(dir.path().join("b")).await);

    // Tokens made through one instance are known to the other.
    let office = a.token(None).await;
    let police = b.token(Some("police")).await;
    let water = a.token(Some("water")).await;

    // A dashboard stream on B hears what is filed through A.
    let client = reqwest::Client::new();
    let mut events =
        client.get(format!("{}/api/v1/events", b.url())).bearer_auth(&office).send().await.unwrap();
    assert_eq!(events.status(), reqwest::StatusCode::OK);

    // The police's agent talks to A, the water bureau's to B.
    let mut police_agent = DeptAgent::prepare(dir.path(), "police", &a.url(), &police);
    let mut water_agent = DeptAgent::prepare(dir.path(), "water", &b.url(), &water);
    let notice = police_agent.item("08.03").join("文件/通知（经A）.pdf");
    fs::create_dir_all(notice.parent().unwrap()).unwrap();
    fs::write(&notice, b"%PDF-1.4\n% filed through A\n%%EOF\n").unwrap();
    let report = water_agent.item("01.06").join("评价报告（经B）.pdf");
    fs::write(&report, b"%PDF-1.4\n% filed through B\n%%EOF\n").unwrap();
    police_agent.start().await;
    water_agent.start().await;

    let mut seen = String::new();
    while !seen.contains("通知（经A）.pdf") {
        let chunk = tokio::time::timeout(Duration::from_secs(20), events.chunk())
            .await
            .expect("B's stream hears A's change")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }

    // Both files, on both instances; the status is the same document from either.
    for server in [&a, &b] {
        eventually("both files on record", || async {
            let paths = server.paths(&office).await;
            (paths.iter().any(|p| p.ends_with("通知（经A）.pdf"))
                && paths.iter().any(|p| p.ends_with("评价报告（经B）.pdf")))
            .then_some(())
        })
        .await;
    }
    police_agent.stop().await;
    water_agent.stop().await;
    let without_time = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("generated");
        v
    };
    let status_a = without_time(a.get("/api/v1/status", &office).await);
    let status_b = without_time(b.get("/api/v1/status", &office).await);
    assert_eq!(status_a, status_b, "the same status from either instance");

    // A heartbeat that repeats the last wakes no page on either instance, yet the other instance
    // reads again when it came. Between two changes of the police's contacts, B's stream hears
    // the first of two same heartbeats only.
    let contacts =
        serde_json::json!({"contacts": [{"role": "staff", "name": "李四", "mobile": "13900000000"}]});
    let file_contacts = || async {
        let r = client.put(format!("{}/api/v1/contacts", a.url())).bearer_auth(&police).json(&contacts);
        assert_eq!(r.send().await.unwrap().status(), reqwest::StatusCode::NO_CONTENT);
    };
    let until_contacts = async |events: &mut reqwest::Response| {
        let mut heard = String::new();
        while !heard.contains("\"kind\":\"contacts\"") {
            let chunk = tokio::time::timeout(Duration::from_secs(20), events.chunk()).await;
            heard.push_str(&String::from_utf8_lossy(&chunk.expect("B hears A's change").unwrap().unwrap()));
        }
        heard
    };
    file_contacts().await;
    until_contacts(&mut events).await;
    let heard = |status: serde_json::Value| {
        let police = status["departments"].as_array().unwrap().iter().find(|d| d["id"] == "police").cloned();
        police.unwrap()["last_heartbeat"].clone()
    };
    let beat = serde_json::json!({"version": "0.1.0", "host": "PC", "watch_mode": "native", "pending": 0});
    for _ in 0..2 {
        let r = client.post(format!("{}/api/v1/heartbeat", a.url())).bearer_auth(&police).json(&beat);
        assert_eq!(r.send().await.unwrap().status(), reqwest::StatusCode::NO_CONTENT);
        // B has read the state after this heartbeat before the next comes.
        let last = heard(a.get("/api/v1/status", &office).await);
        eventually("B reads when the heartbeat came", || async {
            (heard(b.get("/api/v1/status", &office).await) == last).then_some(())
        })
        .await;
    }
    file_contacts().await;
    let between = until_contacts(&mut events).await;
    assert_eq!(between.matches("\"kind\":\"heartbeat\"").count(), 1, "{between}");

    // Three bundle requests at once, on both instances: one build, in the shared store, the same
    // bundle served by either.
    let build = |server: String| {
        let (client, office) = (client.clone(), office.clone());
        async move {
            let r =
                client.post(format!("{server}/api/v1/bundles")).bearer_auth(&office).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<serde_json::Value>().await.unwrap()["name"].as_str().unwrap().to_string()
        }
    };
    let (one, two, three) = tokio::join!(build(a.url()), build(b.url()), build(a.url()));
    assert!(one == two && two == three, "{one} {two} {three}");
    let builds = yingjian_tests::audit_counts(&b.url(), &office).await.get("bundle").copied();
    let log = b.get("/api/v1/audit?limit=50", &office).await;
    assert_eq!(builds, Some(1), "one build for three requests on two instances: {log}");
    let listed = b.get("/api/v1/bundles", &office).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let fetch = |server: String| {
        let (client, office, name) = (client.clone(), office.clone(), one.clone());
        async move {
            let r = client
                .get(format!("{server}/api/v1/bundles/{name}"))
                .bearer_auth(&office)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.bytes().await.unwrap()
        }
    };
    let (from_a, from_b) = (fetch(a.url()).await, fetch(b.url()).await);
    assert!(from_a == from_b && !from_a.is_empty());
    let zip_path = dir.path().join(&one);
    fs::write(&zip_path, &from_b).unwrap();
    assert!(yingjian_aggregator::bundle::verify(&zip_path).unwrap().is_intact());

    // A file delivered through A downloads through B, from the shared object store.
    let sha = yingjian_tests::sha(&fs::read(&notice).unwrap());
    let body = client.get(format!("{}/files/{sha}", b.url())).bearer_auth(&office).send().await.unwrap();
    assert!(body.status().is_success());
    assert_eq!(&body.bytes().await.unwrap()[..], &fs::read(&notice).unwrap()[..]);

    // The printouts (纸质版) built on A are listed and served by B, from the shared store.
    a.state.printouts.build(&a.state).await;
    let (on_a, on_b) = (a.state.printouts.list(), b.state.printouts.list());
    assert!(!on_b.is_empty() && on_a == on_b, "{on_a:?} {on_b:?}");
    let name = on_b[0].0.clone();
    let written = fs::read(a.data.join("print").join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let shelf = b.state.printouts.clone();
    let served = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut shelf.open(&name).unwrap(), &mut bytes).unwrap();
        bytes
    })
    .await
    .unwrap();
    assert!(served == written, "the same volume from B");

    // A resumable upload begun through A goes on through B (its parts are in the shared store):
    // B knows how much A holds, takes the rest, and the blob is known to both.
    let scan: Vec<u8> = (0..(12u32 << 20)).map(|i| (i % 251) as u8).collect();
    let created = tus::create(&client, &a.url(), &police, scan.len(), "").await;
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let at = tus::header(&created, "location");
    let (on_a, on_b) = (format!("{}{at}", a.url()), format!("{}{at}", b.url()));
    let half = scan.len() / 2;
    assert_eq!(
        tus::patch(&client, &on_a, &police, 0, &scan[..half]).await.status(),
        reqwest::StatusCode::NO_CONTENT
    );
    assert_eq!(tus::header(&tus::head(&client, &on_b, &police).await, "upload-offset"), half.to_string());
    // Another department does not see it on either instance.
    assert_eq!(tus::head(&client, &on_b, &water).await.status(), reqwest::StatusCode::NOT_FOUND);
    // A stale offset is refused wherever it is sent.
    assert_eq!(
        tus::patch(&client, &on_b, &police, 0, &scan[..10]).await.status(),
        reqwest::StatusCode::CONFLICT
    );
    // The last piece, through B: 200 with the blob stored.
    assert_eq!(
        tus::patch(&client, &on_b, &police, half, &scan[half..]).await.status(),
        reqwest::StatusCode::OK
    );
    assert_eq!(tus::head(&client, &on_a, &police).await.status(), reqwest::StatusCode::NOT_FOUND, "done");
    let held = client
        .head(format!("{}/api/v1/blobs/{}", a.url(), yingjian_tests::sha(&scan)))
        .bearer_auth(&police)
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), reqwest::StatusCode::OK, "the finished upload's blob, seen from A");
    let settings = garage.settings.clone();
    let left = tokio::task::spawn_blocking(move || {
        yingjian_aggregator::blobs::S3Blobs::open(&settings).unwrap().list_files("uploads").unwrap()
    })
    .await
    .unwrap();
    assert!(left.is_empty(), "nothing of the upload left in the store: {left:?}");

    // A dashboard session opened on A is good on B.
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = no_redirect
        .post(format!("{}/login", a.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={office}"))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page =
        no_redirect.get(format!("{}/overview", b.url())).header("cookie", cookie).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK, "the session works on the other instance");
    assert!(page.text().await.unwrap().contains("公安局"));

    a.stop().await;
    b.stop().await;
}

/// Two server processes behind a failing-over load balancer; the first is SIGKILLed while the
/// agents are delivering. Nothing is lost: the agents finish through the second, and every
/// record's bytes are in the object store, verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_sync_loses_nothing() {
    let Some(Failover { _engines, dir, config, database, a, b, balancer }) = Failover::start().await else {
        return;
    };
    let token = |who: &[&str]| Failover::token(&dir, &database, who);
    let office = token(&["--office"]);
    // A slow link, so that the kill falls mid-sync (the scenario, not synchronisation).
    balancer.throttle(512 << 10);
    let mut rng = Rng::from_env();
    let mut agents = Vec::new();
    let mut expected = 0;
    for (department, item) in [("police", "08.03"), ("water", "01.06"), ("market", "01.01")] {
        let mut agent =
            DeptAgent::prepare(dir.path(), department, &balancer.url(), &token(&["--dept", department]));
        for i in 0..20 {
            let mut bytes = format!("%PDF-1.4\n% {department} {i}\n").into_bytes();
            bytes.extend((0..(256 << 10) / 8).flat_map(|_| rng.next_u64().to_le_bytes()));
            fs::write(agent.item(item).join(format!("材料{i:02}.pdf")), bytes).unwrap();
            expected += 1;
        }
        agent.start().await;
        agents.push(agent);
    }
    let records = || async {
        yingjian_tests::get_json(&b.url(), "/api/v1/evidence", &office)
            .await
            .map(|v| v.as_array().unwrap().len())
    };
    // Mid-sync: some records are in, not all.
    let before = eventually("the first records", || async { records().await.filter(|n| *n >= 5) }).await;
    assert!(before < expected, "killed mid-sync ({before} of {expected} in)");
    a.kill();
    eventually("every record, through the surviving instance", || async {
        records().await.filter(|n| *n == expected).map(|_| ())
    })
    .await;
    for agent in &mut agents {
        agent.stop().await;
    }
    // Every record's bytes are in the object store and hash right.
    let out = std::process::Command::new(binary("yingjian-aggregator"))
        .args(["scrub", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(dir.path().join("b"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains(&format!("{expected} blobs checked, 0 damaged")), "{said}");
    // The status counts both instances kept, one of them killed mid-transaction, are right.
    assert!(said.contains("status counts agree with the records"), "{said}");
    drop(b);
}

/// A large file on its way by resumable upload through one instance, which is SIGKILLed: the
/// agent goes on with the same upload through the other, from what the object store holds,
/// instead of starting again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumable_upload_goes_on_through_another_instance_when_one_dies() {
    let Some(Failover { _engines, dir, database, a, b, balancer, .. }) = Failover::start().await else {
        return;
    };
    let token = Failover::token(&dir, &database, &["--dept", "police"]);
    // A slow link, so that the kill falls in the middle of the upload (the scenario).
    balancer.throttle(4 << 20);
    let mut agent = DeptAgent::prepare(dir.path(), "police", &balancer.url(), &token);
    agent.start().await;
    let mut rng = Rng::from_env();
    let size = 32usize << 20;
    let content = agent.drop_scan("08.03", "整卷扫描.pdf", size, &mut rng);

    let balancer = &balancer;
    eventually("20 MiB on the way to A", || async { (balancer.sent() >= 20 << 20).then_some(()) }).await;
    a.kill();
    let expected = yingjian_tests::sha(&content);
    yingjian_tests::eventually_within(Duration::from_mins(2), "the file, through B", || async {
        let records = yingjian_tests::get_json(&b.url(), "/api/v1/evidence", &token).await?;
        records.as_array().unwrap().iter().any(|r| r["sha256"] == expected.as_str()).then_some(())
    })
    .await;
    let sent = balancer.sent();
    assert!(
        sent < size as u64 * 3 / 2,
        "the upload went on where A left it: {sent} bytes for {size} (from zero: over 1.6×)"
    );
    agent.stop().await;
}

/// Two instance processes over one PostgreSQL and one Garage, behind a balancer that sends
/// every connection to A while it is up, else to B.
struct Failover {
    _engines: (Postgres, Garage),
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    database: String,
    a: ServerProcess,
    b: ServerProcess,
    balancer: Relay,
}

impl Failover {
    /// `None` when the engines are not on this machine (the test is skipped).
    async fn start() -> Option<Failover> {
        let (pg, garage) = (Postgres::start()?, Garage::start()?);
        let dir = temp();
        let config = dir.path().join("aggregator.toml");
        fs::write(&config, format!("[database]\nurl = {:?}\n{}", pg.url(), garage.config_toml())).unwrap();
        let (pa, pb) = (ServerProcess::free_port(), ServerProcess::free_port());
        let a = ServerProcess::start_configured(&dir.path().join("a"), pa, Some(&config)).await;
        let b = ServerProcess::start_configured(&dir.path().join("b"), pb, Some(&config)).await;
        let balancer =
            Relay::start_over(vec![([127, 0, 0, 1], pa).into(), ([127, 0, 0, 1], pb).into()]).await;
        let database = pg.url();
        Some(Failover { _engines: (pg, garage), dir, config, database, a, b, balancer })
    }

    /// A token made by `yingjian-aggregator token create WHO` against the deployment, with no
    /// config file: the database named by `YINGJIAN_DATABASE_URL` alone.
    fn token(dir: &tempfile::TempDir, database: &str, who: &[&str]) -> String {
        let out = std::process::Command::new(binary("yingjian-aggregator"))
            .args(["token", "create"])
            .args(who)
            .arg("--data")
            .arg(dir.path().join("token"))
            .env("YINGJIAN_DATABASE_URL", database)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

/// `?sslmode=require`: the database is reached over TLS, its certificate checked against the
/// configured CA; a server that accepts TLS alone refuses the plain URL, and a CA that did not
/// sign its certificate is refused by the aggregator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_is_reached_over_tls_when_the_url_requires_it() {
    let dir = temp();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("db.pem"), dir.path().join("db.key"));
    fs::write(&cert_path, cert.cert.pem()).unwrap();
    fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let Some(pg) = Postgres::start_tls(&cert_path, &key_path) else { return };
    let open = |url: String, ca: Option<std::path::PathBuf>, data: &str| {
        let mut config = yingjian_aggregator::Config { data: dir.path().join(data), ..Default::default() };
        config.database.url = Some(url);
        config.database.ca = ca;
        yingjian_aggregator::AppState::open(config)
    };

    let Err(plain) = open(pg.url(), None, "plain") else { panic!("the server takes TLS alone") };
    assert!(plain.to_string().contains("no encryption"), "{plain}");
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let other_path = dir.path().join("other-ca.pem");
    fs::write(&other_path, other.cert.pem()).unwrap();
    let required = format!("{}?sslmode=require", pg.url());
    let Err(untrusted) = open(required.clone(), Some(other_path), "untrusted") else {
        panic!("a certificate the CA did not sign")
    };
    assert!(untrusted.to_string().contains("certificate"), "{untrusted}");
    let missing = dir.path().join("missing.pem");
    let Err(unreadable) = open(required.clone(), Some(missing), "missing") else { panic!("no CA file") };
    assert!(unreadable.to_string().contains("cannot read [database] ca"), "{unreadable}");

    let server = Aggregator::start_with(&dir.path().join("tls"), move |c| {
        c.database.url = Some(required);
        c.database.ca = Some(cert_path);
    })
    .await;
    let office = server.token(None).await;
    let status = server.get("/api/v1/status", &office).await;
    assert!(status["departments"].as_array().is_some_and(|d| !d.is_empty()), "{status}");
    server.stop().await;
}
