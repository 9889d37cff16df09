//! The agent's error type.

use thiserror::Error;

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
    /// The Windows service manager refused (or this is not Windows).
    #[error("service: {0}")]
    Service(String),
    /// The server answered with an error; `status` is the HTTP status.
    #[error("the server refused ({status}): {message}")]
    Server { status: u16, code: String, message: String },
}

impl AgentError {
    /// Errors that will not go away by sending the same request again (the clerk must act).
    /// Not: a lost token, a resumable upload that is busy (423), a record that came before its
    /// blob (409), a file that changed on the way.
    pub fn is_permanent(&self) -> bool {
        matches!(self, AgentError::Server { status, code, .. }
            if (400..500).contains(status) && !matches!(status, 401 | 408 | 409 | 423 | 429)
               && code != "hash_mismatch")
    }
}

impl AgentError {
    /// A refusal as the clerk reads it (in `status`, the heartbeat and the dashboard): what
    /// happened and what to do, with the server's own words last.
    pub fn for_clerk(&self) -> String {
        match self {
            AgentError::Server { status: 413, .. } => "文件太大，服务器不接收：请拆分或压缩后重新放入".into(),
            AgentError::Server { status: 401 | 403, message, .. } => {
                format!("服务器不接受本机的令牌或权限（{message}）：请联系市质量强市办公室")
            }
            AgentError::Server { message, .. } => format!("服务器不接收：{message}"),
            other => format!("未能上传：{other}"),
        }
    }
}

pub type AgentResult<T> = Result<T, AgentError>;
