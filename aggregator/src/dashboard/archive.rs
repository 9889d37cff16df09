//! 下载全部: every file of a department, or of an item, as one zip streamed while it is written —
//! stored as they are (scans do not shrink), named as the folders spell them, read one at a time
//! by a blocking task, so memory stays at a few chunks whatever the sizes.

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::mpsc;
use yingjian_shared::{EvidenceEntry, ItemCode};
use zip::write::FullFileOptions;

use super::views::{PageError, Viewer};
use crate::blobs::BlobStore;
use crate::bundle::unicode_named;
use crate::error::AppError;
use crate::state::AppState;

/// A chunk handed to the response.
const CHUNK: usize = 256 * 1024;

/// The zip's bytes on their way to the response: a receiver gone (the download cancelled)
/// stops the writing.
struct Sink {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = Bytes::from(std::mem::take(&mut self.buf));
            self.tx.blocking_send(Ok(chunk)).map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        }
        Ok(())
    }
}

/// One file in the zip: its name there, and the blob.
struct Entry {
    name: String,
    sha256: String,
    size: u64,
}

/// `name`, or `name (2)` before the extension if the zip has it already (two PCs of a
/// department may file the same path).
fn unique(seen: &mut HashSet<String>, name: String) -> String {
    if seen.insert(name.clone()) {
        return name;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.contains('/') => (stem.to_string(), format!(".{ext}")),
        _ => (name.clone(), String::new()),
    };
    // Among len + 1 numbers one is free: the set holds only len names.
    let last = seen.len() + 2;
    (2..=last).map(|n| format!("{stem} ({n}){ext}")).find(|n| seen.insert(n.clone())).expect("a free name")
}

fn write_zip(store: &dyn BlobStore, entries: &[Entry], sink: Sink) -> io::Result<()> {
    let mut zip = zip::ZipWriter::new_stream(sink);
    for e in entries {
        let options = FullFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(e.size >= u64::from(u32::MAX));
        let options = unicode_named(options, &e.name).map_err(io::Error::other)?;
        zip.start_file(e.name.as_str(), options).map_err(io::Error::other)?;
        io::copy(&mut store.open_blob(&e.sha256)?, &mut zip)?;
    }
    zip.finish().map_err(io::Error::other)?.into_inner().flush()
}

fn zip_response(store: Arc<dyn BlobStore>, entries: Vec<Entry>, name: &str) -> Response {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let failed = tx.clone();
        if let Err(e) = write_zip(&*store, &entries, Sink { tx, buf: Vec::new() })
            && e.kind() != io::ErrorKind::BrokenPipe
        {
            tracing::warn!(error = %e, "a zip download failed part way");
            // The response ends in an error, so the browser does not keep a cut-off zip.
            let _ = failed.blocking_send(Err(e));
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let headers = [
        (CONTENT_TYPE, "application/zip".to_string()),
        (CONTENT_DISPOSITION, crate::download_name::attachment(name)),
    ];
    (headers, Body::from_stream(body)).into_response()
}

fn entries<'a>(records: impl Iterator<Item = (String, &'a EvidenceEntry)>) -> Vec<Entry> {
    let mut seen = HashSet::new();
    records
        .map(|(name, r)| Entry { name: unique(&mut seen, name), sha256: r.sha256.to_string(), size: r.size })
        .collect()
}

/// Every file a department has on record (its own, or any for the office).
pub async fn department(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let dept = state
        .catalogue
        .department(&id)
        .ok_or_else(|| AppError::NotFound(format!("没有名为“{id}”的责任单位。")))?;
    caller.require_access(&dept.id).map_err(|_| AppError::Forbidden("只能下载本单位的材料。".into()))?;
    let records = state.db.evidence(Some(dept.id.clone())).await?;
    let list = entries(records.iter().map(|r| (r.path.to_string(), r)));
    let name = format!("{}迎检材料.zip", dept.name);
    Ok(zip_response(state.blobs.clone(), list, &name))
}

/// Every file of an item, in a folder a department (the caller's own, for a department).
pub async fn item(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let missing = || AppError::NotFound(format!("没有编号为“{raw}”的事项。"));
    let code: ItemCode = raw.parse().map_err(|_| missing())?;
    let item = state.catalogue.item(code).ok_or_else(missing)?;
    let mut records = Vec::new();
    for id in item.departments.iter().filter(|d| caller.department.as_ref().is_none_or(|own| own == *d)) {
        let name = state.catalogue.department(id).map_or_else(|| id.clone(), |d| d.name.clone());
        let own = state.db.evidence(Some(id.clone())).await?;
        records.extend(own.into_iter().filter(|r| r.item == Some(code)).map(|r| (name.clone(), r)));
    }
    let list = entries(records.iter().map(|(dept, r)| (format!("{dept}/{}", r.path), r)));
    let name = format!("{} {}.zip", item.code, item.short_title);
    Ok(zip_response(state.blobs.clone(), list, &name))
}

#[cfg(test)]
mod tests {
    use super::unique;

    #[test]
    fn a_name_twice_gets_a_number() {
        let mut seen = std::collections::HashSet::new();
        assert_eq!(unique(&mut seen, "文件/通知.pdf".into()), "文件/通知.pdf");
        assert_eq!(unique(&mut seen, "文件/通知.pdf".into()), "文件/通知 (2).pdf");
        assert_eq!(unique(&mut seen, "文件/通知.pdf".into()), "文件/通知 (3).pdf");
        assert_eq!(unique(&mut seen, "说明".into()), "说明");
        assert_eq!(unique(&mut seen, "说明".into()), "说明 (2)");
    }
}
