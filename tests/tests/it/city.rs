//! A city in a box: one aggregator (or two sharing PostgreSQL and an object store), thirteen
//! department agents, realistic evidence dropped in rounds, ending in a status that matches
//! exactly what was dropped and a bundle that verifies.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use yingjian_aggregator::Config;
use yingjian_shared::{Catalogue, Contact, ContactRole, Contacts, ItemCode, ItemState, Status};
use yingjian_tests::garage::Garage;
use yingjian_tests::postgres::Postgres;
use yingjian_tests::{Aggregator, DeptAgent, eventually, sha, temp};

/// The same notice, filed by several departments: one blob, one duplicate group.
const SHARED_NOTICE: &[u8] = "%PDF-1.4\n% 关于印发《质量强市建设实施方案》的通知\n%%EOF\n".as_bytes();

fn pdf(tag: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {tag}\n%%EOF\n").into_bytes()
}

fn jpeg(tag: &str) -> Vec<u8> {
    let mut v = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec();
    v.extend_from_slice(tag.as_bytes());
    v
}

/// What one department dropped, as the status and the bundle must show it.
#[derive(Default)]
struct Dropped {
    files: BTreeMap<ItemCode, u64>,
    incomplete: BTreeSet<ItemCode>,
    /// (item, content) pairs: a bundle carries each content once per item.
    contents: BTreeSet<(ItemCode, String)>,
    /// Reports and typical cases.
    others: usize,
    cases: u64,
}

