//! The text a document carries itself: a PDF's text layer, page by page, with runs regrouped into
//! lines by position; the text of .docx, .odt and .xlsx files. A page whose layer is empty or
//! unusable gives `None`, so it is OCR'd instead.
//!
//! The PDF side interprets each page's content stream itself (lopdf parses the objects and the
//! fonts' encodings): lopdf's own `extract_text` emits one text-show operation a line, and
//! producers such as LibreOffice write every run in its own `BT … Td … Tj … ET`, so 「平市监〔2021〕
//! 12号」 would come out as five lines. Glyphs are placed with the text and graphics matrices and
//! the fonts' widths, then grouped into lines by baseline.

mod content;
mod fonts;
mod lines;
mod office;
mod pdf_layer;
#[cfg(test)]
mod tests;

use lopdf::{Document, Object};

pub use office::{office, office_format, office_pages};
pub use pdf_layer::pdf_layer;

/// The most any one stream (page content, form, ToUnicode map) may inflate to.
const MAX_STREAM_BYTES: usize = 32 * 1024 * 1024;

/// An object, a reference followed one step (a dangling one reads as null).
fn deref<'a>(doc: &'a Document, object: &'a Object) -> &'a Object {
    match object {
        Object::Reference(id) => doc.get_object(*id).unwrap_or(&Object::Null),
        other => other,
    }
}

/// A PDF number (integer or real) as `f64`.
fn number(object: &Object) -> Option<f64> {
    match object {
        Object::Integer(i) => {
            #[allow(clippy::cast_precision_loss, reason = "PDF numbers are small")]
            let f = *i as f64;
            Some(f)
        }
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}
