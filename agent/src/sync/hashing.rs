//! Hashing a settled file: checked against the disk afterwards, and for a large file together
//! with an upload that names no hash, so that the upload need not wait for the hash.

use std::path::{Path, PathBuf};

use yingjian_shared::{RelPath, Sha256Hex, SkipReason, sha256_reader};

use super::resumable;
use crate::client::Client;
use crate::error::AgentResult;
use crate::scan::stat;
use crate::state::State;
use crate::words;

/// A file hashed, with the size and mtime it was hashed at.
pub struct Hashing {
    pub rel: RelPath,
    pub os: PathBuf,
    pub size: u64,
    pub mtime: i64,
    pub hashed: Hashed,
}

pub enum Hashed {
    Done(Sha256Hex),
    Changed,
    /// It cannot be read now: no permission, or another program has it locked.
    Unreadable(SkipReason),
    Gone,
}

/// Hashes a large file and uploads it at the same time, resumably, without naming its hash
/// (the server hashes it too and files it under the hash it finds), so that the upload need
/// not wait for the hash. Once the hash is known, the upload is given up if the server has that
/// content already (another department sent it) or if the file changed. Nothing depends on the
/// upload succeeding: the delivery that follows goes on with it, or sends what the server lacks.
pub async fn hash_while_uploading(
    client: &Client,
    state: &State,
    rel: &RelPath,
    os: &Path,
    (size, mtime): (u64, i64),
) -> AgentResult<Hashed> {
    let path = os.to_path_buf();
    let mut hashing = tokio::task::spawn_blocking(move || hash_if_unchanged(&path, size, mtime));
    let upload = resumable::send(client, state, rel, os, (size, mtime), None);
    tokio::pin!(upload);
    let (hashed, uploaded) = tokio::select! {
        hashed = &mut hashing => (hashed, None),
        uploaded = &mut upload => ((&mut hashing).await, Some(uploaded)),
    };
    let hashed = hashed?;
    let uploaded = match (uploaded, &hashed) {
        (Some(uploaded), _) => Some(uploaded),
        (None, Hashed::Done(sha)) if !client.has_blob(sha.as_str()).await.unwrap_or(true) => {
            Some(upload.await)
        }
        (None, _) => {
            // Not needed (the server has the content, or the file changed): let it go.
            if let Some(url) = state.upload_of(rel.as_str(), size, mtime)? {
                client.end_upload(&url).await;
                state.clear_upload(rel.as_str())?;
            }
            None
        }
    };
    if let Some(Err(e)) = uploaded {
        tracing::debug!(path = %os.display(), error = %e, "early upload failed; the delivery goes on with it");
    }
    Ok(hashed)
}

/// Why a file cannot be read, as the clerk is told.
fn unreadable(e: &std::io::Error) -> SkipReason {
    if words::is_locked(e) { SkipReason::Locked } else { SkipReason::Unreadable }
}

/// Hashes the file, then checks that it did not change while being hashed.
pub fn hash_if_unchanged(os: &Path, size: u64, mtime: i64) -> Hashed {
    let file = match std::fs::File::open(os) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Hashed::Gone,
        Err(e) => return Hashed::Unreadable(unreadable(&e)),
    };
    let (sha, len) = match sha256_reader(file) {
        Ok(done) => done,
        Err(e) => return Hashed::Unreadable(unreadable(&e)),
    };
    match stat(os) {
        Some(now) if now == (size, mtime) && len == size => Hashed::Done(sha),
        Some(_) => Hashed::Changed,
        None => Hashed::Gone,
    }
}
