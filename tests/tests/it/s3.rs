//! Blobs in an S3-compatible object store (a real Garage on loopback): what an agent delivers
//! lands in the bucket under its hash, nothing in the data folder's `blobs/`; downloads, the
//! bundle and `scrub` read it back from there; an upload that does not verify leaves nothing.

use std::fs;
use std::process::Command;

use yingjian_aggregator::blobs::{BlobStore, S3Blobs};
use yingjian_tests::garage::Garage;
use yingjian_tests::{Aggregator, DeptAgent, Rng, binary, eventually, sha, temp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_lives_in_the_object_store_and_reads_back_verified() {
    let Some(garage) = Garage::start() else { return };
    let dir = temp();
    let data = dir.path().join("data");
    let settings = garage.settings.clone();
    let server = Aggregator::start_with(&data, move |c| c.blobs.s3 = Some(settings)).await;
    let token = server.token(Some("police")).await;
    let office = server.token(None).await;
    let mut agent = DeptAgent::prepare(dir.path(), "police", &server.url(), &token);

    // Three parts of 5 MiB and a tail: a multipart upload.
    let mut rng = Rng::from_env();
    let mut big = b"%PDF-1.4\n".to_vec();
    big.extend((0..(16 << 20) / 8).flat_map(|_| rng.next_u64().to_le_bytes()));
    let notice = b"%PDF-1.4\n% notice\n%%EOF\n".to_vec();
    let photo = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0 a photo".to_vec();
    let files = [
        (agent.item("08.03").join("文件/通知.pdf"), &notice),
        (agent.item("08.03").join("图片/现场检查.jpg"), &photo),
        // The same content filed again: stored once.
        (agent.item("11.02").join("文件/通知.pdf"), &notice),
        (agent.item("11.02").join("文件/扫描件.pdf"), &big),
    ];
    let mut expected: Vec<String> = Vec::new();
    for (path, bytes) in &files {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
        expected.push(path.strip_prefix(&agent.folder).unwrap().to_string_lossy().replace('\\', "/"));
    }
    expected.sort();
    agent.start().await;
    eventually("every file on record", || async {
        let mut got = server.paths(&token).await;
        got.sort();
        (got == expected).then_some(())
    })
    .await;

    assert!(!data.join("blobs").exists(), "nothing in the data folder's blobs/");
    let bucket = S3Blobs::open(&garage.settings).unwrap();
    let mut hashes = vec![sha(&notice), sha(&photo), sha(&big)];
    hashes.sort();
    let listed = {
        let bucket = bucket.clone();
        tokio::task::spawn_blocking(move || bucket.list()).await.unwrap().unwrap()
    };
    assert_eq!(listed, hashes, "each content once, under its hash");

    // Read back: a download, the bundle (which re-hashes every blob it copies).
    let client = reqwest::Client::new();
    let body = client
        .get(format!("{}/files/{}", server.url(), sha(&big)))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(body[..] == big[..], "the download is the file ({} bytes)", body.len());
    let created =
        client.post(format!("{}/api/v1/bundles", server.url())).bearer_auth(&office).send().await.unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let name = created.json::<serde_json::Value>().await.unwrap()["name"].as_str().unwrap().to_string();
    let verified = Command::new(binary("yingjian-aggregator"))
        .arg("verify-bundle")
        .arg(data.join("bundles").join(&name))
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));

    // Uploads whose bytes are not the named hash, one put whole (under a part) and one in parts:
    // refused, and nothing is left in the bucket.
    for size in [1000, 6 << 20] {
        let wrong = client
            .put(format!("{}/api/v1/blobs/{}", server.url(), sha(b"something else")))
            .bearer_auth(&token)
            .body(vec![7u8; size])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{size} bytes");
    }
    let (listed, temporary) = {
        let blobs = server.state.blobs.clone();
        tokio::task::spawn_blocking(move || (blobs.list().unwrap(), blobs.temp_files().unwrap()))
            .await
            .unwrap()
    };
    assert_eq!((listed, temporary), (hashes.clone(), 0), "no blob and no temporary object from it");

    // `scrub` checks the bucket: clean, then a blob gone from under the server is named.
    let config = dir.path().join("aggregator.toml");
    fs::write(&config, format!("data = {:?}\n{}", data, garage.config_toml())).unwrap();
    let scrub = || {
        Command::new(binary("yingjian-aggregator"))
            .arg("scrub")
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap()
    };
    let clean = scrub();
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("3 blobs checked, 0 damaged"));
    let gone = sha(&photo);
    {
        let (bucket, gone) = (bucket.clone(), gone.clone());
        tokio::task::spawn_blocking(move || bucket.delete(&gone)).await.unwrap().unwrap();
    }
    let damaged = scrub();
    assert!(!damaged.status.success());
    assert!(String::from_utf8_lossy(&damaged.stdout).contains(&format!("missing: {gone}")));
    agent.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_object_store_is_a_clear_error_at_start() {
    let Some(garage) = Garage::start() else { return };
    let dir = temp();
    let mut config = yingjian_aggregator::Config { data: dir.path().join("data"), ..Default::default() };
    let mut wrong = garage.settings.clone();
    wrong.secret_key = "0".repeat(64);
    config.blobs.s3 = Some(wrong);
    let Err(e) = yingjian_aggregator::AppState::open(config) else { panic!("a wrong key must not start") };
    assert!(e.to_string().contains("[blobs] s3: cannot use bucket \"yingjian\""), "{e}");

    // In the file, keys left out and not in the environment are named.
    let file = dir.path().join("aggregator.toml");
    let data = dir.path().join("data");
    fs::write(
        &file,
        format!(
            "data = {data:?}\n[blobs.s3]\nendpoint = {:?}\nbucket = \"yingjian\"\n",
            garage.settings.endpoint
        ),
    )
    .unwrap();
    let out = Command::new(binary("yingjian-aggregator"))
        .args(["scrub", "--config"])
        .arg(&file)
        .env_remove("YINGJIAN_S3_ACCESS_KEY")
        .env_remove("YINGJIAN_S3_SECRET_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("YINGJIAN_S3_SECRET_KEY"));
    // From the environment, they are used.
    let out = Command::new(binary("yingjian-aggregator"))
        .args(["scrub", "--config"])
        .arg(&file)
        .env("YINGJIAN_S3_ACCESS_KEY", &garage.settings.access_key)
        .env("YINGJIAN_S3_SECRET_KEY", &garage.settings.secret_key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
