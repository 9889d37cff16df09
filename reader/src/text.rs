//! The text a document carries itself: a PDF's text layer, page by page, with runs regrouped into
//! lines by position; the text of .docx, .odt and .xlsx files. A page whose layer is empty or
//! unusable gives `None`, so it is OCR'd instead.
//!
//! The PDF side interprets each page's content stream itself (lopdf parses the objects and the
//! fonts' encodings): lopdf's own `extract_text` emits one text-show operation a line, and
//! producers such as LibreOffice write every run in its own `BT … Td … Tj … ET`, so 「平市监〔2021〕
//! 12号」 would come out as five lines. Glyphs are placed with the text and graphics matrices and
//! the fonts' widths, then grouped into lines by baseline.

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};
use std::rc::Rc;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, LoadOptions, Object, ObjectId};
use quick_xml::events::Event;

use crate::ReadError;
use crate::fields::Line;

/// The most any one stream (page content, form, ToUnicode map) may inflate to.
const MAX_STREAM_BYTES: usize = 32 * 1024 * 1024;
/// Content-stream operations interpreted per page (forms included).
const MAX_OPS_PER_PAGE: usize = 2_000_000;
/// Glyphs kept per page; more than any real page holds.
const MAX_GLYPHS_PER_PAGE: usize = 200_000;
/// How deep form XObjects may nest (a form drawing itself would otherwise loop).
const MAX_FORM_DEPTH: usize = 8;
/// Forms drawn per page, all depths together.
const MAX_FORMS_PER_PAGE: usize = 2_000;
/// Entries of a CID font's `/W` array that are read.
const MAX_WIDTH_ENTRIES: usize = 100_000;
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

fn deref<'a>(doc: &'a Document, object: &'a Object) -> &'a Object {
    match object {
        Object::Reference(id) => doc.get_object(*id).unwrap_or(&Object::Null),
        other => other,
    }
}

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

/// An affine matrix `[a b c d e f]` in PDF's row-vector convention.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Matrix([f64; 6]);

impl Matrix {
    const IDENTITY: Self = Self([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translate(x: f64, y: f64) -> Self {
        Self([1.0, 0.0, 0.0, 1.0, x, y])
    }

    /// `self × other`: first `self`, then `other`.
    #[allow(clippy::many_single_char_names, reason = "the matrix entries' names in the PDF reference")]
    fn then(self, other: Self) -> Self {
        let [a1, b1, c1, d1, e1, f1] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Self([
            a1 * a2 + b1 * c2,
            a1 * b2 + b1 * d2,
            c1 * a2 + d1 * c2,
            c1 * b2 + d1 * d2,
            e1 * a2 + f1 * c2 + e2,
            e1 * b2 + f1 * d2 + f2,
        ])
    }

    #[allow(clippy::many_single_char_names, reason = "the matrix entries' names in the PDF reference")]
    fn apply(self, x: f64, y: f64) -> (f64, f64) {
        let [a, b, c, d, e, f] = self.0;
        (a * x + c * y + e, b * x + d * y + f)
    }

    fn from_operands(operands: &[Object]) -> Option<Self> {
        let n: Vec<f64> = operands.iter().filter_map(number).collect();
        (n.len() == 6 && n.iter().all(|v| v.is_finite())).then(|| Self([n[0], n[1], n[2], n[3], n[4], n[5]]))
    }
}

/// A font as far as placing and reading its glyphs goes.
struct Font<'a> {
    /// `None`: no way to Unicode (a CID font without ToUnicode); its glyphs read as U+FFFD.
    encoding: Option<Encoding<'a>>,
    /// How the bytes of a string split into character codes.
    codes: CodeLength,
    widths: Widths,
    /// Glyph space to text space (1/1000 except for Type 3 fonts).
    scale: f64,
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
    fn width(&self, code: u32) -> Option<f64> {
        match &self.widths {
            Widths::Simple { first, widths, missing } => code
                .checked_sub(*first)
                .and_then(|i| widths.get(usize::try_from(i).ok()?).copied())
                .or((*missing > 0.0).then_some(*missing)),
            Widths::Cid { default, widths } => Some(widths.get(&code).copied().unwrap_or(*default)),
        }
    }

    fn split<'b>(&self, bytes: &'b [u8]) -> Vec<&'b [u8]> {
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

    fn decode(&self, code: &[u8]) -> String {
        match &self.encoding {
            Some(encoding) => encoding.bytes_to_string(code).unwrap_or_else(|_| "\u{fffd}".into()),
            None => "\u{fffd}".into(),
        }
    }
}

#[derive(Default)]
struct FontCache<'a> {
    by_id: HashMap<ObjectId, Rc<Font<'a>>>,
}

impl<'a> FontCache<'a> {
    fn get(&mut self, doc: &'a Document, object: &'a Object) -> Option<Rc<Font<'a>>> {
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

/// One placed glyph in page space.
#[derive(Debug, Clone)]
struct Glyph {
    text: String,
    /// Start and end of the glyph along its baseline, and the baseline itself.
    x0: f64,
    x1: f64,
    y: f64,
    size: f64,
    /// The text direction, quarter turns counter-clockwise (0..4), or 4 for a slant.
    turn: u8,
}

#[derive(Clone)]
struct TextState<'a> {
    ctm: Matrix,
    font: Option<Rc<Font<'a>>>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    scale: f64,
    leading: f64,
    rise: f64,
}

struct Interpreter<'a, 'c> {
    doc: &'a Document,
    fonts: &'c mut FontCache<'a>,
    glyphs: Vec<Glyph>,
    ops: usize,
    forms: usize,
    /// The area covered by drawn images, in page units (a full-page scan covers the page).
    image_area: f64,
}

