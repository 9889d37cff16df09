//! Load: fifty agents' worth of concurrent uploads against one aggregator, with no error and no
//! lost record. `YINGJIAN_LONG=1` sends ten times as many files.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use yingjian_shared::Catalogue;
use yingjian_tests::{Aggregator, deliver, long, temp};

const AGENTS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_agents_upload_at_once_and_nothing_is_lost() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let office = server.token(None).await;
    let catalogue = Catalogue::builtin();
    let per_agent = if long() { 200 } else { 20 };

    // Fifty installations spread over the thirteen departments, each with its own token.
    let mut agents = Vec::new();
    for n in 0..AGENTS {
        let department = &catalogue.departments[n % catalogue.departments.len()];
        let item = catalogue.items_for(&department.id).find(|i| i.is_scored()).unwrap();
        agents.push((n, department.id.clone(), item.code.padded(), server.token(Some(&department.id)).await));
    }
    let client = reqwest::Client::new();
    let url = server.url();
    let results: Vec<Result<(), String>> = futures_util::stream::iter(agents.iter())
        .map(|(n, _, folder, token)| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                for i in 0..per_agent {
                    // Some content is shared between agents, as the same notice is filed by many.
                    let bytes = if i % 5 == 0 {
                        format!("%PDF-1.4 通知 {i}").into_bytes()
                    } else {
                        format!("%PDF-1.4 agent {n} file {i} {}", "x".repeat(i * 97)).into_bytes()
                    };
                    let path = format!("{folder} 材料/电脑{n}/文件{i}.pdf");
                    deliver(&client, &url, token, &path, &bytes)
                        .await
                        .map_err(|e| format!("agent {n}: {e}"))?;
                }
                Ok(())
            }
        })
        .buffer_unordered(AGENTS)
        .collect()
        .await;
    let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(errors.is_empty(), "{errors:?}");

    // Every record is there, under its department, and the status counts them all.
    let mut expected: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, department, _, _) in &agents {
        *expected.entry(department).or_default() += per_agent as u64;
    }
    let records = server.get("/api/v1/evidence", &office).await;
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    for r in records.as_array().unwrap() {
        *found.entry(r["department"].as_str().unwrap().to_string()).or_default() += 1;
    }
    let expected: BTreeMap<String, u64> = expected.into_iter().map(|(d, n)| (d.to_string(), n)).collect();
    assert_eq!(found, expected);
    let status: yingjian_shared::Status =
        serde_json::from_value(server.get("/api/v1/status", &office).await).unwrap();
    let files: u64 = status.departments.iter().flat_map(|d| &d.items).map(|i| i.files).sum();
    assert_eq!(files, (AGENTS * per_agent) as u64);
    assert_eq!(server.audit_count(&office, "record").await, AGENTS * per_agent);
    assert_eq!(server.state.blobs.temp_files().unwrap(), 0);
    server.stop().await;
}

/// A page as a tab with `cookie` asks for it again, holding `etag`: status, `ETag`, body.
async fn refetch(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    etag: Option<&str>,
) -> (reqwest::StatusCode, Option<String>, String) {
    let mut get = client.get(url).header("cookie", cookie);
    if let Some(etag) = etag {
        get = get.header("if-none-match", etag);
    }
    let r = get.send().await.unwrap();
    let etag = r.headers().get("etag").map(|v| v.to_str().unwrap().to_string());
    (r.status(), etag, r.text().await.unwrap())
}

/// What a hundred open tabs do on each change (live.js): fetch their page again at once. They
/// are answered 304 while nothing changed, all see a change as soon as it is announced, and no
/// viewer is ever given a page rendered for another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_tabs_refreshing_at_once_see_every_change_and_only_their_own_pages() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let (office, police) = (server.token(None).await, server.token(Some("police")).await);
    let (office_cookie, police_cookie) = (server.session(&office).await, server.session(&police).await);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let catalogue = Catalogue::builtin();
    let code = catalogue.items_for("police").find(|i| i.is_scored()).unwrap().code;
    let (folder, item) = (code.padded(), format!("{}/items/{code}", server.url()));
    let tabs = |url: String, cookie: String, etag: Option<String>| {
        let client = client.clone();
        futures_util::stream::iter(0..100)
            .map(move |_| {
                let (client, url, cookie, etag) = (client.clone(), url.clone(), cookie.clone(), etag.clone());
                async move { refetch(&client, &url, &cookie, etag.as_deref()).await }
            })
            .buffer_unordered(100)
            .collect::<Vec<_>>()
    };

    let (status, etag, before) = refetch(&client, &item, &office_cookie, None).await;
    assert_eq!(status, 200);
    let etag = etag.expect("a shared page has an ETag");
    for (status, tag, body) in tabs(item.clone(), office_cookie.clone(), Some(etag.clone())).await {
        assert_eq!(
            (status, tag.as_deref(), body.as_str()),
            (reqwest::StatusCode::NOT_MODIFIED, Some(etag.as_str()), "")
        );
    }
    // A tab with another ETag (an older page, or none) is sent the page.
    let (status, _, again) = refetch(&client, &item, &office_cookie, Some("\"0\"")).await;
    assert_eq!((status, again), (reqwest::StatusCode::OK, before.clone()));

    // A department's file arrives: every tab holding the old page gets the new one with it.
    let name = format!("{folder} 材料/交警支队年度总结.pdf");
    deliver(&client, &server.url(), &police, &name, b"%PDF-1.4 summary").await.unwrap();
    let seen = tabs(item.clone(), office_cookie.clone(), Some(etag.clone())).await;
    for (status, tag, body) in &seen {
        assert_eq!(*status, reqwest::StatusCode::OK);
        assert!(body.contains("交警支队年度总结.pdf"), "{body}");
        assert_ne!(tag.as_deref(), Some(etag.as_str()));
    }
    let (_, new_etag, after) = &seen[0];

    // The same addresses as the department sees them: its own page, never the office's render.
    let (status, _, theirs) = refetch(&client, &item, &police_cookie, new_etag.as_deref()).await;
    assert_eq!(status, 200);
    assert_ne!(&theirs, after);
    assert!(theirs.contains("交警支队年度总结.pdf"));
    let overview = format!("{}/overview", server.url());
    let (status, etag, _) = refetch(&client, &overview, &office_cookie, None).await;
    assert_eq!(status, 200);
    let (status, _, refused) = refetch(&client, &overview, &police_cookie, etag.as_deref()).await;
    assert_eq!(status, 403, "{refused}");
    // Without a session: the login, not a page someone else was rendered.
    let anonymous = client.get(&overview).header("if-none-match", etag.unwrap()).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    assert!(anonymous.headers()["location"].to_str().unwrap().starts_with("/login"));
    server.stop().await;
}
