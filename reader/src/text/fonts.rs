//! Fonts as far as placing and reading glyphs goes: how a string's bytes split into codes, their
//! Unicode (a ToUnicode map first), and their widths (simple and CID fonts), cached per page tree.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};

use super::{MAX_STREAM_BYTES, deref, number};

/// Entries of a CID font's `/W` array that are read.
const MAX_WIDTH_ENTRIES: usize = 100_000;

/// A font as far as placing and reading its glyphs goes.
pub(super) struct Font<'a> {
    /// `None`: no way to Unicode (a CID font without ToUnicode); its glyphs read as U+FFFD.
    encoding: Option<Encoding<'a>>,
    /// How the bytes of a string split into character codes.
    codes: CodeLength,
    widths: Widths,
    /// Glyph space to text space (1/1000 except for Type 3 fonts).
    pub(super) scale: f64,
}

#[derive(Clone, Copy)]
enum CodeLength {
    One,
    Two,
    /// EUC-style CMaps (GBK-EUC-H): a lead byte ≥ 0x81 starts a two-byte code.
    Euc,
}

enum Widths {
    Simple { first: u32, widths: Vec<f64>, missing: f64 },
    Cid { default: f64, widths: BTreeMap<u32, f64> },
}

impl Font<'_> {
    pub(super) fn width(&self, code: u32) -> Option<f64> {
        match &self.widths {
            Widths::Simple { first, widths, missing } => code
                .checked_sub(*first)
                .and_then(|i| widths.get(usize::try_from(i).ok()?).copied())
                .or((*missing > 0.0).then_some(*missing)),
            Widths::Cid { default, widths } => Some(widths.get(&code).copied().unwrap_or(*default)),
        }
    }

    pub(super) fn split<'b>(&self, bytes: &'b [u8]) -> Vec<&'b [u8]> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let len = match self.codes {
                CodeLength::One => 1,
                CodeLength::Two => 2,
                CodeLength::Euc => {
                    if bytes[i] >= 0x81 {
                        2
                    } else {
                        1
                    }
                }
            };
            let end = (i + len).min(bytes.len());
            out.push(&bytes[i..end]);
            i = end;
        }
        out
    }

    pub(super) fn decode(&self, code: &[u8]) -> String {
        match &self.encoding {
            Some(encoding) => encoding.bytes_to_string(code).unwrap_or_else(|_| "\u{fffd}".into()),
            None => "\u{fffd}".into(),
        }
    }
}

#[derive(Default)]
pub(super) struct FontCache<'a> {
    by_id: HashMap<ObjectId, Rc<Font<'a>>>,
}

impl<'a> FontCache<'a> {
    pub(super) fn get(&mut self, doc: &'a Document, object: &'a Object) -> Option<Rc<Font<'a>>> {
        if let Object::Reference(id) = object {
            if let Some(font) = self.by_id.get(id) {
                return Some(Rc::clone(font));
            }
            let font = Rc::new(load_font(doc, doc.get_dictionary(*id).ok()?));
            self.by_id.insert(*id, Rc::clone(&font));
            return Some(font);
        }
        Some(Rc::new(load_font(doc, object.as_dict().ok()?)))
    }
}

