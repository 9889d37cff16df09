//! Links never steer the agent: a caption linked to a file elsewhere is not read (and is
//! listed); links planted where the agent writes (the canary, the to-do file and its temporary
//! file) are refused, and their targets stay as they were.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::symlink;
use std::time::Duration;

use crate::{Setup, agent_with, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_where_the_agent_reads_captions_or_writes_are_never_followed() {
    let setup = Setup::start();
    let outside = setup.dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let secret = outside.join("secret.txt");
    fs::write(&secret, "机密：不得外传").unwrap();
    let target = outside.join("target.txt");
    fs::write(&target, "unchanged").unwrap();
    // Planted where the agent writes: the canary, the old temporary name of the to-do file.
    symlink(&target, setup.folder.join(".yingjian-canary")).unwrap();
    symlink(&target, setup.folder.join(".迎检待办.txt.new")).unwrap();
    // A picture whose caption is a link to a file outside the folder, and one with its own.
    let item = setup.item("08.03");
    fs::write(item.join("IMG_0002.jpg"), b"\xff\xd8\xff\xe0 jpeg").unwrap();
    symlink(&secret, item.join("IMG_0002.txt")).unwrap();
    fs::write(item.join("会场.jpg"), b"\xff\xd8\xff\xe0 another").unwrap();
    fs::write(item.join("会场.txt"), "部署会议会场").unwrap();

    let config = setup.config(&setup.url(), "");
    let _agent = agent_with(&config, &["run"], &[]);
    let records = eventually("both pictures on file", Duration::from_mins(1), async || {
        let records = setup.records().await;
        (records.len() == 2).then_some(records)
    })
    .await;
    let caption = |name: &str| records.iter().find(|r| r.path.file_name() == name).unwrap().caption.clone();
    assert_eq!(caption("IMG_0002.jpg"), None, "the linked caption is not read");
    assert_eq!(caption("会场.jpg").as_deref(), Some("部署会议会场"));
    let todo = setup.folder.join(yingjian_shared::TODO_FILE);
    eventually("the to-do file", Duration::from_mins(1), async || {
        fs::symlink_metadata(&todo).is_ok_and(|m| m.is_file()).then_some(())
    })
    .await;
    let caption_link = format!("{}/IMG_0002.txt", item.file_name().unwrap().to_str().unwrap());
    eventually("the linked caption listed", Duration::from_mins(1), async || {
        setup
            .skipped()
            .await
            .iter()
            .any(|(name, why)| *name == caption_link && why.contains("链接"))
            .then_some(())
    })
    .await;

    // The to-do file replaced by a link: refused, listed, its target untouched.
    fs::remove_file(&todo).unwrap();
    symlink(&target, &todo).unwrap();
    eventually("the linked to-do file listed", Duration::from_mins(1), async || {
        setup.skipped().await.iter().any(|(name, _)| name == yingjian_shared::TODO_FILE).then_some(())
    })
    .await;
    // A change the to-do file would show: it is still not written through the link.
    fs::write(setup.item("11.02").join("机构设置.pdf"), b"%PDF-1.4 new").unwrap();
    eventually("the new file on file", Duration::from_mins(1), async || {
        (setup.records().await.len() == 3).then_some(())
    })
    .await;
    assert!(fs::symlink_metadata(&todo).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(&target).unwrap(), "unchanged");
    assert_eq!(fs::read_to_string(&secret).unwrap(), "机密：不得外传");
    assert!(fs::symlink_metadata(setup.folder.join(".yingjian-canary")).unwrap().file_type().is_symlink());
}
