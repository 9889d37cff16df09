//! Placed glyphs grouped into lines in reading order: the page's main direction kept, rows by
//! baseline, words spaced by the gaps between them.

/// One placed glyph in page space.
#[derive(Debug, Clone)]
pub(super) struct Glyph {
    pub(super) text: String,
    /// Start and end of the glyph along its baseline, and the baseline itself.
    pub(super) x0: f64,
    pub(super) x1: f64,
    pub(super) y: f64,
    pub(super) size: f64,
    /// The text direction, quarter turns counter-clockwise (0..4), or 4 for a slant.
    pub(super) turn: u8,
}

/// CJK ideographs, their punctuation and full-width forms: no spaces between these.
pub(super) fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x2e80..=0x2fdf | 0x3000..=0x303f | 0x3040..=0x30ff | 0x3100..=0x312f | 0x31c0..=0x31ef
        | 0x3200..=0x33ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff | 0xfe30..=0xfe4f
        | 0xff00..=0xffef | 0x2_0000..=0x3_ffff)
}

/// Glyphs → lines in reading order: the page's main text direction kept (glyphs across it, such
/// as a diagonal watermark, dropped), grouped by baseline, top to bottom, each line left to right.
pub(super) fn lines_from(glyphs: Vec<Glyph>) -> Vec<String> {
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
pub(super) fn collapse_spaces(s: &str) -> String {
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
