//! Uploads in the data folder, under `tmp/uploads/`: each is a `<id>.part` file that grows with
//! every `PATCH` (synced before the offset is answered) and a `<id>.json` written once at
//! creation. The offset is the length of the part file.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use jiff::Timestamp;
use yingjian_shared::{Sha256Hex, Sha256Stream, sniff};

use super::{Held, Partials, UploadInfo};
use crate::blobs::{BlobStore, Stored};

pub struct Folder {
    dir: PathBuf,
    /// The hash of each upload so far, as the last request left it (a SHA-256 state, not the
    /// bytes): the next request goes on from it instead of reading the part file again.
    hashers: Mutex<HashMap<String, Sha256Stream>>,
}

impl Folder {
    pub fn open(data: &Path) -> io::Result<Folder> {
        let dir = data.join("tmp").join("uploads");
        fs::create_dir_all(&dir)?;
        Ok(Folder { dir, hashers: Mutex::default() })
    }

    fn part(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    fn meta(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn hashers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Sha256Stream>> {
        self.hashers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The hash of the first `offset` bytes of the upload: kept from the request before when it
    /// ended there, else recomputed from the part file (after a cut or a restart), never held
    /// as bytes.
    fn hasher_at(&self, id: &str, offset: u64) -> io::Result<Sha256Stream> {
        if let Some(kept) = self.hashers().remove(id).filter(|h| h.len() == offset) {
            return Ok(kept);
        }
        let mut hasher = Sha256Stream::new();
        let mut part = io::BufReader::with_capacity(256 * 1024, File::open(self.part(id))?).take(offset);
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
}

impl Partials for Folder {
    /// An empty part file and its description, both durable; nothing at all when it fails (a
    /// full disk).
    fn make(&self, id: &str, info: &UploadInfo) -> io::Result<()> {
        let temp = self.dir.join(format!("{id}.json.new"));
        let made = (|| {
            File::create_new(self.part(id))?.sync_all()?;
            let mut file = File::create_new(&temp)?;
            file.write_all(&serde_json::to_vec(info).map_err(io::Error::other)?)?;
            file.sync_all()?;
            fs::rename(&temp, self.meta(id))?;
            crate::durable::sync_folder(&self.dir)
        })();
        if made.is_err() {
            for path in [self.part(id), temp, self.meta(id)] {
                let _ = fs::remove_file(path);
            }
        }
        made
    }

    fn read(&self, id: &str) -> io::Result<Option<Held>> {
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
        Ok(Some(Held { info, offset: part.len(), touched }))
    }

    /// Appends, hashing on from what came before, and syncs what was written however it ended.
    fn append(&self, id: &str, from: u64, next: &mut dyn FnMut() -> Option<Bytes>) -> io::Result<()> {
        let mut file = fs::OpenOptions::new().append(true).open(self.part(id))?;
        let mut hasher = self.hasher_at(id, from)?;
        let mut result = Ok(());
        while let Some(chunk) = next() {
            if result.is_ok() {
                result = file.write_all(&chunk);
                hasher.update(&chunk);
            }
        }
        file.sync_all()?;
        if result.is_ok() {
            self.hashers().insert(id.to_string(), hasher);
        }
        result
    }

    /// The part file, hashed as it was written, is moved into the store as its blob.
    fn finish(
        &self,
        id: &str,
        blobs: &dyn BlobStore,
        expected: Option<&Sha256Hex>,
    ) -> io::Result<Result<Stored, Sha256Hex>> {
        let length = fs::metadata(self.part(id))?.len();
        let (sha256, size) = self.hasher_at(id, length)?.finish();
        if expected.is_some_and(|e| e != &sha256) {
            return Ok(Err(sha256));
        }
        let mut prefix = Vec::with_capacity(16);
        File::open(self.part(id))?.take(16).read_to_end(&mut prefix)?;
        blobs.adopt(&self.part(id), &sha256)?;
        Ok(Ok(Stored { sha256, size, magic: sniff(&prefix) }))
    }

    fn remove(&self, id: &str) -> io::Result<()> {
        self.hashers().remove(id);
        for path in [self.meta(id), self.part(id)] {
            match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Every part file's id; a description left half-written by a crash is removed on the way.
    fn ids(&self) -> io::Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.dir)?.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".json.new") {
                let _ = fs::remove_file(entry.path());
            } else if let Some(id) = name.strip_suffix(".part") {
                ids.push(id.to_string());
            }
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Uploads;
    use super::*;
    use std::time::Duration;

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
