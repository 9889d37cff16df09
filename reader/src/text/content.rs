//! Interpreting a page's content stream: the graphics and text state, forms drawn in place,
//! images' area counted, and every shown string placed as glyphs in page space with the text and
//! graphics matrices and the fonts' widths.

use std::collections::HashMap;
use std::rc::Rc;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object};

use super::fonts::{Font, FontCache};
use super::lines::{Glyph, is_cjk};
use super::{MAX_STREAM_BYTES, deref, number};

/// Content-stream operations interpreted per page (forms included).
const MAX_OPS_PER_PAGE: usize = 2_000_000;
/// Glyphs kept per page; more than any real page holds.
const MAX_GLYPHS_PER_PAGE: usize = 200_000;
/// How deep form XObjects may nest (a form drawing itself would otherwise loop).
const MAX_FORM_DEPTH: usize = 8;
/// Forms drawn per page, all depths together.
const MAX_FORMS_PER_PAGE: usize = 2_000;

/// An affine matrix `[a b c d e f]` in PDF's row-vector convention.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Matrix([f64; 6]);

impl Matrix {
    pub(super) const IDENTITY: Self = Self([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

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

pub(super) struct Interpreter<'a, 'c> {
    pub(super) doc: &'a Document,
    pub(super) fonts: &'c mut FontCache<'a>,
    pub(super) glyphs: Vec<Glyph>,
    pub(super) ops: usize,
    pub(super) forms: usize,
    /// The area covered by drawn images, in page units (a full-page scan covers the page).
    pub(super) image_area: f64,
}

impl<'a> Interpreter<'a, '_> {
    pub(super) fn content(
        &mut self,
        data: &[u8],
        resources: Option<&'a Dictionary>,
        ctm: Matrix,
        depth: usize,
    ) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_compose_in_pdf_order() {
        let m = Matrix::translate(10.0, 0.0).then(Matrix([2.0, 0.0, 0.0, 2.0, 0.0, 0.0]));
        assert_eq!(m.apply(1.0, 1.0), (22.0, 2.0));
        assert_eq!(quarter_turn(1.0, 0.0, Matrix::IDENTITY), 0);
        assert_eq!(quarter_turn(0.0, 1.0, Matrix::IDENTITY), 1);
        assert_eq!(quarter_turn(1.0, 1.0, Matrix::IDENTITY), 4);
    }
}