impl<'a> Interpreter<'a, '_> {
    fn content(&mut self, data: &[u8], resources: Option<&'a Dictionary>, ctm: Matrix, depth: usize) {
        let mut state = TextState {
            ctm,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
            rise: 0.0,
        };
        let mut stack: Vec<TextState<'a>> = Vec::new();
        let mut tm = Matrix::IDENTITY;
        let mut tlm = Matrix::IDENTITY;
        let mut font_names: HashMap<Vec<u8>, Option<Rc<Font<'a>>>> = HashMap::new();

        for op in Content::decode_iter(data) {
            // A damaged stream keeps what came before the damage.
            let Ok(op) = op else { break };
            self.ops += 1;
            if self.ops > MAX_OPS_PER_PAGE || self.glyphs.len() >= MAX_GLYPHS_PER_PAGE {
                break;
            }
            let operands = &op.operands;
            let num = |i: usize| operands.get(i).and_then(number).filter(|v| v.is_finite());
            match op.operator.as_str() {
                "q" if stack.len() < 1024 => stack.push(state.clone()),
                "Q" => {
                    if let Some(saved) = stack.pop() {
                        state = saved;
                    }
                }
                "cm" => {
                    if let Some(m) = Matrix::from_operands(operands) {
                        state.ctm = m.then(state.ctm);
                    }
                }
                "BT" => {
                    tm = Matrix::IDENTITY;
                    tlm = Matrix::IDENTITY;
                }
                "Tc" => state.char_spacing = num(0).unwrap_or(0.0),
                "Tw" => state.word_spacing = num(0).unwrap_or(0.0),
                "Tz" => state.scale = num(0).unwrap_or(100.0) / 100.0,
                "TL" => state.leading = num(0).unwrap_or(0.0),
                "Ts" => state.rise = num(0).unwrap_or(0.0),
                "Tf" => {
                    state.size = num(1).unwrap_or(0.0);
                    state.font = operands.first().and_then(|o| o.as_name().ok()).and_then(|name| {
                        font_names.entry(name.to_vec()).or_insert_with(|| self.font(resources, name)).clone()
                    });
                }
                "Td" | "TD" => {
                    let (x, y) = (num(0).unwrap_or(0.0), num(1).unwrap_or(0.0));
                    if op.operator == "TD" {
                        state.leading = -y;
                    }
                    tlm = Matrix::translate(x, y).then(tlm);
                    tm = tlm;
                }
                "Tm" => {
                    if let Some(m) = Matrix::from_operands(operands) {
                        tlm = m;
                        tm = m;
                    }
                }
                "T*" => {
                    tlm = Matrix::translate(0.0, -state.leading).then(tlm);
                    tm = tlm;
                }
                "Tj" => {
                    if let Some(Object::String(s, _)) = operands.first() {
                        self.show(&state, &mut tm, s);
                    }
                }
                "'" | "\"" => {
                    if op.operator == "\"" {
                        state.word_spacing = num(0).unwrap_or(state.word_spacing);
                        state.char_spacing = num(1).unwrap_or(state.char_spacing);
                    }
                    tlm = Matrix::translate(0.0, -state.leading).then(tlm);
                    tm = tlm;
                    if let Some(Object::String(s, _)) = operands.last() {
                        self.show(&state, &mut tm, s);
                    }
                }
                "TJ" => {
                    if let Some(Object::Array(items)) = operands.first() {
                        for item in items {
                            match item {
                                Object::String(s, _) => self.show(&state, &mut tm, s),
                                other => {
                                    if let Some(adjust) = number(other).filter(|v| v.is_finite()) {
                                        let tx = -adjust / 1000.0 * state.size * state.scale;
                                        tm = Matrix::translate(tx, 0.0).then(tm);
                                    }
                                }
                            }
                        }
                    }
                }
                "Do" => {
                    if let Some(name) = operands.first().and_then(|o| o.as_name().ok()) {
                        self.draw(resources, name, state.ctm, depth);
                    }
                }
                _ => {}
            }
        }
    }

    fn font(&mut self, resources: Option<&'a Dictionary>, name: &[u8]) -> Option<Rc<Font<'a>>> {
        let doc = self.doc;
        let fonts = resources?.get(b"Font").ok().map(|f| deref(doc, f))?.as_dict().ok()?;
        self.fonts.get(doc, fonts.get(name).ok()?)
    }

    /// `Do`: a form's content is interpreted in place; an image's area is counted.
    fn draw(&mut self, resources: Option<&'a Dictionary>, name: &[u8], ctm: Matrix, depth: usize) {
        let doc = self.doc;
        let Some(xobjects) =
            resources.and_then(|r| r.get(b"XObject").ok()).and_then(|x| deref(doc, x).as_dict().ok())
        else {
            return;
        };
        let Some(Ok(stream)) = xobjects.get(name).ok().map(|o| deref(doc, o).as_stream()) else {
            return;
        };
        match stream.dict.get(b"Subtype").and_then(Object::as_name) {
            Ok(b"Image") => {
                let [a, b, c, d, _, _] = ctm.0;
                let area = (a * d - b * c).abs();
                if area.is_finite() {
                    self.image_area += area;
                }
            }
            Ok(b"Form") => {
                if depth >= MAX_FORM_DEPTH || self.forms >= MAX_FORMS_PER_PAGE {
                    return;
                }
                self.forms += 1;
                let matrix = stream
                    .dict
                    .get(b"Matrix")
                    .ok()
                    .and_then(|m| deref(doc, m).as_array().ok())
                    .and_then(|m| Matrix::from_operands(m))
                    .unwrap_or(Matrix::IDENTITY);
                let own = stream.dict.get(b"Resources").ok().and_then(|r| deref(doc, r).as_dict().ok());
                let Ok(data) = stream.get_plain_content_with_limit(MAX_STREAM_BYTES) else {
                    return;
                };
                self.content(&data, own.or(resources), matrix.then(ctm), depth + 1);
            }
            _ => {}
        }
    }

    /// Places the glyphs of one string and advances the text matrix past them.
    fn show(&mut self, state: &TextState<'a>, tm: &mut Matrix, bytes: &[u8]) {
        let Some(font) = state.font.clone() else { return };
        for code in font.split(bytes) {
            if self.glyphs.len() >= MAX_GLYPHS_PER_PAGE {
                return;
            }
            let value = code.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            let text = font.decode(code);
            let wide = text.chars().next().is_some_and(is_cjk);
            let glyph_width =
                font.width(value).filter(|w| *w > 0.0).unwrap_or(if wide { 1000.0 } else { 500.0 })
                    * font.scale;
            let trm = Matrix([state.size * state.scale, 0.0, 0.0, state.size, 0.0, state.rise])
                .then(*tm)
                .then(state.ctm);
            let (x0, y0) = trm.apply(0.0, 0.0);
            let (x1, y1) = trm.apply(glyph_width, 0.0);
            let (ux, uy) = trm.apply(0.0, 1.0);
            let size = ((ux - x0).powi(2) + (uy - y0).powi(2)).sqrt();
            let turn = quarter_turn(x1 - x0, y1 - y0, trm);
            if size.is_finite() && size > 0.0 && !text.is_empty() {
                let (gx0, gy) = rotate(turn, x0, y0);
                let (gx1, _) = rotate(turn, x1, y1);
                self.glyphs.push(Glyph { text, x0: gx0, x1: gx1.max(gx0), y: gy, size, turn });
            }
            let spacing = if code == [32] { state.word_spacing } else { 0.0 };
            let tx = (glyph_width * state.size + state.char_spacing + spacing) * state.scale;
            *tm = Matrix::translate(tx, 0.0).then(*tm);
        }
    }
}

