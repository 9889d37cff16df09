//! The agent's error type.

use thiserror::Error;
use yingjian_shared::ErrorCode;

#[derive(Debug, Error)]
pub enum AgentError {
    #[error("{0}")]
    Config(String),
    #[error("local state database: {0}")]
    State(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(
        "cannot reach the server: {0} (check the server address, the network or the proxy; the agent keeps retrying)"
    )]
    Network(#[from] reqwest::Error),
    /// A task of the agent's own panicked: a bug, which stops the agent.
    #[error("an internal task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// `setup` cannot set this PC up; said to whoever installs, in Chinese.
    #[error("{0}")]
    Setup(String),
    /// The Windows service manager refused (or this is not Windows).
    #[error("service: {0}")]
    Service(String),
    /// Another agent holds the state folder.
    #[error(
        "本机已经有一个上传程序在运行（状态文件夹 {}），不用再启动一个。要重新启动，请先关闭正在运行的那个。",
        .0.display()
    )]
    AlreadyRunning(std::path::PathBuf),
    /// The state folder cannot be made or written.
    #[error("上传程序的状态文件夹 {} 无法使用：{}。请换一个有写入权限的文件夹（agent.toml 中的 state），或以管理员身份运行。", .0.display(), crate::words::io_reason(.1))]
    StateFolder(std::path::PathBuf, std::io::Error),
    /// No byte of a transfer moved for the stall interval: the link is down or the server hangs.
    #[error("no byte moved for {0} s: the link is down or the server does not answer")]
    Stalled(u64),
    /// The server answered with an error; `status` is the HTTP status, `code` what the server
    /// called it (none when it did not say, or the agent found the answer wanting).
    #[error("the server refused ({status}): {message}")]
    Server { status: u16, code: Option<ErrorCode>, message: String },
}

impl AgentError {
    /// Errors that will not go away by sending the same request again (the clerk must act).
    /// Not: a lost token, a resumable upload that is busy (423), a record that came before its
    /// blob (409), a file that changed on the way.
    pub fn is_permanent(&self) -> bool {
        matches!(self, AgentError::Server { status, code, .. }
            if (400..500).contains(status) && !matches!(status, 401 | 408 | 409 | 423 | 429)
               && *code != Some(ErrorCode::HashMismatch))
    }

    /// Errors that say the server (or the way to it) is in trouble, not the file: what failed
    /// so is tried again the moment any request succeeds.
    pub fn waits_for_server(&self) -> bool {
        match self {
            AgentError::Network(_) | AgentError::Stalled(_) => true,
            AgentError::Server { status, .. } => matches!(status, 401 | 408 | 429) || *status >= 500,
            _ => false,
        }
    }

    /// A refusal or failure as the clerk reads it (in `status`, the heartbeat and the
    /// dashboard): one sentence in Chinese, what happened and what to do.
    pub fn for_clerk(&self) -> String {
        match self {
            AgentError::Server { status: 413, .. } => {
                "文件太大，服务器不接收：请拆分或压缩后重新放入。".into()
            }
            AgentError::Server { status: 401, .. } => {
                "服务器不认本机的令牌：请向市质量强市办公室要一个新令牌，填入 agent.toml 后重新启动上传程序。"
                    .into()
            }
            AgentError::Server { status, message, .. } => match crate::words::server_message(message) {
                Some(message) => message,
                None if *status >= 500 => "服务器暂时出了故障：上传程序会自动重试，无需操作。".into(),
                None => format!("服务器不接收这个文件（代码 {status}）：请联系市质量强市办公室。"),
            },
            AgentError::Network(_) => "连不上服务器：请检查网络；恢复后会自动上传。".into(),
            AgentError::Stalled(secs) => {
                format!("网络中断或太慢（{secs} 秒没有传出数据）：恢复后会接着上传。")
            }
            AgentError::Io(e) => format!("{}。", crate::words::io_reason(e)),
            AgentError::State(_) | AgentError::StateFolder(..) => {
                "上传程序的状态文件写不进去（磁盘满了？）：请腾出磁盘空间，之后会自动继续。".into()
            }
            other => other.to_string(),
        }
    }

    /// Whether this is the agent's own disk being full (its state folder).
    pub fn is_disk_full(&self) -> bool {
        match self {
            AgentError::State(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            AgentError::Io(e) | AgentError::StateFolder(_, e) => crate::words::is_disk_full(e),
            _ => false,
        }
    }
}

pub type AgentResult<T> = Result<T, AgentError>;
