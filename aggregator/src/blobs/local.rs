//! The blob store in the data folder: the only code that touches `blobs/` and `tmp/`.
//!
//! `blobs/ab/cd/<sha256>` holds the bytes whose SHA-256 is the name. A write goes to `tmp/`,
//! guarded by a delete-on-drop handle, is hashed as it is written, synced, checked against the
//! expected hash, renamed into place, and the folder synced: a crash leaves at most a file in
//! `tmp/`, which is emptied at start (but for `tmp/uploads/`, the partial resumable uploads).

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use bytes::Bytes;
use yingjian_shared::{Sha256Hex, Sha256Stream, sniff, to_hex};

use super::{BlobStore, BlobWrite, CommitError, Stored};
use crate::direct_io::{self, Sink};

/// Chunks queued for the hashing thread: bounds memory per upload.
const HASH_QUEUE: usize = 4;
/// How much is written between two requests to the disk to start writing back.
const WRITEBACK_EVERY: usize = 32 << 20;

/// `tmp/uploads/` holds the partial resumable uploads (`crate::uploads`), which outlive a restart.
const UPLOADS: &str = "uploads";
/// The name a blob write in progress starts with (the worker's job folders sit beside them).
const WRITING: &str = "upload-";

/// The data folder's `blobs/` and `tmp/`.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    blobs: PathBuf,
    tmp: PathBuf,
    /// Large blobs are written past the page cache (`direct_io`).
    direct: bool,
}

impl LocalBlobs {
    /// Opens the store below `data`, creating its folders; `direct` writes large blobs past
    /// the page cache where the filesystem allows it.
    pub fn open(data: &Path, direct: bool) -> io::Result<LocalBlobs> {
        let store = LocalBlobs { blobs: data.join("blobs"), tmp: data.join("tmp"), direct };
        fs::create_dir_all(&store.blobs)?;
        fs::create_dir_all(&store.tmp)?;
        Ok(store)
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.blobs.join(&sha256[..2]).join(&sha256[2..4]).join(sha256)
    }
}