/// The direction of a glyph's baseline in quarter turns (4: slanted, such as a diagonal
/// watermark).
fn quarter_turn(dx: f64, dy: f64, trm: Matrix) -> u8 {
    let (dx, dy) = if dx.abs() + dy.abs() > 1e-9 { (dx, dy) } else { (trm.0[0], trm.0[1]) };
    let angle = dy.atan2(dx).to_degrees().rem_euclid(360.0);
    let nearest = (angle / 90.0).round();
    if (angle - nearest * 90.0).abs() > 10.0 {
        return 4;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0..=4")]
    let turn = nearest as u8 % 4;
    turn
}

/// A point turned so that text of the given direction runs left to right.
fn rotate(turn: u8, x: f64, y: f64) -> (f64, f64) {
    match turn {
        1 => (y, -x),
        2 => (-x, -y),
        3 => (-y, x),
        _ => (x, y),
    }
}

/// CJK ideographs, their punctuation and full-width forms: no spaces between these.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x2e80..=0x2fdf | 0x3000..=0x303f | 0x3040..=0x30ff | 0x3100..=0x312f | 0x31c0..=0x31ef
        | 0x3200..=0x33ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff | 0xfe30..=0xfe4f
        | 0xff00..=0xffef | 0x2_0000..=0x3_ffff)
}

/// Glyphs → lines in reading order: the page's main text direction kept (glyphs across it, such
/// as a diagonal watermark, dropped), grouped by baseline, top to bottom, each line left to right.
fn lines_from(glyphs: Vec<Glyph>) -> Vec<String> {
    let mut per_turn = [0usize; 5];
    for g in &glyphs {
        per_turn[usize::from(g.turn)] += 1;
    }
    let main = (0..4u8).max_by_key(|t| (per_turn[usize::from(*t)], std::cmp::Reverse(*t))).unwrap_or(0);
    let mut glyphs: Vec<Glyph> = glyphs.into_iter().filter(|g| g.turn == main).collect();
    glyphs.sort_by(|a, b| b.y.total_cmp(&a.y));

    let mut rows: Vec<Vec<Glyph>> = Vec::new();
    let mut baseline = f64::NAN;
    let mut height = 0.0f64;
    for g in glyphs {
        let same = rows.last().is_some() && (baseline - g.y).abs() <= 0.45 * height.max(g.size);
        if same {
            height = height.max(g.size);
            if let Some(row) = rows.last_mut() {
                row.push(g);
            }
        } else {
            baseline = g.y;
            height = g.size;
            rows.push(vec![g]);
        }
    }
    rows.into_iter().filter_map(join_row).collect()
}

/// One row of glyphs → its text: sorted along the baseline, a glyph drawn twice in place (faux
/// bold) kept once, a space where a gap separates words (between CJK characters only a gap wider
/// than a character: a letter-spaced red header stays one word).
fn join_row(mut row: Vec<Glyph>) -> Option<String> {
    row.sort_by(|a, b| a.x0.total_cmp(&b.x0));
    let mut text = String::new();
    let mut last: Option<&Glyph> = None;
    for g in &row {
        if let Some(prev) = last {
            let tolerance = 0.3 * prev.size.min(g.size);
            if g.text == prev.text && (g.x0 - prev.x0).abs() < tolerance && (g.y - prev.y).abs() < tolerance {
                continue;
            }
            let gap = g.x0 - prev.x1;
            let size = prev.size.max(g.size);
            let both_cjk =
                prev.text.chars().last().is_some_and(is_cjk) && g.text.chars().next().is_some_and(is_cjk);
            let wide = if both_cjk { gap > 1.2 * size } else { gap > 0.2 * size };
            if wide && !text.ends_with(' ') && !g.text.starts_with(' ') {
                text.push(' ');
            }
        }
        text.push_str(&g.text);
        last = Some(g);
    }
    let text = collapse_spaces(&text);
    (!text.is_empty()).then_some(text)
}

/// Runs of whitespace → one space, trimmed; controls dropped.
fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(|c: char| c.is_whitespace() || c == '\u{0}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Office files

/// Entries an Office zip may have.
const MAX_ZIP_ENTRIES: usize = 10_000;
/// The most one XML part may inflate to.
const MAX_PART_BYTES: u64 = 64 * 1024 * 1024;
/// The most all parts read from one file may inflate to, together.
const MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;
/// Worksheets read from one workbook.
const MAX_SHEETS: usize = 64;
/// Characters of text kept from one Office file.
const MAX_OFFICE_CHARS: usize = 8 * 1024 * 1024;

/// The paragraphs of an Office document (by its sniffed kind: "docx", "odt", "xlsx"), one line
/// each (a manual line break splits a paragraph). A .docx page break starts the next page; an
/// .xlsx sheet is a page, a row a line (cells joined with a space).
///
/// # Errors
/// [`ReadError::Unsupported`] for another kind, [`ReadError::Damaged`] for a broken zip or XML,
/// [`ReadError::TooLarge`] for a zip bomb (too many entries, or a part that inflates too far).
pub fn office(bytes: &[u8], kind: &str) -> Result<Vec<Line>, ReadError> {
    let mut zip = Zip::open(bytes)?;
    match kind {
        "docx" => {
            let xml = zip.part("word/document.xml")?.ok_or_else(|| damaged("no word/document.xml"))?;
            paragraphs(&xml, &WORD)
        }
        "odt" => {
            let xml = zip.part("content.xml")?.ok_or_else(|| damaged("no content.xml"))?;
            paragraphs(&xml, &ODF)
        }
        "xlsx" => workbook(&mut zip),
        _ => Err(ReadError::Unsupported),
    }
}

fn damaged(why: impl std::fmt::Display) -> ReadError {
    ReadError::Damaged(why.to_string())
}

struct Zip<'a> {
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
    read_so_far: u64,
}

