//! The aggregator's error type, and the one place where errors become HTTP status codes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use thiserror::Error;
use yingjian_shared::{ErrorBody, ErrorCode};

use crate::config::ConfigError;
use crate::db::DbError;

#[derive(Debug, Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "令牌缺失、无效或已被收回：请向市质量强市办公室索取新令牌，填入上传程序的配置（missing, unknown or revoked token）"
    )]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A request in a protocol version this server does not speak (tus).
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Another request is working on the same resource.
    #[error("{0}")]
    Locked(String),
    #[error(
        "文件超过服务器允许的大小（{max} 字节）：请拆分扫描件，或请办公室调高 max_upload_bytes（the upload is larger than the server accepts）"
    )]
    TooLarge { max: u64 },
    #[error(
        "上传的内容与文件的校验值不符，文件在途中有变化或损坏，将自动重新上传（the uploaded bytes hash to {actual}, not {expected}）"
    )]
    HashMismatch { expected: String, actual: String },
    #[error("{0}")]
    Unprocessable(String),
    /// Past what one department or token may hold open (uploads, event streams).
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{}", db_message(.0))]
    Db(#[from] DbError),
    #[error("{}", storage_message(.0))]
    Io(#[from] std::io::Error),
    /// A stored file a build needs is missing or damaged (`scrub` finds which).
    #[error("{0}")]
    BlobUnavailable(String),
    /// A fault of the server's own (a failed task, an unwritable document): never the disk's.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An operator's command that cannot do what it was asked (never a request's answer).
    #[error("{0}")]
    Command(String),
}

/// The message of a full disk, as the clerks and the office read it (the agent shows it).
pub const STORAGE_FULL: &str = "服务器磁盘已满：请协调办公室清理服务器空间，上传程序会自动重试，无需重新放入文件（the server's disk is full）";

/// A database failure as people read it: a full disk in Chinese, anything else as it is.
fn db_message(e: &DbError) -> String {
    if e.is_full() { STORAGE_FULL.into() } else { e.to_string() }
}

/// The disk-full hint is for a full disk only; anything else is said as it is.
fn storage_message(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::StorageFull {
        STORAGE_FULL.into()
    } else {
        format!("服务器存储出错，请把这句话转给系统管理员（storage: {e}）")
    }
}

impl AppError {
    pub(crate) fn internal(e: impl std::fmt::Display) -> AppError {
        AppError::Internal(e.to_string())
    }

    /// Whether the server's disk is full (database or blob store).
    pub fn is_storage_full(&self) -> bool {
        match self {
            AppError::Io(e) => e.kind() == std::io::ErrorKind::StorageFull,
            AppError::Db(e) => e.is_full(),
            _ => false,
        }
    }

    pub(crate) fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            AppError::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            AppError::PreconditionFailed(_) => {
                (StatusCode::PRECONDITION_FAILED, ErrorCode::UnsupportedVersion)
            }
            AppError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, ErrorCode::UnsupportedMediaType)
            }
            AppError::Locked(_) => (StatusCode::LOCKED, ErrorCode::Locked),
            AppError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge),
            AppError::HashMismatch { .. } => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::HashMismatch),
            AppError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Unprocessable),
            AppError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooMany),
            e if e.is_storage_full() => (StatusCode::INSUFFICIENT_STORAGE, ErrorCode::StorageFull),
            AppError::Db(_)
            | AppError::Io(_)
            | AppError::BlobUnavailable(_)
            | AppError::Internal(_)
            | AppError::Config(_)
            | AppError::Command(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        }
    }
}

impl From<yingjian_shared::limits::TooLong> for AppError {
    fn from(e: yingjian_shared::limits::TooLong) -> Self {
        let unit = if e.unit == "entries" { "项" } else { "字" };
        AppError::Unprocessable(format!("{}过长（最多 {} {unit}），请缩短（{e}）", e.field_label(), e.max))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody { error: code, message: self.to_string() };
        (status, Json(body)).into_response()
    }
}

pub type AppResult<T> = Result<T, AppError>;
