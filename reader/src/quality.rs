//! Checks of a scanned page against DA/T 31-2017 (纸质档案数字化规范): effective resolution,
//! blank pages, skew, blur, too dark. Each finding names its page and the measured value; the
//! thresholds sit in one table that the configuration may change.
//!
//! Every check works on a downscaled grey copy: ink, background and skew at 100 dpi, the
//! Laplacian at 200 dpi, so a page costs the same whatever its source resolution.

use image::{DynamicImage, GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

use crate::pages::PageImage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// Value: the source's effective dpi.
    LowResolution,
    /// Decided by the reader from the text (a red header or seal) with [`red_share`] and the
    /// page's colour mode; value: the page's red share in percent.
    ColourLost,
    /// Value: ink in percent of the page.
    BlankPage,
    /// Value: degrees, positive = the content is turned counter-clockwise (as seen on screen).
    Skewed,
    /// Value: the sharpness (variance of the Laplacian of the inked tiles at 200 dpi).
    Blurred,
    /// Value: the background brightness, 0–255.
    TooDark,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    /// 1-based.
    pub page: u32,
    /// The measured value: dpi, share of ink, degrees, Laplacian variance, mean brightness.
    pub value: f32,
}

/// Every threshold in one place, with the rule each comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// DA/T 31-2017: at least 200 dpi (300 for small, dense or unclear text). A page is flagged
    /// below 95 % of this, so that a 200-dpi A4 scan placed on a Letter-size PDF page (195 dpi)
    /// passes.
    pub min_dpi: f32,
    /// DA/T 31-2017 asks for deskewed images; beyond this many degrees a page is flagged (the
    /// measure is good to about 0.1°; up to 2° the eye hardly notices).
    pub max_skew_degrees: f32,
    /// DA/T 31-2017 leaves blank pages out of the scan. A page is blank when less than this
    /// percentage of it is ink (60 levels darker than the local background): measured blank
    /// pages 0.000 %, a page with only the 版记 0.74 %, text pages 6.5–7.6 %; 0.1 sits well
    /// below the sparsest real page and above scanner dust.
    pub blank_ink_percent: f32,
    /// DA/T 31-2017 asks for clear images. Sharpness below this is blurred. Sharpness is the
    /// median variance of the Laplacian over inked 8 mm tiles at 200 dpi, measured on pages of
    /// rendered 3号 text: sharp 3,000–17,000 (grey, bilevel, turned, on grey paper), a 150-dpi
    /// page blown up to 200 dpi 1,700, a dark page (contrast × 0.38) 1,100; Gaussian blur of
    /// σ 1 px 500 (soft but clear), σ 2 px 50, σ 3 px 10. 150 flags σ 2 and worse.
    pub min_sharpness: f32,
    /// DA/T 31-2017 asks for a clean background. Below this background brightness (0–255) a page
    /// is too dark: white paper scans at 230–255, grey recycled paper about 200, a photo under
    /// poor light 120–160; under 110 text contrast is about halved.
    pub min_background: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_dpi: 200.0,
            max_skew_degrees: 2.0,
            blank_ink_percent: 0.1,
            min_sharpness: 150.0,
            min_background: 110.0,
        }
    }
}

/// A pixel is ink when this many levels darker than its local background.
const INK_CONTRAST: i32 = 60;
/// Side of the blocks whose 90th-percentile brightness is the local background, at 100 dpi (4 mm).
const BLOCK: u32 = 16;
/// Fewer ink pixels than this (at 100 dpi) give no reliable skew.
const MIN_SKEW_INK: usize = 400;
/// Largest skew looked for, in degrees.
const SKEW_RANGE: f32 = 6.0;
/// Side of the tiles over which the Laplacian is measured, at 200 dpi (8 mm).
const TILE: u32 = 64;
/// A tile counts for sharpness when at least this share of it (at 100 dpi) is ink.
const TILE_INK: f32 = 0.02;
/// Most tiles measured for sharpness (the median of 48 is stable; more only cost time).
const SHARPNESS_TILES: usize = 48;
/// Most ink points the skew's projection profile uses.
const SKEW_POINTS: usize = 30_000;

/// The findings of one page (1-based `page`), all but `colour_lost`, which needs the text.
pub fn check_page(image: &PageImage, page: u32, t: &Thresholds) -> Vec<Finding> {
    findings(image, page, t, &measure(image))
}