fn load_font<'a>(doc: &'a Document, font: &'a Dictionary) -> Font<'a> {
    let subtype = font.get(b"Subtype").and_then(Object::as_name).unwrap_or(b"");
    let encoding_name = font.get_deref(b"Encoding", doc).and_then(Object::as_name).ok();
    let has_to_unicode = font.get_deref(b"ToUnicode", doc).and_then(Object::as_stream).is_ok();
    let type0 = subtype == b"Type0";

    let codes = if type0 {
        match encoding_name {
            Some(n) if n.ends_with(b"EUC-H") || n.ends_with(b"EUC-V") => CodeLength::Euc,
            _ => CodeLength::Two,
        }
    } else {
        CodeLength::One
    };

    // ToUnicode first: lopdf prefers a named /Encoding, which for a CID font with a predefined
    // CMap (GBK-EUC-H) it cannot decode although the font's ToUnicode map says it all.
    let mut encoding = None;
    if has_to_unicode {
        let mut bare = font.clone();
        bare.remove(b"Encoding");
        if let Ok(Encoding::UnicodeMapEncoding(map)) =
            bare.get_font_encoding_with_limit(doc, MAX_STREAM_BYTES)
        {
            encoding = Some(Encoding::UnicodeMapEncoding(map));
        }
    }
    if encoding.is_none() {
        let unicode_cmap = matches!(encoding_name, Some(b"UniGB-UCS2-H" | b"UniGB-UTF16-H"));
        if !type0 || unicode_cmap {
            encoding = font.get_font_encoding_with_limit(doc, MAX_STREAM_BYTES).ok();
        }
    }

    let (widths, scale) = if type0 {
        (cid_widths(doc, font), 0.001)
    } else {
        let first = font.get(b"FirstChar").ok().and_then(number).unwrap_or(0.0);
        let widths = font
            .get_deref(b"Widths", doc)
            .and_then(Object::as_array)
            .map(|a| a.iter().take(256).map(|w| number(deref(doc, w)).unwrap_or(0.0)).collect())
            .unwrap_or_default();
        let missing = font
            .get_deref(b"FontDescriptor", doc)
            .and_then(Object::as_dict)
            .and_then(|d| d.get(b"MissingWidth"))
            .ok()
            .and_then(number)
            .unwrap_or(0.0);
        let scale = if subtype == b"Type3" {
            font.get_deref(b"FontMatrix", doc)
                .and_then(Object::as_array)
                .ok()
                .and_then(|m| m.first().and_then(number))
                .filter(|s| s.is_finite() && *s > 0.0)
                .unwrap_or(0.001)
        } else {
            0.001
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a byte code")]
        let first = first.clamp(0.0, 255.0) as u32;
        (Widths::Simple { first, widths, missing }, scale)
    };
    Font { encoding, codes, widths, scale }
}

/// The `/W` and `/DW` of a CID font's descendant (bounded).
fn cid_widths(doc: &Document, font: &Dictionary) -> Widths {
    let descendant = font
        .get_deref(b"DescendantFonts", doc)
        .and_then(Object::as_array)
        .ok()
        .and_then(|a| a.first())
        .and_then(|d| deref(doc, d).as_dict().ok());
    let Some(descendant) = descendant else {
        return Widths::Cid { default: 1000.0, widths: BTreeMap::new() };
    };
    let default = descendant.get(b"DW").ok().and_then(number).unwrap_or(1000.0);
    let mut widths = BTreeMap::new();
    if let Ok(w) = descendant.get_deref(b"W", doc).and_then(Object::as_array) {
        let mut i = 0;
        while i + 1 < w.len() && widths.len() < MAX_WIDTH_ENTRIES {
            let Some(first) = number(deref(doc, &w[i])) else { break };
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "CIDs are u16")]
            let first = first.clamp(0.0, 65_535.0) as u32;
            match deref(doc, &w[i + 1]) {
                Object::Array(list) => {
                    for (k, v) in list.iter().take(MAX_WIDTH_ENTRIES).enumerate() {
                        let cid = first + u32::try_from(k).unwrap_or(u32::MAX - first);
                        widths.insert(cid, number(deref(doc, v)).unwrap_or(default));
                    }
                    i += 2;
                }
                last => {
                    let (Some(last), Some(width)) =
                        (number(last), w.get(i + 2).and_then(|v| number(deref(doc, v))))
                    else {
                        break;
                    };
                    #[allow(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "CIDs are u16"
                    )]
                    let last = last.clamp(0.0, 65_535.0) as u32;
                    for cid in first..=last.min(first + 65_535) {
                        if widths.len() >= MAX_WIDTH_ENTRIES {
                            break;
                        }
                        widths.insert(cid, width);
                    }
                    i += 3;
                }
            }
        }
    }
    Widths::Cid { default, widths }
}
