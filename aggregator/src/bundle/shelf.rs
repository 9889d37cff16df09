//! `Bundles`: the owner of a bundles folder. It names, lists and prunes the bundles in it, and
//! runs the one build that may be under way there, whoever asks for it (the API, the 打包 page,
//! the nightly job, the CLI): a second request waits for the running build and then gets the
//! bundle of the state, built once. A failed build is remembered, audited and shown, and never
//! replaces or hides the last good bundle.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use yingjian_shared::{BundleInfo, EventKind};

use super::{Built, Layout, PARTIAL_PREFIX};
use crate::blobs::S3Blobs;
use crate::db::{AuditEntry, Lock};
use crate::error::{AppError, AppResult};
use crate::services::Services;
use crate::shelf::{Shelf, Shelved};

/// The shared store's folder of bundles.
const SHARED: &str = "bundles";

/// A build that failed, for the 打包 page.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub at: Timestamp,
    /// In Chinese, for the office.
    pub reason: String,
}

#[derive(Clone)]
pub struct Bundles {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where bundles are built, and kept (with an object store, under `bundles/` too).
    shelf: Shelf,
    /// Held for the whole of a build: builds in this folder run one at a time.
    building: tokio::sync::Mutex<()>,
    /// Bytes done and total of the build under way, if one is.
    progress: Mutex<Option<(u64, u64)>>,
    last_failure: Mutex<Option<Failure>>,
}

impl Bundles {
    pub fn new(dir: PathBuf) -> Bundles {
        Self::with_store(dir, None)
    }

    /// Bundles built in `dir` and kept in the object store `shared`, which other instances see.
    pub fn with_store(dir: PathBuf, shared: Option<S3Blobs>) -> Bundles {
        Bundles {
            inner: Arc::new(Inner {
                shelf: Shelf::new(dir, shared, SHARED),
                building: tokio::sync::Mutex::new(()),
                progress: Mutex::new(None),
                last_failure: Mutex::new(None),
            }),
        }
    }

    pub fn dir(&self) -> &Path {
        self.inner.shelf.dir()
    }

    /// Builds the bundle of the current state, or waits for the build under way and answers
    /// with the bundle of the state then (`fresh` false when it was there already).
    /// `progress(done, total)` is told the bytes copied, besides the page's progress bar.
    pub async fn build(
        &self,
        state: &Services,
        trigger: &'static str,
        layout: Layout,
        progress: impl Fn(u64, u64) + Send + 'static,
    ) -> AppResult<Built> {
        let _one_at_a_time = self.inner.building.lock().await;
        // And one at a time across instances: who waited finds the bundle of the state there.
        let _everywhere = state.db.exclusive(Lock::Bundle).await?;
        self.set_progress(Some((0, 0)));
        state.publish(EventKind::Bundle, None, None, Some("started".into()));
        let reporter = self.clone();
        let result = super::build_into(state, self, layout, move |done, total| {
            reporter.set_progress(Some((done, total)));
            progress(done, total);
        })
        .await;
        let result = match result {
            Ok(built) if built.fresh => self.share(built).await,
            other => other,
        };
        self.set_progress(None);
        let (action, detail) = match &result {
            Ok(built) if !built.fresh => return result,
            Ok(built) => {
                *lock(&self.inner.last_failure) = None;
                ("bundle", format!("{} ({trigger}) complete={}", built.name, built.coverage))
            }
            Err(e) => {
                let reason = failure_reason(e);
                tracing::error!(error = %e, trigger, "bundle failed");
                *lock(&self.inner.last_failure) =
                    Some(Failure { at: Timestamp::now(), reason: reason.clone() });
                ("bundle_failed", format!("{reason} ({trigger})"))
            }
        };
        let entry = AuditEntry::by_server(action, detail.clone());
        if let Err(e) = state.db.log(entry).await {
            tracing::error!(error = %e, "cannot audit the bundle build");
        }
        state.publish(EventKind::Bundle, None, None, Some(detail));
        result
    }

    /// The size of the bundle `name` in the shared store, if there is one and another instance
    /// has put it there.
    pub(super) async fn shared_size(&self, name: &str) -> Option<u64> {
        let (on, name) = (self.inner.shelf.clone(), name.to_string());
        tokio::task::spawn_blocking(move || on.shared_size(&name)).await.ok()?
    }

    /// Puts a bundle just built into the shared store (the local copy stays, as a cache).
    async fn share(&self, built: Built) -> AppResult<Built> {
        let (on, name) = (self.inner.shelf.clone(), built.name.clone());
        tokio::task::spawn_blocking(move || on.share(&name)).await.map_err(AppError::internal)??;
        Ok(built)
    }

    fn set_progress(&self, value: Option<(u64, u64)>) {
        *lock(&self.inner.progress) = value;
    }

