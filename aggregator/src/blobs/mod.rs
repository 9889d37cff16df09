//! Content-addressed blob storage: the `BlobStore` seam, with the data folder (`local`) and an
//! S3-compatible object store (`s3`) behind it.
//!
//! Whatever the backend, a blob is written streamed, hashed as it is written, and visible under
//! its hash only once complete and verified; reads are streamed, and a reader that copies a blob
//! re-hashes it.

mod local;
mod s3;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use yingjian_shared::{Sha256Hex, Sha256Stream, sha256_reader};

pub use local::LocalBlobs;
pub use s3::S3Blobs;

/// Where blobs live.
/// Readers that need a whole file in memory (the PDF, TIFF and picture decoders) take stored
/// files up to this size; larger ones keep their pages unknown, get no preview and print as a
/// placeholder, rather than raise the server's memory by their size.
pub const MAX_READ_WHOLE: u64 = 64 << 20;

pub trait BlobStore: Send + Sync {
    /// Starts a new blob, of `size` bytes if the uploader said so, to be kept only if it
    /// hashes to `expected` when the uploader named a hash: such a write may go straight where
    /// the blob belongs (the object store's multipart upload, completed only once it checks).
    fn begin(&self, size: Option<u64>, expected: Option<&Sha256Hex>) -> io::Result<Box<dyn BlobWrite>>;
    /// Streams a stored blob (blocking reads: call it off the async threads).
    fn open_blob(&self, sha256: &str) -> io::Result<Box<dyn Read + Send>>;
    /// The stored length of a blob.
    fn len(&self, sha256: &str) -> io::Result<u64>;
    fn delete(&self, sha256: &str) -> io::Result<()>;
    /// Takes a complete local file, synced and hashed as `sha256` by the caller, as that blob
    /// (moved where the backend allows, not copied): a finished resumable upload.
    fn adopt(&self, file: &Path, sha256: &Sha256Hex) -> io::Result<()>;
    /// Every stored blob's hash, sorted: for `scrub`, which also names blobs no record knows.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Drops the writes a crashed server left unfinished (never acknowledged).
    fn clear_tmp(&self) -> io::Result<()>;
    /// Writes not yet committed: none, unless an upload is under way.
    fn temp_files(&self) -> io::Result<usize>;
    /// The file that holds a stored blob, where the store is a local folder: a worker reads it
    /// there instead of a copy (`worker::blob_input`).
    fn local_path(&self, _sha256: &str) -> Option<PathBuf> {
        None
    }

    /// Re-hashes one stored blob.
    fn verify(&self, sha256: &str, size: u64) -> Option<ScrubFinding> {
        let Ok(reader) = self.open_blob(sha256) else {
            return Some(ScrubFinding::Missing { sha256: sha256.to_string() });
        };
        match sha256_reader(reader) {
            Err(_) => Some(ScrubFinding::Missing { sha256: sha256.to_string() }),
            Ok((actual, _)) if actual.as_str() != sha256 => {
                Some(ScrubFinding::Altered { sha256: sha256.to_string(), actual: actual.to_string() })
            }
            Ok((_, len)) if len != size => {
                Some(ScrubFinding::WrongSize { sha256: sha256.to_string(), expected: size, actual: len })
            }
            Ok(_) => None,
        }
    }

    /// Streams a stored blob into `out`, hashing what it reads, and answers how many bytes it
    /// copied: a blob whose bytes no longer have its hash (a failing disk, a bad restore) is an
    /// `InvalidData` error once copied, so that it is named, not handed in.
    fn copy_verified(&self, sha256: &str, out: &mut dyn Write) -> io::Result<u64> {
        struct Tee<'a> {
            out: &'a mut dyn Write,
            hasher: Sha256Stream,
        }
        impl Write for Tee<'_> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let n = self.out.write(buf)?;
                self.hasher.update(&buf[..n]);
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.out.flush()
            }
        }
        let mut reader = io::BufReader::with_capacity(256 * 1024, self.open_blob(sha256)?);
        let mut tee = Tee { out, hasher: Sha256Stream::new() };
        io::copy(&mut reader, &mut tee)?;
        let (actual, len) = tee.hasher.finish();
        if actual.as_str() != sha256 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("blob {sha256} is damaged: its bytes hash to {actual}"),
            ));
        }
        Ok(len)
    }
}

