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
