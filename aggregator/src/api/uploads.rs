//! tus 1.0 resumable uploads under `/api/v1/uploads` (core, creation, termination,
//! expiration), for a department: an upload cut off resumes from the offset the server holds
//! durably, so a link that always drops before the end still delivers, through whichever
//! instance a request reaches. A completed upload becomes a blob exactly as a `PUT` makes one,
//! answered with `{sha256, size}`.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{head, options};
use base64::Engine as _;
use bytes::Bytes;
use jiff::Timestamp;
use tokio::sync::mpsc;
use yingjian_shared::{Sha256Hex, limits};

use super::blobs::{CHUNKS_IN_FLIGHT, file_blob, receive_into};
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::uploads::{Busy, Quota, Upload, UploadInfo};

const TUS_VERSION: &str = "1.0.0";
const TUS_EXTENSIONS: &str = "creation,termination,expiration";
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

static TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
static UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
static UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
static UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/uploads", options(capabilities).post(create))
        .route("/api/v1/uploads/{id}", head(offset).patch(append).delete(terminate))
        // Bodies are counted against `max_upload_bytes` and the upload's length by the handler.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::map_response(|mut r: Response| async move {
            r.headers_mut().insert(&TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
            if r.status() == StatusCode::PRECONDITION_FAILED {
                r.headers_mut().insert("tus-version", HeaderValue::from_static(TUS_VERSION));
            }
            r
        }))
}

/// `OPTIONS`: what this server offers (no token needed, as tus clients ask first).
async fn capabilities(State(state): State<AppState>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(TUS_EXTENSIONS));
    headers.insert("tus-max-size", HeaderValue::from(state.config.max_upload_bytes));
    (StatusCode::NO_CONTENT, headers).into_response()
}

/// Every request but `OPTIONS` says which protocol version it speaks.
fn check_version(headers: &HeaderMap) -> AppResult<()> {
    match headers.get(&TUS_RESUMABLE) {
        Some(v) if v == TUS_VERSION => Ok(()),
        _ => Err(AppError::PreconditionFailed(format!(
            "请求须带 Tus-Resumable: {TUS_VERSION}（send Tus-Resumable: {TUS_VERSION}, the tus version spoken here）"
        ))),
    }
}

fn number(headers: &HeaderMap, name: &HeaderName) -> AppResult<u64> {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).ok_or_else(|| {
        AppError::BadRequest(format!("请求头 {name} 应为字节数（send {name} as a whole number of bytes）"))
    })
}

