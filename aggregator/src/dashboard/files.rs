//! Downloading and previewing a stored file by its hash, for whoever may see a record of it.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use yingjian_shared::{Sha256Hex, format_of};

use super::PageError;
use super::form::PageQuery;
use super::views::Viewer;
use crate::auth::Caller;
use crate::error::AppError;
use crate::pictures::PreviewJob;
use crate::state::AppState;
use crate::worker::WorkerError;

#[derive(Deserialize)]
pub struct NameQuery {
    name: Option<String>,
}

/// The records of a blob the caller may see, and the name to give it (one of theirs).
async fn visible(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    asked: Option<String>,
) -> Result<(Sha256Hex, String), PageError> {
    let sha = Sha256Hex::parse(raw).map_err(|e| AppError::BadRequest(e.to_string()))?;
    // A department reaches a file only through its own records, and names it by them: another
    // department's copy of the same content lends it neither access nor a name.
    let mut rows = state.db.records_of_blob(sha.to_string()).await?;
    rows.retain(|r| caller.department.as_ref().is_none_or(|d| *d == r.department));
    let Some(first) = rows.first() else {
        return Err(AppError::NotFound("没有这个文件，或无权查看".into()).into());
    };
    let name = asked
        .filter(|n| rows.iter().any(|r| r.path.file_name() == n.as_str()))
        .unwrap_or_else(|| first.path.file_name().to_string());
    Ok((sha, name))
}

pub async fn download(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
    PageQuery(q): PageQuery<NameQuery>,
) -> Result<Response, PageError> {
    let (sha, name) = visible(&state, &caller, &raw, q.name).await?;
    let key = sha.to_string();
    let size = crate::blobs::blocking(&state.blobs, move |b| b.len(&key)).await.map_err(AppError::from)?;
    let body = crate::blobs::stream(&state.blobs, sha.as_str()).await.map_err(AppError::from)?;
    let headers = [
        (CONTENT_TYPE, content_type(&name).to_string()),
        (CONTENT_LENGTH, size.to_string()),
        (CONTENT_DISPOSITION, crate::download_name::inline(&name)),
    ];
    Ok((headers, Body::from_stream(body)).into_response())
}

/// Neither side of a preview is longer; nor of a page's thumbnail beside a scan finding.
const PREVIEW_SIDE: u32 = 1600;
const THUMB_SIDE: u32 = 240;
/// How long a preview may take, waiting for a worker included.
const PREVIEW_TIME: std::time::Duration = std::time::Duration::from_secs(20);

/// `/files/{sha256}/preview.png`: the first page of a picture a browser cannot show (a TIFF
/// scan), as a PNG at most 1600 pixels on a side, for the item page. Decoded by the worker
/// (as many at once as it has slots), bounded in pixels, memory and time; when the browser
/// gives up, the worker is killed. A content cannot change, so the browser may keep it.
pub async fn preview(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    picture(&state, &caller, &raw, 1, PREVIEW_SIDE).await
}

/// `/files/{sha256}/pages/{n}.png`: page `n` of a scan (PDF or TIFF) as a small PNG, beside
/// what the scan checks found on it; made like `preview`.
pub async fn page(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path((raw, page)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let page = page.strip_suffix(".png").and_then(|n| n.parse::<u32>().ok()).filter(|n| *n >= 1);
    let page = page.ok_or_else(|| AppError::NotFound("没有这一页。".into()))?;
    picture(&state, &caller, &raw, page, THUMB_SIDE).await
}

async fn picture(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    page: u32,
    longest: u32,
) -> Result<Response, PageError> {
    let (sha, _) = visible(state, caller, raw, None).await?;
    let key = sha.to_string();
    let size = crate::blobs::blocking(&state.blobs, move |b| b.len(&key)).await.map_err(AppError::from)?;
    if size > crate::blobs::MAX_READ_WHOLE {
        return Err(AppError::UnsupportedMediaType("文件太大，无法预览，请下载后查看。".into()).into());
    }
    let dir = state.worker.folder().map_err(AppError::from)?;
    let at = dir.path().to_path_buf();
    let input =
        crate::blobs::blocking(&state.blobs, move |b| crate::worker::blob_input(b, sha.as_str(), &at))
            .await
            .map_err(AppError::from)?;
    let out = dir.path().join("preview.png");
    let job = PreviewJob { input, side: longest, page, out: out.clone() };
    let ran = tokio::time::timeout(PREVIEW_TIME, state.worker.run_in::<u64>(&dir, &job, PREVIEW_TIME)).await;
    let made = match ran.unwrap_or(Err(WorkerError::Timeout(PREVIEW_TIME))) {
        Ok(_) => tokio::fs::read(&out).await.map_err(AppError::from),
        Err(WorkerError::Timeout(_)) => {
            Err(AppError::UnsupportedMediaType("预览超时，请下载后查看。".into()))
        }
        Err(e) => {
            tracing::info!(error = %e, "no preview");
            Err(AppError::UnsupportedMediaType(format!(
                "无法预览这个文件（{}），请下载后查看。",
                e.reason_zh()
            )))
        }
    };
    drop(dir);
    let headers = [(CONTENT_TYPE, "image/png"), (CACHE_CONTROL, "private, max-age=86400")];
    Ok((headers, made?).into_response())
}

/// Whether a browser needs the PNG preview to show this picture.
pub(super) fn needs_png_preview(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("tif") || ext.eq_ignore_ascii_case("tiff"))
}

fn content_type(name: &str) -> &'static str {
    format_of(name).map_or("application/octet-stream", |f| f.mime)
}
