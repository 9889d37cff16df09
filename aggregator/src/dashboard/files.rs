//! Downloading and previewing a stored file by its hash, for whoever may see a record of it.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use yingjian_shared::{Sha256Hex, format_of};

use super::PageError;
use super::views::Viewer;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct NameQuery {
    name: Option<String>,
}

pub async fn download(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
    Query(q): Query<NameQuery>,
) -> Result<Response, PageError> {
    let sha = Sha256Hex::parse(&raw).map_err(|e| AppError::BadRequest(e.to_string()))?;
    // A department reaches a file only through its own records, and names it by them: another
    // department's copy of the same content lends it neither access nor a name.
    let mut rows = state.db.records_of_blob(sha.to_string()).await?;
    rows.retain(|r| caller.department.as_ref().is_none_or(|d| *d == r.department));
    let Some(first) = rows.first() else {
        return Err(AppError::NotFound("没有这个文件，或无权查看".into()).into());
    };
    let name = q
        .name
        .filter(|n| rows.iter().any(|r| r.path.file_name() == n.as_str()))
        .unwrap_or_else(|| first.path.file_name().to_string());
    let size = state.blobs.len(sha.as_str()).map_err(AppError::from)?;
    let body = crate::blobs::stream(&*state.blobs, sha.as_str()).map_err(AppError::from)?;
    let headers = [
        (CONTENT_TYPE, content_type(&name).to_string()),
        (CONTENT_LENGTH, size.to_string()),
        (CONTENT_DISPOSITION, format!("inline; filename*=UTF-8''{}", percent_encode(&name))),
    ];
    Ok((headers, Body::from_stream(body)).into_response())
}

fn content_type(name: &str) -> &'static str {
    format_of(name).map_or("application/octet-stream", |f| f.mime)
}

/// What RFC 3986 leaves unreserved stays as it is; everything else is percent-encoded.
const NAME: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encoding of a UTF-8 name, for URLs and RFC 5987 Content-Disposition.
pub(super) fn percent_encode(name: &str) -> String {
    utf8_percent_encode(name, NAME).to_string()
}
