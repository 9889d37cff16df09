//! The text a document carries itself: a PDF's text layer, page by page, with runs regrouped into
//! lines by position; the text of .docx, .odt and .xlsx files. A page whose layer is empty or
//! unusable gives `None`, so it is OCR'd instead.

use crate::ReadError;
use crate::fields::Line;

/// The text-layer lines of each page of a PDF; `None` for a page without a usable layer.
pub fn pdf_layer(pdf: &[u8], max_pages: u32) -> Result<Vec<Option<Vec<Line>>>, ReadError> {
    let _ = (pdf, max_pages);
    Err(ReadError::Unsupported)
}

/// The paragraphs of an Office document (by its sniffed kind: "docx", "odt", "xlsx").
pub fn office(bytes: &[u8], kind: &str) -> Result<Vec<Line>, ReadError> {
    let _ = (bytes, kind);
    Err(ReadError::Unsupported)
}
