//! 未完成的上传: the resumable uploads a department has begun and not finished — which
//! department, which PC, how much of how much, since when — and their removal by the office
//! (audited), so that nothing a client holds open on the server is invisible.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, Redirect};
use jiff::Timestamp;
use serde::Deserialize;
use yingjian_shared::{china_time, size_text};

use super::PageError;
use super::form::PageForm;
use super::views::{Nav, Viewer, nav};
use crate::db::AuditEntry;
use crate::error::AppError;
use crate::state::AppState;

struct Row {
    id: String,
    department: String,
    agent: String,
    name: String,
    received: String,
    length: String,
    started: String,
    age: String,
}

#[derive(Template)]
#[template(path = "partial_uploads.html")]
struct PartialPage {
    nav: Nav,
    rows: Vec<Row>,
    promised: String,
}

fn office(caller: &crate::auth::Caller) -> Result<(), PageError> {
    caller.require_office().map_err(|_| AppError::Forbidden("此页面仅供市质量强市办公室查看。".into()).into())
}

/// How long ago, in words.
fn age(since: Timestamp) -> String {
    let minutes = Timestamp::now().duration_since(since).as_mins().max(0);
    match minutes {
        0 => "刚刚".into(),
        m if m < 60 => format!("{m} 分钟"),
        m if m < 24 * 60 => format!("{} 小时", m / 60),
        m => format!("{} 天", m / (24 * 60)),
    }
}

pub async fn page(State(state): State<AppState>, Viewer(caller): Viewer) -> Result<Html<String>, PageError> {
    office(&caller)?;
    let uploads = state.uploads.clone();
    let open = tokio::task::spawn_blocking(move || uploads.list())
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::from)?;
    let promised = size_text(open.iter().map(|(_, u)| u.info.length).sum());
    let rows = open
        .into_iter()
        .map(|(id, u)| Row {
            id,
            department: state
                .catalogue
                .department(&u.info.department)
                .map_or_else(|| u.info.department.clone(), |d| d.name.clone()),
            agent: u.info.agent.clone(),
            name: u.info.name.clone().unwrap_or_default(),
            received: size_text(u.offset),
            length: size_text(u.info.length),
            started: china_time(u.info.created).strftime("%Y-%m-%d %H:%M").to_string(),
            age: age(u.info.created),
        })
        .collect();
    let page = PartialPage { nav: nav(&state, &caller, "/uploads"), rows, promised };
    Ok(Html(page.render().map_err(AppError::internal)?))
}

#[derive(Deserialize)]
pub struct RemoveForm {
    id: String,
}

/// Removes a partial upload (the PC that began it starts again if it still wants to), audited.
pub async fn remove(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    PageForm(form): PageForm<RemoveForm>,
) -> Result<Redirect, PageError> {
    office(&caller)?;
    let uploads = state.uploads.clone();
    let id = form.id.clone();
    let removed = tokio::task::spawn_blocking(move || -> std::io::Result<Option<crate::uploads::Upload>> {
        let Some(upload) = uploads.get(&id)? else { return Ok(None) };
        let Some(claim) = uploads.claim(&id) else {
            return Err(std::io::Error::new(std::io::ErrorKind::ResourceBusy, "busy"));
        };
        uploads.remove(&claim)?;
        Ok(Some(upload))
    })
    .await
    .map_err(AppError::internal)?;
    let upload = match removed {
        Ok(Some(upload)) => upload,
        Ok(None) => return Err(AppError::NotFound("这个上传已经完成、取消或过期。".into()).into()),
        Err(e) if e.kind() == std::io::ErrorKind::ResourceBusy => {
            return Err(AppError::Locked("这个上传正在接收数据，请稍后再删除。".into()).into());
        }
        Err(e) => return Err(AppError::from(e).into()),
    };
    let entry = AuditEntry {
        department: Some(upload.info.department.clone()),
        agent: Some(upload.info.agent.clone()),
        host: caller.host.clone(),
        ..AuditEntry::by_server(
            "upload_removed",
            format!("{} size={}", upload.info.name.as_deref().unwrap_or("（未命名）"), upload.info.length),
        )
    };
    state.db.log(entry).await.map_err(AppError::from)?;
    tracing::info!(upload = %form.id, department = %upload.info.department, "the office removed a partial upload");
    Ok(Redirect::to("/uploads"))
}
