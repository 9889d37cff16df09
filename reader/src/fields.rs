//! The archival fields of a document (DA/T 22-2015 目录 columns) found in its text: 文号,
//! 责任者 (发文机关), 成文日期, 题名, and the 密级 mark. A field below its confidence bar is `None`:
//! blank rather than wrong. Nothing here ever looks at a file's own dates.

use serde::{Deserialize, Serialize};

/// One line of a document's text, in reading order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub text: String,
    /// 1-based page number.
    pub page: u32,
    /// OCR confidence (0..1); 1.0 for a text layer or an Office file's text.
    pub confidence: f32,
}

/// A value and how sure the reader is of it (the lowest confidence of the lines it came from).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub value: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fields {
    /// 文号, normalised to 〔〕 brackets: 「平市监〔2021〕12号」.
    pub doc_number: Option<Field>,
    /// 发文机关 in full (joint issuers joined with 「、」).
    pub issuer: Option<Field>,
    /// 成文日期: `YYYY-MM-DD` (or `YYYY-MM` when the day is not printed).
    pub date: Option<Field>,
    /// 题名, without 文号, date or file extension.
    pub title: Option<Field>,
    /// 密级 mark as printed: 「秘密★1年」, 「机密」, 「内部资料」, 「注意保密」.
    pub classification: Option<Field>,
}

/// The fields in a document's lines (all pages, in reading order).
pub fn extract(lines: &[Line]) -> Fields {
    let _ = lines;
    Fields::default()
}
