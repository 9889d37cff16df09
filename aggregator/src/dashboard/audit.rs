//! 审计日志: the last entries of the audit log, in people's words.

use askama::Template;
use axum::extract::State;
use axum::response::Html;

use super::views::{Nav, PageResult, Viewer, nav, office_only};
use super::wording::{AuditLine, audit_line};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Nav,
    entries: Vec<AuditLine>,
}

pub async fn audit(State(state): State<AppState>, Viewer(caller): Viewer) -> PageResult {
    office_only(&caller)?;
    let entries = state.db.audit(500, None).await?.iter().map(|e| audit_line(&state.catalogue, e)).collect();
    Ok(Html(AuditPage { nav: nav(&state, &caller, "/audit"), entries }.render()?))
}
