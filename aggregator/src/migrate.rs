//! `migrate`: moves a city's store — SQLite in the data folder and the blob folder — into
//! PostgreSQL and an S3-compatible object store, verified. Blobs first, each hashed as it is
//! sent (and one already there from an earlier, interrupted run hashed as it is read back);
//! then every table in one transaction, and the row counts compared. Run again after an
//! interruption, it goes on where it stopped; run after it finished, it only verifies.

use std::path::Path;
use std::sync::Arc;

use yingjian_shared::Sha256Hex;

use crate::blobs::{BlobStore, LocalBlobs, S3Blobs};
use crate::config::Config;
use crate::db::{Copied, Db};
use crate::error::{AppError, AppResult};

/// What was moved.
#[derive(Debug)]
pub struct Moved {
    pub blobs_sent: usize,
    /// Already in the object store from an earlier run, and verified there.
    pub blobs_there: usize,
    pub tables: Copied,
}

pub async fn run(from: &Path, to: &Path) -> AppResult<Moved> {
    let database = from.join("yingjian.sqlite3");
    if !database.exists() {
        return Err(AppError::Command(format!(
            "{} holds no yingjian.sqlite3: not a data folder",
            from.display()
        )));
    }
    let target = Config::load(Some(to))?;
    let (Some(url), Some(s3)) = (&target.database.url, &target.blobs.s3) else {
        return Err(AppError::Command(format!(
            "{}: migrate moves into PostgreSQL and an object store: the config must set [database] url and [blobs] s3",
            to.display()
        )));
    };
    let source_db = Db::open(&database)?;
    let source: Arc<dyn BlobStore> = Arc::new(LocalBlobs::open(from, false)?);
    let sink: Arc<dyn BlobStore> =
        Arc::new(S3Blobs::open(s3).map_err(|e| AppError::Command(format!("[blobs] s3: {e}")))?);
    let target_db = Db::open_postgres(url, target.database.ca.as_deref())?;

    let all = source_db.all_blobs().await?;
    let total = all.len();
    let (mut blobs_sent, mut blobs_there) = (0, 0);
    for (i, (sha, size)) in all.into_iter().enumerate() {
        let (source, sink) = (source.clone(), sink.clone());
        let sent = tokio::task::spawn_blocking(move || move_blob(&*source, &*sink, &sha, size))
            .await
            .map_err(AppError::internal)??;
        if sent {
            blobs_sent += 1;
        } else {
            blobs_there += 1;
        }
        if (i + 1) % 1000 == 0 {
            tracing::info!(done = i + 1, total, "blobs moved");
        }
    }
    let tables = source_db.copy_into(&target_db).await?;
    Ok(Moved { blobs_sent, blobs_there, tables })
}

/// Sends one blob unless the object store has it whole already; true when it was sent.
fn move_blob(source: &dyn BlobStore, sink: &dyn BlobStore, sha: &str, size: u64) -> AppResult<bool> {
    // There whole and hashing right: kept. Missing, short, or damaged on the way: sent.
    if sink.len(sha).ok() == Some(size) && sink.verify(sha, size).is_none() {
        return Ok(false);
    }
    send(source, sink, sha, size).map(|()| true)
}

fn send(source: &dyn BlobStore, sink: &dyn BlobStore, sha: &str, size: u64) -> AppResult<()> {
    let expected = Sha256Hex::parse(sha).map_err(AppError::internal)?;
    match crate::blobs::store_from(sink, &mut source.open_blob(sha)?, Some(size), Some(&expected))? {
        Ok(_) => Ok(()),
        Err(actual) => Err(AppError::Command(format!(
            "blob {sha} in the data folder is damaged (its bytes hash to {actual}): restore it from backup, or run scrub"
        ))),
    }
}
