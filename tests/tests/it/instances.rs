//! Two aggregator instances, each with a data folder of its own, serving one deployment: records
//! in one PostgreSQL, blobs in one Garage. Agents are split between them; a token, a session,
//! the status and the live events are the same whichever instance a request reaches.

use std::fs;
use std::time::Duration;

use yingjian_tests::garage::Garage;
use yingjian_tests::postgres::Postgres;
use yingjian_tests::{Aggregator, DeptAgent, eventually, temp};

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

    // A file delivered through A downloads through B, from the shared object store.
    let sha = yingjian_tests::sha(&fs::read(&notice).unwrap());
    let body = client.get(format!("{}/files/{sha}", b.url())).bearer_auth(&office).send().await.unwrap();
    assert!(body.status().is_success());
    assert_eq!(&body.bytes().await.unwrap()[..], &fs::read(&notice).unwrap()[..]);

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
