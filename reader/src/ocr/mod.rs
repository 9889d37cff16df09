//! Chinese OCR in pure Rust: the PP-OCR detection, orientation and recognition models (ONNX,
//! Apache-2.0, embedded in the binary or read from a folder) run with tract. Pages are read on their red channel, so
//! red headers and seals fade while black text stays.
//!
//! The pipeline follows RapidOCR 1.4.4 (`rapidocr_onnxruntime`), the Python reference for these
//! models: DB detection on the page scaled to at most `max_side` pixels, each line cut out and
//! straightened, turned over when the orientation model is sure it is upside down, recognised
//! (one line at a time: with tract a batch costs as much per column as single lines, and needs
//! no padding to its widest line), greedy CTC decoding; lines whose mean character probability
//! is below 0.5 are dropped.

mod classify;
mod detect;
mod models;
mod recognise;

use std::path::Path;

use image::{GrayImage, RgbImage};

use crate::ReadError;
use detect::Quad;
use models::Models;
pub use models::verify_folder;

/// One recognised text line, in page pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrLine {
    pub text: String,
    /// Mean character probability of the CTC decode (0..1).
    pub confidence: f32,
    /// `[x0, y0, x1, y1]`, the line's axis-aligned box.
    pub bbox: [f32; 4],
}

/// The detector's default limit on the long side of the page it looks at (RapidOCR's
/// `max_side_len`); larger pages are scaled down for detection only, lines are cut out of the
/// full page.
pub const DEFAULT_MAX_SIDE: u32 = 2000;
/// Pages with more pixels than this are refused (a 600-dpi A3 scan is 70 M).
const MAX_PIXELS: u64 = 100_000_000;
/// Lines read with a lower mean character probability are dropped (RapidOCR's `text_score`).
const MIN_CONFIDENCE: f32 = 0.5;
/// Boxes whose top-left corners are closer than this vertically are on the same line (RapidOCR's
/// `sorted_boxes`, at its 2,000-pixel working scale).
const SAME_LINE_PX: f32 = 10.0;

/// The loaded models; load once per worker process and reuse for every page.
pub struct Ocr {
    models: Models,
    max_side: u32,
}

impl Ocr {
    /// Parses and optimises the models (about a second of CPU): those in `folder`, or the
    /// embedded ones when there is none.
    pub fn load(folder: Option<&Path>) -> Result<Self, ReadError> {
        Ok(Self { models: Models::load(folder)?, max_side: DEFAULT_MAX_SIDE })
    }

    /// The same models with another limit on the long side the detector works at (clamped to
    /// 320..=4000; the default is [`DEFAULT_MAX_SIDE`]). Lower is faster and misses small text.
    #[must_use]
    pub fn with_max_side(mut self, max_side: u32) -> Self {
        self.max_side = max_side.clamp(320, 4000);
        self
    }

    /// The text lines of one page image, in reading order (top to bottom, left to right).
    pub fn read(&self, page: &RgbImage) -> Result<Vec<OcrLine>, ReadError> {
        let (w, h) = page.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        if u64::from(w) * u64::from(h) > MAX_PIXELS {
            return Err(ReadError::TooLarge(format!("page of {w}×{h} pixels for OCR")));
        }
        let gray = red_channel(page);
        let quads = reading_order(self.detect(&gray)?, w.max(h));
        let mut lines = Vec::new();
        for quad in quads {
            let Some(mut line) = recognise::crop_line(&gray, &quad) else {
                continue;
            };
            if self.upside_down(&line)? {
                line = recognise::turn_over(&line);
            }
            let (text, confidence) = self.recognise(&line)?;
            if confidence >= MIN_CONFIDENCE && !text.trim().is_empty() {
                lines.push(OcrLine { text, confidence, bbox: bounding_box(&quad) });
            }
        }
        Ok(lines)
    }

    /// Text line quads in page pixels.
    fn detect(&self, gray: &GrayImage) -> Result<Vec<Quad>, ReadError> {
        let (w, h) = gray.dimensions();
        let (dw, dh) = detect::input_size(w, h, self.max_side);
        let input = detect::input_tensor(gray, dw, dh);
        let (shape, map) = self.models.detect(input)?;
        if shape != [1, 1, dh as usize, dw as usize] {
            return Err(ReadError::Model(format!("detection output of shape {shape:?}")));
        }
        Ok(detect::boxes_from_map(&map, dw, dh, w, h))
    }

    /// Whether the orientation model is sure the line is upside down.
    fn upside_down(&self, line: &GrayImage) -> Result<bool, ReadError> {
        let input = recognise::batch_tensor(&[line], classify::WIDTH);
        let (shape, probs) = self.models.classify(input)?;
        if shape != [1, 2] {
            return Err(ReadError::Model(format!("orientation output of shape {shape:?}")));
        }
        Ok(classify::upside_down(&probs) == [true])
    }