impl<'a> Zip<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, ReadError> {
        let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;
        if archive.len() > MAX_ZIP_ENTRIES {
            return Err(ReadError::TooLarge(format!("{} zip entries", archive.len())));
        }
        Ok(Self { archive, read_so_far: 0 })
    }

    /// One part, inflated within the bounds whatever its header claims; `None` if absent.
    fn part(&mut self, name: &str) -> Result<Option<Vec<u8>>, ReadError> {
        let mut file = match self.archive.by_name(name) {
            Ok(file) => file,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(err) => return Err(damaged(err)),
        };
        let budget = MAX_PART_BYTES.min(MAX_TOTAL_BYTES.saturating_sub(self.read_so_far));
        if file.size() > budget {
            return Err(ReadError::TooLarge(format!("{name} inflates to {} bytes", file.size())));
        }
        let mut out = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0).min(1 << 20));
        (&mut file).take(budget + 1).read_to_end(&mut out).map_err(damaged)?;
        let read = out.len() as u64;
        if read > budget {
            return Err(ReadError::TooLarge(format!("{name} inflates past {budget} bytes")));
        }
        self.read_so_far += read;
        Ok(Some(out))
    }

    fn names(&self) -> Vec<String> {
        self.archive.file_names().filter_map(|n| n.ok().map(std::borrow::Cow::into_owned)).collect()
    }
}

/// The element names a paragraph format uses (local names, without the prefix).
struct Dialect {
    /// Elements that make a line.
    paragraph: &'static [&'static [u8]],
    /// Elements whose text is the paragraph's.
    text: &'static [u8],
    /// Elements whose content is skipped (deleted text, field codes, alternate renderings, notes).
    skip: &'static [&'static [u8]],
    tab: &'static [u8],
    line_break: &'static [u8],
    /// ODF's `<text:s text:c="n"/>`: n spaces.
    space: Option<&'static [u8]>,
    /// Whether `text` holds the text directly (Word's `w:t`) or any text inside a paragraph
    /// counts (ODF writes text straight into `text:p` and `text:span`).
    only_in_text: bool,
}

const WORD: Dialect = Dialect {
    paragraph: &[b"p"],
    text: b"t",
    skip: &[b"delText", b"instrText", b"Fallback", b"del", b"footnoteReference", b"rPh"],
    tab: b"tab",
    line_break: b"br",
    space: None,
    only_in_text: true,
};

const ODF: Dialect = Dialect {
    paragraph: &[b"p", b"h"],
    text: b"p",
    skip: &[b"tracked-changes", b"annotation", b"note-citation", b"bookmark-ref"],
    tab: b"tab",
    line_break: b"line-break",
    space: Some(b"s"),
    only_in_text: false,
};

/// Paragraphs of a Word or ODF body. A paragraph nested in another (a text box) becomes its own
/// line, before the rest of the outer one.
fn paragraphs(xml: &[u8], dialect: &Dialect) -> Result<Vec<Line>, ReadError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    let mut page = 1u32;
    let mut skipping = 0usize;
    let mut in_text = 0usize;
    let mut chars = 0usize;
    let push_line = |text: &str, page: u32, lines: &mut Vec<Line>| {
        let text = collapse_spaces(text);
        if !text.is_empty() {
            lines.push(Line { text, page, confidence: 1.0 });
        }
    };
    loop {
        let event = reader.read_event_into(&mut buf).map_err(damaged)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name();
                let name = name.as_ref();
                if skipping > 0 || dialect.skip.contains(&name) {
                    if !empty {
                        skipping += 1;
                    }
                } else if dialect.paragraph.contains(&name) {
                    if !empty {
                        if open.len() > 64 {
                            return Err(damaged("paragraphs nested too deep"));
                        }
                        open.push(String::new());
                    }
                } else if name == dialect.text && dialect.only_in_text {
                    if !empty {
                        in_text += 1;
                    }
                } else if let Some(current) = open.last_mut() {
                    if name == dialect.tab {
                        current.push('\t');
                    } else if name == dialect.line_break {
                        let page_break = e
                            .attributes()
                            .flatten()
                            .any(|a| a.key.local_name().as_ref() == b"type" && &*a.value == b"page");
                        let text = std::mem::take(current);
                        push_line(&text, page, &mut lines);
                        if page_break {
                            page += 1;
                        }
                    } else if Some(name) == dialect.space {
                        let n = e
                            .attributes()
                            .flatten()
                            .find(|a| a.key.local_name().as_ref() == b"c")
                            .and_then(|a| std::str::from_utf8(&a.value).ok()?.parse::<usize>().ok())
                            .unwrap_or(1);
                        current.push_str(&" ".repeat(n.min(64)));
                    }
                }
            }
            Event::End(ref e) => {
                let name = e.local_name();
                let name = name.as_ref();
                if skipping > 0 {
                    skipping -= 1;
                } else if dialect.paragraph.contains(&name) {
                    if let Some(text) = open.pop() {
                        push_line(&text, page, &mut lines);
                    }
                } else if name == dialect.text && dialect.only_in_text {
                    in_text = in_text.saturating_sub(1);
                }
            }
            Event::Text(ref t) if skipping == 0 && (in_text > 0 || !dialect.only_in_text) => {
                if let Some(current) = open.last_mut() {
                    let text = t.decode().map_err(damaged)?;
                    chars += text.len();
                    if dialect.only_in_text {
                        current.push_str(&text);
                    } else {
                        // ODF collapses white space: a newline inside a paragraph is a space.
                        current.push_str(&text.replace(['\n', '\r', '\t'], " "));
                    }
                }
            }
            Event::CData(ref t) if skipping == 0 && (in_text > 0 || !dialect.only_in_text) => {
                if let Some(current) = open.last_mut() {
                    let text = t.decode().map_err(damaged)?;
                    chars += text.len();
                    current.push_str(&text);
                }
            }
            Event::GeneralRef(ref r) if skipping == 0 && (in_text > 0 || !dialect.only_in_text) => {
                if let Some(current) = open.last_mut() {
                    current.push_str(&entity(r)?);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        if chars > MAX_OFFICE_CHARS {
            return Err(ReadError::TooLarge("text over the budget".into()));
        }
        buf.clear();
    }
    Ok(lines)
}