fn http_date(at: Timestamp) -> HeaderValue {
    let text =
        jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&at).unwrap_or_default();
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Upload-Metadata`: comma-separated `key base64(value)` pairs; `sha256` and `filename` are read.
fn metadata(headers: &HeaderMap) -> AppResult<(Option<Sha256Hex>, Option<String>)> {
    let Some(raw) = headers.get("upload-metadata") else { return Ok((None, None)) };
    let raw = raw.to_str().map_err(|_| {
        AppError::BadRequest("Upload-Metadata 含有非 ASCII 字符（Upload-Metadata is not ASCII）".into())
    })?;
    let (mut sha256, mut name) = (None, None);
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let value = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or_else(|| {
                AppError::BadRequest(format!("Upload-Metadata {key} 的值不是 UTF-8 文本的 base64（the value is not base64 of UTF-8 text）"))
            })?;
        match key {
            "sha256" => {
                sha256 =
                    Some(Sha256Hex::parse(&value).map_err(|e| {
                        AppError::BadRequest(format!("Upload-Metadata 中的 sha256 无效（{e}）"))
                    })?);
            }
            "filename" => name = Some(limits::truncate(&value, limits::NAME_CHARS)),
            _ => {}
        }
    }
    Ok((sha256, name))
}

/// `POST`: a new upload of `Upload-Length` bytes (a deferred length is not offered).
async fn create(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> AppResult<Response> {
    check_version(&headers)?;
    let department = caller.department()?.to_string();
    let length = number(&headers, &UPLOAD_LENGTH)?;
    let max = state.config.max_upload_bytes;
    if length > max {
        return Err(AppError::TooLarge { max });
    }
    let (sha256, name) = metadata(&headers)?;
    let info = UploadInfo {
        department,
        agent: caller.agent.clone(),
        length,
        sha256,
        name,
        created: Timestamp::now(),
    };
    let uploads = state.uploads.clone();
    let quota = &state.config.uploads;
    let (most, promised) = (quota.max_open, quota.max_promised_bytes);
    let id = tokio::task::spawn_blocking(move || uploads.create_within(&info, most, promised))
        .await
        .map_err(AppError::internal)??
        .map_err(|refused| {
            AppError::TooManyRequests(match refused {
                Quota::Uploads(n) => format!(
                    "本单位未完成的断点续传已有 {n} 个（上限 {most} 个）：请等已开始的上传完成后再传，上传程序会自动重试（too many open uploads）"
                ),
                Quota::Bytes(held) => format!(
                    "本单位未完成的断点续传已占 {} MB（上限 {} MB），再加这个文件会超出：请等已开始的上传完成后再传，上传程序会自动重试（too many bytes promised）",
                    held >> 20,
                    promised >> 20
                ),
            })
        })?;
    let expires = Timestamp::now() + jiff::SignedDuration::from_secs(state.config.uploads.expire_secs as i64);
    let mut out = HeaderMap::new();
    out.insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("/api/v1/uploads/{id}")).map_err(AppError::internal)?,
    );
    out.insert(&UPLOAD_EXPIRES, http_date(expires));
    Ok((StatusCode::CREATED, out).into_response())
}

/// The caller's own upload `id`: to anyone else it does not exist.
async fn own(state: &AppState, caller: &Caller, id: &str) -> AppResult<Upload> {
    let department = caller.department()?.to_string();
    let uploads = state.uploads.clone();
    let id = id.to_string();
    let upload =
        tokio::task::spawn_blocking(move || uploads.get(&id)).await.map_err(AppError::internal)??;
    upload.filter(|u| u.info.department == department).ok_or_else(|| {
        AppError::NotFound("没有这个上传（已完成、已取消或已过期），将重新开始上传（no such upload: start a new one with POST）".into())
    })
}

fn position(upload: &Upload) -> HeaderMap {
    let mut out = HeaderMap::new();
    out.insert(&UPLOAD_OFFSET, HeaderValue::from(upload.offset));
    out.insert(&UPLOAD_EXPIRES, http_date(upload.expires));
    out
}

/// `HEAD`: how much the server holds, synced.
async fn offset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    check_version(&headers)?;
    let upload = own(&state, &caller, &id).await?;
    let mut out = position(&upload);
    out.insert(&UPLOAD_LENGTH, HeaderValue::from(upload.info.length));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((StatusCode::OK, out).into_response())
}

/// `PATCH`: appends the body at `Upload-Offset`, syncs it, and answers the new offset; the
/// request that reaches the length completes the upload and answers `{sha256, size}`. Bytes
/// received before a cut are kept: the client asks `HEAD` and goes on from there.
async fn append(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    check_version(&headers)?;
    if headers.get(header::CONTENT_TYPE).is_none_or(|v| v != OFFSET_OCTET_STREAM) {
        return Err(AppError::UnsupportedMediaType(format!(
            "内容类型应为 {OFFSET_OCTET_STREAM}（send the bytes as Content-Type: {OFFSET_OCTET_STREAM}）"
        )));
    }
    let at = number(&headers, &UPLOAD_OFFSET)?;
    let upload = own(&state, &caller, &id).await?;
    let claim = claim(&state, &id)?;
    // Read again under the claim: a request that just ended may have grown it.
    let upload = own(&state, &caller, &id).await.unwrap_or(upload);
    if at != upload.offset {
        return Err(AppError::Conflict(format!(
            "服务器已收到这个上传的 {} 字节，而不是 {at} 字节，将从已收到处继续（ask with HEAD and send from there）",
            upload.offset
        )));
    }
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
    let uploads = state.uploads.clone();
    let from = upload.offset;
    let disk = tokio::task::spawn_blocking(move || {
        let written = uploads.write(&claim, from, &mut || rx.blocking_recv());
        (claim, written)
    });
    let received = receive_into(body, upload.info.length - upload.offset, &tx).await;
    drop(tx);
    let (claim, written) = disk.await.map_err(AppError::internal)?;
    written?;
    if let Err(e) = received {
        return Err(match e {
            AppError::TooLarge { .. } => AppError::BadRequest(format!(
                "发送的内容超过上传声明的长度（{} 字节），多出的部分未保存（more bytes than the upload's length）",
                upload.info.length
            )),
            other => other,
        });
    }
    let upload = own(&state, &caller, &id).await?;
    if upload.offset < upload.info.length {
        return Ok((StatusCode::NO_CONTENT, position(&upload)).into_response());
    }
    // Complete: the upload becomes the blob of the hash it has, exactly as a `PUT` files one.
    let uploads = state.uploads.clone();
    let blobs = state.blobs.clone();
    let expected = upload.info.sha256.clone();
    let finished =
        tokio::task::spawn_blocking(move || uploads.finish(&claim, blobs.as_ref(), expected.as_ref()))
            .await
            .map_err(AppError::internal)??;
    let stored = match finished {
        Ok(stored) => stored,
        Err(actual) => {
            let expected = upload.info.sha256.as_ref().map(ToString::to_string).unwrap_or_default();
            return Err(AppError::HashMismatch { expected, actual: actual.to_string() });
        }
    };
    let (_, answer) = file_blob(&state, &caller, &upload.info.department, stored).await?;
    tracing::info!(department = %upload.info.department, name = ?upload.info.name, size = answer.size, "resumable upload complete");
    Ok((StatusCode::OK, position(&upload), Json(answer)).into_response())
}

/// The upload, for this request alone.
fn claim(state: &AppState, id: &str) -> AppResult<Busy> {
    state.uploads.claim(id).ok_or_else(|| {
        AppError::Locked(
            "另一个请求正在写入这个上传，稍后会自动重试（another request is writing to this upload）".into(),
        )
    })
}

/// `DELETE`: the client gives the upload up.
async fn terminate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    check_version(&headers)?;
    own(&state, &caller, &id).await?;
    let claim = claim(&state, &id)?;
    state.uploads.remove(&claim)?;
    Ok(StatusCode::NO_CONTENT)
}
