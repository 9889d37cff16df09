//! `HEAD`/`PUT /api/v1/blobs/{sha256}` and `POST /api/v1/blobs`: content-addressed upload,
//! hashed as it streams to disk.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header::CONTENT_LENGTH};
use axum::routing::{head, post};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use jiff::Timestamp;
use tokio::sync::mpsc;
use yingjian_shared::{BlobStored, EventKind, Sha256Hex, Sha256Stream};

use crate::auth::Caller;
use crate::blobs::{CommitError, Stored};
use crate::db::{AuditEntry, NewBlob};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Buffers in flight between the network and the disk threads: bounds memory per upload.
pub(super) const CHUNKS_IN_FLIGHT: usize = 4;
/// Network chunks are gathered into buffers of this size, so the disk thread is woken per
/// quarter megabyte rather than per packet.
const GATHER: usize = 256 * 1024;
/// Past its limit a body is still read (and dropped) this much more, for this long, before the
/// refusal goes out: a client still sending when the connection closes meets a reset instead of
/// the 413 that says why.
const LINGER_BYTES: u64 = 1 << 20;
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    // The body is streamed and counted by the handler against `max_upload_bytes`, so axum's
    // 2 MB default limit must not apply here.
    Router::new()
        .route("/api/v1/blobs", post(post_blob))
        .route("/api/v1/blobs/{sha256}", head(head_blob).put(put_blob))
        .layer(DefaultBodyLimit::disable())
}

fn parse_hash(raw: &str) -> AppResult<Sha256Hex> {
    Sha256Hex::parse(raw).map_err(|e| AppError::BadRequest(format!("{e}: put the file's SHA-256 in the URL")))
}

