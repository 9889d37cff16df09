//! What a stored file's content says about itself, for the 目录: how many pages it has and the
//! date the document carries (a PDF's creation date, a photo's EXIF DateTimeOriginal). A blob
//! never changes, so each is examined once and the answer is kept with it in the database.

use std::collections::HashMap;
use std::io::{BufReader, Cursor, Read};

use yingjian_shared::sniff;

use crate::blobs::{BlobStore, MAX_READ_WHOLE};
use crate::error::AppResult;
use crate::state::AppState;

/// Bumped when `examine` learns more, so that blobs examined before are looked at again.
pub const VERSION: i64 = 1;

/// A JPEG's EXIF is in its first segments (an APP1 segment is at most 64 KiB).
const JPEG_HEAD: u64 = 256 << 10;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Pages of a PDF or a multi-page TIFF, 1 for another picture; `None` when unknown.
    pub pages: Option<u32>,
    /// `YYYYMMDD`.
    pub date: Option<String>,
    /// Pages it took in the last print build (`print`), when one was made.
    pub printed: Option<u32>,
}

/// Looks at one stored blob. Unreadable or damaged content gives no facts, not an error: the
/// 目录 leaves the columns empty.
pub fn examine(blobs: &dyn BlobStore, sha256: &str, size: u64) -> Facts {
    let Ok(mut reader) = blobs.open_blob(sha256) else { return Facts::default() };
    let mut head = [0u8; 16];
    let Ok(n) = read_up_to(&mut reader, &mut head) else { return Facts::default() };
    let head = &head[..n];
    let rest_of = |reader: Box<dyn Read + Send>, limit: u64| -> Option<Vec<u8>> {
        let mut all = Vec::with_capacity(size.min(limit) as usize);
        all.extend_from_slice(head);
        reader.take(limit - head.len() as u64).read_to_end(&mut all).ok()?;
        Some(all)
    };
    match sniff(head) {
        Some("pdf") if size <= MAX_READ_WHOLE => {
            rest_of(reader, MAX_READ_WHOLE).map_or_else(Facts::default, |b| pdf(&b))
        }
        Some("tiff") if size <= MAX_READ_WHOLE => {
            rest_of(reader, MAX_READ_WHOLE).map_or_else(Facts::default, |b| tiff(&b))
        }
        Some("jpeg") => Facts {
            pages: Some(1),
            date: rest_of(reader, JPEG_HEAD).and_then(|b| exif_date(&mut Cursor::new(b))),
            printed: None,
        },
        Some("png" | "bmp" | "gif" | "webp") => Facts { pages: Some(1), ..Facts::default() },
        _ => Facts::default(),
    }
}

fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn pdf(bytes: &[u8]) -> Facts {
    let Ok(meta) = lopdf::Document::load_metadata_mem(bytes) else { return Facts::default() };
    Facts {
        // An unreadable page tree (or an encrypted file) counts 0: unknown, not empty.
        pages: (meta.page_count > 0).then_some(meta.page_count),
        date: meta.creation_date.as_deref().and_then(crate::bundle::metadata_date),
        printed: None,
    }
}

fn tiff(bytes: &[u8]) -> Facts {
    use tiff::tags::Tag;
    let pages = (|| {
        let mut decoder = tiff::decoder::Decoder::new(Cursor::new(bytes)).ok()?;
        let mut pages = 0;
        loop {
            // Reduced-resolution copies (thumbnails) are not pages.
            if decoder.find_tag_unsigned::<u32>(Tag::NewSubfileType).ok()?.unwrap_or(0) & 1 == 0 {
                pages += 1;
            }
            if !decoder.more_images() {
                break Some(pages);
            }
            decoder.next_image().ok()?;
        }
    })();
    Facts { pages, date: exif_date(&mut BufReader::new(Cursor::new(bytes))), printed: None }
}

/// A JPEG's EXIF Orientation (1–8; 1 when it has none): how the picture is turned to be seen.
pub fn exif_orientation(jpeg: &[u8]) -> u8 {
    let head = &jpeg[..jpeg.len().min(JPEG_HEAD as usize)];
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(head))
        .ok()
        .and_then(|exif| exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .unwrap_or(1)
}

fn exif_date<R: std::io::BufRead + std::io::Seek>(reader: &mut R) -> Option<String> {
    let exif = exif::Reader::new().read_from_container(reader).ok()?;
    let field = exif.get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)?;
    let exif::Value::Ascii(values) = &field.value else { return None };
    crate::bundle::metadata_date(std::str::from_utf8(values.first()?).ok()?)
}

/// The facts of every blob a record points at, examining those not yet examined (one at a
/// time, off the async threads) and keeping what was found.
pub async fn of_all(state: &AppState) -> AppResult<HashMap<String, Facts>> {
    let pending = state.db.unexamined_blobs(VERSION).await?;
    if !pending.is_empty() {
        let blobs = state.blobs.clone();
        let found = tokio::task::spawn_blocking(move || {
            pending
                .into_iter()
                .map(|(sha, size)| {
                    let facts = examine(&*blobs, &sha, size);
                    (sha, facts)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(crate::error::AppError::internal)?;
        state.db.set_facts(found, VERSION).await?;
    }
    Ok(state.db.facts().await?)
}
