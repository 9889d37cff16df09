//! `Printouts`: the server's folder of printable PDFs (`<data>/print/`), the one print build
//! that may run there (from the 打包 page), and what the last one met. With an object store
//! shared by several instances, the PDFs are also put under its `print/`, and listed and served
//! from there by every instance.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;

use yingjian_shared::EventKind;

use super::PrintReport;
use crate::blobs::S3Blobs;
use crate::services::Services;

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
    dir: PathBuf,
    shared: Option<S3Blobs>,
    building: tokio::sync::Mutex<()>,
    last: Mutex<Option<Outcome>>,
}

impl Printouts {
    pub fn new(dir: PathBuf, shared: Option<S3Blobs>) -> Printouts {
        Printouts {
            inner: Arc::new(Inner {
                dir,
                shared,
                building: tokio::sync::Mutex::new(()),
                last: Mutex::new(None),
            }),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
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
        if let Some(shared) = &self.inner.shared {
            for path in kept {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                shared.put_file(&format!("{SHARED}/{name}"), path)?;
            }
        }
        for (name, _) in self.list() {
            let path = self.dir().join(&name);
            if kept.contains(&path) {
                continue;
            }
            if let Some(shared) = &self.inner.shared {
                shared.delete_file(&format!("{SHARED}/{name}"))?;
            }
            match fs::remove_file(&path) {
                Ok(()) => tracing::info!(%name, "a volume the state no longer has was removed"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(%name, error = %e, "cannot remove an old volume"),
            }
        }
        Ok(())
    }

    pub fn last(&self) -> Option<Outcome> {
        self.inner.last.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The PDFs on the shelf (the shared store, or the folder), by name, with their sizes.
    pub fn list(&self) -> Vec<(String, u64)> {
        if let Some(shared) = &self.inner.shared {
            let mut out: Vec<(String, u64)> = shared
                .list_files(SHARED)
                .unwrap_or_default()
                .into_iter()
                .filter(|(name, _, _)| Path::new(name).extension().is_some_and(|e| e == "pdf"))
                .map(|(name, size, _)| (name, size))
                .collect();
            out.sort();
            return out;
        }
        let mut out: Vec<(String, u64)> = fs::read_dir(self.dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                // Only what `build` writes: `NN 名称.pdf`, never its temporary `.tmp…` files.
                let pdf = Path::new(&name).extension().is_some_and(|e| e == "pdf") && !name.starts_with('.');
                pdf.then(|| (name, e.metadata().map_or(0, |m| m.len())))
            })
            .collect();
        out.sort();
        out
    }

    /// A PDF named in a URL, streamed: only one that is listed (blocking).
    pub fn open(&self, name: &str) -> Option<Box<dyn Read + Send>> {
        if !self.list().iter().any(|(n, _)| n == name) {
            return None;
        }
        if let Some(shared) = &self.inner.shared {
            return shared.open_file(&format!("{SHARED}/{name}")).ok().map(|(reader, _)| reader);
        }
        fs::File::open(self.dir().join(name)).ok().map(|f| Box::new(f) as Box<dyn Read + Send>)
    }
}