/// The findings of a page already measured.
pub fn findings(image: &PageImage, page: u32, t: &Thresholds, measures: &Measures) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut flag = |code, value| findings.push(Finding { code, page, value });
    if let Some(dpi) = image.source_dpi
        && dpi < 0.95 * t.min_dpi
    {
        flag(Code::LowResolution, dpi);
    }
    if measures.background < t.min_background {
        flag(Code::TooDark, measures.background);
    }
    if measures.ink_percent < t.blank_ink_percent {
        flag(Code::BlankPage, measures.ink_percent);
        return findings;
    }
    if let Some(skew) = measures.skew_degrees
        && skew.abs() > t.max_skew_degrees
    {
        flag(Code::Skewed, skew);
    }
    if let Some(sharpness) = measures.sharpness
        && sharpness < t.min_sharpness
    {
        flag(Code::Blurred, sharpness);
    }
    findings
}

/// What the checks measure on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Measures {
    /// Ink in percent of the page.
    pub ink_percent: f32,
    /// Median brightness of the local backgrounds (0–255).
    pub background: f32,
    /// Positive = counter-clockwise; `None` with too little ink.
    pub skew_degrees: Option<f32>,
    /// Variance of the Laplacian over inked tiles at 200 dpi; `None` without inked tiles.
    pub sharpness: Option<f32>,
}

/// The measures behind [`check_page`], for benches and the thresholds' evidence.
pub fn measure(page: &PageImage) -> Measures {
    let (dpi, picture, map) = ink_at_100(page);
    let at100 = dpi.min(100.0);
    let ink_count: u32 = map.block_ink.iter().sum();
    let ink_percent = map.percent();
    let skew_degrees = (ink_count as usize >= MIN_SKEW_INK).then(|| skew(&map.ink, map.width, map.height));
    let sharpness = if dpi > 210.0 {
        sharpness(&rescale(&picture, dpi, 200.0).into_rgb8(), &map, 200.0 / at100)
    } else {
        sharpness(&page.image, &map, dpi / at100)
    };
    Measures { ink_percent, background: map.background, skew_degrees, sharpness }
}

/// Ink in percent of the page, as [`Measures::ink_percent`], without the other measures.
pub fn ink_percent(page: &PageImage) -> f32 {
    ink_at_100(page).2.percent()
}

/// The page's dpi (200 when it does not say), the page as a picture, and its ink at 100 dpi.
fn ink_at_100(page: &PageImage) -> (f32, DynamicImage, InkMap) {
    let dpi = if page.dpi.is_finite() && page.dpi > 0.0 { page.dpi } else { 200.0 };
    let picture = DynamicImage::ImageRgb8(page.image.clone());
    let map = ink_map(&rescale(&picture, dpi, 100.0).into_luma8());
    (dpi, picture, map)
}

/// The page at `to` dpi when it is finer than that (never upscaled).
fn rescale(picture: &DynamicImage, from: f32, to: f32) -> DynamicImage {
    if from <= to * 1.05 {
        return picture.clone();
    }
    let w = ((picture.width() as f32 * to / from).round() as u32).max(1);
    let h = ((picture.height() as f32 * to / from).round() as u32).max(1);
    picture.thumbnail_exact(w, h)
}

impl InkMap {
    /// Ink in percent of the page.
    fn percent(&self) -> f32 {
        100.0 * self.block_ink.iter().sum::<u32>() as f32 / self.ink.len().max(1) as f32
    }
}

/// The ink of a page at 100 dpi.
struct InkMap {
    /// Pixels [`INK_CONTRAST`] darker than their block's background (the brightest of the 3×3
    /// blocks around, so a block inside a thick stroke still sees the paper).
    ink: Vec<bool>,
    width: u32,
    height: u32,
    blocks_wide: u32,
    /// Ink pixels in each [`BLOCK`]-sided block.
    block_ink: Vec<u32>,
    /// Median of the block backgrounds (their 90th-percentile brightness).
    background: f32,
}

