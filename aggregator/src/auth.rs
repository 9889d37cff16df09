//! Bearer tokens: generated once, stored only as their SHA-256, resolved to a caller per request.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use yingjian_shared::{HOST_HEADER, sha256_reader, to_hex};

use crate::error::{AppError, AppResult};
use crate::server::AppState;

/// Who is calling: the office, or one agent installation of one department.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub token_id: i64,
    pub department: Option<String>,
    pub agent: String,
    pub host: Option<String>,
}

impl Caller {
    pub fn is_office(&self) -> bool {
        self.department.is_none()
    }

    /// The caller's department, or 403 for the office.
    pub fn department(&self) -> AppResult<&str> {
        self.department.as_deref().ok_or_else(|| {
            AppError::Forbidden("this call is for a department's agent: use a department token".into())
        })
    }

    pub fn require_office(&self) -> AppResult<()> {
        if self.is_office() {
            Ok(())
        } else {
            Err(AppError::Forbidden("only the office may do this: log in with the office token".into()))
        }
    }

    /// 403 unless the caller is the office or that department.
    pub fn require_access(&self, department: &str) -> AppResult<()> {
        match &self.department {
            Some(own) if own != department => Err(AppError::Forbidden(format!(
                "a {own} token reaches only {own}'s data, not {department}'s"
            ))),
            _ => Ok(()),
        }
    }
}

/// A new secret token: `yj_` and 40 hex digits of OS randomness.
pub fn new_token() -> AppResult<String> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Io(std::io::Error::other(e)))?;
    Ok(format!("yj_{}", to_hex(&bytes)))
}

/// What the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    sha256_reader(token.as_bytes()).expect("hashing a byte slice cannot fail").0.to_string()
}

/// The dashboard's session cookie: it carries the token itself, HttpOnly and SameSite=Strict.
pub const SESSION_COOKIE: &str = "yj_session";

/// The token in an `Authorization: Bearer …` header or the dashboard's session cookie.
pub fn token_from_parts(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(|t| t.trim().to_string());
    }
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('=').map(str::to_string))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = token_from_parts(parts).ok_or(AppError::Unauthorized)?;
        if token.len() > 200 {
            return Err(AppError::Unauthorized);
        }
        let row = state.db.find_token(token_hash(&token)).await?.ok_or(AppError::Unauthorized)?;
        let host = parts
            .headers
            .get(HOST_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|h| h.chars().filter(|c| !c.is_control()).take(100).collect());
        Ok(Caller { token_id: row.id, department: row.department, agent: row.agent, host })
    }
}
