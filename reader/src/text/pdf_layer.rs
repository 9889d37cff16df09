//! A PDF's text layer, page by page: each page's content interpreted, its glyphs grouped into
//! lines, and the page judged usable or not (a scan, mojibake, private-use characters → `None`,
//! so it is OCR'd instead).

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};

use super::content::{Interpreter, Matrix};
use super::fonts::FontCache;
use super::lines::lines_from;
use super::{MAX_STREAM_BYTES, deref, number};
use crate::ReadError;
use crate::fields::Line;

/// A page with fewer readable characters than this has no usable layer.
const MIN_PAGE_CHARS: usize = 4;
/// A page that is mostly a picture (a scan) with fewer characters than this is OCR'd: a stamped
/// page number or file name over a scan is not its text.
const MIN_CHARS_OVER_IMAGE: usize = 40;
/// Share of unreadable characters (replacement, private use, controls, stray Latin-1 letters)
/// above which a page's layer counts as mojibake.
const MAX_BAD_SHARE: f32 = 0.15;

/// The text-layer lines of each page of a PDF (pages `1..=max_pages`, so the result has at most
/// `max_pages` entries); `None` for a page without a usable layer (a scan, mojibake, private-use
/// characters), which is to be OCR'd.
///
/// # Errors
/// [`ReadError::Encrypted`] for a PDF that needs a password (one that opens with the empty user
/// password is read), [`ReadError::Damaged`] for one lopdf cannot open.
pub fn pdf_layer(pdf: &[u8], max_pages: u32) -> Result<Vec<Option<Vec<Line>>>, ReadError> {
    let options = LoadOptions { max_decompressed_size: Some(MAX_STREAM_BYTES), ..LoadOptions::default() };
    let doc = match Document::load_mem_with_options(pdf, options) {
        Ok(doc) => doc,
        Err(lopdf::Error::InvalidPassword | lopdf::Error::Decryption(_)) => return Err(ReadError::Encrypted),
        Err(err) => return Err(ReadError::Damaged(err.to_string())),
    };
    if doc.trailer.has(b"Encrypt") && doc.encryption_state.is_none() {
        return Err(ReadError::Encrypted);
    }
    let mut fonts = FontCache::default();
    let mut out = Vec::new();
    for (number, page_id) in doc.get_pages() {
        if number > max_pages {
            break;
        }
        let lines = page_lines(&doc, page_id, &mut fonts).map(|glyphs| {
            glyphs.into_iter().map(|text| Line { text, page: number, confidence: 1.0 }).collect::<Vec<_>>()
        });
        out.push(lines);
    }
    Ok(out)
}

/// The lines of one page, or `None` when its layer is missing or unusable.
fn page_lines<'a>(doc: &'a Document, page_id: ObjectId, fonts: &mut FontCache<'a>) -> Option<Vec<String>> {
    let page = doc.get_dictionary(page_id).ok()?;
    let content = doc.get_page_content_with_limit(page_id, MAX_STREAM_BYTES).ok()?;
    let resources = page_resources(doc, page);
    let mut run = Interpreter { doc, fonts, glyphs: Vec::new(), ops: 0, forms: 0, image_area: 0.0 };
    run.content(&content, resources, Matrix::IDENTITY, 0);
    let page_area = page_area(doc, page);
    let glyphs = run.glyphs;
    let image_share = if page_area > 0.0 { run.image_area / page_area } else { 0.0 };
    let lines = lines_from(glyphs);
    if !usable(&lines, image_share) {
        return None;
    }
    Some(lines)
}

/// Whether a page's lines are its real text: enough readable characters, not mojibake, and not a
/// scan with a few stamped characters on it.
fn usable(lines: &[String], image_share: f64) -> bool {
    let (mut total, mut bad) = (0usize, 0usize);
    for c in lines.iter().flat_map(|l| l.chars()).filter(|c| !c.is_whitespace()) {
        total += 1;
        if unreadable(c) {
            bad += 1;
        }
    }
    if total - bad < MIN_PAGE_CHARS {
        return false;
    }
    #[allow(clippy::cast_precision_loss, reason = "character counts of a page")]
    let share = bad as f32 / total as f32;
    if share > MAX_BAD_SHARE {
        return false;
    }
    !(image_share > 0.5 && total < MIN_CHARS_OVER_IMAGE)
}

/// A character that does not belong in a Chinese document's text: a replacement character, a
/// private-use code point (a font without a usable ToUnicode map), a control, or the accented
/// Latin letters a CJK byte string decoded as Latin-1 turns into.
fn unreadable(c: char) -> bool {
    let u = u32::from(c);
    c == '\u{fffd}'
        || (0xe000..=0xf8ff).contains(&u)
        || u >= 0xf_0000
        || c.is_control()
        || (0x80..=0x2af).contains(&u) && !matches!(c, '·' | '×' | '÷' | '°' | '±' | '§' | '¥' | '©' | '®')
}

fn page_resources<'a>(doc: &'a Document, page: &'a Dictionary) -> Option<&'a Dictionary> {
    inherited(doc, page, b"Resources").and_then(|o| deref(doc, o).as_dict().ok())
}

/// A page attribute, looked up the page tree (bounded: a `/Parent` cycle ends the walk).
fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut node = page;
    for _ in 0..32 {
        if let Ok(value) = node.get(key) {
            return Some(value);
        }
        node =
            node.get(b"Parent").and_then(Object::as_reference).and_then(|id| doc.get_dictionary(id)).ok()?;
    }
    None
}

fn page_area(doc: &Document, page: &Dictionary) -> f64 {
    let boxed = inherited(doc, page, b"CropBox").or_else(|| inherited(doc, page, b"MediaBox"));
    let Some(Ok(values)) = boxed.map(|o| deref(doc, o).as_array()) else {
        return 0.0;
    };
    let n: Vec<f64> = values.iter().filter_map(|v| number(deref(doc, v))).collect();
    if n.len() == 4 { ((n[2] - n[0]) * (n[3] - n[1])).abs() } else { 0.0 }
}
