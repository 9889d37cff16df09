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

/// On Windows, on the desktop every user of the PC sees (`C:\\Users\\Public\\Desktop`), where a
/// clerk finds it and a service can reach it; elsewhere beside where the agent is started.
fn default_folder() -> PathBuf {
    #[cfg(windows)]
    {
        let public =
            std::env::var_os("PUBLIC").map_or_else(|| PathBuf::from(r"C:\Users\Public"), PathBuf::from);
        public.join("Desktop").join("迎检材料")
    }
    #[cfg(not(windows))]
    PathBuf::from("迎检材料")
}

/// On Windows under `C:\\ProgramData\\Yingjian` (a service runs in `System32`, so never
/// relative to the working folder); elsewhere beside where the agent is started.
fn default_state() -> PathBuf {
    #[cfg(windows)]
    {
        let data =
            std::env::var_os("ProgramData").map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from);
        data.join("Yingjian").join("agent")
    }
    #[cfg(not(windows))]
    PathBuf::from("yingjian-agent-state")
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
