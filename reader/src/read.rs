//! One file → what it says: its text (layer first, then OCR), fields, pages, scan findings and a
//! near-duplicate signature.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ReadError;
use crate::fields::Fields;
use crate::ocr::Ocr;
use crate::quality::{Finding, Thresholds};
use crate::similar::Signature;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextSource {
    Layer,
    Ocr,
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reading {
    pub text_source: TextSource,
    /// The whole text, capped.
    pub text: String,
    pub pages: Option<u32>,
    pub fields: Fields,
    pub quality: Vec<Finding>,
    pub signature: Signature,
}

pub fn read_file(path: &Path, ocr: Option<&Ocr>, thresholds: &Thresholds) -> Result<Reading, ReadError> {
    let _ = (path, ocr, thresholds);
    Err(ReadError::Unsupported)
}
