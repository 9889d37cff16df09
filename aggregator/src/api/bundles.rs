//! `POST`/`GET /api/v1/bundles` and `GET /api/v1/bundles/{name}`: the office's bundles.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use yingjian_shared::BundleInfo;

use crate::auth::Caller;
use crate::bundle::Layout;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(serde::Deserialize)]
pub struct CreateQuery {
    /// `plain` (the default) or `bagit`.
    layout: Option<String>,
}

/// Builds the bundle of the current state (`?layout=bagit`: as a BagIt bag): 201 when built now, 200 when it was built already
/// (also by a build that was under way when this request came, which it waited for).
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CreateQuery>,
) -> AppResult<(StatusCode, Json<BundleInfo>)> {
    caller.require_office()?;
    let layout = match query.layout.as_deref() {
        None | Some("plain") => Layout::Plain,
        Some("bagit") => Layout::BagIt,
        Some(other) => {
            return Err(AppError::BadRequest(format!("材料包格式应为 plain 或 bagit，而不是 {other:?}")));
        }
    };
    let built = state.bundles.build(&state, "api", layout, |_, _| {}).await?;
    let status = if built.fresh { StatusCode::CREATED } else { StatusCode::OK };
    let shelf = state.bundles.clone();
    let info =
        tokio::task::spawn_blocking(move || shelf.info(&built.name)).await.map_err(AppError::internal)??;
    Ok((status, Json(info)))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Vec<BundleInfo>>> {
    caller.require_office()?;
    // Blocking: the shelf may be an object store.
    let shelf = state.bundles.clone();
    Ok(Json(tokio::task::spawn_blocking(move || shelf.list()).await.map_err(AppError::internal)??))
}

pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> AppResult<Response> {
    caller.require_office()?;
    let (shelf, wanted) = (state.bundles.clone(), name.clone());
    let (reader, size) = tokio::task::spawn_blocking(move || shelf.open(&wanted))
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::NotFound("没有这个材料包（no such bundle）".into()))?;
    let headers = [
        (CONTENT_TYPE, "application/zip".to_string()),
        (CONTENT_LENGTH, size.to_string()),
        (CONTENT_DISPOSITION, crate::download_name::attachment(&name)),
    ];
    Ok((headers, Body::from_stream(crate::blobs::reader_stream(reader))).into_response())
}
