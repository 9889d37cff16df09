//! Blobs in an S3-compatible object store (Garage in the tests), which several aggregator
//! instances can share: `blobs/ab/cd/<sha256>`, as in the data folder.
//!
//! A write is hashed as it streams. One that fits in a part (5 MiB) is held, checked, and put
//! under its key in one request; a larger one is a multipart upload, a few parts in memory at
//! most. When the uploader named the hash (the agent's usual path) the upload goes to the
//! blob's own key and `commit` completes it only once the hash checks, aborting it otherwise:
//! the parts of an upload are invisible until it is completed, so no copy is needed. Without a
//! hash the key is not known before the end: the upload goes to `tmp/<random>`, and `commit`
//! copies it to its key and deletes the temporary one. Either way nothing is visible under a
//! hash before it is verified. A write dropped before its commit aborts its upload. The store's calls are async underneath: they run on a
//! small runtime of the store's own while the calling (blocking) thread waits for the answer,
//! so the `BlobStore` seam stays as blocking as the folder's, and no caller's runtime is
//! blocked on or entered.

use std::future::Future;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use yingjian_shared::{Sha256Hex, Sha256Stream, sniff, to_hex};

use super::{BlobStore, BlobWrite, CommitError, Stored};
use crate::config::S3Settings;

/// S3's smallest part (but for the last): what a write holds per part.
const PART: usize = 5 << 20;
/// Parts of one write on their way at once.
const PARTS_IN_FLIGHT: usize = 2;
/// A temporary object older than this is a crashed instance's: no live write takes so long
/// between completing its upload and copying it into place.
const STALE_TMP_SECS: i64 = 3600;

#[derive(Clone)]
pub struct S3Blobs {
    inner: Arc<Inner>,
}

