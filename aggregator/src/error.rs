//! The aggregator's error type, and the one place where errors become HTTP status codes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use thiserror::Error;
use yingjian_shared::ErrorBody;

#[derive(Debug, Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "missing, unknown or revoked token: ask the office for a valid token and set it in the agent's config"
    )]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "the upload is larger than the server accepts ({max} bytes): split the scan or ask the office to raise max_upload_bytes"
    )]
    TooLarge { max: u64 },
    #[error(
        "the uploaded bytes hash to {actual}, not {expected}: the file changed or was damaged on the way; the agent will send it again"
    )]
    HashMismatch { expected: String, actual: String },
    #[error("{0}")]
    Unprocessable(String),
    #[error("database: {0} (if the disk is full, the office must free space; agents retry by themselves)")]
    Db(#[from] rusqlite::Error),
    #[error("storage: {0} (if the disk is full, the office must free space; agents retry by themselves)")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

impl AppError {
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            AppError::HashMismatch { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch"),
            AppError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            AppError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                (StatusCode::INSUFFICIENT_STORAGE, "storage_full")
            }
            AppError::Db(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DiskFull => {
                (StatusCode::INSUFFICIENT_STORAGE, "storage_full")
            }
            AppError::Db(_) | AppError::Io(_) | AppError::Config(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody { error: code.to_string(), message: self.to_string() };
        (status, Json(body)).into_response()
    }
}

pub type AppResult<T> = Result<T, AppError>;
