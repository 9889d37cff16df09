//! Read-side calls: the catalogue, completeness, live events and the audit log.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use yingjian_shared::{Catalogue, Status};

use crate::auth::Caller;
use crate::completeness;
use crate::db::AuditEntry;
use crate::error::AppResult;
use crate::server::AppState;

pub async fn catalogue(State(state): State<AppState>, _caller: Caller) -> Json<Catalogue> {
    Json(state.catalogue.as_ref().clone())
}

pub async fn status(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Status>> {
    Ok(Json(status_for(&state, caller.department.as_deref()).await?))
}

/// The status document, for the whole city (`None`) or one department.
pub async fn status_for(state: &AppState, department: Option<&str>) -> AppResult<Status> {
    let data = state.status_data().await?;
    let silent_after = std::time::Duration::from_secs(state.config.silent_after_secs);
    Ok(completeness::compute(
        &state.catalogue,
        &state.deadlines,
        &data,
        Timestamp::now(),
        silent_after,
        department,
    ))
}

/// Server-Sent Events: one `message` per change; a department sees only its own.
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let receiver = state.events.subscribe();
    let stream = futures_util::stream::unfold((receiver, caller), |(mut rx, caller)| async move {
        loop {
            let event = match rx.recv().await {
                Ok(event) => event,
                // Missed events: tell the page to reload everything.
                Err(RecvError::Lagged(_)) => {
                    return Some((Ok(SseEvent::default().event("resync").data("{}")), (rx, caller)));
                }
                Err(RecvError::Closed) => return None,
            };
            if caller.department.is_some() && event.department != caller.department {
                continue;
            }
            let data = serde_json::to_string(&event).unwrap_or_default();
            return Some((Ok(SseEvent::default().data(data)), (rx, caller)));
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    format: Option<String>,
    limit: Option<u32>,
    before: Option<i64>,
}

#[derive(Serialize)]
struct AuditRow {
    id: i64,
    #[serde(flatten)]
    entry: AuditEntry,
}

/// The audit log, newest first; `?format=csv` for a spreadsheet (all entries by default).
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    caller.require_office()?;
    let csv = q.format.as_deref() == Some("csv");
    let limit = q.limit.unwrap_or(if csv { u32::MAX } else { 200 });
    let entries = state.db.audit(limit, q.before).await?;
    if csv {
        let mut out = String::from("\u{feff}id,time,department,agent,host,action,detail\r\n");
        for (id, e) in &entries {
            let AuditEntry { at, department, agent, host, action, detail } = e;
            let fields = [
                id.to_string(),
                at.to_string(),
                department.clone().unwrap_or_default(),
                agent.clone().unwrap_or_default(),
                host.clone().unwrap_or_default(),
                action.clone(),
                detail.clone(),
            ];
            out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        let headers = [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"audit.csv\""),
        ];
        return Ok((headers, out).into_response());
    }
    let rows: Vec<AuditRow> = entries.into_iter().map(|(id, entry)| AuditRow { id, entry }).collect();
    Ok(Json(rows).into_response())
}

/// RFC 4180 quoting; a leading formula character is defused for spreadsheet programs.
fn csv_field(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) { format!("'{field}") } else { field.to_string() };
    if field.contains([',', '"', '\r', '\n']) { format!("\"{}\"", field.replace('"', "\"\"")) } else { field }
}
