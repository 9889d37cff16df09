//! The `Caller` of every request: the bearer token of an agent or a script, or the dashboard's
//! session, resolved against the database.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use yingjian_shared::{HOST_HEADER, limits};

use crate::auth::{Caller, MAX_SECRET_LEN, WEB_AGENT, bearer, session_from_parts, token_hash};
use crate::error::AppError;
use crate::state::AppState;

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Resolved already by a layer the request passed (the dashboard's shared pages).
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        // An Authorization header is the whole answer: a bad one is not rescued by a cookie.
        let (row, browser) = match bearer(parts) {
            Some(token) if token.is_empty() || token.len() > MAX_SECRET_LEN => (None, false),
            Some(token) => (state.db.find_token(token_hash(token)).await?, false),
            None => match session_from_parts(parts) {
                Some(id) if id.len() <= MAX_SECRET_LEN => {
                    (state.db.find_session(token_hash(&id)).await?, true)
                }
                _ => (None, false),
            },
        };
        let row = row.ok_or(AppError::Unauthorized)?;
        // What a department does in the browser is filed as the browser's, beside its PCs'.
        let agent = if browser && row.department.is_some() { WEB_AGENT.to_string() } else { row.agent };
        let host = parts
            .headers
            .get(HOST_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|h| h.chars().filter(|c| !c.is_control()).take(limits::HOST_CHARS).collect());
        Ok(Caller { token_id: row.id, department: row.department, agent, host })
    }
}