fn ink_map(grey: &GrayImage) -> InkMap {
    let (w, h) = grey.dimensions();
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    let raw = grey.as_raw();
    let mut block_bg = vec![0u8; (bw * bh) as usize];
    let mut histogram = [0u32; 256];
    for by in 0..bh {
        for bx in 0..bw {
            histogram.fill(0);
            let (x0, y0) = (bx * BLOCK, by * BLOCK);
            let (x1, y1) = ((x0 + BLOCK).min(w), (y0 + BLOCK).min(h));
            // Every other pixel of every other row: the percentile does not need more.
            for y in (y0..y1).step_by(2) {
                let row = &raw[(y * w + x0) as usize..(y * w + x1) as usize];
                for &v in row.iter().step_by(2) {
                    histogram[usize::from(v)] += 1;
                }
            }
            block_bg[(by * bw + bx) as usize] = percentile(&histogram, 0.9);
        }
    }
    let mut sorted = block_bg.clone();
    sorted.sort_unstable();
    let background = sorted.get(sorted.len() / 2).map_or(255.0, |&v| f32::from(v));
    let mut local = vec![0u8; block_bg.len()];
    for by in 0..bh {
        for bx in 0..bw {
            let mut best = 0u8;
            for ny in by.saturating_sub(1)..(by + 2).min(bh) {
                for nx in bx.saturating_sub(1)..(bx + 2).min(bw) {
                    best = best.max(block_bg[(ny * bw + nx) as usize]);
                }
            }
            local[(by * bw + bx) as usize] = best;
        }
    }
    let mut ink = vec![false; raw.len()];
    let mut block_ink = vec![0u32; block_bg.len()];
    for y in 0..h as usize {
        let by = y / BLOCK as usize;
        for bx in 0..bw as usize {
            let limit = i32::from(local[by * bw as usize + bx]) - INK_CONTRAST;
            let (start, end) = (
                y * w as usize + bx * BLOCK as usize,
                y * w as usize + ((bx + 1) * BLOCK as usize).min(w as usize),
            );
            let mut count = 0;
            for i in start..end {
                if i32::from(raw[i]) < limit {
                    ink[i] = true;
                    count += 1;
                }
            }
            block_ink[by * bw as usize + bx] += count;
        }
    }
    InkMap { ink, width: w, height: h, blocks_wide: bw, block_ink, background }
}

fn percentile(histogram: &[u32; 256], q: f32) -> u8 {
    let total: u32 = histogram.iter().sum();
    let target = (total as f32 * q) as u32;
    let mut seen = 0;
    for (v, &n) in histogram.iter().enumerate() {
        seen += n;
        if seen > target {
            return v as u8;
        }
    }
    255
}

/// Skew by projection profile: the angle (±[`SKEW_RANGE`]°) whose sheared row histogram of the
/// ink is the most peaked (largest sum of squares), searched in 0.5° then 0.1° steps and refined
/// by a parabola through the best step and its neighbours. A line rising to the right (content
/// turned counter-clockwise) gives a positive angle.
fn skew(ink: &[bool], width: u32, height: u32) -> f32 {
    let mut points: Vec<(f32, f32)> = Vec::new();
    for (i, _) in ink.iter().enumerate().filter(|(_, v)| **v) {
        points.push(((i % width as usize) as f32, (i / width as usize) as f32));
    }
    // Enough points for a stable profile; more only cost time.
    let step = points.len().div_ceil(SKEW_POINTS).max(1);
    let points: Vec<(f32, f32)> = points.into_iter().step_by(step).collect();
    let margin = (width as f32 * (SKEW_RANGE.to_radians().tan()) + 2.0).ceil() as usize;
    let mut bins = vec![0u32; height as usize + 2 * margin];
    let mut score = |degrees: f32| -> f64 {
        bins.fill(0);
        let t = degrees.to_radians().tan();
        let offset = margin as f32 + 0.5;
        for &(x, y) in &points {
            // Non-negative by the margin; `as` truncates, so +0.5 rounds.
            let row = (y + x * t + offset) as usize;
            if let Some(bin) = bins.get_mut(row) {
                *bin += 1;
            }
        }
        bins.iter().map(|&c| f64::from(c) * f64::from(c)).sum()
    };
    let best_of = |from: f32, step: f32, count: i32, score: &mut dyn FnMut(f32) -> f64| {
        (0..count)
            .map(|k| from + step * k as f32)
            .map(|a| (a, score(a)))
            .fold((from, f64::MIN), |best, s| if s.1 > best.1 { s } else { best })
    };
    let (coarse, _) = best_of(-SKEW_RANGE, 0.5, 25, &mut score);
    let (fine, s0) = best_of(coarse - 0.5, 0.1, 11, &mut score);
    let fine = fine.clamp(-SKEW_RANGE, SKEW_RANGE);
    let (sm, sp) = (score(fine - 0.1), score(fine + 0.1));
    let curve = sm - 2.0 * s0 + sp;
    let offset = if curve < 0.0 { (0.5 * (sm - sp) / curve) as f32 * 0.1 } else { 0.0 };
    (fine + offset.clamp(-0.1, 0.1)).clamp(-SKEW_RANGE, SKEW_RANGE)
}

