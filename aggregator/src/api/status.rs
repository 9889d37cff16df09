//! Read-side calls: the catalogue, completeness, live events and the audit log.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use yingjian_shared::{AuditRecord, Catalogue, Status};

use crate::auth::Caller;
use crate::dashboard::wording::audit_line;
use crate::error::{AppError, AppResult};
use crate::services::{Announced, Revoked};
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

/// What a stream sends after this long without events (a comment), so that proxies keep it.
const KEEP_ALIVE_AFTER: Duration = Duration::from_secs(15);
const KEEP_ALIVE: &[u8] = b":\n\n";
/// What a stream that fell behind is sent: the page reloads everything.
const RESYNC: &[u8] = b"event: resync\ndata: {}\n\n";

/// Server-Sent Events: one `message` per change; a department sees only its own. The stream ends
/// when the server stops and when its token is revoked (by the CLI of another process, so the
/// database is asked once a second for every stream: `Services::watch_revocations`). Each
/// change's frame is made once (`Announced`) and the same bytes go to every stream.
pub async fn events(State(state): State<AppState>, caller: Caller) -> AppResult<Response> {
    // Each stream holds a connection: a token may not hold them all.
    let slot = state.open_stream(caller.token_id).ok_or_else(|| {
        AppError::TooManyRequests(format!(
            "这个令牌打开的实时更新已有 {} 个，请关闭多余的页面后再试（too many event streams for this token）",
            state.config.max_event_streams
        ))
    })?;
    let mut open = Open { rx: state.events.subscribe(), revoked: state.revocations(), caller, _slot: slot };
    // Revoked since the database was asked for this request, and already told to the others.
    if open.is_revoked() {
        return Err(AppError::Unauthorized);
    }
    let stream = futures_util::stream::unfold(open, |mut open| async move {
        loop {
            let frame = tokio::select! {
                next = tokio::time::timeout(KEEP_ALIVE_AFTER, open.rx.recv()) => match next {
                    Err(_) => Bytes::from_static(KEEP_ALIVE),
                    Ok(Ok(event))
                        if open.caller.department.is_none() || event.department == open.caller.department =>
                    {
                        event.frame.clone()
                    }
                    Ok(Ok(_)) => continue,
                    Ok(Err(RecvError::Lagged(_))) => Bytes::from_static(RESYNC),
                    Ok(Err(RecvError::Closed)) => return None,
                },
                told = open.revoked.changed() => {
                    if told.is_err() || open.is_revoked() {
                        return None;
                    }
                    continue;
                }
            };
            return Some((Ok::<_, Infallible>(frame), open));
        }
    });
    let body = Body::from_stream(stream.take_until(state.shutdown.clone().cancelled_owned()));
    let headers = [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")];
    Ok((headers, body).into_response())
}

/// An open event stream.
struct Open {
    rx: broadcast::Receiver<Announced>,
    revoked: watch::Receiver<Revoked>,
    caller: Caller,
    /// Held while the stream is open.
    _slot: StreamSlot,
}

impl Open {
    fn is_revoked(&mut self) -> bool {
        self.revoked.borrow_and_update().contains(&self.caller.token_id)
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
    let as_csv = q.format.as_deref() == Some("csv");
    let limit = q.limit.unwrap_or(if as_csv { u32::MAX } else { 200 });
    let entries = state.db.audit(limit, q.before).await?;
    if as_csv {
        let out = audit_csv(&state.catalogue, &entries).map_err(AppError::internal)?;
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

/// For people with a spreadsheet: Chinese headers, names and China time, a BOM for Excel (the
/// JSON is the machine-readable form).
fn audit_csv(catalogue: &Catalogue, entries: &[AuditRecord]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    out.write_record(["编号", "时间", "单位", "客户端", "计算机", "操作", "内容", "SHA-256"])?;
    for e in entries {
        let line = audit_line(catalogue, e);
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
        out.write_record(fields.iter().map(|f| defused(f)))?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// A field a spreadsheet program would take for a formula is kept as text.
fn defused(field: &str) -> String {
    if field.starts_with(['=', '+', '-', '@']) { format!("'{field}") } else { field.to_string() }
}
