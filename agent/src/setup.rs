//! `setup`: a PC made ready in one step, as the installers run it (the MSI's custom action, the
//! Debian package's first run): the config file written where `run` and `status` look for it,
//! the evidence folder laid out for the department the token belongs to.

use std::path::{Path, PathBuf};
use std::time::Duration;

use yingjian_shared::Catalogue;

use crate::client::Client;
use crate::config::{AgentConfig, default_config_path, setup_folder, setup_state};
use crate::error::{AgentError, AgentResult};
use crate::init::{department_named, init_folder};
use crate::newfile;
use crate::sync::host_name;
use crate::words::io_reason;

/// What `setup` was told; what it was not told takes this PC's defaults.
pub struct Setup {
    pub server: String,
    pub token: String,
    pub dept: Option<String>,
    pub folder: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
    pub config: Option<PathBuf>,
}

/// How long the server may take to answer at install time: an installer must not hang.
const ASK_SERVER: Duration = Duration::from_secs(15);

/// The file beside the config where `setup` leaves what it said: an installer shows nothing a
/// program prints, so IT finds the reason for a failed install there.
const SETUP_LOG: &str = "setup.log";

/// Writes the config file and lays out the folder; says in Chinese what it did, and leaves the
/// same words (or the refusal) in [`SETUP_LOG`] beside the config file.
pub async fn setup(setup: Setup) -> AgentResult<String> {
    let config_path = setup.config.clone().map_or_else(default_config_path, Ok)?;
    let result = set_up(setup, &config_path).await;
    if let Some(dir) = config_path.parent() {
        let said = result.as_ref().map_or_else(|e| format!("{e}\n"), Clone::clone);
        // Notepad's text: a BOM, CRLF. Best effort: the words are printed as well.
        let text = format!("\u{feff}{}", said.replace('\n', "\r\n"));
        let _ = std::fs::create_dir_all(dir)
            .map(|()| newfile::replace(&dir.join(SETUP_LOG), text.as_bytes(), false));
    }
    result
}

async fn set_up(setup: Setup, config_path: &Path) -> AgentResult<String> {
    let config = AgentConfig {
        server: setup.server.trim().to_string(),
        token: Some(setup.token.trim().to_string()),
        folder: absolute(setup.folder.map_or_else(setup_folder, Ok)?)?,
        state: absolute(setup.state.map_or_else(setup_state, Ok)?)?,
        ca_cert: setup.ca_cert.map(absolute).transpose()?,
        ..AgentConfig::default()
    };
    let base = config.base_url().map_err(|_| {
        AgentError::Setup(format!("服务器地址“{}”应以 http:// 或 https:// 开头。", config.server))
    })?;
    let token = config.token().map_err(|_| AgentError::Setup("请给出本单位的令牌。".into()))?;
    let client = Client::new(&base, token, &host_name(), config.ca_cert.as_deref())?;
    let answer = tokio::time::timeout(ASK_SERVER, async {
        let catalogue = client.catalogue().await?;
        let status = client.status().await?;
        AgentResult::Ok((catalogue, status))
    })
    .await;
    let (catalogue, own) = match answer {
        // A department's token sees its own department alone; the office's sees them all.
        Ok(Ok((catalogue, status))) => match <[_; 1]>::try_from(status.departments) {
            Ok([own]) => (catalogue, Some(own.id)),
            Err(_) => {
                return Err(AgentError::Setup(
                    "这是市质量强市办公室的令牌，不属于任何单位：请使用本单位的令牌。".into(),
                ));
            }
        },
        Ok(Err(AgentError::Server { status: 401, .. })) => {
            return Err(AgentError::Setup(
                "服务器不认这个令牌（令牌有误或已被撤销）：请向市质量强市办公室索取本单位的令牌。".into(),
            ));
        }
        // Unreachable now (a PC set up before it is on the network): the department must be
        // named, and the built-in catalogue lays the folder out.
        Ok(Err(_)) | Err(_) if setup.dept.is_some() => (Catalogue::builtin().clone(), None),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "setup cannot reach the server");
            return Err(AgentError::Setup(format!(
                "无法连接服务器 {base}：请检查服务器地址和网络，或用 --dept 指定本单位后再装。"
            )));
        }
        Err(_) => {
            return Err(AgentError::Setup(format!(
                "服务器 {base} 在 {} 秒内没有应答：请检查服务器地址和网络，或用 --dept 指定本单位后再装。",
                ASK_SERVER.as_secs()
            )));
        }
    };
    let wanted = setup
        .dept
        .as_deref()
        .or(own.as_deref())
        .ok_or_else(|| AgentError::Setup("请用 --dept 指定本单位。".into()))?;
    let department = department_named(&catalogue, wanted)?;
    if let Some(id) = own.filter(|id| *id != department.id) {
        let owner = catalogue.department(&id).map_or(id.as_str(), |d| d.name.as_str());
        return Err(AgentError::Setup(format!("这个令牌属于{owner}，不是{}：请核对令牌。", department.name)));
    }
    // What can be refused is refused before anything is made: the config file's text, a link
    // where it goes; then the folder, so that a folder that cannot be made leaves no config.
    let text = config_text(&config)?;
    if newfile::is_link_or_odd(config_path) {
        return Err(cannot_write(config_path, "那里是一个链接，为安全起见不写入"));
    }
    let created = init_folder(&catalogue, department, &config.folder).map_err(|e| {
        AgentError::Setup(format!(
            "无法创建迎检材料文件夹 {}：{}。请换一个文件夹（--folder）。",
            config.folder.display(),
            io_reason(&e)
        ))
    })?;
    write_config(config_path, &text)?;
    Ok(format!(
        "已为{}设置好本机：配置文件 {}，迎检材料文件夹 {}（新建 {} 个文件夹）。\n",
        department.name,
        config_path.display(),
        config.folder.display(),
        created.len()
    ))
}

fn absolute(path: PathBuf) -> AgentResult<PathBuf> {
    Ok(std::path::absolute(path)?)
}

/// The config file's text: what `setup` was told, every path absolute.
fn config_text(config: &AgentConfig) -> AgentResult<String> {
    #[derive(serde::Serialize)]
    struct Written<'a> {
        server: &'a str,
        token: &'a str,
        folder: &'a Path,
        state: &'a Path,
        #[serde(skip_serializing_if = "Option::is_none")]
        ca_cert: Option<&'a Path>,
    }
    let written = Written {
        server: &config.server,
        token: config.token()?,
        folder: &config.folder,
        state: &config.state,
        ca_cert: config.ca_cert.as_deref(),
    };
    let text = toml::to_string(&written)
        .map_err(|_| AgentError::Setup("文件夹的名字无法写进配置文件：请换一个文件夹。".into()))?;
    Ok(format!("# Written by `yingjian-agent setup`; docs/install.md lists every key.\n{text}"))
}

/// The config file, readable by its owner only (it holds the token), written whole and never
/// through a link.
fn write_config(path: &Path, text: &str) -> AgentResult<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| cannot_write(path, io_reason(&e)))?;
    }
    newfile::replace_private(path, text.as_bytes()).map_err(|e| match e {
        newfile::WriteError::Link(_) => cannot_write(path, "那里是一个链接，为安全起见不写入"),
        newfile::WriteError::Io(e) => cannot_write(path, io_reason(&e)),
    })
}

fn cannot_write(path: &Path, reason: &str) -> AgentError {
    AgentError::Setup(format!("无法写入配置文件 {}：{reason}。", path.display()))
}