/// `&amp;` and `&#x4E00;`; an unknown entity is dropped (quick-xml never expands a DTD's).
fn entity(r: &quick_xml::events::BytesRef<'_>) -> Result<String, ReadError> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Ok(c.to_string());
    }
    let name = r.decode().map_err(damaged)?;
    Ok(quick_xml::escape::resolve_predefined_entity(&name).unwrap_or("").to_owned())
}

/// An .xlsx: the shared strings, then every sheet in name order, one line per row.
fn workbook(zip: &mut Zip<'_>) -> Result<Vec<Line>, ReadError> {
    let shared = match zip.part("xl/sharedStrings.xml")? {
        Some(xml) => shared_strings(&xml)?,
        None => Vec::new(),
    };
    let mut sheets: Vec<(u32, String)> = zip
        .names()
        .into_iter()
        .filter_map(|n| {
            let number = n.strip_prefix("xl/worksheets/sheet")?.strip_suffix(".xml")?.parse().ok()?;
            Some((number, n))
        })
        .collect();
    sheets.sort();
    let mut lines = Vec::new();
    for (page, (_, name)) in (1u32..).zip(sheets.into_iter().take(MAX_SHEETS)) {
        if let Some(xml) = zip.part(&name)? {
            sheet_rows(&xml, &shared, page, &mut lines)?;
        }
    }
    Ok(lines)
}