struct Inner {
    store: AmazonS3,
    runtime: Option<tokio::runtime::Runtime>,
    /// Writes begun here and not yet committed or dropped.
    writing: AtomicUsize,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which an async caller must not do.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl S3Blobs {
    /// Connects to the bucket and checks that it answers (a wrong endpoint or key is a
    /// configuration error at start, not a failed upload later).
    pub fn open(settings: &S3Settings) -> io::Result<S3Blobs> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&settings.endpoint)
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key)
            .with_secret_access_key(&settings.secret_key)
            .with_allow_http(settings.endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false)
            // A blob is hashed as it streams and verified before it is kept, and again whenever
            // a bundle or `scrub` reads it: signing each body would hash it twice more, here
            // and in the store (the requests themselves stay signed).
            .with_unsigned_payload(true)
            .build()
            .map_err(io::Error::other)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3-blobs")
            .enable_all()
            .build()?;
        let blobs = S3Blobs {
            inner: Arc::new(Inner { store, runtime: Some(runtime), writing: AtomicUsize::new(0) }),
        };
        let store = blobs.inner.store.clone();
        blobs.run(async move { store.list_with_delimiter(Some(&Key::from("blobs"))).await })?;
        Ok(blobs)
    }

    /// Runs `work` on the store's runtime and waits for it on this thread.
    fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = object_store::Result<T>> + Send + 'static,
    ) -> io::Result<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime().spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv()
            .map_err(|_| io::Error::other("the object store's runtime stopped"))?
            .map_err(io::Error::from)
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.inner.runtime.as_ref().expect("the runtime lives as long as the store")
    }

    /// Streams the object at `key`, with its length.
    fn open_key(&self, key: Key) -> io::Result<(Box<dyn Read + Send>, u64)> {
        let store = self.inner.store.clone();
        let found = self.run(async move { store.get(&key).await })?;
        let size = found.meta.size;
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
        self.runtime().spawn(async move {
            let mut body = found.into_stream();
            while let Some(chunk) = body.next().await {
                let failed = chunk.is_err();
                // A reader gone: stop fetching.
                if tx.send(chunk.map_err(io::Error::from)).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok((Box::new(ChunkReader { rx, chunk: Bytes::new() }), size))
    }

    /// Adds `chunk` to a multipart upload, first waiting while the parts on their way are as
    /// many as allowed: memory stays bounded.
    fn send_part(&self, mut upload: WriteMultipart, chunk: Bytes) -> io::Result<WriteMultipart> {
        self.run(async move {
            upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            upload.put(chunk);
            Ok(upload)
        })
    }

    fn size_of(&self, key: Key) -> io::Result<u64> {
        let store = self.inner.store.clone();
        Ok(self.run(async move { store.head(&key).await })?.size)
    }

    /// A file of the deployment's own (a bundle, under `bundles/`), not a blob: uploaded whole
    /// from `file`, in parts, and visible under `name` only once complete.
    pub fn put_file(&self, name: &str, file: &Path) -> io::Result<()> {
        let mut source = std::fs::File::open(file)?;
        let sent = self.put_stream(name, &mut || {
            let mut chunk = vec![0u8; 1 << 20];
            let n = source.read(&mut chunk)?;
            chunk.truncate(n);
            Ok((n > 0).then(|| Bytes::from(chunk)))
        })?;
        if sent == 0 {
            self.put_bytes(name, Bytes::new())?;
        }
        Ok(())
    }

    /// Streams what `next` yields to the object `name`, in parts, visible only once complete;
    /// nothing is written when it yields nothing. Answers the bytes written.
    pub fn put_stream(
        &self,
        name: &str,
        next: &mut dyn FnMut() -> io::Result<Option<Bytes>>,
    ) -> io::Result<u64> {
        let mut upload = None;
        let mut written = 0;
        let mut send = || {
            while let Some(chunk) = next()? {
                let current = if let Some(current) = upload.take() {
                    current
                } else {
                    let (store, key) = (self.inner.store.clone(), Key::from(name));
                    let started = self.run(async move { store.put_multipart(&key).await })?;
                    WriteMultipart::new_with_chunk_size(started, PART)
                };
                written += chunk.len() as u64;
                upload = Some(self.send_part(current, chunk)?);
            }
            io::Result::Ok(())
        };
        match (send(), upload) {
            (Ok(()), Some(upload)) => self.run(async move { upload.finish().await }).map(|_| written),
            (Ok(()), None) => Ok(0),
            (Err(e), upload) => {
                if let Some(upload) = upload {
                    let _ = self.run(async move { upload.abort().await });
                }
                Err(e)
            }
        }
    }

    /// A small object of the deployment's own, put in one request.
    pub fn put_bytes(&self, name: &str, bytes: Bytes) -> io::Result<()> {
        let (store, key) = (self.inner.store.clone(), Key::from(name));
        self.run(async move { store.put(&key, bytes.into()).await }).map(|_| ())
    }

    /// Such a small object, read whole; `None` if there is none.
    pub fn get_bytes(&self, name: &str) -> io::Result<Option<Bytes>> {
        let (store, key) = (self.inner.store.clone(), Key::from(name));
        match self.run(async move { store.get(&key).await?.bytes().await }) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Such a file, streamed, with its length.
    pub fn open_file(&self, name: &str) -> io::Result<(Box<dyn Read + Send>, u64)> {
        self.open_key(Key::from(name))
    }

    pub fn file_size(&self, name: &str) -> io::Result<u64> {
        self.size_of(Key::from(name))
    }

    /// The files under `prefix/`, at any depth: name (below the prefix, `/` between folders),
    /// length, last change.
    pub fn list_files(&self, prefix: &str) -> io::Result<Vec<(String, u64, jiff::Timestamp)>> {
        let (store, prefix) = (self.inner.store.clone(), Key::from(prefix));
        self.run(async move {
            let mut listed = store.list(Some(&prefix));
            let mut out = Vec::new();
            while let Some(meta) = listed.next().await {
                let meta = meta?;
                let when = jiff::Timestamp::from_second(meta.last_modified.timestamp()).unwrap_or_default();
                // Keys are made by `Key::from`, which percent-encodes what S3 keys should not hold.
                let name = meta.location.prefix_match(&prefix).map(|parts| {
                    let parts: Vec<String> = parts
                        .map(|p| {
                            percent_encoding::percent_decode_str(p.as_ref()).decode_utf8_lossy().into_owned()
                        })
                        .collect();
                    parts.join("/")
                });
                out.extend(name.map(|n| (n, meta.size, when)));
            }
            Ok(out)
        })
    }

    pub fn delete_file(&self, name: &str) -> io::Result<()> {
        let (store, key) = (self.inner.store.clone(), Key::from(name));
        self.run(async move { store.delete(&key).await })
    }

    fn key_of(sha256: &str) -> Key {
        Key::from(format!("blobs/{}/{}/{sha256}", &sha256[..2], &sha256[2..4]))
    }
}

impl BlobStore for S3Blobs {
    fn begin(&self, _size: Option<u64>, expected: Option<&Sha256Hex>) -> io::Result<Box<dyn BlobWrite>> {
        let key = if let Some(sha) = expected {
            Self::key_of(sha.as_str())
        } else {
            let mut random = [0u8; 12];
            getrandom::fill(&mut random).map_err(io::Error::other)?;
            Key::from(format!("tmp/upload-{}", to_hex(&random)))
        };
        self.inner.writing.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(S3Writer {
            blobs: self.clone(),
            key,
            expected: expected.cloned(),
            small: Some(Vec::new()),
            upload: None,
            hasher: Sha256Stream::new(),
            prefix: Vec::with_capacity(16),
            written: 0,
        }))
    }

    fn open_blob(&self, sha256: &str) -> io::Result<Box<dyn Read + Send>> {
        Ok(self.open_key(Self::key_of(sha256))?.0)
    }

    fn len(&self, sha256: &str) -> io::Result<u64> {
        self.size_of(Self::key_of(sha256))
    }

    fn delete(&self, sha256: &str) -> io::Result<()> {
        let (store, key) = (self.inner.store.clone(), Self::key_of(sha256));
        self.run(async move { store.delete(&key).await })
    }

    /// Uploads the finished file, hashed again on the way (what is sent is what is checked),
    /// then removes it.
    fn adopt(&self, file: &Path, sha256: &Sha256Hex) -> io::Result<()> {
        match super::store_from(self, &mut std::fs::File::open(file)?, None, Some(sha256))? {
            Ok(_) => std::fs::remove_file(file),
            Err(actual) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} hashes to {actual}, not {sha256}", file.display()),
            )),
        }
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let store = self.inner.store.clone();
        let mut out: Vec<String> = self.run(async move {
            let mut listed = store.list(Some(&Key::from("blobs")));
            let mut names = Vec::new();
            while let Some(meta) = listed.next().await {
                names.extend(meta?.location.filename().map(str::to_string));
            }
            Ok(names)
        })?;
        out.sort();
        Ok(out)
    }

    /// Other instances may be writing: only temporary objects older than any live write are
    /// removed. (Parts of uploads never completed are the bucket's to expire: a lifecycle rule,
    /// docs/install.md, *Past one machine*.)
    fn clear_tmp(&self) -> io::Result<()> {
        let store = self.inner.store.clone();
        self.run(async move {
            let cutoff = jiff::Timestamp::now().as_second() - STALE_TMP_SECS;
            let mut listed = store.list(Some(&Key::from("tmp")));
            while let Some(meta) = listed.next().await {
                let meta = meta?;
                if meta.last_modified.timestamp() < cutoff {
                    store.delete(&meta.location).await?;
                }
            }
            Ok(())
        })
    }

    /// Writes begun here and not yet over, and temporary objects (any instance's) not yet
    /// copied into place.
    fn temp_files(&self) -> io::Result<usize> {
        let store = self.inner.store.clone();
        let objects = self.run(async move {
            let mut listed = store.list(Some(&Key::from("tmp")));
            let mut count = 0;
            while let Some(meta) = listed.next().await {
                meta?;
                count += 1;
            }
            Ok(count)
        })?;
        Ok(self.inner.writing.load(Ordering::SeqCst) + objects)
    }
}

