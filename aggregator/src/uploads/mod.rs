//! Resumable uploads (tus 1.0, `/api/v1/uploads`): what the server holds of each upload until it
//! completes or expires, kept across restarts. With the data folder the parts are files under
//! `tmp/uploads/` (`folder`); with an object store they are objects under `uploads/`
//! (`shared`), so that an upload begun through one instance goes on through any other. Either
//! way the offset answered is what is durably held: what the client is told it may skip.

mod folder;
mod shared;

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use yingjian_shared::{Sha256Hex, to_hex};

use crate::blobs::{BlobStore, S3Blobs, Stored};

/// Who started an upload and what it will be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadInfo {
    pub department: String,
    pub agent: String,
    /// `Upload-Length`: the whole file.
    pub length: u64,
    /// The hash the client named in `Upload-Metadata`, checked at completion.
    pub sha256: Option<Sha256Hex>,
    /// The file's name, as the client named it (for the log).
    pub name: Option<String>,
    pub created: Timestamp,
}

/// An upload as it stands.
#[derive(Debug, Clone)]
pub struct Upload {
    pub info: UploadInfo,
    /// Bytes received and durably held.
    pub offset: u64,
    /// When it is dropped unless it grows.
    pub expires: Timestamp,
}

/// An upload as its parts hold it: its description, the bytes held, when it last grew.
struct Held {
    info: UploadInfo,
    offset: u64,
    touched: Timestamp,
}

/// Where the parts of uploads are kept: unlike a finished build's `Shelf`, they grow by appends.
trait Partials: Send + Sync {
    /// Records a new upload, durably, before its id is handed out.
    fn make(&self, id: &str, info: &UploadInfo) -> io::Result<()>;
    /// The upload `id` (a valid id), if anything is known of it.
    fn read(&self, id: &str) -> io::Result<Option<Held>>;
    /// Appends what `next` yields at `from` (the offset held), keeping however much arrived.
    fn append(&self, id: &str, from: u64, next: &mut dyn FnMut() -> Option<Bytes>) -> io::Result<()>;
    /// Makes the complete upload the blob of the hash it has, unless that is not `expected`.
    fn finish(
        &self,
        id: &str,
        blobs: &dyn BlobStore,
        expected: Option<&Sha256Hex>,
    ) -> io::Result<Result<Stored, Sha256Hex>>;
    fn remove(&self, id: &str) -> io::Result<()>;
    /// Every upload with something kept, leftovers of a creation cut short included.
    fn ids(&self) -> io::Result<Vec<String>>;
}

/// The partial uploads of the deployment.
pub struct Uploads {
    parts: Box<dyn Partials>,
    expire: Duration,
    /// Uploads a request of this instance is writing to: one at a time each.
    busy: Arc<Mutex<HashSet<String>>>,
    /// When this instance last looked for expired uploads.
    swept: Mutex<Option<Instant>>,
    /// Held while a creation checks a department's quota and makes its upload, so that two
    /// creations of this instance cannot both take the last place.
    creating: Mutex<()>,
}

/// Why a department may not start another upload now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// It holds this many open uploads already.
    Uploads(usize),
    /// Its open uploads promise this many bytes already.
    Bytes(u64),
}

/// Held while a request writes to an upload; dropping it frees the upload.
pub struct Busy {
    id: String,
    busy: Arc<Mutex<HashSet<String>>>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.id);
    }
}

/// How often a creation looks for expired uploads.
const SWEEP: Duration = Duration::from_mins(1);