/// Stores what `reader` yields as a blob (blocking): `Ok(Err(actual))` when the bytes hash to
/// something else than `expected`, and nothing is stored.
pub fn store_from(
    store: &dyn BlobStore,
    reader: &mut dyn Read,
    size: Option<u64>,
    expected: Option<&Sha256Hex>,
) -> io::Result<Result<Stored, Sha256Hex>> {
    let mut writer = store.begin(size, expected)?;
    let mut failed = None;
    writer.fill(&mut || {
        let mut chunk = vec![0u8; 1 << 20];
        match reader.read(&mut chunk) {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some(Bytes::from(chunk))
            }
            Err(e) => {
                failed = Some(e);
                None
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    match writer.commit() {
        Ok(stored) => Ok(Ok(stored)),
        Err(CommitError::Io(e)) => Err(e),
        Err(CommitError::Mismatch { actual }) => Ok(Err(actual)),
    }
}

/// Runs blocking store calls off the async threads: an object store's calls wait on the network.
pub async fn blocking<T: Send + 'static>(
    store: &Arc<dyn BlobStore>,
    work: impl FnOnce(&dyn BlobStore) -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || work(&*store)).await.map_err(io::Error::other)?
}

/// A stored blob as a stream of chunks, opened and read by a blocking task: for downloads and
/// previews, whatever the backend.
pub async fn stream(
    store: &Arc<dyn BlobStore>,
    sha256: &str,
) -> io::Result<impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static> {
    let (store, sha256) = (store.clone(), sha256.to_string());
    let reader =
        tokio::task::spawn_blocking(move || store.open_blob(&sha256)).await.map_err(io::Error::other)??;
    Ok(reader_stream(reader))
}

/// What `reader` yields as a stream of chunks, read by a blocking task a quarter megabyte at a
/// time with a few chunks in flight.
pub fn reader_stream(
    mut reader: Box<dyn Read + Send>,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let chunk = match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => Ok(Bytes::copy_from_slice(&buf[..n])),
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            // A receiver gone is a client gone: stop reading.
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) })
}

/// A blob being written: filled once, then committed under its hash or dropped (which leaves
/// nothing behind).
pub trait BlobWrite: Send {
    /// Writes every chunk `next` yields until it yields `None` (blocking).
    fn fill(&mut self, next: &mut dyn FnMut() -> Option<Bytes>) -> io::Result<()>;
    /// Bytes written so far.
    fn written(&self) -> u64;
    /// Makes the blob durable, checks it against the hash named at `begin`, if any, and only
    /// then makes it visible under the hash it has.
    fn commit(self: Box<Self>) -> Result<Stored, CommitError>;
}

/// Why a finished write was not stored.
#[derive(Debug)]
pub enum CommitError {
    Mismatch { actual: Sha256Hex },
    Io(io::Error),
}

impl From<io::Error> for CommitError {
    fn from(e: io::Error) -> Self {
        CommitError::Io(e)
    }
}

/// A blob renamed into place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub sha256: Sha256Hex,
    pub size: u64,
    /// The content type sniffed from the first bytes.
    pub magic: Option<&'static str>,
}

/// A blob that scrub found damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScrubFinding {
    #[error("missing: {sha256}")]
    Missing { sha256: String },
    #[error("altered: {sha256} (its bytes hash to {actual})")]
    Altered { sha256: String, actual: String },
    #[error("wrong size: {sha256} has {actual} bytes, not {expected}")]
    WrongSize { sha256: String, expected: u64, actual: u64 },
}