fn shared_strings(xml: &[u8]) -> Result<Vec<String>, ReadError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let (mut in_t, mut in_phonetic) = (false, false);
    let mut chars = 0usize;
    loop {
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            Event::Start(e) => match e.local_name().as_ref() {
                b"si" => current = Some(String::new()),
                b"t" => in_t = true,
                b"rPh" => in_phonetic = true,
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == b"si" => out.push(String::new()),
            Event::End(e) => match e.local_name().as_ref() {
                b"si" => out.push(current.take().unwrap_or_default()),
                b"t" => in_t = false,
                b"rPh" => in_phonetic = false,
                _ => {}
            },
            Event::Text(t) if in_t && !in_phonetic => {
                if let Some(s) = current.as_mut() {
                    let text = t.decode().map_err(damaged)?;
                    chars += text.len();
                    s.push_str(&text);
                }
            }
            Event::GeneralRef(r) if in_t && !in_phonetic => {
                if let Some(s) = current.as_mut() {
                    s.push_str(&entity(&r)?);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        if chars > MAX_OFFICE_CHARS {
            return Err(ReadError::TooLarge("shared strings over the budget".into()));
        }
        buf.clear();
    }
    Ok(out)
}

fn sheet_rows(xml: &[u8], shared: &[String], page: u32, lines: &mut Vec<Line>) -> Result<(), ReadError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut cell_type: Vec<u8> = Vec::new();
    let mut value = String::new();
    let (mut in_value, mut in_inline) = (false, false);
    let mut chars = 0usize;
    loop {
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            Event::Start(e) => match e.local_name().as_ref() {
                b"row" => row.clear(),
                b"c" => {
                    cell_type = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"t")
                        .map(|a| a.value.to_vec())
                        .unwrap_or_default();
                    value.clear();
                }
                b"v" => in_value = true,
                b"t" if cell_type == b"inlineStr" => in_inline = true,
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                b"row" => {
                    let text = collapse_spaces(&row.join(" "));
                    if !text.is_empty() {
                        lines.push(Line { text, page, confidence: 1.0 });
                    }
                    row.clear();
                }
                b"c" => {
                    let text = if cell_type == b"s" {
                        value
                            .trim()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| shared.get(i))
                            .cloned()
                            .unwrap_or_default()
                    } else {
                        std::mem::take(&mut value)
                    };
                    if !text.trim().is_empty() && row.len() < 16_384 {
                        chars += text.len();
                        row.push(text);
                    }
                    value.clear();
                }
                b"v" => in_value = false,
                b"t" => in_inline = false,
                _ => {}
            },
            Event::Text(t) if in_value || in_inline => value.push_str(&t.decode().map_err(damaged)?),
            Event::GeneralRef(r) if in_value || in_inline => value.push_str(&entity(&r)?),
            Event::Eof => break,
            _ => {}
        }
        if chars > MAX_OFFICE_CHARS || value.len() > MAX_OFFICE_CHARS {
            return Err(ReadError::TooLarge("sheet text over the budget".into()));
        }
        buf.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::io::Write as _;

    use lopdf::{Document, Object, Stream, dictionary};

    use super::*;

    /// A Type0 font (Identity-H) whose ToUnicode map gives each character of `chars` the code
    /// of its position (from 1), as LibreOffice's subset fonts do; `pua` maps them to the
    /// private-use area instead, as a font without a real map does.
    fn cid_font(doc: &mut Document, chars: &[char], pua: bool) -> ObjectId {
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let _ = writeln!(cmap, "{} beginbfchar", chars.len());
        for (k, c) in chars.iter().enumerate() {
            let target = if pua { 0xe000 + k as u32 } else { u32::from(*c) };
            let mut utf16 = [0u16; 2];
            let mut hex = String::new();
            for unit in char::from_u32(target).unwrap().encode_utf16(&mut utf16) {
                let _ = write!(hex, "{unit:04X}");
            }
            let _ = writeln!(cmap, "<{:04X}> <{hex}>", k + 1);
        }
        cmap.push_str("endbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        let to_unicode = doc.add_object(Stream::new(dictionary! {}, cmap.into_bytes()));
        let descendant = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "CIDFontType2", "BaseFont" => "Song",
            "CIDSystemInfo" => dictionary! { "Registry" => Object::string_literal("Adobe"), "Ordering" => Object::string_literal("Identity"), "Supplement" => 0 },
            "DW" => 1000,
            // ASCII sorts first, so codes 1..=n are the half-width characters.
            "W" => vec![Object::Integer(1), Object::Array(vec![500.into(); chars.iter().filter(|c| c.is_ascii()).count().max(1)])],
        });
        doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "Song", "Encoding" => "Identity-H",
            "DescendantFonts" => vec![descendant.into()], "ToUnicode" => to_unicode,
        })
    }

    /// One run of text: where, how large, what.
    struct Run<'a> {
        x: f64,
        y: f64,
        size: f64,
        text: &'a str,
    }

    fn hex_codes(chars: &[char], text: &str) -> String {
        let mut hex = String::new();
        for c in text.chars() {
            let _ = write!(hex, "{:04X}", chars.iter().position(|k| *k == c).expect("char in font") + 1);
        }
        hex
    }

    /// A PDF whose pages show `runs` each in its own `BT … Td … Tj ET`, as LibreOffice writes
    /// them; `prefix` goes before each page's runs (a `cm`, say).
    fn pdf(pages: &[(&str, Vec<Run<'_>>)], pua: bool) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let mut chars: Vec<char> =
            pages.iter().flat_map(|(_, runs)| runs.iter().flat_map(|r| r.text.chars())).collect();
        chars.sort_unstable();
        chars.dedup();
        let font = cid_font(&mut doc, &chars, pua);
        let pages_id = doc.new_object_id();
        let mut kids = Vec::new();
        for (prefix, runs) in pages {
            let mut content = String::from(*prefix);
            for r in runs {
                let _ = write!(
                    content,
                    "\nq BT {} {} Td /F1 {} Tf <{}> Tj ET Q",
                    r.x,
                    r.y,
                    r.size,
                    hex_codes(&chars, r.text)
                );
            }
            let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
            let page = doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
            });
            kids.push(page.into());
        }
        let count = kids.len() as i64;
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).expect("save");
        out
    }

    fn texts(page: Option<&Vec<Line>>) -> Vec<&str> {
        page.expect("a text layer").iter().map(|l| l.text.as_str()).collect()
    }

    fn notice_runs() -> Vec<Run<'static>> {
        vec![
            Run { x: 88.0, y: 700.0, size: 30.0, text: "平顶山市市场监督管理局文件" },
            // 文号 in five runs, as LibreOffice splits it by font.
            Run { x: 225.6, y: 615.0, size: 16.0, text: "平市监〔" },
            Run { x: 289.6, y: 615.0, size: 16.0, text: "2021" },
            Run { x: 321.6, y: 615.0, size: 16.0, text: "〕" },
            Run { x: 337.6, y: 615.0, size: 16.0, text: "12" },
            Run { x: 353.6, y: 615.0, size: 16.0, text: "号" },
            Run { x: 85.0, y: 555.0, size: 22.0, text: "关于开展质量提升行动的通知" },
            Run { x: 79.5, y: 500.0, size: 16.0, text: "各有关单位：" },
            // The body line's second half, drawn first (producers need not draw in order).
            Run { x: 207.5, y: 472.0, size: 16.0, text: "开展质量提升行动。" },
            Run { x: 111.5, y: 472.0, size: 16.0, text: "经研究决定，" },
        ]
    }

    #[test]
    fn runs_are_regrouped_into_lines_in_reading_order() {
        let pages = pdf_layer(&pdf(&[("", notice_runs())], false), 10).expect("read");
        assert_eq!(pages.len(), 1);
        assert_eq!(
            texts(pages[0].as_ref()),
            [
                "平顶山市市场监督管理局文件",
                "平市监〔2021〕12号",
                "关于开展质量提升行动的通知",
                "各有关单位：",
                "经研究决定，开展质量提升行动。"
            ]
        );
        let line = &pages[0].as_ref().expect("layer")[1];
        assert_eq!((line.page, line.confidence), (1, 1.0));
    }

    #[test]
    fn the_fields_come_out_of_a_layer() {
        let pages = pdf_layer(&pdf(&[("", notice_runs())], false), 10).expect("read");
        let lines: Vec<Line> = pages.into_iter().flatten().flatten().collect();
        let f = crate::fields::extract(&lines);
        assert_eq!(f.doc_number.map(|f| f.value).as_deref(), Some("平市监〔2021〕12号"));
        assert_eq!(f.issuer.map(|f| f.value).as_deref(), Some("平顶山市市场监督管理局"));
    }

    #[test]
    fn a_wide_gap_is_a_space_and_latin_words_keep_theirs() {
        let runs = vec![
            Run { x: 80.0, y: 100.0, size: 14.0, text: "平顶山市商务局办公室" },
            Run { x: 380.0, y: 100.0, size: 14.0, text: "2021年3月5日印发" },
            Run { x: 80.0, y: 700.0, size: 16.0, text: "ISO" },
            Run { x: 116.0, y: 700.0, size: 16.0, text: "9001" },
            Run { x: 156.0, y: 700.0, size: 16.0, text: "质量管理体系认证" },
        ];
        let pages = pdf_layer(&pdf(&[("", runs)], false), 10).expect("read");
        assert_eq!(
            texts(pages[0].as_ref()),
            ["ISO 9001 质量管理体系认证", "平顶山市商务局办公室 2021年3月5日印发"]
        );
    }

    #[test]
    fn faux_bold_is_read_once_and_a_letter_spaced_header_stays_one_word() {
        let runs = vec![
            Run { x: 100.0, y: 700.0, size: 30.0, text: "平" },
            Run { x: 100.5, y: 700.0, size: 30.0, text: "平" },
            Run { x: 145.0, y: 700.0, size: 30.0, text: "顶" },
            Run { x: 145.5, y: 700.0, size: 30.0, text: "顶" },
            Run { x: 190.0, y: 700.0, size: 30.0, text: "山" },
            Run { x: 100.0, y: 600.0, size: 16.0, text: "正文内容" },
        ];
        let pages = pdf_layer(&pdf(&[("", runs)], false), 10).expect("read");
        assert_eq!(texts(pages[0].as_ref()), ["平顶山", "正文内容"]);
    }

    #[test]
    fn a_page_turned_by_its_content_reads_in_its_own_direction() {
        // The whole page drawn through a quarter turn (a landscape table set on a portrait page).
        let pages = pdf_layer(&pdf(&[("0 1 -1 0 595 0 cm", notice_runs())], false), 10).expect("read");
        assert_eq!(texts(pages[0].as_ref())[1], "平市监〔2021〕12号");
        assert_eq!(texts(pages[0].as_ref()).len(), 5);
    }

    #[test]
    fn scanned_private_use_and_blank_pages_have_no_layer() {
        let pua = pdf_layer(&pdf(&[("", notice_runs())], true), 10).expect("read");
        assert_eq!(pua, vec![None]);
        let blank = pdf_layer(&pdf(&[("", vec![])], false), 10).expect("read");
        assert_eq!(blank, vec![None]);
        // A scan with a stamped page number over it.
        let mut doc = Document::load_mem(&pdf(
            &[("", vec![Run { x: 280.0, y: 30.0, size: 12.0, text: "平顶山市商务局" }])],
            false,
        ))
        .expect("load");
        let image = doc.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 1, "Height" => 1, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
            vec![255],
        ));
        let page_id = doc.get_pages()[&1];
        let page = doc.get_dictionary_mut(page_id).expect("page");
        let mut resources = page.get(b"Resources").expect("resources").as_dict().expect("dict").clone();
        resources.set("XObject", dictionary! { "Im0" => image });
        page.set("Resources", resources);
        doc.add_page_contents(page_id, b"q 595 0 0 842 0 0 cm /Im0 Do Q".to_vec()).expect("content");
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).expect("save");
        assert_eq!(pdf_layer(&bytes, 10).expect("read"), vec![None]);
    }

    #[test]
    fn pages_past_the_bound_are_not_read() {
        let page = |t: &'static str| ("", vec![Run { x: 80.0, y: 700.0, size: 16.0, text: t }]);
        let bytes =
            pdf(&[page("第一页的正文内容"), page("第二页的正文内容"), page("第三页的正文内容")], false);
        let pages = pdf_layer(&bytes, 2).expect("read");
        assert_eq!(pages.len(), 2);
        assert_eq!(texts(pages[1].as_ref()), ["第二页的正文内容"]);
        assert_eq!(pages[1].as_ref().expect("layer")[0].page, 2);
    }

    #[test]
    fn a_form_xobject_is_read_and_a_self_drawing_form_ends() {
        let mut doc = Document::load_mem(&pdf(&[("", notice_runs())], false)).expect("load");
        let page_id = doc.get_pages()[&1];
        // Move the page's content into a form that also draws itself.
        let content = doc.get_page_content(page_id);
        let resources = doc.get_dictionary(page_id).expect("page").get(b"Resources").expect("res").clone();
        let form_id = doc.new_object_id();
        let mut body = content.clone();
        body.extend_from_slice(b"\n/Fm0 Do");
        let mut form_resources = resources.as_dict().expect("dict").clone();
        form_resources.set("XObject", dictionary! { "Fm0" => form_id });
        let form = Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()], "Resources" => form_resources.clone() },
            body,
        );
        doc.objects.insert(form_id, Object::Stream(form));
        let new_content = doc.add_object(Stream::new(dictionary! {}, b"/Fm0 Do".to_vec()));
        let page = doc.get_dictionary_mut(page_id).expect("page");
        page.set("Contents", new_content);
        page.set("Resources", form_resources);
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).expect("save");
        let pages = pdf_layer(&bytes, 10).expect("read");
        // The form drew itself eight deep: the same glyphs in the same places, read once.
        assert_eq!(texts(pages[0].as_ref())[1], "平市监〔2021〕12号");
    }

    #[test]
    fn an_encrypted_pdf_needs_its_password() {
        use lopdf::{EncryptionState, EncryptionVersion, Permissions};
        let encrypt = |user: &str| {
            let mut doc = Document::load_mem(&pdf(&[("", notice_runs())], false)).expect("load");
            let id = Object::String(b"0123456789abcdef".to_vec(), lopdf::StringFormat::Hexadecimal);
            doc.trailer.set("ID", vec![id.clone(), id]);
            let version = EncryptionVersion::V2 {
                document: &doc,
                owner_password: "owner",
                user_password: user,
                key_length: 128,
                permissions: Permissions::PRINTABLE,
            };
            let state = EncryptionState::try_from(version).expect("state");
            doc.encrypt(&state).expect("encrypt");
            let mut bytes = Vec::new();
            doc.save_to(&mut bytes).expect("save");
            bytes
        };
        assert!(matches!(pdf_layer(&encrypt("secret"), 10), Err(ReadError::Encrypted)));
        // Encrypted only against changes (no user password): anyone can open it, so it is read.
        let open = pdf_layer(&encrypt(""), 10).expect("read");
        assert_eq!(texts(open[0].as_ref())[1], "平市监〔2021〕12号");
    }

    fn deep(depth: usize) -> Vec<u8> {
        let mut s = Vec::with_capacity(depth * 2);
        s.extend(std::iter::repeat_n(b'[', depth));
        s.extend(std::iter::repeat_n(b']', depth));
        s
    }

    #[test]
    fn arrays_nested_100000_deep_do_not_overflow_the_stack() {
        let base = pdf(&[("", notice_runs())], false);
        // In the page's resources, as an object of its own.
        let text = String::from_utf8_lossy(&base).into_owned();
        let resources = text.find("/Resources").expect("resources");
        let at = resources + text[resources..].find("<<").expect("a dictionary") + 2;
        let mut bytes = base[..at].to_vec();
        bytes.extend_from_slice(b" /Deep ");
        bytes.extend(deep(100_000));
        bytes.extend_from_slice(&base[at..]);
        let _ = pdf_layer(&bytes, 10);
        // In the content stream, as the operand of TJ.
        let mut doc = Document::load_mem(&base).expect("load");
        let page_id = doc.get_pages()[&1];
        let mut content = b"BT /F1 12 Tf 10 10 Td ".to_vec();
        content.extend(deep(100_000));
        content.extend_from_slice(b" TJ ET");
        doc.add_page_contents(page_id, content).expect("content");
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).expect("save");
        let _ = pdf_layer(&bytes, 10);
        // And as a whole file of brackets.
        let mut bytes = b"%PDF-1.7\n1 0 obj\n".to_vec();
        bytes.extend(deep(100_000));
        bytes.extend_from_slice(b"\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
        let _ = pdf_layer(&bytes, 10);
    }

    #[test]
    fn truncated_and_garbage_pdfs_fail_cleanly() {
        let base = pdf(&[("", notice_runs())], false);
        for cut in [0, 10, 100, base.len() / 3, base.len() / 2, base.len() - 40, base.len() - 1] {
            let _ = pdf_layer(&base[..cut], 10);
        }
        let mut flipped = base.clone();
        for k in (200..flipped.len()).step_by(97) {
            flipped[k] ^= 0x5a;
        }
        let _ = pdf_layer(&flipped, 10);
        assert!(pdf_layer(b"not a pdf at all", 10).is_err());
    }

    fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in parts {
            zip.start_file(*name, zip::write::SimpleFileOptions::default()).expect("start");
            zip.write_all(data).expect("write");
        }
        zip.finish().expect("finish").into_inner()
    }

    fn line_texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn docx_paragraphs_runs_breaks_and_text_boxes() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">
