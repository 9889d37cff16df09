//! Large files go by resumable upload (tus, `/api/v1/uploads`): after a cut, an outage or a
//! restart of either side, the agent asks the server how much it holds and sends only the rest.
//! The upload's address is kept in the local state with the file's size and mtime, so a restart
//! goes on with the same upload and a changed file starts a new one.

use std::path::Path;

use yingjian_shared::{BlobStored, ErrorCode, RelPath};

use crate::client::Client;
use crate::error::{AgentError, AgentResult};
use crate::state::State;

/// Files at least this large are sent resumably; smaller ones in one `PUT` (a cut costs a few
/// seconds of a slow link at most).
pub const RESUMABLE_FROM: u64 = 8 << 20;

/// Sends the file at `os` (this `size` and `mtime`) by resumable upload, going on with the one
/// started before if the server still holds it. `sha256`, when known, is checked by the server.
pub async fn send(
    client: &Client,
    state: &State,
    rel: &RelPath,
    os: &Path,
    (size, mtime): (u64, i64),
    sha256: Option<&str>,
) -> AgentResult<BlobStored> {
    let path = rel.as_str();
    // Twice at most: an upload the server dropped meanwhile (expired) is started anew once.
    for _ in 0..2 {
        let resumed = match state.upload_of(path, size, mtime)? {
            Some(url) => client.upload_offset(&url).await?.map(|from| (url, from)),
            None => None,
        };
        let (url, from) = if let Some(resumed) = resumed {
            resumed
        } else {
            let url = client.create_upload(size, sha256, rel.file_name()).await?;
            state.set_upload(path, size, mtime, &url)?;
            (url, 0)
        };
        if from > 0 {
            tracing::info!(%path, from, size, "resuming an upload");
        }
        match client.patch_upload(&url, os, from, size).await {
            Ok(Some(stored)) => {
                state.clear_upload(path)?;
                if sha256.is_some_and(|sha| sha != stored.sha256.as_str()) {
                    // Started before the hash was known, and the file changed on the way.
                    return Err(AgentError::Server {
                        status: 422,
                        code: Some(ErrorCode::HashMismatch),
                        message: "the file changed while it was uploaded".into(),
                    });
                }
                return Ok(stored);
            }
            Ok(None) => {
                return Err(AgentError::Server {
                    status: 409,
                    code: None,
                    message: "the server holds less than was sent: the agent goes on from where it is".into(),
                });
            }
            Err(AgentError::Server { status: 404 | 410, .. }) => state.clear_upload(path)?,
            Err(e @ AgentError::Server { status: 422, .. }) => {
                state.clear_upload(path)?;
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(AgentError::Server {
        status: 409,
        code: None,
        message: "the server dropped the upload twice: it is sent again later".into(),
    })
}