/// Median variance of the Laplacian (4-neighbour) over up to [`SHARPNESS_TILES`] inked tiles,
/// evenly spread, of the page at up to 200 dpi (`ratio` = its scale over the 100-dpi ink map).
/// Measuring only inked tiles keeps a sparse page (a 版记) as sharp as a full one.
fn sharpness(page: &RgbImage, map: &InkMap, ratio: f32) -> Option<f32> {
    let (w, h) = page.dimensions();
    let blocks_high = map.height.div_ceil(BLOCK);
    let mut inked_tiles = Vec::new();
    for ty in 0..h / TILE {
        for tx in 0..w / TILE {
            // The blocks of the ink map under the tile.
            let side = TILE as f32 / ratio;
            let (fx, fy) = ((tx * TILE) as f32 / ratio, (ty * TILE) as f32 / ratio);
            let (bx0, by0) = ((fx as u32 / BLOCK).min(map.blocks_wide), (fy as u32 / BLOCK).min(blocks_high));
            let bx1 = ((fx + side).ceil() as u32).div_ceil(BLOCK).min(map.blocks_wide);
            let by1 = ((fy + side).ceil() as u32).div_ceil(BLOCK).min(blocks_high);
            let mut inked = 0u32;
            for by in by0..by1 {
                for bx in bx0..bx1 {
                    inked += map.block_ink[(by * map.blocks_wide + bx) as usize];
                }
            }
            let area = ((bx1 - bx0) * (by1 - by0) * BLOCK * BLOCK).max(1);
            if inked as f32 >= TILE_INK * area as f32 {
                inked_tiles.push((tx, ty));
            }
        }
    }
    if inked_tiles.is_empty() {
        return None;
    }
    let step = inked_tiles.len().div_ceil(SHARPNESS_TILES);
    let raw = page.as_raw();
    let side = TILE as usize + 2;
    let mut luma = vec![0i32; side * side];
    let mut variances = Vec::new();
    for &(tx, ty) in inked_tiles.iter().step_by(step) {
        // The tile with a one-pixel border, in grey; edge tiles of the page shift inwards.
        let x0 = (tx * TILE).clamp(1, w.saturating_sub(TILE + 1)) as usize - 1;
        let y0 = (ty * TILE).clamp(1, h.saturating_sub(TILE + 1)) as usize - 1;
        if x0 + side > w as usize || y0 + side > h as usize {
            continue;
        }
        for y in 0..side {
            let row = &raw[((y0 + y) * w as usize + x0) * 3..((y0 + y) * w as usize + x0 + side) * 3];
            for (x, p) in row.chunks_exact(3).enumerate() {
                luma[y * side + x] =
                    (i32::from(p[0]) * 77 + i32::from(p[1]) * 150 + i32::from(p[2]) * 29) >> 8;
            }
        }
        let (mut sum, mut sq) = (0i64, 0i64);
        for y in 1..side - 1 {
            for x in 1..side - 1 {
                let c = y * side + x;
                let v = i64::from(luma[c - 1] + luma[c + 1] + luma[c - side] + luma[c + side] - 4 * luma[c]);
                sum += v;
                sq += v * v;
            }
        }
        let n = f64::from(TILE * TILE);
        let mean = sum as f64 / n;
        variances.push((sq as f64 / n - mean * mean) as f32);
    }
    if variances.is_empty() {
        return None;
    }
    variances.sort_unstable_by(f32::total_cmp);
    Some(variances[variances.len() / 2])
}

/// Channels of a clearly red pixel: red ink and seals, not skin, brown paper or JPEG fringes.
fn is_red(p: [u8; 3]) -> bool {
    let [r, g, b] = p.map(i32::from);
    r >= 120 && r - g >= 60 && r - b >= 50
}

/// Share (0–1) of clearly red pixels, sampled on a grid of about a million: colour red-header
/// pages measure 0.019–0.023; black text on white 0; a grey or bilevel scan 0 by construction.
pub fn red_share(image: &RgbImage) -> f32 {
    let (w, h) = image.dimensions();
    let total = u64::from(w) * u64::from(h);
    if total == 0 {
        return 0.0;
    }
    let step = ((total as f64 / 1_000_000.0).sqrt().ceil() as u32).max(1);
    let (mut red, mut seen) = (0u32, 0u32);
    for y in (0..h).step_by(step as usize) {
        for x in (0..w).step_by(step as usize) {
            seen += 1;
            if is_red(image.get_pixel(x, y).0) {
                red += 1;
            }
        }
    }
    red as f32 / seen.max(1) as f32
}

#[cfg(test)]
mod tests;
