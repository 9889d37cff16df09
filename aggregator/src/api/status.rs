//! Read-side calls: the catalogue, completeness, live events and the audit log.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use yingjian_shared::{Catalogue, Event, Status};

use crate::auth::Caller;
use crate::dashboard::wording::audit_line;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::state::{AppState, StreamSlot};

/// The catalogue with the deadlines in force (the configuration may move them).
pub async fn catalogue(State(state): State<AppState>, _caller: Caller) -> Json<Catalogue> {
    let mut catalogue = state.catalogue.as_ref().clone();
    catalogue.deadlines = state.deadlines.clone();
    Json(catalogue)
}

pub async fn status(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Status>> {
    Ok(Json(state.status(caller.department.as_deref()).await?))
}

/// How often an open event stream checks that its token is still live: before an event when
/// the last check is older than `RECHECK_BUSY`, and after `RECHECK_IDLE` without events.
const RECHECK_BUSY: Duration = Duration::from_secs(1);
const RECHECK_IDLE: Duration = Duration::from_secs(15);

/// Server-Sent Events: one `message` per change; a department sees only its own. The stream ends
/// when the server stops and when its token is revoked (revoked by the CLI of another process,
/// so it is asked, not told).
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    // Each stream holds a connection: a token may not hold them all.
    let slot = state.open_stream(caller.token_id).ok_or_else(|| {
        AppError::TooManyRequests(format!(
            "这个令牌打开的实时更新已有 {} 个，请关闭多余的页面后再试（too many event streams for this token）",
            state.config.max_event_streams
        ))
    })?;
    let open = Open {
        rx: state.events.subscribe(),
        caller,
        db: state.db.clone(),
        checked: Instant::now(),
        _slot: slot,
    };
    let stream = futures_util::stream::unfold(open, |mut open| async move {
        loop {
            let next = tokio::time::timeout(RECHECK_IDLE, open.rx.recv()).await;
            if (next.is_err() || open.checked.elapsed() >= RECHECK_BUSY) && !open.still_live().await {
                return None;
            }
            let event = match next {
                Err(_) => continue,
                Ok(Ok(event)) => event,
                // Missed events: tell the page to reload everything.
                Ok(Err(RecvError::Lagged(_))) => {
                    return Some((Ok(SseEvent::default().event("resync").data("{}")), open));
                }
                Ok(Err(RecvError::Closed)) => return None,
            };
            if open.caller.department.is_some() && event.department != open.caller.department {
                continue;
            }
            let data = serde_json::to_string(&event).unwrap_or_default();
            return Some((Ok(SseEvent::default().data(data)), open));
        }
    });
    let stream = stream.take_until(state.shutdown.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(RECHECK_IDLE)))
}

/// An open event stream.
struct Open {
    rx: broadcast::Receiver<Event>,
    caller: Caller,
    db: Db,
    checked: Instant,
    /// Held while the stream is open.
    _slot: StreamSlot,
}

impl Open {
    async fn still_live(&mut self) -> bool {
        self.checked = Instant::now();
        self.db.token_live(self.caller.token_id).await.unwrap_or(false)
    }
}

#[derive(Deserialize)]
pub struct AuditQuery {
    format: Option<String>,
    limit: Option<u32>,
    before: Option<i64>,
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
        // For people with a spreadsheet: Chinese headers, names and China time (the JSON is
        // the machine-readable form).
        let mut out = String::from("\u{feff}编号,时间,单位,客户端,计算机,操作,内容,SHA-256\r\n");
        for e in &entries {
            let line = audit_line(&state.catalogue, e);
            let fields = [
                e.id.to_string(),
                line.time,
                line.who,
                line.agent,
                line.host,
                line.action.to_string(),
                line.detail,
                line.sha256.unwrap_or_default(),
            ];
            out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        let headers = [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"; filename*=UTF-8''%E5%AE%A1%E8%AE%A1%E6%97%A5%E5%BF%97.csv",
            ),
        ];
        return Ok((headers, out).into_response());
    }
    Ok(Json(entries).into_response())
}

/// RFC 4180 quoting; a leading formula character is defused for spreadsheet programs.
fn csv_field(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) { format!("'{field}") } else { field.to_string() };
    if field.contains([',', '"', '\r', '\n']) { format!("\"{}\"", field.replace('"', "\"\"")) } else { field }
}
