//! Bearer tokens and dashboard sessions: generated once, stored only as their SHA-256,
//! resolved to a caller per request.

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use yingjian_shared::{sha256_bytes, to_hex};

use crate::error::{AppError, AppResult};

/// The agent name of what a department files from the dashboard (browser upload, withdrawal).
pub const WEB_AGENT: &str = "网页上传";

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
            AppError::Forbidden(
                "此操作须使用责任单位的令牌（this call is for a department's agent: use a department token）"
                    .into(),
            )
        })
    }

    pub fn require_office(&self) -> AppResult<()> {
        if self.is_office() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "此操作仅限市质量强市办公室：请用办公室令牌登录（only the office may do this）".into(),
            ))
        }
    }

    /// 403 unless the caller is the office or that department.
    pub fn require_access(&self, department: &str) -> AppResult<()> {
        match &self.department {
            Some(own) if own != department => Err(AppError::Forbidden(format!(
                "本单位的令牌只能查看本单位的材料（a {own} token reaches only {own}'s data, not {department}'s）"
            ))),
            _ => Ok(()),
        }
    }
}

/// A new secret token: `yj_` and 40 hex digits of OS randomness.
pub fn new_token() -> AppResult<String> {
    Ok(format!("yj_{}", random_hex::<20>()?))
}

/// A new dashboard session id: 32 bytes of OS randomness. Only its hash is stored.
pub fn new_session_id() -> AppResult<String> {
    random_hex::<32>()
}

fn random_hex<const N: usize>() -> AppResult<String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(to_hex(&bytes))
}

/// What the database stores instead of a token or a session id.
pub fn token_hash(token: &str) -> String {
    sha256_bytes(token.as_bytes()).to_string()
}

/// The dashboard's session cookie: a random session id, never the token (docs/design.md, *Sessions*).
pub const SESSION_COOKIE: &str = "yj_session";

/// How long a dashboard session lasts.
pub const SESSION_DAYS: i64 = 30;

/// Longer than any token or session id this server makes: not looked up.
pub const MAX_SECRET_LEN: usize = 200;

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    Some(value.strip_prefix("Bearer ").unwrap_or("").trim())
}

/// The session id in the dashboard's cookie.
pub fn session_from_parts(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('=').map(str::to_string))
}

/// The `Set-Cookie` value that opens (`Some(id)`) or ends (`None`) a session; `Secure` whenever
/// the server speaks TLS, so the browser never sends it in the clear.
pub fn session_cookie(id: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => format!(
            "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
            SESSION_DAYS * 86_400
        ),
        None => format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"),
    }
}