    /// Bytes done and total of the build under way.
    pub fn progress(&self) -> Option<(u64, u64)> {
        *lock(&self.inner.progress)
    }

    /// The last build's failure, until a build succeeds.
    pub fn last_failure(&self) -> Option<Failure> {
        lock(&self.inner.last_failure).clone()
    }

    /// Bundles on the shelf (the shared store, or the folder), newest first.
    pub fn list(&self) -> io::Result<Vec<BundleInfo>> {
        let mut out: Vec<BundleInfo> = self
            .inner
            .shelf
            .list(|name| checked_name(name).is_some())?
            .into_iter()
            .map(|Shelved { name, size, created }| BundleInfo { name, size, created })
            .collect();
        // By the state's time in the name, then (for two states in one second) by when built.
        let key = |b: &BundleInfo| {
            let when = super::NameParts::of(&b.name).map(|p| format!("{}{}", p.date, p.time));
            (when.unwrap_or_default(), b.created)
        };
        out.sort_by_key(|b| std::cmp::Reverse(key(b)));
        Ok(out)
    }

    /// One bundle's listing.
    pub fn info(&self, name: &str) -> io::Result<BundleInfo> {
        self.list()?.into_iter().find(|b| b.name == name).ok_or_else(|| io::ErrorKind::NotFound.into())
    }

    /// A bundle named in a URL, streamed with its length: only names this module makes, of
    /// bundles that exist (blocking: call it off the async threads).
    pub fn open(&self, name: &str) -> Option<(Box<dyn Read + Send>, u64)> {
        self.inner.shelf.open(checked_name(name)?)
    }

    /// Deletes all but the newest `keep` bundles.
    pub fn prune(&self, keep: usize) -> io::Result<Vec<String>> {
        let mut removed = Vec::new();
        for b in self.list()?.into_iter().skip(keep) {
            self.inner.shelf.remove(&b.name)?;
            tracing::info!(name = %b.name, keep, "older bundle removed");
            removed.push(b.name);
        }
        Ok(removed)
    }

    /// Removes what a build killed midway left: never listed nor served, but taking space.
    pub fn clear_partial(&self) -> io::Result<()> {
        let Ok(entries) = fs::read_dir(self.dir()) else { return Ok(()) };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(PARTIAL_PREFIX) {
                fs::remove_file(e.path())?;
            }
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A bundle name as this module makes them (`super::NameParts`), never a path.
fn checked_name(name: &str) -> Option<&str> {
    super::NameParts::of(name).map(|_| name)
}

/// Why a build failed, in words for the office.
pub(super) fn failure_reason(e: &AppError) -> String {
    if e.is_storage_full() {
        return "服务器磁盘已满：请清理空间后重新打包。".into();
    }
    match e {
        AppError::BlobUnavailable(detail) => {
            format!("有已存文件损坏或丢失，请运行 yingjian-aggregator scrub 检查（{detail}）。")
        }
        e => format!("打包时出错，已保留上一个成功的包（{e}）。"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest_and_only_bundles_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let bundles = Bundles::new(dir.path().to_path_buf());
        for day in 10..20 {
            fs::write(
                dir.path().join(format!("平顶山市2021年度质量工作考核材料-202201{day}-020000-abcdef01.zip")),
                b"x",
            )
            .unwrap();
        }
        fs::write(dir.path().join("notes.txt"), b"kept").unwrap();
        fs::write(dir.path().join(format!("{PARTIAL_PREFIX}平顶山市2021年度质量工作考核材料.zip")), b"half")
            .unwrap();
        let removed = bundles.prune(7).unwrap();
        assert_eq!(
            removed,
            [
                "平顶山市2021年度质量工作考核材料-20220112-020000-abcdef01.zip",
                "平顶山市2021年度质量工作考核材料-20220111-020000-abcdef01.zip",
                "平顶山市2021年度质量工作考核材料-20220110-020000-abcdef01.zip"
            ]
        );
        assert_eq!(bundles.list().unwrap().len(), 7);
        assert!(dir.path().join("notes.txt").exists());
        // One built before the state's fingerprint is still listed and served.
        let old = "yingjian-2021-20211231-020000-abcdef01.zip";
        fs::write(dir.path().join(old), b"x").unwrap();
        assert!(bundles.list().unwrap().iter().any(|b| b.name == old));
        assert!(bundles.open(old).is_some());
        fs::remove_file(dir.path().join(old)).unwrap();
        bundles.clear_partial().unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 8, "the partial build is gone, the rest stays");
        assert!(bundles.open("../yingjian.sqlite3").is_none());
        assert!(bundles.open("平顶山市2021年度质量工作考核材料-20220119-020000-abcdef01.zip").is_some());
    }
}