/// Writes a file and records it, creating its folder.
fn drop_file(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// A scanner that writes a file in several chunks with pauses longer than nothing but shorter
/// than the settle time, keeping the file open: it must never be sent half-written.
async fn slow_write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = fs::File::create(path).unwrap();
    for chunk in bytes.chunks(bytes.len().div_ceil(4)) {
        f.write_all(chunk).unwrap();
        f.flush().unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Drops one round of evidence for a department: items whose position in its list is in `round`.
async fn drop_round(
    catalogue: &Catalogue,
    agent: &DeptAgent,
    department: &str,
    round: usize,
    dropped: &mut Dropped,
) {
    let joint = ItemCode::new(6, 4);
    let items: Vec<_> = catalogue.items_for(department).filter(|i| i.is_scored()).collect();
    for (j, item) in items.iter().enumerate() {
        // 6.4 is served by two departments: both file it, in full.
        let recipe = if item.code == joint { 0 } else { j % 4 };
        if j % 2 != round {
            continue;
        }
        let folder = agent.item(&item.code.padded());
        let code = item.code;
        let put = |dropped: &mut Dropped, bytes: &[u8]| {
            *dropped.files.entry(code).or_default() += 1;
            dropped.contents.insert((code, sha(bytes)));
        };
        let tag = format!("{department} {}", code.padded());
        match recipe {
            // A document in 文件/ and a picture named for what it shows: 齐全.
            0 => {
                let doc = pdf(&format!("{tag} 工作方案"));
                if j == 0 {
                    // The first item of every department is written slowly, like a scanner.
                    slow_write(&folder.join("文件").join("工作方案（扫描件）.pdf"), &doc).await;
                } else {
                    drop_file(&folder.join("文件").join("工作方案.pdf"), &doc);
                }
                put(dropped, &doc);
                let picture = jpeg(&format!("{tag} 现场"));
                drop_file(&folder.join("图片").join("2021年质量月 现场检查.jpg"), &picture);
                put(dropped, &picture);
            }
            // A camera-named picture captioned by a .txt beside it, and a 信息 bulletin: 齐全.
            1 => {
                drop_file(&folder.join("图片").join("IMG_0042.txt"), "质量提升行动推进会现场".as_bytes());
                let picture = jpeg(&format!("{tag} 推进会"));
                drop_file(&folder.join("图片").join("IMG_0042.jpg"), &picture);
                put(dropped, &picture);
                let bulletin = pdf(&format!("{tag} 简报"));
                drop_file(&folder.join("信息").join("工作简报 第3期.pdf"), &bulletin);
                put(dropped, &bulletin);
            }
            // Only an uncaptioned camera picture: 待完善.
            2 => {
                let picture = jpeg(&format!("{tag} DSC"));
                drop_file(&folder.join("DSC_0001.JPG"), &picture);
                put(dropped, &picture);
                dropped.incomplete.insert(code);
            }
            // Nothing: 缺失.
            _ => {}
        }
        if j == 0 && round == 0 {
            // The city's notice, filed again by this department.
            drop_file(&folder.join("文件").join("市政府通知.pdf"), SHARED_NOTICE);
            put(dropped, SHARED_NOTICE);
        }
    }
    if round == 0 {
        let report = pdf(&format!("{department} 自评"));
        drop_file(&agent.folder.join("自评报告").join("2021年度质量工作自评报告.pdf"), &report);
        dropped.others += 1;
    } else {
        let cases = catalogue.cases.min_for(department).max(1);
        for n in 1..=cases {
            let case = pdf(&format!("{department} 案例{n}"));
            drop_file(&agent.folder.join("典型案例").join(format!("典型案例{n}.pdf")), &case);
        }
        dropped.others += cases as usize;
        dropped.cases = u64::from(cases);
    }
}

/// Whether the status shows exactly what was dropped, down to each item's file count.
fn matches(status: &Status, dropped: &BTreeMap<String, Dropped>, final_round: bool) -> Result<(), String> {
    for d in &status.departments {
        let want = &dropped[&d.id];
        for item in &d.items {
            let files = want.files.get(&item.code).copied().unwrap_or(0);
            let state = match files {
                0 => ItemState::Missing,
                _ if want.incomplete.contains(&item.code) => ItemState::Incomplete,
                _ => ItemState::Complete,
            };
            if (item.files, item.status) != (files, state) {
                return Err(format!(
                    "{} {}: {:?} with {} files, dropped {files} ({state:?})",
                    d.id,
                    item.code.padded(),
                    item.status,
                    item.files
                ));
            }
        }
        if !d.report || (final_round && (d.cases != want.cases || !d.contacts)) {
            return Err(format!("{}: report {}, cases {}, contacts {}", d.id, d.report, d.cases, d.contacts));
        }
    }
    Ok(())
}

async fn status(server: &Aggregator, office: &str) -> Status {
    serde_json::from_value(server.get("/api/v1/status", office).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirteen_departments_deliver_and_the_bundle_verifies() {
    city(1, |_| {}).await;
}

/// The same city on two instances sharing their records in PostgreSQL and their blobs in
/// Garage, the departments split between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_on_two_instances_over_postgresql_and_an_object_store() {
    let (Some(pg), Some(garage)) = (Postgres::start(), Garage::start()) else { return };
    let (url, s3) = (pg.url(), garage.settings.clone());
    city(2, move |c| {
        c.database.url = Some(url.clone());
        c.blobs.s3 = Some(s3.clone());
    })
    .await;
}

/// The scenario on `instances` aggregators, each with a data folder of its own: department
/// `n` files through instance `n % instances`, and every instance shows the same city.
async fn city(instances: usize, adjust: impl Fn(&mut Config)) {
    let dir = temp();
    let mut servers = Vec::new();
    for n in 0..instances {
        servers.push(Aggregator::start_with(&dir.path().join(format!("data{n}")), &adjust).await);
    }
    let server = &servers[0];
    let office = server.token(None).await;
    let catalogue = Catalogue::builtin();
    assert_eq!(catalogue.departments.len(), 13);
    let mut agents = Vec::new();
    for (n, d) in catalogue.departments.iter().enumerate() {
        let through = &servers[n % instances];
        let token = through.token(Some(&d.id)).await;
        let mut agent = DeptAgent::prepare(dir.path(), &d.id, &through.url(), &token);
        agent.start().await;
        agents.push((d.id.clone(), token, through.url(), agent));
    }

    // Round one: half the items of every department, the reports, the shared notice.
    let mut dropped: BTreeMap<String, Dropped> = BTreeMap::new();
    for (id, _, _, agent) in &agents {
        drop_round(catalogue, agent, id, 0, dropped.entry(id.clone()).or_default()).await;
    }
    let mid = eventually("round one on the server", || async {
        let s = status(server, &office).await;
        matches(&s, &dropped, false).ok().map(|()| s)
    })
    .await;
    assert!(mid.points_covered < mid.points_total);
    assert!(mid.points_complete <= mid.points_covered);

    // Round two: the other half, typical cases, contacts filed by each department.
    for (id, token, url, agent) in &agents {
        drop_round(catalogue, agent, id, 1, dropped.get_mut(id).unwrap()).await;
        let contacts = Contacts {
            department: None,
            contacts: [(ContactRole::Leader, "张副局长"), (ContactRole::Staff, "李科员")]
                .into_iter()
                .map(|(role, name)| Contact {
                    role,
                    name: name.into(),
                    gender: "男".into(),
                    unit: format!("{id}办公室"),
                    position: "科长".into(),
                    phone: "0571-12345678".into(),
                    mobile: "13800000000".into(),
                    email: "qa@example.gov.cn".into(),
                })
                .collect(),
        };
        let r = reqwest::Client::new()
            .put(format!("{url}/api/v1/contacts"))
            .bearer_auth(token)
            .json(&contacts)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "contacts for {id}: {}", r.status());
    }
    let last = eventually("everything on the server", || async {
        let s = status(server, &office).await;
        matches(&s, &dropped, true).ok().map(|()| s)
    })
    .await;

    // Points covered: every scored item with evidence from each of its departments.
    let covered: yingjian_shared::Points = catalogue
        .items()
        .filter(|i| i.is_scored())
        .filter(|i| i.departments.iter().all(|d| dropped[d].files.contains_key(&i.code)))
        .map(yingjian_shared::Item::score)
        .sum();
    assert_eq!(last.points_covered, covered);
    // What the status was assembled from, kept with each change, equals a count of the records.
    yingjian_tests::assert_counts_kept(&server.state.db).await;
    let joint = last.departments.iter().flat_map(|d| &d.items).filter(|i| i.code == ItemCode::new(6, 4));
    assert_eq!(joint.filter(|i| i.status == ItemState::Complete).count(), 2, "6.4 complete for both");

    // The notice: stored once, listed as one duplicate group with a copy per department.
    let notice = sha(SHARED_NOTICE);
    let group = last.duplicates.iter().find(|g| g.sha256.as_str() == notice).expect("the notice's group");
    assert_eq!(group.copies.len(), 13);
    let log = server.get("/api/v1/audit?limit=100000", &office).await;
    let uploads = log.as_array().unwrap().iter().filter(|e| e["action"] == "upload");
    assert_eq!(uploads.filter(|e| e["detail"].as_str().unwrap().contains(&notice)).count(), 1);

    // The bundle: built on request (by the last instance), downloaded (from the first),
    // verified, carrying each content once per item. What has a question over it (a camera-named
    // picture has no caption) goes out once the office says so.
    let client = reqwest::Client::new();
    let builder = servers.last().unwrap();
    let questioned: Vec<yingjian_shared::QuestionedFile> = client
        .get(format!("{}/api/v1/choices", builder.url()))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for q in &questioned {
        assert_eq!(q.decision, yingjian_shared::SendDecision::Undecided, "{q:?}");
        let send = serde_json::json!({"department": q.department, "path": q.path, "send": true});
        let r = client
            .put(format!("{}/api/v1/choices", server.url()))
            .bearer_auth(&office)
            .json(&send)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
    }
    let r =
        client.post(format!("{}/api/v1/bundles", builder.url())).bearer_auth(&office).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let info: yingjian_shared::BundleInfo = r.json().await.unwrap();
    let zip_path = dir.path().join(&info.name);
    let mut download = client
        .get(format!("{}/api/v1/bundles/{}", server.url(), info.name))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    let mut out = fs::File::create(&zip_path).unwrap();
    while let Some(chunk) = download.chunk().await.unwrap() {
        out.write_all(&chunk).unwrap();
    }
    drop(out);
    let report = yingjian_aggregator::bundle::verify(&zip_path).unwrap();
    assert!(report.is_intact(), "{report:?}");
    let archive = zip::ZipArchive::new(fs::File::open(&zip_path).unwrap()).unwrap();
    let names: Vec<String> = archive.file_names().map(|n| n.unwrap().into_owned()).collect();
    let evidence = names
        .iter()
        .filter_map(|n| n.split_once('/').map(|(_, rest)| rest))
        .filter(|n| !n.ends_with('/') && !n.starts_with("00 目录") && !n.starts_with("00 联系人"))
        .filter(|n| !n.starts_with("manifest") && !n.starts_with("tagmanifest") && !n.starts_with("bag-info"))
        .filter(|n| *n != "file-index.csv" && !n.starts_with("00 校验信息"))
        .count();
    // Two departments filing the same content under the same item share one copy.
    let contents: BTreeSet<&(ItemCode, String)> = dropped.values().flat_map(|d| &d.contents).collect();
    let expected = contents.len() + dropped.values().map(|d| d.others).sum::<usize>();
    assert_eq!(evidence, expected);

    for server in servers.iter().filter(|s| s.state.config.database.url.is_some()) {
        let data = &server.data;
        assert!(
            !data.join("yingjian.sqlite3").exists() && !data.join("blobs").exists(),
            "records in PostgreSQL, blobs in the object store"
        );
    }
    for (_, _, _, agent) in &mut agents {
        agent.stop().await;
    }
    // With the agents stopped (their last contact is part of it), every instance
    // shows the same city, to the byte but for the time it was made.
    let without_time = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("generated");
        v
    };
    // (A change reaches the other instances' caches as a notification: within moments.)
    for other in &servers[1..] {
        eventually("the same status from every instance", || async {
            let whole = without_time(server.get("/api/v1/status", &office).await);
            (without_time(other.get("/api/v1/status", &office).await) == whole).then_some(())
        })
        .await;
    }
    for server in servers {
        server.stop().await;
    }
}