impl BlobStore for LocalBlobs {
    fn begin(&self, size: Option<u64>, expected: Option<&Sha256Hex>) -> io::Result<Box<dyn BlobWrite>> {
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).map_err(io::Error::other)?;
        let path = self.tmp.join(format!("{WRITING}{}", to_hex(&random)));
        let (file, direct) = direct_io::create_new(&path, size.filter(|_| self.direct))?;
        Ok(Box::new(LocalWriter {
            file,
            direct,
            guard: TempGuard(Some(path)),
            hasher: Sha256Stream::new(),
            prefix: Vec::with_capacity(16),
            expected: expected.cloned(),
            store: self.clone(),
        }))
    }

    fn open_blob(&self, sha256: &str) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(File::open(self.path_of(sha256))?))
    }

    fn len(&self, sha256: &str) -> io::Result<u64> {
        Ok(fs::metadata(self.path_of(sha256))?.len())
    }

    fn local_path(&self, sha256: &str) -> Option<PathBuf> {
        let named = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        Some(self.path_of(sha256)).filter(|p| named && p.is_file())
    }

    fn delete(&self, sha256: &str) -> io::Result<()> {
        fs::remove_file(self.path_of(sha256))
    }

    fn adopt(&self, file: &Path, sha256: &Sha256Hex) -> io::Result<()> {
        let target = self.path_of(sha256.as_str());
        let folder = target.parent().expect("blob paths have a parent");
        fs::create_dir_all(folder)?;
        // `tmp/uploads/` is in the data folder: a rename, on the same filesystem.
        fs::rename(file, &target)?;
        crate::durable::sync_folder(folder)
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for first in fs::read_dir(&self.blobs)? {
            for second in fs::read_dir(first?.path())? {
                for blob in fs::read_dir(second?.path())? {
                    out.push(blob?.file_name().to_string_lossy().to_string());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Only the server does this, at start; other commands may run beside a live server.
    fn clear_tmp(&self) -> io::Result<()> {
        for entry in fs::read_dir(&self.tmp)? {
            let entry = entry?;
            if entry.file_name() == UPLOADS {
                continue;
            }
            if entry.file_type()?.is_dir() {
                fs::remove_dir_all(entry.path())?;
            } else {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    fn temp_files(&self) -> io::Result<usize> {
        Ok(fs::read_dir(&self.tmp)?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(WRITING))
            .count())
    }
}

/// A blob being written. Dropping it without `commit` deletes the temporary file.
struct LocalWriter {
    file: File,
    /// Written past the page cache (see `direct_io`).
    direct: bool,
    guard: TempGuard,
    hasher: Sha256Stream,
    prefix: Vec<u8>,
    expected: Option<Sha256Hex>,
    store: LocalBlobs,
}

impl BlobWrite for LocalWriter {
    /// Writes every chunk `next` yields until it yields `None`; called once per blob.
    ///
    /// Two threads share the work so that the disk never waits for the hash or the reverse:
    /// this one writes, a second hashes the same chunks. Through the page cache, a third asks
    /// the disk to write back what is cached every `WRITEBACK_EVERY` bytes, so that the sync in
    /// `commit` only has the tail left to flush.
    fn fill(&mut self, next: &mut dyn FnMut() -> Option<Bytes>) -> io::Result<()> {
        let syncer = (!self.direct).then(|| self.file.try_clone()).transpose()?;
        let mut sink = Sink::new(&mut self.file, self.direct);
        let mut hasher = std::mem::take(&mut self.hasher);
        let mut prefix = std::mem::take(&mut self.prefix);
        let (written, hasher, prefix) = std::thread::scope(|scope| {
            let (to_hash, hash_rx) = mpsc::sync_channel::<Bytes>(HASH_QUEUE);
            let hashing = scope.spawn(move || {
                for chunk in hash_rx {
                    if prefix.len() < 16 {
                        let take = (16 - prefix.len()).min(chunk.len());
                        prefix.extend_from_slice(&chunk[..take]);
                    }
                    hasher.update(&chunk);
                }
                (hasher, prefix)
            });
            // A failed early sync shows again, and is reported, at the sync in `commit`.
            let to_sync = syncer.map(|syncer| {
                let (to_sync, sync_rx) = mpsc::sync_channel::<()>(1);
                scope.spawn(move || {
                    for () in sync_rx {
                        if syncer.sync_data().is_ok() {
                            forget_cached(&syncer);
                        }
                    }
                });
                to_sync
            });
            let mut written = Ok(());
            let mut since_sync = 0;
            while let Some(chunk) = next() {
                if to_hash.send(chunk.clone()).is_err() {
                    break;
                }
                if let Err(e) = sink.put(&chunk) {
                    written = Err(e);
                    break;
                }
                since_sync += chunk.len();
                if since_sync >= WRITEBACK_EVERY
                    && let Some(to_sync) = &to_sync
                {
                    since_sync = 0;
                    let _ = to_sync.try_send(());
                }
            }
            drop((to_hash, to_sync));
            let written = written.and_then(|()| sink.finish());
            let (hasher, prefix) = hashing.join().expect("the hashing thread does not panic");
            (written, hasher, prefix)
        });
        (self.hasher, self.prefix) = (hasher, prefix);
        written
    }

    fn written(&self) -> u64 {
        self.hasher.len()
    }

    /// Syncs, checks the hash against `expected` when the uploader named one, and renames the
    /// blob into place under its hash.
    fn commit(mut self: Box<Self>) -> Result<Stored, CommitError> {
        self.file.sync_all()?;
        forget_cached(&self.file);
        let (actual, size) = self.hasher.finish();
        if self.expected.as_ref().is_some_and(|e| e != &actual) {
            return Err(CommitError::Mismatch { actual });
        }
        let target = self.store.path_of(actual.as_str());
        let folder = target.parent().expect("blob paths have a parent");
        fs::create_dir_all(folder)?;
        let temp = self.guard.0.take().expect("the guard holds the temp path until commit");
        if let Err(e) = fs::rename(&temp, &target) {
            self.guard.0 = Some(temp);
            return Err(e.into());
        }
        crate::durable::sync_folder(folder)?;
        Ok(Stored { sha256: actual, size, magic: sniff(&self.prefix) })
    }
}

/// Drops a blob's pages, once on disk, from the page cache. A stored blob is not read again
/// until a bundle is built, so caching it only pushes out pages in use; and the pages freed
/// here are what the next upload writes into, rather than memory the kernel must take anew
/// (on a virtual machine whose host reclaims free memory, that costs more than the copy).
fn forget_cached(file: &File) {
    // Advice only: a failure changes nothing but the cache.
    #[cfg(target_os = "linux")]
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// Deletes the temporary file unless it was renamed into place.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use yingjian_shared::sha256_reader;

    use super::super::ScrubFinding;

    fn store() -> (tempfile::TempDir, LocalBlobs) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobs::open(dir.path(), true).unwrap();
        (dir, store)
    }

    fn fill(w: &mut Box<dyn BlobWrite>, parts: &[&'static [u8]]) {
        let mut parts = parts.iter().map(|p| Bytes::from_static(p));
        w.fill(&mut || parts.next()).unwrap();
    }

    #[test]
    fn a_blob_larger_than_the_writeback_step_is_stored_whole() {
        let (_dir, store) = store();
        let mib = Bytes::from(vec![7u8; 1 << 20]);
        let total = WRITEBACK_EVERY * 2 + (1 << 20);
        let mut expected = Sha256Stream::new();
        (0..total >> 20).for_each(|_| expected.update(&mib));
        let (sha, _) = expected.finish();
        // Of unknown size, through the page cache; of known size, past it where it can.
        for size in [None, Some(total as u64)] {
            let mut w = store.begin(size, Some(&sha)).unwrap();
            let mut left = total >> 20;
            w.fill(&mut || {
                (left > 0).then(|| {
                    left -= 1;
                    mib.clone()
                })
            })
            .unwrap();
            assert_eq!(w.commit().unwrap().size, total as u64);
            assert_eq!(store.verify(sha.as_str(), total as u64), None);
        }
    }

    #[test]
    fn a_committed_blob_is_under_its_hash_and_verifies() {
        let (_dir, store) = store();
        let (sha, _) = sha256_reader(&b"%PDF-1.4 hello"[..]).unwrap();
        let mut w = store.begin(None, Some(&sha)).unwrap();
        fill(&mut w, &[b"%PDF-1.4 ", b"hello"]);
        let stored = w.commit().unwrap();
        assert_eq!((stored.sha256, stored.size, stored.magic), (sha.clone(), 14, Some("pdf")));
        assert_eq!(fs::read(store.path_of(sha.as_str())).unwrap(), b"%PDF-1.4 hello");
        assert_eq!(store.temp_files().unwrap(), 0);
        assert_eq!(store.verify(sha.as_str(), 14), None);
    }

    #[test]
    fn a_blob_uploaded_without_a_hash_is_stored_under_the_one_it_has() {
        let (_dir, store) = store();
        let (sha, _) = sha256_reader(&b"unnamed upload"[..]).unwrap();
        let mut w = store.begin(None, None).unwrap();
        fill(&mut w, &[b"unnamed ", b"upload"]);
        assert_eq!(w.commit().unwrap().sha256, sha);
        assert_eq!(store.verify(sha.as_str(), 14), None);
        assert_eq!(store.temp_files().unwrap(), 0);
    }

    #[test]
    fn a_mismatch_or_an_abandoned_write_leaves_nothing() {
        let (_dir, store) = store();
        let (wrong, _) = sha256_reader(&b"other"[..]).unwrap();
        let mut w = store.begin(None, Some(&wrong)).unwrap();
        fill(&mut w, &[b"bytes"]);
        assert!(matches!(w.commit(), Err(CommitError::Mismatch { .. })));
        assert!(!store.path_of(wrong.as_str()).exists());
        let mut w = store.begin(None, None).unwrap();
        fill(&mut w, &[b"half"]);
        assert_eq!(store.temp_files().unwrap(), 1);
        drop(w);
        assert_eq!(store.temp_files().unwrap(), 0);
    }

    #[test]
    fn a_damaged_blob_is_not_copied_as_if_it_were_whole() {
        let (_dir, store) = store();
        let (sha, _) = sha256_reader(&b"content"[..]).unwrap();
        let mut w = store.begin(None, Some(&sha)).unwrap();
        fill(&mut w, &[b"content"]);
        w.commit().unwrap();
        let mut out = Vec::new();
        assert_eq!(store.copy_verified(sha.as_str(), &mut out).unwrap(), 7);
        assert_eq!(out, b"content");
        fs::write(store.path_of(sha.as_str()), b"CONTENT").unwrap();
        let e = store.copy_verified(sha.as_str(), &mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn verify_names_altered_and_missing_blobs() {
        let (_dir, store) = store();
        let (sha, _) = sha256_reader(&b"content"[..]).unwrap();
        let mut w = store.begin(None, Some(&sha)).unwrap();
        fill(&mut w, &[b"content"]);
        w.commit().unwrap();
        fs::write(store.path_of(sha.as_str()), b"tampered").unwrap();
        assert!(matches!(store.verify(sha.as_str(), 7), Some(ScrubFinding::Altered { .. })));
        fs::remove_file(store.path_of(sha.as_str())).unwrap();
        assert!(matches!(store.verify(sha.as_str(), 7), Some(ScrubFinding::Missing { .. })));
    }
}
