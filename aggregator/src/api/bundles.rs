//! `POST`/`GET /api/v1/bundles` and `GET /api/v1/bundles/{name}`: the office's bundles.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use tokio_util::io::ReaderStream;
use yingjian_shared::{BundleInfo, EventKind};

use crate::auth::Caller;
use crate::bundle;
use crate::error::{AppError, AppResult};
use crate::server::AppState;

fn info(dir: &std::path::Path, name: String, size: u64) -> BundleInfo {
    let created = std::fs::metadata(dir.join(&name))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| Timestamp::try_from(t).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH);
    BundleInfo { name, size, created }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<(StatusCode, Json<BundleInfo>)> {
    caller.require_office()?;
    let dir = state.config.data.join("bundles");
    let built = bundle::build(&state, &dir, |_, _| {}).await?;
    state.publish(EventKind::Bundle, None, None, Some(built.name.clone()));
    Ok((StatusCode::CREATED, Json(info(&dir, built.name, built.size))))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Vec<BundleInfo>>> {
    caller.require_office()?;
    let dir = state.config.data.join("bundles");
    let bundles = bundle::list(&dir)?.into_iter().map(|(name, size)| info(&dir, name, size)).collect();
    Ok(Json(bundles))
}

pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> AppResult<Response> {
    caller.require_office()?;
    let name = bundle::checked_name(&name).ok_or_else(|| AppError::NotFound("no such bundle".into()))?;
    let path = state.config.data.join("bundles").join(name);
    let file = tokio::fs::File::open(&path).await.map_err(|_| AppError::NotFound("no such bundle".into()))?;
    let size = file.metadata().await?.len();
    let headers = [
        (CONTENT_TYPE, "application/zip".to_string()),
        (CONTENT_LENGTH, size.to_string()),
        (CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
    ];
    Ok((headers, Body::from_stream(ReaderStream::new(file))).into_response())
}
