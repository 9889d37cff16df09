//! What was read in a stored content (a leaf: row types, no I/O): the archival fields the
//! worker found in its text, its pages, scan findings and near-duplicate signature, and the
//! pages it took in the last print. The reading itself happens in `reading/`, in the worker.

use std::io::Cursor;

use yingjian_shared::{QualityFinding, ReadState, TextSource};

/// A JPEG's EXIF is in its first segments (an APP1 segment is at most 64 KiB).
const JPEG_HEAD: usize = 256 << 10;

/// One blob's reading, as the database keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub read: ReadState,
    pub text: TextSource,
    /// Pages of the document; `None` when unknown.
    pub pages: Option<u32>,
    pub doc_number: Option<String>,
    pub issuer: Option<String>,
    /// 成文日期, `YYYY-MM-DD` or `YYYY-MM`.
    pub date: Option<String>,
    pub title: Option<String>,
    /// 密级 mark as printed.
    pub classification: Option<String>,
    pub quality: Vec<QualityFinding>,
    /// Near-duplicate signature (`yingjian_reader::similar`); empty when the text is too short.
    pub signature: Vec<u32>,
    /// Why it could not be read, in Chinese.
    pub failure: Option<String>,
    /// Pages it took in the last print build (`print`), when one was made.
    pub printed: Option<u32>,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            read: ReadState::Queued,
            text: TextSource::None,
            pages: None,
            doc_number: None,
            issuer: None,
            date: None,
            title: None,
            classification: None,
            quality: Vec::new(),
            signature: Vec::new(),
            failure: None,
            printed: None,
        }
    }
}

/// A JPEG's EXIF Orientation (1–8; 1 when it has none): how the picture is turned to be seen.
pub fn exif_orientation(jpeg: &[u8]) -> u8 {
    let head = &jpeg[..jpeg.len().min(JPEG_HEAD)];
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(head))
        .ok()
        .and_then(|exif| exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .unwrap_or(1)
}
