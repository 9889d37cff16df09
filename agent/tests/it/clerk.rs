//! What the clerk meets: one agent per state folder, `status` telling the truth when the agent
//! is not running, captions that follow the folder, files the agent may not read named.

use std::fs;
use std::time::Duration;

use crate::{Setup, agent_with, eventually, status_cli};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_agent_on_the_same_state_folder_says_one_is_running_and_exits() {
    let setup = Setup::start();
    let config = setup.config(&setup.url(), "");
    let _first = agent_with(&config, &["run"], &[]);
    fs::write(setup.item("08.03").join("第一份.pdf"), b"%PDF-1.4 first").unwrap();
    eventually("the first agent at work", Duration::from_mins(1), async || {
        (setup.records().await.len() == 1).then_some(())
    })
    .await;
    let mut second = agent_with(&config, &["run"], &[]);
    let status = second.0.wait().unwrap();
    let second = (status, fs::read_to_string(&second.1).unwrap());
    let (status, said) = second;
    assert!(!status.success(), "the second run exits with an error");
    assert!(said.contains("已经有一个上传程序在运行"), "{said}");
    assert!(!said.contains("error"), "Chinese alone: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_the_agent_is_not_running_and_names_what_is_not_sent() {
    let setup = Setup::start();
    let config = setup.config(&setup.url(), "");
    let mut agent = agent_with(&config, &["run"], &[]);
    let item = setup.item("08.03");
    fs::write(item.join("已上传.pdf"), b"%PDF-1.4 sent").unwrap();
    eventually("the first file", Duration::from_mins(1), async || {
        (setup.records().await.len() == 1).then_some(())
    })
    .await;
    let running = status_cli(&config);
    assert!(!running.contains("没有在运行"), "{running}");
    agent.0.kill().unwrap();
    agent.0.wait().unwrap();

    fs::write(item.join("停止后放入.pdf"), b"%PDF-1.4 later").unwrap();
    fs::remove_file(item.join("已上传.pdf")).unwrap();
    let status = status_cli(&config);
    assert!(status.contains("上传程序没有在运行"), "{status}");
    assert!(
        status.contains("已上传 0 个，待上传 1 个（上传程序没有在运行），已删除、待从服务器撤下 1 个"),
        "{status}"
    );
    assert!(status.contains("停止后放入.pdf"), "the file not sent is named: {status}");
    // Item codes as the folders spell them; no English.
    assert!(status.contains("11.02 ") && !status.contains(" 11.2 "), "{status}");
    assert!(!status.contains("待撤回") && !status.contains("error") && !status.contains(" the "), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_caption_clears_the_caption_on_the_server() {
    let setup = Setup::start();
    let config = setup.config(&setup.url(), "");
    let _agent = agent_with(&config, &["run"], &[]);
    let item = setup.item("08.03");
    fs::write(item.join("IMG_0001.jpg"), b"\xff\xd8\xff\xe0 photo").unwrap();
    fs::write(item.join("IMG_0001.txt"), "部署会议现场").unwrap();
    let caption = async || setup.records().await.first().map(|r| r.caption.clone());
    eventually("the picture with its caption", Duration::from_mins(1), async || {
        (caption().await == Some(Some("部署会议现场".into()))).then_some(())
    })
    .await;
    fs::remove_file(item.join("IMG_0001.txt")).unwrap();
    eventually("the caption cleared", Duration::from_mins(1), async || {
        (caption().await == Some(None)).then_some(())
    })
    .await;
    let problem = setup.records().await[0].problem.clone();
    assert_eq!(problem.as_deref(), Some("uncaptioned"), "the item shows 缺少文字说明");
}

/// As root, the agent runs as `nobody` (root reads anything), on folders it may write.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_the_agent_may_not_read_is_named_and_sent_once_it_may() {
    use std::os::unix::fs::PermissionsExt;

    let setup = Setup::start();
    let root = rustix_is_root();
    let wrap: &[&str] =
        if root { &["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] } else { &[] };
    if root {
        fs::create_dir_all(&setup.agent_state).unwrap();
        for path in [setup.dir.path(), setup.folder.as_path(), setup.agent_state.as_path()] {
            fs::set_permissions(path, fs::Permissions::from_mode(0o777)).unwrap();
        }
        chmod_tree(&setup.folder);
    }
    let config = setup.config(&setup.url(), "");
    fs::set_permissions(&config, fs::Permissions::from_mode(0o644)).unwrap();
    let _agent = agent_with(&config, &["run"], wrap);
    let item = setup.item("08.03");
    let locked = item.join("无权读取.pdf");
    fs::write(&locked, b"%PDF-1.4 secret").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let name = format!("{}/无权读取.pdf", item.file_name().unwrap().to_str().unwrap());
    eventually("the unreadable file named in the heartbeat", Duration::from_mins(1), async || {
        setup
            .skipped()
            .await
            .iter()
            .any(|(n, why)| *n == name && why.starts_with("无法读取：没有权限"))
            .then_some(())
    })
    .await;
    let todo = setup.folder.join(yingjian_shared::TODO_FILE);
    eventually("the unreadable file named in the to-do file", Duration::from_mins(1), async || {
        fs::read_to_string(&todo).is_ok_and(|t| t.contains("无权读取.pdf：无法读取：没有权限")).then_some(())
    })
    .await;
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
    eventually("the file once it may be read", Duration::from_mins(1), async || {
        (setup.records().await.len() == 1).then_some(())
    })
    .await;
}

#[cfg(target_os = "linux")]
fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0")))
}

#[cfg(target_os = "linux")]
fn chmod_tree(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let mode = if path.is_dir() { 0o777 } else { 0o666 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        if path.is_dir() {
            chmod_tree(&path);
        }
    }
}

/// Unmounts on drop.
#[cfg(target_os = "linux")]
struct Mounted(std::path::PathBuf);

#[cfg(target_os = "linux")]
impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Its state folder on a small tmpfs that fills up: the agent stays up, says so, and sends
/// what came meanwhile once there is room again. Needs root (to mount); skipped otherwise.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn its_own_disk_full_the_agent_stays_up_says_so_and_goes_on_when_there_is_room() {
    use std::io::Write;

    let setup = Setup::start();
    fs::create_dir_all(&setup.agent_state).unwrap();
    let mounted = rustix_is_root()
        && std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(&setup.agent_state)
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let _mounted = Mounted(setup.agent_state.clone());
    let config = setup.config(&setup.url(), "");
    let mut agent = agent_with(&config, &["run"], &[]);
    fs::write(setup.item("08.03").join("满之前.pdf"), b"%PDF-1.4 before").unwrap();
    eventually("the first file", Duration::from_mins(1), async || {
        (setup.records().await.len() == 1).then_some(())
    })
    .await;

    let filler = setup.agent_state.join("filler");
    let mut file = fs::File::create(&filler).unwrap();
    let block = vec![0u8; 64 << 10];
    while file.write_all(&block).is_ok() {}
    drop(file);
    for n in 0..10 {
        fs::write(setup.item("11.02").join(format!("满时放入{n}.pdf")), format!("%PDF-1.4 while full {n}"))
            .unwrap();
    }
    eventually("the heartbeat says the disk is full", Duration::from_mins(1), async || {
        setup.skipped().await.iter().any(|(_, why)| why.contains("磁盘已满")).then_some(())
    })
    .await;
    let todo = setup.folder.join(yingjian_shared::TODO_FILE);
    eventually("the to-do file says so beside 待上传", Duration::from_mins(1), async || {
        fs::read_to_string(&todo)
            .is_ok_and(|t| t.contains("（暂停上传）：上传程序所在的磁盘已满"))
            .then_some(())
    })
    .await;
    assert!(agent.0.try_wait().unwrap().is_none(), "the agent stays up");
    assert!(status_cli(&config).contains("待上传 10 个（上传程序所在的磁盘已满"), "{}", status_cli(&config));

    fs::remove_file(&filler).unwrap();
    eventually("what came meanwhile, once there is room", Duration::from_mins(1), async || {
        (setup.records().await.len() == 11).then_some(())
    })
    .await;
}
