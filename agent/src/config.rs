//! `agent.toml`, flags and environment: where the folder is and which server to talk to.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{AgentError, AgentResult};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// The aggregator, e.g. `http://10.0.0.5:8080`.
    pub server: String,
    /// This installation's token (also `YINGJIAN_TOKEN`).
    pub token: Option<String>,
    /// The evidence folder.
    pub folder: PathBuf,
    /// Where `agent.sqlite3` lives.
    pub state: PathBuf,
    /// How long size and mtime must stay still before a file is taken, in milliseconds.
    pub settle_ms: u64,
    /// Full rescan period, in seconds: events get lost.
    pub rescan_secs: u64,
    pub heartbeat_secs: u64,
    /// A transfer fails when no byte of it has moved for this long, in seconds (never because
    /// it is long).
    pub stall_secs: u64,
    /// Watch by polling instead of native events (network shares).
    pub poll: bool,
    /// An extra CA certificate (PEM) to trust for https://, for intranets with their own CA.
    pub ca_cert: Option<PathBuf>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            server: "http://127.0.0.1:8080".into(),
            token: None,
            folder: default_folder(),
            state: default_state(),
            settle_ms: 2000,
            rescan_secs: 300,
            heartbeat_secs: 60,
            stall_secs: 60,
            poll: false,
            ca_cert: None,
        }
    }
}

/// On Windows at the root of the system drive (`C:\\迎检材料`): a folder made there by the
/// service or the installer lets every user of the PC add and change files (the drive root's
/// inherited permissions), which the public desktop does not; the installer puts a shortcut to
/// it on the desktop. Elsewhere beside where the agent is started.
fn default_folder() -> PathBuf {
    #[cfg(windows)]
    {
        let drive =
            std::env::var_os("SystemDrive").map_or_else(|| "C:".into(), |d| d.to_string_lossy().into_owned());
        PathBuf::from(format!("{drive}\\迎检材料"))
    }
    #[cfg(not(windows))]
    PathBuf::from("迎检材料")
}

/// On Windows under `C:\\ProgramData\\Yingjian` (a service runs in `System32`, so never
/// relative to the working folder); elsewhere beside where the agent is started.
fn default_state() -> PathBuf {
    #[cfg(windows)]
    {
        program_data().join("agent")
    }
    #[cfg(not(windows))]
    PathBuf::from("yingjian-agent-state")
}

#[cfg(windows)]
fn program_data() -> PathBuf {
    let data =
        std::env::var_os("ProgramData").map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from);
    data.join("Yingjian")
}

/// Where `setup` writes the config file, and where `run`, `status` and `init` read it when no
/// `--config` is given: `C:\\ProgramData\\Yingjian\\agent.toml` for the service on Windows,
/// the user's own (`~/.config/yingjian/agent.toml`) elsewhere, where the agent runs as the
/// clerk's user service.
#[cfg_attr(windows, expect(clippy::unnecessary_wraps, reason = "fails only where there is no home folder"))]
pub fn default_config_path() -> AgentResult<PathBuf> {
    #[cfg(windows)]
    {
        Ok(program_data().join("agent.toml"))
    }
    #[cfg(not(windows))]
    Ok(dirs::config_dir().ok_or_else(no_home)?.join("yingjian").join("agent.toml"))
}

/// The evidence folder `setup` lays out unless told: on Linux on the clerk's desktop, where a
/// clerk finds it (`~/桌面/迎检材料` on a Chinese desktop).
#[cfg_attr(windows, expect(clippy::unnecessary_wraps, reason = "fails only where there is no home folder"))]
pub fn setup_folder() -> AgentResult<PathBuf> {
    #[cfg(windows)]
    {
        Ok(default_folder())
    }
    #[cfg(not(windows))]
    Ok(dirs::desktop_dir().or_else(dirs::home_dir).ok_or_else(no_home)?.join("迎检材料"))
}

/// The agent's state folder as `setup` sets it: out of sight (`~/.local/state/yingjian` on Linux).
#[cfg_attr(windows, expect(clippy::unnecessary_wraps, reason = "fails only where there is no home folder"))]
pub fn setup_state() -> AgentResult<PathBuf> {
    #[cfg(windows)]
    {
        Ok(default_state())
    }
    #[cfg(not(windows))]
    Ok(dirs::state_dir().ok_or_else(no_home)?.join("yingjian"))
}

#[cfg(not(windows))]
fn no_home() -> AgentError {
    AgentError::Config("no home folder (HOME is not set): pass --config, --folder and --state".into())
}

impl AgentConfig {
    /// Where `run` keeps its daily log files.
    pub fn log_folder(&self) -> PathBuf {
        self.state.join("logs")
    }

    pub fn load(path: Option<&Path>) -> AgentResult<AgentConfig> {
        let Some(path) = path else { return Ok(AgentConfig::default()) };
        let text = std::fs::read_to_string(path)
            .map_err(|e| AgentError::Config(format!("cannot read config file {}: {e}", path.display())))?;
        toml::from_str(&text)
            .map_err(|e| AgentError::Config(format!("config file {} is not valid: {e}", path.display())))
    }

    pub fn settle(&self) -> Duration {
        Duration::from_millis(self.settle_ms)
    }

    pub fn token(&self) -> AgentResult<&str> {
        self.token.as_deref().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            AgentError::Config(
                "no token: set token in agent.toml, pass --token or set YINGJIAN_TOKEN (the office creates it)".into(),
            )
        })
    }

    /// The server URL without a trailing slash.
    pub fn base_url(&self) -> AgentResult<String> {
        let url = self.server.trim_end_matches('/');
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(url.to_string())
        } else {
            Err(AgentError::Config(format!("server {url:?} must start with http:// or https://")))
        }
    }
}