    /// The line's text and confidence.
    fn recognise(&self, line: &GrayImage) -> Result<(String, f32), ReadError> {
        let width = recognise::bucket_width(ratio(line));
        let input = recognise::batch_tensor(&[line], width);
        let (shape, probs) = self.models.recognise(input)?;
        let &[1, steps, classes] = shape.as_slice() else {
            return Err(ReadError::Model(format!("recognition output of shape {shape:?}")));
        };
        if classes != self.models.dict.len() || steps == 0 {
            return Err(ReadError::Model(format!(
                "recognition output of shape {shape:?} for {} classes",
                self.models.dict.len()
            )));
        }
        Ok(recognise::ctc_decode(&probs, classes, &self.models.dict))
    }
}

/// The page as OCR sees it: its red channel alone. Black text stays dark while red ink (a red
/// header, a seal stamped over the date) turns pale, so seals no longer break the characters
/// under them; the red header itself is still read, as dark-enough pink on white. Where a seal's
/// ring hides the strokes beneath it (opaque ink, or a seal drawn over the text), the strokes
/// are bridged across it (`bridge_seal`). The models take three channels: the one made here is
/// repeated when the tensors are built.
pub fn red_channel(page: &RgbImage) -> GrayImage {
    let (w, h) = page.dimensions();
    let mut gray = GrayImage::from_vec(w, h, page.pixels().map(|p| p.0[0]).collect())
        .expect("one byte per pixel of the page");
    bridge_seal(page, &mut gray);
    gray
}

/// Red ink: red well above green and blue.
fn is_red(p: image::Rgb<u8>) -> bool {
    let [r, g, b] = p.0;
    r > 140 && i16::from(r) - i16::from(g.max(b)) > 80
}

/// Dark enough to be a stroke.
const STROKE: u8 = 128;

/// Across every run of red pixels no longer than a seal's ring is thick (about 2.5 mm of an A4
/// page's width), along a row or a column, with dark strokes on both sides: the run is a stroke
/// the ring covers, filled with the lighter of its two ends. Elsewhere red stays as the red
/// channel has it (a red header's strokes have paper on both sides, and stay).
fn bridge_seal(page: &RgbImage, gray: &mut GrayImage) {
    let (w, h) = page.dimensions();
    let max_run = (w.min(h) / 80).max(4) as usize;
    let red: Vec<bool> = page.pixels().map(|p| is_red(*p)).collect();
    if !red.iter().any(|&r| r) {
        return;
    }
    let source = gray.clone();
    let (w, h) = (w as usize, h as usize);
    let mut fill = |along: &dyn Fn(usize, usize) -> usize, lines: usize, length: usize| {
        for line in 0..lines {
            let mut i = 0;
            while i < length {
                if !red[along(line, i)] {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < length && red[along(line, i)] {
                    i += 1;
                }
                if start == 0 || i == length || i - start > max_run {
                    continue;
                }
                let (before, after) =
                    (source.as_raw()[along(line, start - 1)], source.as_raw()[along(line, i)]);
                if before < STROKE && after < STROKE {
                    let value = before.max(after);
                    for k in start..i {
                        let at = along(line, k);
                        let cell = &mut gray.as_mut()[at];
                        *cell = (*cell).min(value);
                    }
                }
            }
        }
    };
    fill(&|row, x| row * w + x, h, w);
    fill(&|column, y| y * w + column, w, h);
}

/// A line image's width ÷ height.
fn ratio(line: &GrayImage) -> f32 {
    line.width() as f32 / line.height().max(1) as f32
}

/// Top to bottom, then left to right among boxes on the same line (RapidOCR's `sorted_boxes`:
/// sorted by the top-left corner, then neighbours whose tops are within the tolerance swapped
/// into left-to-right order). The tolerance grows with pages larger than 2,000 pixels.
fn reading_order(mut quads: Vec<Quad>, long_side: u32) -> Vec<Quad> {
    let tolerance = SAME_LINE_PX * (long_side as f32 / DEFAULT_MAX_SIDE as f32).max(1.0);
    quads.sort_by(|a, b| a[0][1].total_cmp(&b[0][1]).then(a[0][0].total_cmp(&b[0][0])));
    for i in 0..quads.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            if (quads[j + 1][0][1] - quads[j][0][1]).abs() < tolerance && quads[j + 1][0][0] < quads[j][0][0]
            {
                quads.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
    quads
}

fn bounding_box(quad: &Quad) -> [f32; 4] {
    let xs = quad.iter().map(|p| p[0]);
    let ys = quad.iter().map(|p| p[1]);
    [
        xs.clone().fold(f32::MAX, f32::min),
        ys.clone().fold(f32::MAX, f32::min),
        xs.fold(f32::MIN, f32::max),
        ys.fold(f32::MIN, f32::max),
    ]
}

#[cfg(test)]
mod tests;