<w:body>
<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="420"/></w:tabs></w:pPr><w:r><w:t>秘密★1年</w:t></w:r></w:p>
<w:p><w:r><w:rPr><w:color w:val="FF0000"/></w:rPr><w:t>平顶山市市场</w:t></w:r><w:r><w:t>监督管理局文件</w:t></w:r></w:p>
<w:p><w:r><w:t>平市监〔</w:t></w:r><w:r><w:t>2021</w:t></w:r><w:r><w:t>〕12号</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">关于开展 </w:t></w:r><w:r><w:br/><w:t>质量提升行动的通知</w:t></w:r></w:p>
<w:p><w:r><w:t>A &amp; B &#x4E00;</w:t></w:r><w:del><w:r><w:delText>删掉的字</w:delText></w:r></w:del><w:r><w:instrText>PAGE</w:instrText></w:r></w:p>
<w:p><w:r><mc:AlternateContent><mc:Choice><w:drawing><w:txbxContent><w:p><w:r><w:t>文本框里的字</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>文本框里的字</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r><w:r><w:t>外面的字</w:t></w:r></w:p>
<w:p><w:r><w:br w:type="page"/><w:t>第二页</w:t></w:r></w:p>
<w:p/>
</w:body></w:document>"#;
        let bytes = zip_of(&[("word/document.xml", xml.as_bytes())]);
        let lines = office(&bytes, "docx").expect("docx");
        assert_eq!(
            line_texts(&lines),
            [
                "秘密★1年",
                "平顶山市市场监督管理局文件",
                "平市监〔2021〕12号",
                "关于开展",
                "质量提升行动的通知",
                "A & B 一",
                "文本框里的字",
                "外面的字",
                "第二页"
            ]
        );
        assert_eq!(lines.last().expect("line").page, 2);
        assert!(lines.iter().all(|l| (l.confidence - 1.0).abs() < f32::EPSILON));
    }

    #[test]
    fn odt_paragraphs_headings_and_spaces() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0">
