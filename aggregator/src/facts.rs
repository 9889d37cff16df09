//! What was read in a stored content (a leaf: row types, no I/O): the archival fields the
//! worker found in its text, its pages, scan findings and near-duplicate signature, and the
//! pages it took in the last print. The reading itself happens in `reading/`, in the worker.

use yingjian_shared::{ItemCode, QualityFinding, ReadState, TextSource};

/// The reader's version: bumped when reading learns more, so that every blob is read again.
pub const READER_VERSION: i64 = 2;

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
    /// The catalogue items its text speaks of most, best first, with their scores.
    pub topics: Vec<(ItemCode, f32)>,
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
            topics: Vec::new(),
        }
    }
}
