//! Resumable uploads (tus 1.0, `/api/v1/uploads`): the partial files under `tmp/uploads/`,
//! kept across restarts until they complete or expire. Each upload is a `<id>.part` file that
//! grows with every `PATCH` (synced before the offset is answered) and a `<id>.json` written
//! once at creation, saying whose it is and how long it will be. The offset is the length of
//! the part file: what was synced is what the client is told it may skip.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use yingjian_shared::{Sha256Hex, Sha256Stream, sniff, to_hex};

use crate::blobs::{BlobStore, Stored};

/// Who started an upload and what it will be: `<id>.json`.
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
    /// Bytes received and synced.
    pub offset: u64,
    /// When it is dropped unless it grows.
    pub expires: Timestamp,
}

/// The partial uploads of the data folder.
pub struct Uploads {
    dir: PathBuf,
    expire: Duration,
    /// Uploads a request is writing to: one at a time each.
    busy: Arc<Mutex<HashSet<String>>>,
    /// The hash of each upload so far, as the last request left it (a SHA-256 state, not the
    /// bytes): the next request goes on from it instead of reading the part file again.
    hashers: Mutex<HashMap<String, Sha256Stream>>,
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

/// An upload id is 32 hex digits; anything else names no upload (and no file).
fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl Uploads {
    /// The uploads folder below `data`, created if needed; uploads untouched for `expire` are
    /// dropped.
    pub fn open(data: &Path, expire: Duration) -> io::Result<Uploads> {
        let dir = data.join("tmp").join("uploads");
        fs::create_dir_all(&dir)?;
        Ok(Uploads { dir, expire, busy: Arc::default(), hashers: Mutex::default() })
    }

    fn part(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    fn meta(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Starts an upload: an empty part file and its description, both durable before the id
    /// is handed out.
    pub fn create(&self, info: &UploadInfo) -> io::Result<String> {
        self.expire_old()?;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(io::Error::other)?;
        let id = to_hex(&random);
        // Held while the files are made, so that `expire_old` (from another creation) does not
        // take a part file without its description yet for a leftover.
        let _claim = self.claim(&id).ok_or_else(|| io::Error::other("upload id taken"))?;
        File::create_new(self.part(&id))?.sync_all()?;
        let temp = self.dir.join(format!("{id}.json.new"));
        let mut file = File::create_new(&temp)?;
        file.write_all(&serde_json::to_vec(info).map_err(io::Error::other)?)?;
        file.sync_all()?;
        fs::rename(&temp, self.meta(&id))?;
        crate::durable::sync_folder(&self.dir)?;
        Ok(id)
    }

    /// The upload `id`, if it exists and has not expired (an expired one is removed).
    pub fn get(&self, id: &str) -> io::Result<Option<Upload>> {
        if !valid_id(id) {
            return Ok(None);
        }
        let meta = match fs::read(self.meta(id)) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Ok(info) = serde_json::from_slice::<UploadInfo>(&meta) else {
            // Not written by this server: not an upload.
            return Ok(None);
        };
        let part = match fs::metadata(self.part(id)) {
            Ok(part) => part,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let touched = Timestamp::try_from(part.modified()?).map_err(io::Error::other)?;
        let expires = touched + jiff::SignedDuration::try_from(self.expire).map_err(io::Error::other)?;
        if expires <= Timestamp::now()
            && let Some(claim) = self.claim(id)
        {
            tracing::info!(upload = id, department = %info.department, name = ?info.name, "a resumable upload expired unfinished and was removed");
            self.remove(&claim)?;
            return Ok(None);
        }
        Ok(Some(Upload { info, offset: part.len(), expires }))
    }

    /// Claims `id` for one request; `None` while another request writes to it.
    pub fn claim(&self, id: &str) -> Option<Busy> {
        let mut busy = self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        busy.insert(id.to_string()).then(|| Busy { id: id.to_string(), busy: self.busy.clone() })
    }

    /// Appends the chunks `next` yields to the upload `claim` holds, whose part file holds
    /// `from` bytes, hashing them on from what came before, and syncs what was written however
    /// it ended (blocking).
    pub fn write(&self, claim: &Busy, from: u64, next: &mut dyn FnMut() -> Option<Bytes>) -> io::Result<()> {
        let mut file = fs::OpenOptions::new().append(true).open(self.part(&claim.id))?;
        let mut hasher = self.hasher_at(claim, from)?;
        let mut result = Ok(());
        while let Some(chunk) = next() {
            if result.is_ok() {
                result = file.write_all(&chunk);
                hasher.update(&chunk);
            }
        }
        file.sync_all()?;
        if result.is_ok() {
            self.hashers().insert(claim.id.clone(), hasher);
        }
        result
    }

    fn hashers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Sha256Stream>> {
        self.hashers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The hash of the first `offset` bytes of the upload: kept from the request before when it
    /// ended there, else recomputed from the part file (after a cut or a restart), never held
    /// as bytes.
    fn hasher_at(&self, claim: &Busy, offset: u64) -> io::Result<Sha256Stream> {
        if let Some(kept) = self.hashers().remove(&claim.id).filter(|h| h.len() == offset) {
            return Ok(kept);
        }
        let mut hasher = Sha256Stream::new();
        let mut part =
            io::BufReader::with_capacity(256 * 1024, File::open(self.part(&claim.id))?).take(offset);
        loop {
            let chunk = part.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            hasher.update(chunk);
            let n = chunk.len();
            part.consume(n);
        }
        if hasher.len() != offset {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the upload's part file is shorter than its offset",
            ));
        }
        Ok(hasher)
    }

    /// Makes the complete upload `claim` holds the blob of the hash it has, unless the client
    /// named another (`Err` with the actual hash: the upload is dropped), and drops the upload.
    pub fn finish(
        &self,
        claim: &Busy,
        blobs: &dyn BlobStore,
        expected: Option<&Sha256Hex>,
    ) -> io::Result<Result<Stored, Sha256Hex>> {
        let length = fs::metadata(self.part(&claim.id))?.len();
        let (sha256, size) = self.hasher_at(claim, length)?.finish();
        if expected.is_some_and(|e| e != &sha256) {
            self.remove(claim)?;
            return Ok(Err(sha256));
        }
        let mut prefix = Vec::with_capacity(16);
        File::open(self.part(&claim.id))?.take(16).read_to_end(&mut prefix)?;
        blobs.adopt(&self.part(&claim.id), &sha256)?;
        self.remove(claim)?;
        Ok(Ok(Stored { sha256, size, magic: sniff(&prefix) }))
    }

    /// Drops the upload `claim` holds (ended by the client, or complete).
    pub fn remove(&self, claim: &Busy) -> io::Result<()> {
        self.hashers().remove(&claim.id);
        self.remove_files(&claim.id)
    }

    fn remove_files(&self, id: &str) -> io::Result<()> {
        for path in [self.meta(id), self.part(id)] {
            match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Removes every upload past its expiry, and leftovers of a creation cut short. Returns
    /// how many uploads it dropped.
    pub fn expire_old(&self) -> io::Result<usize> {
        let mut dropped = 0;
        for entry in fs::read_dir(&self.dir)?.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".json.new") {
                let _ = fs::remove_file(entry.path());
                continue;
            }
            let Some(id) = name.strip_suffix(".part") else { continue };
            if self.get(id)?.is_none() && self.claim(id).is_some() {
                // Expired (removed by `get`), or a part without a description.
                self.hashers().remove(id);
                let _ = self.remove_files(id);
                dropped += 1;
            }
        }
        if dropped > 0 {
            tracing::info!(dropped, "partial resumable uploads expired or left by a crash were removed");
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> UploadInfo {
        UploadInfo {
            department: "police".into(),
            agent: "pc-1".into(),
            length: 10,
            sha256: None,
            name: Some("a.pdf".into()),
            created: Timestamp::now(),
        }
    }

    #[test]
    fn an_upload_grows_by_appends_and_survives_a_reopen_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let uploads = Uploads::open(dir.path(), Duration::from_hours(1)).unwrap();
        let id = uploads.create(&info()).unwrap();
        assert_eq!(uploads.get(&id).unwrap().unwrap().offset, 0);
        let claim = uploads.claim(&id).unwrap();
        assert!(uploads.claim(&id).is_none(), "one writer at a time");
        let mut chunks = vec![Bytes::from_static(b"hello")].into_iter();
        uploads.write(&claim, 0, &mut || chunks.next()).unwrap();
        drop(claim);
        // After a restart: the offset is what was synced, and the hash goes on from the disk.
        let reopened = Uploads::open(dir.path(), Duration::from_hours(1)).unwrap();
        let upload = reopened.get(&id).unwrap().unwrap();
        assert_eq!((upload.offset, upload.info.length, upload.info.department.as_str()), (5, 10, "police"));
        let claim = reopened.claim(&id).unwrap();
        let mut chunks = vec![Bytes::from_static(b" tus!")].into_iter();
        reopened.write(&claim, 5, &mut || chunks.next()).unwrap();
        let blobs = crate::blobs::LocalBlobs::open(dir.path(), false).unwrap();
        let stored = reopened.finish(&claim, &blobs, None).unwrap().unwrap();
        assert_eq!(stored.sha256, yingjian_shared::sha256_reader(&b"hello tus!"[..]).unwrap().0);
        assert_eq!(blobs.verify(stored.sha256.as_str(), 10), None, "the part file became the blob");
        assert!(reopened.get(&id).unwrap().is_none());
        for bad in ["../../yingjian.sqlite3", "ABCDEF", ""] {
            assert!(reopened.get(bad).unwrap().is_none());
        }
    }

    #[test]
    fn a_part_file_without_its_description_is_removed_unless_it_is_being_created() {
        let dir = tempfile::tempdir().unwrap();
        let uploads = Uploads::open(dir.path(), Duration::from_hours(1)).unwrap();
        let id = "0123456789abcdef0123456789abcdef";
        let part = dir.path().join(format!("tmp/uploads/{id}.part"));
        File::create(&part).unwrap();
        // Another request is making it (its description comes next): left alone.
        let making = uploads.claim(id).unwrap();
        assert_eq!(uploads.expire_old().unwrap(), 0);
        assert!(part.exists());
        // Left behind by a crash: removed.
        drop(making);
        assert_eq!(uploads.expire_old().unwrap(), 1);
        assert!(!part.exists());
    }

    #[test]
    fn an_upload_left_alone_past_its_expiry_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let uploads = Uploads::open(dir.path(), Duration::ZERO).unwrap();
        let id = uploads.create(&info()).unwrap();
        assert!(uploads.get(&id).unwrap().is_none());
        assert_eq!(fs::read_dir(dir.path().join("tmp/uploads")).unwrap().count(), 0);
    }
}