<office:body><office:text>
<text:tracked-changes><text:changed-region><text:deletion><text:p>删掉的字</text:p></text:deletion></text:changed-region></text:tracked-changes>
<text:h text:outline-level="1">平顶山市商务局2021年度质量工作自评报告</text:h>
<text:p>一、<text:span>基本情况</text:span></text:p>
<text:p>ISO<text:s/>9001<text:s text:c="3"/>认证<text:tab/>完成<text:line-break/>第二行</text:p>
<text:p>外<draw:frame><draw:text-box><text:p>框内</text:p></draw:text-box></draw:frame>面</text:p>
<text:p><office:annotation><text:p>批注</text:p></office:annotation>正文</text:p>
</office:text></office:body></office:document-content>"#;
        let bytes = zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", xml.as_bytes()),
        ]);
        let lines = office(&bytes, "odt").expect("odt");
        assert_eq!(
            line_texts(&lines),
            [
                "平顶山市商务局2021年度质量工作自评报告",
                "一、基本情况",
                "ISO 9001 认证 完成",
                "第二行",
                "框内",
                "外面",
                "正文"
            ]
        );
    }

    #[test]
    fn xlsx_rows_with_shared_and_inline_strings() {
        let shared = r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>单位</t></si><si><r><t>平顶山市</t></r><r><t>商务局</t></r><rPh><t>ピン</t></rPh></si><si/></sst>"#;
        let sheet1 = r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>得分</t></is></c></row>
<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2"><v>98.5</v></c><c r="C2" t="s"><v>99</v></c></row>
<row r="3"><c r="A3" t="s"><v>2</v></c></row>
</sheetData></worksheet>"#;
        let sheet2 = r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row><c t="str"><v>合计</v></c></row></sheetData></worksheet>"#;
        let bytes = zip_of(&[
            ("xl/sharedStrings.xml", shared.as_bytes()),
            ("xl/worksheets/sheet10.xml", sheet2.as_bytes()),
            ("xl/worksheets/sheet2.xml", sheet1.as_bytes()),
        ]);
        let lines = office(&bytes, "xlsx").expect("xlsx");
        assert_eq!(line_texts(&lines), ["单位 得分", "平顶山市商务局 98.5", "合计"]);
        assert_eq!(lines[2].page, 2);
    }

    #[test]
    fn office_bombs_and_garbage_are_refused() {
        let zeros = vec![0u8; usize::try_from(MAX_PART_BYTES).expect("fits") + 1];
        let bomb = zip_of(&[("word/document.xml", &zeros)]);
        assert!(bomb.len() < 1_000_000, "deflate squeezes zeros");
        assert!(matches!(office(&bomb, "docx"), Err(ReadError::TooLarge(_))));

        let names: Vec<String> = (0..=MAX_ZIP_ENTRIES).map(|k| format!("f{k}")).collect();
        let parts: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        assert!(matches!(office(&zip_of(&parts), "docx"), Err(ReadError::TooLarge(_))));

        assert!(matches!(office(b"PK\x03\x04 broken", "docx"), Err(ReadError::Damaged(_))));
        assert!(matches!(office(&zip_of(&[("other.xml", b"<a/>")]), "docx"), Err(ReadError::Damaged(_))));
        assert!(matches!(
            office(&zip_of(&[("content.xml", b"<a><b></a>")]), "odt"),
            Err(ReadError::Damaged(_))
        ));
        assert!(matches!(office(&zip_of(&[("content.xml", b"<a/>")]), "pptx"), Err(ReadError::Unsupported)));
        // Paragraphs nested past any real document's depth.
        let mut nested = String::new();
        for _ in 0..200 {
            nested.push_str("<w:p>");
        }
        let bytes = zip_of(&[("word/document.xml", nested.as_bytes())]);
        assert!(office(&bytes, "docx").is_err());
    }

    #[test]
    fn matrices_compose_in_pdf_order() {
        let m = Matrix::translate(10.0, 0.0).then(Matrix([2.0, 0.0, 0.0, 2.0, 0.0, 0.0]));
        assert_eq!(m.apply(1.0, 1.0), (22.0, 2.0));
        assert_eq!(quarter_turn(1.0, 0.0, Matrix::IDENTITY), 0);
        assert_eq!(quarter_turn(0.0, 1.0, Matrix::IDENTITY), 1);
        assert_eq!(quarter_turn(1.0, 1.0, Matrix::IDENTITY), 4);
    }
}
