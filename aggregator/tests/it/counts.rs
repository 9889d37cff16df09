//! The status counts the database keeps with every change (migrations/009_counts.sql) equal a
//! count of the records, whatever the change; `scrub` names a difference and repairs it.

use std::process::Command;

use jiff::{Timestamp, ToSpan};
use reqwest::{Method, StatusCode};
use yingjian_aggregator::READER_VERSION;
use yingjian_aggregator::db::{Counts, Recount};
use yingjian_aggregator::facts::Facts;
use yingjian_shared::ReadState;

use crate::{TestServer, jpeg, pdf, sha};

/// The counts as kept, after checking they equal a recount.
async fn kept(s: &TestServer) -> Counts {
    let (kept, counted) = s.state.db.kept_and_counted().await.unwrap();
    assert_eq!(kept, counted, "kept counts differ from a recount");
    kept
}

fn files(counts: &Counts, department: &str, item: Option<&str>, kind: Option<&str>) -> Option<u64> {
    counts
        .groups
        .iter()
        .find(|g| g.department == department && g.item.as_deref() == item && g.kind.as_deref() == kind)
        .map(|g| g.files)
}

#[tokio::test]
async fn the_kept_counts_equal_a_recount_through_every_kind_of_change() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let police_2 = s.token(Some("police"), "pc-2").await;
    let office = s.token(None, "office").await;
    // The first status read makes the counts this server's (deadline, reader).
    s.status(&office).await;
    assert_eq!(kept(&s).await, Counts::default());

    let notice = pdf("8.3 notice");
    assert_eq!(s.file(&police, "08.03 昆仑/文件/通知.pdf", &notice).await, StatusCode::OK);
    assert_eq!(s.file(&police, "08.03 昆仑/文件/方案.pdf", &pdf("8.3 plan")).await, StatusCode::OK);
    assert_eq!(s.file(&police, "08.03 昆仑/图片/现场.jpg", &jpeg("8.3")).await, StatusCode::OK);
    // The same paper from a second PC of the department, and a report.
    assert_eq!(s.file(&police_2, "08.03 昆仑/文件/通知.pdf", &notice).await, StatusCode::OK);
    assert_eq!(s.file(&police, "自评报告/2021年度自评报告.pdf", &pdf("report")).await, StatusCode::OK);
    let counts = kept(&s).await;
    assert_eq!(files(&counts, "police", Some("8.3"), Some("document")), Some(3));
    assert_eq!(files(&counts, "police", Some("8.3"), Some("picture")), Some(1));
    assert_eq!(counts.reading.queued, 4, "four contents, the notice stored once");

    // A re-send changes nothing; a new version at a path moves `received` only.
    assert_eq!(s.file(&police, "08.03 昆仑/文件/方案.pdf", &pdf("8.3 plan")).await, StatusCode::OK);
    assert_eq!(kept(&s).await, counts);
    assert_eq!(s.file(&police, "08.03 昆仑/文件/方案.pdf", &pdf("8.3 plan v2")).await, StatusCode::OK);
    let counts = kept(&s).await;
    assert_eq!(files(&counts, "police", Some("8.3"), Some("document")), Some(3));
    assert_eq!(counts.reading.queued, 4, "the old plan is pointed at by nothing now");

    // Withdrawing the only picture takes its group away.
    let gone = s
        .req(Method::DELETE, "/api/v1/evidence", &police)
        .query(&[("path", "08.03 昆仑/图片/现场.jpg")])
        .send()
        .await
        .unwrap();
    assert!(gone.status().is_success());
    let counts = kept(&s).await;
    assert_eq!(files(&counts, "police", Some("8.3"), Some("picture")), None);
    assert_eq!(counts.reading.queued, 3);

    // What the worker read moves a content from queued to done; a 密级 mark holds every record of it.
    let marked =
        Facts { read: ReadState::Done, classification: Some("秘密★1年".into()), ..Facts::default() };
    s.state.db.set_reading(sha(&notice), marked, String::new(), READER_VERSION).await.unwrap();
    let counts = kept(&s).await;
    assert_eq!((counts.reading.queued, counts.reading.done), (2, 1));
    let status = s.status(&office).await;
    assert_eq!(status["analysis"]["done"], 1);
    assert_eq!(status["held"].as_array().unwrap().len(), 2, "{}", status["held"]);
    // Read again by a failing reader.
    let failed = Facts { read: ReadState::Failed, ..Facts::default() };
    s.state.db.set_reading(sha(&notice), failed, String::new(), READER_VERSION).await.unwrap();
    let counts = kept(&s).await;
    assert_eq!((counts.reading.queued, counts.reading.done, counts.reading.failed), (2, 0, 1));
    assert!(s.status(&office).await["held"].as_array().unwrap().is_empty());

    // A newer reader queues everything again; an earlier deadline makes every file late.
    let earlier = Timestamp::now() - 1.hour();
    let db = &s.state.db;
    assert!(db.count_against(earlier, READER_VERSION + 1, Recount::IfChanged).await.unwrap());
    assert!(!db.count_against(earlier, READER_VERSION + 1, Recount::IfChanged).await.unwrap());
    let counts = kept(&s).await;
    assert_eq!(counts.reading.queued, 3);
    assert!(counts.groups.iter().all(|g| g.late == g.files), "{:?}", counts.groups);
    assert_eq!(s.file(&police, "08.03 昆仑/文件/补充.pdf", &pdf("8.3 late")).await, StatusCode::OK);
    let counts = kept(&s).await;
    assert_eq!(files(&counts, "police", Some("8.3"), Some("document")), Some(4));
    assert!(counts.groups.iter().all(|g| g.late == g.files));
}

#[tokio::test]
async fn scrub_names_counts_that_differ_from_the_records_and_counts_again() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let office = s.token(None, "office").await;
    assert_eq!(s.file(&police, "08.03 昆仑/文件/通知.pdf", &pdf("notice")).await, StatusCode::OK);
    s.status(&office).await;
    let data = s.dir.path().join("data");
    let scrub = || {
        let out = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
            .args(["scrub", "--data"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(scrub().contains("status counts agree with the records"));

    // Counts gone wrong behind the server's back (a restore of a partial backup, a hand edit).
    let conn = rusqlite::Connection::open(data.join("yingjian.sqlite3")).unwrap();
    conn.execute("UPDATE evidence_counts SET files = files + 5", []).unwrap();
    conn.execute("UPDATE reading_counts SET blobs = 7", []).unwrap();
    drop(conn);
    let said = scrub();
    assert!(said.contains("counts of (\"police\""), "{said}");
    assert!(said.contains("reading counts"), "{said}");
    assert!(said.contains("status counts: 2 wrong, counted again from the records"), "{said}");
    assert!(scrub().contains("status counts agree with the records"));
    assert_eq!(kept(&s).await.groups[0].files, 1);
}
