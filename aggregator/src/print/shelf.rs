//! `Printouts`: the server's folder of printable PDFs (`<data>/print/`), the one print build
//! that may run there (from the 打包 page), and what the last one met. With an object store
//! shared by several instances, the PDFs are also put under its `print/`, and listed and served
//! from there by every instance.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;

use yingjian_shared::EventKind;

use super::PrintReport;
use crate::blobs::S3Blobs;
use crate::services::Services;
use crate::shelf::Shelf;

/// The shared store's folder of printouts.
const SHARED: &str = "print";

/// The detail of the event published when a print build has ended.
pub const PRINTED: &str = "print";

/// When a build ended, and its placeholders or why it failed (in Chinese).
pub type Outcome = (Timestamp, Result<Vec<String>, String>);

#[derive(Clone)]
pub struct Printouts {
    inner: Arc<Inner>,
}

struct Inner {
    shelf: Shelf,
    building: tokio::sync::Mutex<()>,
    last: Mutex<Option<Outcome>>,
}

impl Printouts {
    pub fn new(dir: PathBuf, shared: Option<S3Blobs>) -> Printouts {
        Printouts {
            inner: Arc::new(Inner {
                shelf: Shelf::new(dir, shared, SHARED),
                building: tokio::sync::Mutex::new(()),
                last: Mutex::new(None),
            }),
        }
    }

    pub fn dir(&self) -> &Path {
        self.inner.shelf.dir()
    }

    pub fn is_building(&self) -> bool {
        self.inner.building.try_lock().is_err()
    }

    /// Builds the PDFs of the current state into the folder (one build at a time), then
    /// removes volumes an earlier state had that this one has not.
    pub async fn build(&self, state: &Services) {
        let _one_at_a_time = self.inner.building.lock().await;
        let outcome = match super::build(state, self.dir(), super::Of::Record).await {
            Ok(PrintReport { written, problems }) => {
                let kept: Vec<PathBuf> = written.into_iter().map(|(p, _)| p).collect();
                let printouts = self.clone();
                let kept = tokio::task::spawn_blocking(move || printouts.keep_only(&kept))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                kept.map(|()| problems)
                    .map_err(|e| format!("生成后保存时出错，请把这句话转给系统管理员（{e}）。"))
            }
            Err(e) => {
                tracing::error!(error = %e, "print build failed");
                Err(if e.is_storage_full() {
                    "服务器磁盘已满，请清理空间后重新生成。".to_string()
                } else {
                    format!("生成时出错，请把这句话转给系统管理员（{e}）。")
                })
            }
        };
        *self.inner.last.lock().unwrap_or_else(PoisonError::into_inner) = Some((Timestamp::now(), outcome));
        // The 打包 page (and whoever waits for the build) hears that it is done.
        state.publish(EventKind::Bundle, None, None, Some(PRINTED.into()));
    }

    /// Shares the volumes just written, and removes those an earlier state had that this one
    /// has not (blocking).
    fn keep_only(&self, kept: &[PathBuf]) -> std::io::Result<()> {
        let kept: Vec<&str> = kept.iter().filter_map(|p| p.file_name()?.to_str()).collect();
        for name in &kept {
            self.inner.shelf.share(name)?;
        }
        for (name, _) in self.list() {
            if kept.contains(&name.as_str()) {
                continue;
            }
            match self.inner.shelf.remove(&name) {
                Ok(()) => tracing::info!(%name, "a volume the state no longer has was removed"),
                Err(e) => tracing::warn!(%name, error = %e, "cannot remove an old volume"),
            }
        }
        Ok(())
    }

    pub fn last(&self) -> Option<Outcome> {
        self.inner.last.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The PDFs on the shelf (the shared store, or the folder), by name, with their sizes:
    /// only what `build` writes (`NN 名称.pdf`), never its temporary files.
    pub fn list(&self) -> Vec<(String, u64)> {
        let pdf =
            |name: &str| Path::new(name).extension().is_some_and(|e| e == "pdf") && !name.starts_with('.');
        let mut out: Vec<(String, u64)> =
            self.inner.shelf.list(pdf).unwrap_or_default().into_iter().map(|v| (v.name, v.size)).collect();
        out.sort();
        out
    }

    /// A PDF named in a URL, streamed: only one that is listed (blocking).
    pub fn open(&self, name: &str) -> Option<Box<dyn Read + Send>> {
        if !self.list().iter().any(|(n, _)| n == name) {
            return None;
        }
        self.inner.shelf.open(name).map(|(reader, _)| reader)
    }
}
