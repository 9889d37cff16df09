//! A shelf: where the server keeps what it builds for people to fetch (the bundles, the printed
//! volumes). They are written in a folder of the data folder; with an object store shared by
//! several instances, each is also put under the shelf's prefix there, from which every
//! instance lists, serves and removes them. Blocking: call it off the async threads.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::blobs::S3Blobs;

/// One file on a shelf.
#[derive(Debug, Clone, PartialEq)]
pub struct Shelved {
    pub name: String,
    pub size: u64,
    /// When it was put there.
    pub created: Timestamp,
}

#[derive(Clone)]
pub struct Shelf {
    /// Where the files are written; and kept, unless `shared` is set.
    dir: PathBuf,
    /// The object store every instance lists and serves from, and the shelf's prefix in it.
    shared: Option<(S3Blobs, &'static str)>,
}

impl Shelf {
    pub fn new(dir: PathBuf, shared: Option<S3Blobs>, prefix: &'static str) -> Shelf {
        Shelf { dir, shared: shared.map(|store| (store, prefix)) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The files on the shelf (the shared store's, or the folder's) whose names are `ours`:
    /// nothing else a folder holds (temporary files, notes) is listed or served.
    pub fn list(&self, ours: impl Fn(&str) -> bool) -> io::Result<Vec<Shelved>> {
        if let Some((store, prefix)) = &self.shared {
            return Ok(store
                .list_files(prefix)?
                .into_iter()
                .filter(|(name, _, _)| ours(name))
                .map(|(name, size, created)| Shelved { name, size, created })
                .collect());
        }
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e?;
            let Some(name) = e.file_name().to_str().filter(|n| ours(n)).map(str::to_string) else { continue };
            let meta = e.metadata()?;
            let created = meta
                .modified()
                .ok()
                .and_then(|t| Timestamp::try_from(t).ok())
                .unwrap_or(Timestamp::UNIX_EPOCH);
            out.push(Shelved { name, size: meta.len(), created });
        }
        Ok(out)
    }

    /// The size of `name` in the shared store, when there is one and it holds it (another
    /// instance built it).
    pub fn shared_size(&self, name: &str) -> Option<u64> {
        let (store, prefix) = self.shared.as_ref()?;
        store.file_size(&format!("{prefix}/{name}")).ok()
    }

    /// Puts `name`, just written in the folder, on the shared store too; the folder's copy
    /// stays, as a cache. Nothing to do without a shared store.
    pub fn share(&self, name: &str) -> io::Result<()> {
        let Some((store, prefix)) = &self.shared else { return Ok(()) };
        store.put_file(&format!("{prefix}/{name}"), &self.dir.join(name))
    }

    /// `name` streamed, with its length. The caller has checked that it is a name of its own.
    pub fn open(&self, name: &str) -> Option<(Box<dyn Read + Send>, u64)> {
        if let Some((store, prefix)) = &self.shared {
            return store.open_file(&format!("{prefix}/{name}")).ok();
        }
        let file = File::open(self.dir.join(name)).ok()?;
        let size = file.metadata().ok()?.len();
        Some((Box::new(file), size))
    }

    /// Takes `name` off the shelf: from the shared store, and from the folder (where, with a
    /// shared store, only the instance that built it has a copy).
    pub fn remove(&self, name: &str) -> io::Result<()> {
        if let Some((store, prefix)) = &self.shared {
            store.delete_file(&format!("{prefix}/{name}"))?;
        }
        match fs::remove_file(self.dir.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