/// 200 only if the caller may see the blob: the office always, a department only for content it
/// delivered itself. To any other department the blob does not exist, whoever else holds it.
async fn head_blob(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> AppResult<StatusCode> {
    let sha = parse_hash(&raw)?;
    let found = match &caller.department {
        None => state.db.blob(sha.to_string()).await?,
        Some(own) => state.db.held_blob(own.clone(), sha.to_string()).await?,
    };
    match found {
        Some(_) => Ok(StatusCode::OK),
        None => Err(AppError::NotFound(
            "服务器没有这个文件内容，将重新上传（no blob with that hash: upload it with PUT）".into(),
        )),
    }
}

async fn put_blob(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<StatusCode> {
    let sha = parse_hash(&raw)?;
    Ok(store(&state, &caller, &headers, body, Some(sha)).await?.0)
}

/// An upload that names no hash: the server hashes it and files it under the hash it has. The
/// agent starts a large file this way while it is still hashing it itself, rather than after.
async fn post_blob(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> AppResult<(StatusCode, Json<BlobStored>)> {
    let (status, stored) = store(&state, &caller, &headers, body, None).await?;
    Ok((status, Json(stored)))
}

/// Streams the body to disk, hashing it, and files the blob; `expected` is the hash the uploader
/// named, if any. Answers 201 for a new blob, 200 for one already stored.
async fn store(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
    expected: Option<Sha256Hex>,
) -> AppResult<(StatusCode, BlobStored)> {
    let department = caller.department()?.to_string();
    let max = state.config.max_upload_bytes;
    let declared =
        headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(AppError::TooLarge { max });
    }
    if let Some(sha) = &expected {
        // Delivered by this department before: nothing to read. (A move or re-tag costs no bytes.)
        if let Some((size, _)) = state.db.held_blob(department.clone(), sha.to_string()).await? {
            return Ok((StatusCode::OK, BlobStored { sha256: sha.clone(), size }));
        }
        // Stored from another department: the body must prove this one has the bytes too. It
        // is hashed, not written: the store keeps its one copy.
        if let Some((size, _)) = state.db.blob(sha.to_string()).await? {
            let (actual, len) = hash_only(body, max).await?;
            check_length(declared, len)?;
            if &actual != sha {
                return Err(AppError::HashMismatch { expected: sha.to_string(), actual: actual.to_string() });
            }
            // The blob's row exists: only the holder is new.
            let created = state
                .db
                .insert_blob(
                    NewBlob { sha256: sha.to_string(), size, magic: None },
                    audit(caller, &department, sha, size),
                )
                .await?;
            return Ok((answer(created), BlobStored { sha256: actual, size }));
        }
    }

    // Hashing and writing run on a blocking thread, fed through a bounded channel, so the
    // network read and the disk write overlap and memory stays at a few chunks.
    let named = expected.clone();
    let mut writer = crate::blobs::blocking(&state.blobs, move |b| b.begin(declared, named.as_ref())).await?;
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
    let disk = tokio::task::spawn_blocking(move || writer.fill(&mut || rx.blocking_recv()).map(|()| writer));
    let received = receive_into(body, max, &tx).await;
    drop(tx);
    let writer = disk.await.map_err(AppError::internal)??;
    received?;
    check_length(declared, writer.written())?;

    let committed = tokio::task::spawn_blocking(move || writer.commit()).await.map_err(AppError::internal)?;
    let stored = match committed {
        Ok(stored) => stored,
        Err(CommitError::Mismatch { actual }) => {
            let expected = expected.map(|e| e.to_string()).unwrap_or_default();
            return Err(AppError::HashMismatch { expected, actual: actual.to_string() });
        }
        Err(CommitError::Io(e)) => return Err(e.into()),
    };
    file_blob(state, caller, &department, stored).await
}

/// Files a blob just committed as delivered by `department` (new content, or a proof that it
/// holds content stored already), audited; 201 for content new to the store, 200 otherwise.
pub(super) async fn file_blob(
    state: &AppState,
    caller: &Caller,
    department: &str,
    Stored { sha256, size, magic }: Stored,
) -> AppResult<(StatusCode, BlobStored)> {
    let created = state
        .db
        .insert_blob(
            NewBlob { sha256: sha256.to_string(), size, magic },
            audit(caller, department, &sha256, size),
        )
        .await?;
    if created {
        state.publish(EventKind::Evidence, Some(department), None, Some(format!("upload {size}")));
    }
    Ok((answer(created), BlobStored { sha256, size }))
}

/// 201 for content new to the store, 200 for content it had (from anyone).
fn answer(created: bool) -> StatusCode {
    if created { StatusCode::CREATED } else { StatusCode::OK }
}

fn audit(caller: &Caller, department: &str, sha256: &Sha256Hex, size: u64) -> AuditEntry {
    AuditEntry {
        at: Timestamp::now(),
        department: Some(department.to_string()),
        agent: Some(caller.agent.clone()),
        host: caller.host.clone(),
        // `insert_blob` says whether this was a new upload or a proof of possession.
        action: String::new(),
        detail: format!("sha256={sha256} size={size}"),
    }
}

fn check_length(declared: Option<u64>, received: u64) -> AppResult<()> {
    if declared.is_some_and(|len| len != received) {
        return Err(AppError::BadRequest(
            "the body is shorter than its Content-Length: send the whole file".into(),
        ));
    }
    Ok(())
}

/// Hashes a body without storing it, on a blocking thread fed like the writer's.
async fn hash_only(body: Body, max: u64) -> AppResult<(Sha256Hex, u64)> {
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
    let hashing = tokio::task::spawn_blocking(move || {
        let mut hasher = Sha256Stream::new();
        while let Some(chunk) = rx.blocking_recv() {
            hasher.update(&chunk);
        }
        hasher.finish()
    });
    let received = receive_into(body, max, &tx).await;
    drop(tx);
    let hashed = hashing.await.map_err(AppError::internal)?;
    received?;
    Ok(hashed)
}

/// Forwards the body to the disk thread, refusing it once it passes `max` bytes. Whatever
/// arrived before the body broke off is forwarded too (a resumable upload keeps it).
pub(super) async fn receive_into(body: Body, max: u64, tx: &mpsc::Sender<Bytes>) -> AppResult<()> {
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    let mut gathered = BytesMut::with_capacity(GATHER);
    while let Some(chunk) = stream.next().await {
        let chunk: Bytes = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                if !gathered.is_empty() {
                    let _ = tx.send(gathered.freeze()).await;
                }
                return Err(AppError::BadRequest(format!(
                    "the upload broke off ({e}): the agent will send the rest again"
                )));
            }
        };
        total += chunk.len() as u64;
        if total > max {
            let mut drained = 0u64;
            let _ = tokio::time::timeout(LINGER, async {
                while let Some(Ok(chunk)) = stream.next().await {
                    drained += chunk.len() as u64;
                    if drained > LINGER_BYTES {
                        break;
                    }
                }
            })
            .await;
            return Err(AppError::TooLarge { max });
        }
        // Large chunks (the usual case over a fast link) go as they are; small ones are
        // gathered so that the disk threads are not woken per packet.
        let ready = if gathered.is_empty() && chunk.len() >= GATHER / 2 {
            chunk
        } else {
            gathered.extend_from_slice(&chunk);
            if gathered.len() < GATHER {
                continue;
            }
            std::mem::replace(&mut gathered, BytesMut::with_capacity(GATHER)).freeze()
        };
        if tx.send(ready).await.is_err() {
            // The disk thread stopped: its error is reported by the caller.
            return Ok(());
        }
    }
    if !gathered.is_empty() {
        let _ = tx.send(gathered.freeze()).await;
    }
    Ok(())
}