/// An upload id is 32 hex digits; anything else names no upload (and no file).
fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl Uploads {
    /// Uploads in the folder `tmp/uploads/` below `data`, created if needed; uploads untouched
    /// for `expire` are dropped.
    pub fn open(data: &Path, expire: Duration) -> io::Result<Uploads> {
        Ok(Self::on(Box::new(folder::Folder::open(data)?), expire))
    }

    /// Uploads in the object store every instance shares.
    pub fn shared(store: S3Blobs, expire: Duration) -> Uploads {
        Self::on(Box::new(shared::Shared::new(store)), expire)
    }

    fn on(parts: Box<dyn Partials>, expire: Duration) -> Uploads {
        Uploads { parts, expire, busy: Arc::default(), swept: Mutex::default(), creating: Mutex::default() }
    }

    /// Starts an upload: durable before the id is handed out.
    pub fn create(&self, info: &UploadInfo) -> io::Result<String> {
        // At most once a minute: with a shared store, looking means listing every upload of
        // the deployment.
        let due = {
            let mut swept = self.swept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = swept.is_none_or(|at| at.elapsed() >= SWEEP.min(self.expire));
            if due {
                *swept = Some(Instant::now());
            }
            due
        };
        if due {
            self.expire_old()?;
        }
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(io::Error::other)?;
        let id = to_hex(&random);
        // Held while it is made, so that `expire_old` (from another creation) does not take a
        // half-made upload for a leftover.
        let _claim = self.claim(&id).ok_or_else(|| io::Error::other("upload id taken"))?;
        self.parts.make(&id, info)?;
        Ok(id)
    }

    /// Starts an upload unless the department would then hold more than `max_open` uploads or
    /// promise more than `max_bytes` bytes: a refused creation makes nothing.
    pub fn create_within(
        &self,
        info: &UploadInfo,
        max_open: usize,
        max_bytes: u64,
    ) -> io::Result<Result<String, Quota>> {
        let _one = self.creating.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let open: Vec<Upload> = self
            .list()?
            .into_iter()
            .map(|(_, u)| u)
            .filter(|u| u.info.department == info.department)
            .collect();
        let promised: u64 = open.iter().map(|u| u.info.length).sum();
        if open.len() >= max_open {
            return Ok(Err(Quota::Uploads(open.len())));
        }
        if promised.saturating_add(info.length) > max_bytes {
            return Ok(Err(Quota::Bytes(promised)));
        }
        self.create(info).map(Ok)
    }

    /// Every open upload (expired ones are removed on the way), oldest first.
    pub fn list(&self) -> io::Result<Vec<(String, Upload)>> {
        let mut out = Vec::new();
        for id in self.parts.ids()? {
            if let Some(upload) = self.get(&id)? {
                out.push((id, upload));
            }
        }
        out.sort_by_key(|(_, u)| u.info.created);
        Ok(out)
    }

    /// The upload `id`, if it exists and has not expired (an expired one is removed).
    pub fn get(&self, id: &str) -> io::Result<Option<Upload>> {
        if !valid_id(id) {
            return Ok(None);
        }
        let Some(Held { info, offset, touched }) = self.parts.read(id)? else { return Ok(None) };
        let expires = touched + jiff::SignedDuration::try_from(self.expire).map_err(io::Error::other)?;
        if expires <= Timestamp::now()
            && let Some(_claim) = self.claim(id)
        {
            tracing::info!(upload = id, department = %info.department, name = ?info.name, "a resumable upload expired unfinished and was removed");
            self.parts.remove(id)?;
            return Ok(None);
        }
        Ok(Some(Upload { info, offset, expires }))
    }

    /// Claims `id` for one request; `None` while another request writes to it.
    pub fn claim(&self, id: &str) -> Option<Busy> {
        let mut busy = self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        busy.insert(id.to_string()).then(|| Busy { id: id.to_string(), busy: self.busy.clone() })
    }

    /// Appends the chunks `next` yields to the upload `claim` holds, which holds `from` bytes,
    /// and makes what arrived durable however the request ended (blocking).
    pub fn write(&self, claim: &Busy, from: u64, next: &mut dyn FnMut() -> Option<Bytes>) -> io::Result<()> {
        self.parts.append(&claim.id, from, next)
    }

    /// Makes the complete upload `claim` holds the blob of the hash it has, unless the client
    /// named another (`Err` with the actual hash: the upload is dropped), and drops the upload.
    pub fn finish(
        &self,
        claim: &Busy,
        blobs: &dyn BlobStore,
        expected: Option<&Sha256Hex>,
    ) -> io::Result<Result<Stored, Sha256Hex>> {
        let finished = self.parts.finish(&claim.id, blobs, expected)?;
        self.parts.remove(&claim.id)?;
        Ok(finished)
    }

    /// Drops the upload `claim` holds (ended by the client).
    pub fn remove(&self, claim: &Busy) -> io::Result<()> {
        self.parts.remove(&claim.id)
    }

    /// Removes every upload past its expiry, and leftovers of a creation cut short. Returns
    /// how many uploads it dropped.
    pub fn expire_old(&self) -> io::Result<usize> {
        let mut dropped = 0;
        for id in self.parts.ids()? {
            if self.get(&id)?.is_none()
                && let Some(_claim) = self.claim(&id)
            {
                // Expired (removed by `get`), or kept without its description.
                self.parts.remove(&id)?;
                dropped += 1;
            }
        }
        if dropped > 0 {
            tracing::info!(dropped, "partial resumable uploads expired or left by a crash were removed");
        }
        Ok(dropped)
    }
}