struct S3Writer {
    blobs: S3Blobs,
    /// Where a multipart upload goes: the blob's key when its hash was named, else temporary.
    key: Key,
    expected: Option<Sha256Hex>,
    /// The bytes, while they fit in one part: such a blob is checked and then put straight
    /// under its key, in one request. `None` once a multipart upload has taken over.
    small: Option<Vec<u8>>,
    /// The multipart upload to `key`, for a blob larger than one part.
    upload: Option<WriteMultipart>,
    hasher: Sha256Stream,
    prefix: Vec<u8>,
    written: u64,
}

impl BlobWrite for S3Writer {
    fn fill(&mut self, next: &mut dyn FnMut() -> Option<Bytes>) -> io::Result<()> {
        while let Some(chunk) = next() {
            if self.prefix.len() < 16 {
                let want = (16 - self.prefix.len()).min(chunk.len());
                self.prefix.extend_from_slice(&chunk[..want]);
            }
            self.hasher.update(&chunk);
            self.written += chunk.len() as u64;
            if let Some(small) = &mut self.small {
                if small.len() + chunk.len() <= PART {
                    small.extend_from_slice(&chunk);
                    continue;
                }
                // Larger than a part: from now on a multipart upload to `key`.
                let held = Bytes::from(self.small.take().unwrap_or_default());
                let (store, key) = (self.blobs.inner.store.clone(), self.key.clone());
                let upload = self.blobs.run(async move { store.put_multipart(&key).await })?;
                let mut upload = WriteMultipart::new_with_chunk_size(upload, PART);
                upload.put(held);
                self.upload = Some(upload);
            }
            let upload = self.upload.take().ok_or_else(|| io::Error::other("the upload has ended"))?;
            self.upload = Some(self.blobs.send_part(upload, chunk)?);
        }
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn commit(mut self: Box<Self>) -> Result<Stored, CommitError> {
        let hasher = std::mem::replace(&mut self.hasher, Sha256Stream::new());
        let (actual, size) = hasher.finish();
        let mismatch = self.expected.as_ref().is_some_and(|e| *e != actual);
        if let Some(small) = self.small.take() {
            if mismatch {
                return Err(CommitError::Mismatch { actual });
            }
            // Checked: put under its key at once (the same bytes over the same bytes if there).
            let (store, target) = (self.blobs.inner.store.clone(), S3Blobs::key_of(actual.as_str()));
            self.blobs.run(async move { store.put(&target, small.into()).await })?;
            return Ok(Stored { sha256: actual, size, magic: sniff(&self.prefix) });
        }
        let upload = self.upload.take().ok_or_else(|| io::Error::other("the upload has ended"))?;
        if mismatch {
            let _ = self.blobs.run(async move { upload.abort().await });
            return Err(CommitError::Mismatch { actual });
        }
        // Completed under the blob's key when it was named (checked above), else at `tmp`.
        self.blobs.run(async move { upload.finish().await })?;
        if self.expected.is_none() {
            let (store, tmp, target) =
                (self.blobs.inner.store.clone(), self.key.clone(), S3Blobs::key_of(actual.as_str()));
            // The same bytes may be there already (another instance, another department): a
            // copy over them writes the same bytes.
            self.blobs.run(async move {
                store.copy(&tmp, &target).await?;
                store.delete(&tmp).await
            })?;
        }
        Ok(Stored { sha256: actual, size, magic: sniff(&self.prefix) })
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        self.blobs.inner.writing.fetch_sub(1, Ordering::SeqCst);
        if let Some(upload) = self.upload.take() {
            // Not committed: its parts are dropped, in the background.
            self.blobs.runtime().spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

/// A blob's body as the runtime fetches it, read by a blocking thread.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    chunk: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.chunk = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}
