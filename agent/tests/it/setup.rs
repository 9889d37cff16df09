//! `setup`, as the installers run it: the config file and the folder from the server's address
//! and a token alone; a wrong token, the office's token, no server, a link where the config
//! goes and a folder that cannot be made refused in Chinese with no config written, the reason
//! left in `setup.log` for an installer that shows nothing.

use std::path::Path;
use std::time::Duration;

use crate::{Setup, agent_command, agent_with, eventually};

/// `yingjian-agent setup` with `args`, its home in `home`: (succeeded, what it said).
fn setup_cli(home: &Path, args: &[&str]) -> (bool, String) {
    let out = agent_command(&[])
        .arg("setup")
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("YINGJIAN_TOKEN")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_from_the_address_and_token_alone_makes_a_pc_that_delivers() {
    let setup = Setup::start();
    let home = setup.dir.path().join("home");
    let config = home.join("agent.toml");
    let folder = home.join("迎检材料");
    let state = home.join("state");
    let (ok, said) = setup_cli(
        &home,
        &[
            "--state",
            state.to_str().unwrap(),
            "--server",
            &setup.url(),
            "--token",
            &setup.server.token,
            "--config",
            config.to_str().unwrap(),
            "--folder",
            folder.to_str().unwrap(),
        ],
    );
    assert!(ok, "{said}");
    assert!(said.contains("已为公安局设置好本机"), "the department comes from the token: {said}");
    assert!(folder.join(".yingjian-folder").is_file() && setup_item(&folder, "08.03"), "laid out for 公安局");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the token is readable by its owner alone: {mode:o}");
    }
    let _agent = agent_with(&config, &["run"], &[]);
    let item = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("08.03"))
        .unwrap()
        .path();
    std::fs::write(item.join("安装后放入.pdf"), b"%PDF-1.4 after setup").unwrap();
    eventually("the file from the PC set up", Duration::from_mins(1), async || {
        setup.records().await.iter().any(|r| r.path.as_str().ends_with("安装后放入.pdf")).then_some(())
    })
    .await;
}

fn setup_item(folder: &Path, code: &str) -> bool {
    std::fs::read_dir(folder).unwrap().flatten().any(|e| e.file_name().to_string_lossy().starts_with(code))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_refuses_a_wrong_token_the_offices_and_an_unreachable_server_in_chinese_writing_no_config() {
    let setup = Setup::start();
    let home = setup.dir.path().join("home");
    let config = home.join("agent.toml");
    let config = config.to_str().unwrap();
    let url = setup.url();
    for (token, dept, says) in [
        ("yj_not-a-token", None, "令牌有误或已被撤销"),
        (setup.server.office.as_str(), None, "不属于任何单位"),
        (setup.server.office.as_str(), Some("公安局"), "不属于任何单位"),
        (setup.server.token.as_str(), Some("商务局"), "这个令牌属于公安局，不是商务局"),
    ] {
        let mut args = vec!["--server", &url, "--token", token, "--config", config];
        args.extend(dept.iter().flat_map(|d| ["--dept", *d]));
        let (ok, said) = setup_cli(&home, &args);
        assert!(!ok && said.contains(says), "{said}");
        // An installer shows none of it: the same words wait beside the config file.
        let left = std::fs::read_to_string(home.join("setup.log")).unwrap();
        assert!(left.starts_with('\u{feff}') && left.contains(says) && left.ends_with("\r\n"), "{left:?}");
        assert!(!said.contains("error"), "Chinese alone: {said}");
    }
    // Nothing listens on port 1 (a port closed by the test could be taken by the next test's).
    let closed = "127.0.0.1:1";
    let (ok, said) = setup_cli(
        &home,
        &["--server", &format!("http://{closed}"), "--token", &setup.server.token, "--config", config],
    );
    assert!(!ok && said.contains("无法连接服务器") && said.contains("--dept"), "{said}");
    assert!(!Path::new(config).exists(), "nothing written");
    // Named, the department is enough to set a PC up before it is on the network.
    let folder = home.join("迎检材料");
    let (ok, said) = setup_cli(
        &home,
        &[
            "--server",
            &format!("http://{closed}"),
            "--token",
            &setup.server.token,
            "--dept",
            "公安局",
            "--config",
            config,
            "--folder",
            folder.to_str().unwrap(),
        ],
    );
    assert!(ok && Path::new(config).is_file() && setup_item(&folder, "08.03"), "{said}");
}

/// On Linux the agent runs as the clerk's user service: without `--config`, `setup` writes the
/// clerk's own config file, and `status` finds it.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_linux_setup_writes_the_clerks_own_config_that_status_finds() {
    let setup = Setup::start();
    let home = setup.dir.path().join("home");
    let (ok, said) = setup_cli(&home, &["--server", &setup.url(), "--token", &setup.server.token]);
    assert!(ok, "{said}");
    let config = std::fs::read_to_string(home.join(".config/yingjian/agent.toml")).unwrap();
    assert!(config.contains(&setup.url()), "{config}");
    assert!(setup_item(&home.join("迎检材料"), "08.03"), "no desktop folder: the home folder");
    assert!(
        home.join(".local/state/yingjian").is_absolute() && config.contains(".local/state/yingjian"),
        "{config}"
    );
    let out =
        agent_command(&[]).arg("status").env("HOME", &home).env_remove("XDG_CONFIG_HOME").output().unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && status.contains("已上传"),
        "{status}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What an installer may meet on a PC: the config file's place taken by a link (to a file the
/// agent must not overwrite), a folder that cannot be made. Refused in Chinese, nothing made.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_writes_through_no_link_and_makes_nothing_when_the_folder_cannot_be() {
    let setup = Setup::start();
    let home = setup.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let outside = setup.dir.path().join("outside.txt");
    std::fs::write(&outside, "precious").unwrap();
    let config = home.join("agent.toml");
    std::os::unix::fs::symlink(&outside, &config).unwrap();
    let folder = home.join("迎检材料");
    let url = setup.url();
    let run = |config: &Path, folder: &Path| {
        let (config, folder) = (config.to_str().unwrap(), folder.to_str().unwrap());
        setup_cli(
            &home,
            &["--server", &url, "--token", &setup.server.token, "--config", config, "--folder", folder],
        )
    };
    let (ok, said) = run(&config, &folder);
    assert!(!ok && said.contains("链接"), "{said}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious", "the link's target untouched");
    assert!(!folder.exists(), "nothing laid out");

    // The folder would go under a file: refused, and no config file is left behind.
    let config = home.join("other.toml");
    let (ok, said) = run(&config, &outside.join("迎检材料"));
    assert!(!ok && said.contains("无法创建迎检材料文件夹"), "{said}");
    assert!(!said.contains("error") && !said.contains("os error"), "Chinese alone: {said}");
    assert!(!config.exists(), "no config for a folder that could not be made");
}
