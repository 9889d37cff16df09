//! Downscaling a page row by row while it is decoded, so a page is never held expanded at its
//! source resolution (a 1-bit TIFF stays packed; only one output row of sums is kept), and the
//! test for a picture of only two grey levels.

use image::{DynamicImage, GenericImageView, RgbImage};

/// Box-filter downscaler fed one source row at a time, top to bottom.
pub(super) struct Shrinker {
    src_width: u32,
    src_height: u32,
    out: RgbImage,
    /// Output column of each source column.
    column: Vec<u32>,
    /// Source columns falling into each output column.
    column_weight: Vec<u32>,
    sums: Vec<u32>,
    rows_summed: u32,
    out_row: u32,
    histogram: [u64; 256],
    sample_step: u32,
    /// Fed grey rows (sums only in the first of each three slots).
    grey: bool,
}

impl Shrinker {
    pub(super) fn new(src_width: u32, src_height: u32, width: u32, height: u32) -> Self {
        let column: Vec<u32> =
            (0..src_width).map(|x| (u64::from(x) * u64::from(width) / u64::from(src_width)) as u32).collect();
        let mut column_weight = vec![0u32; width as usize];
        for &c in &column {
            column_weight[c as usize] += 1;
        }
        // About 512×512 samples for the grey-level histogram.
        let sample_step = (src_width.max(src_height) / 512).max(1);
        Self {
            src_width,
            src_height,
            out: RgbImage::new(width, height),
            column,
            column_weight,
            sums: vec![0; width as usize * 3],
            rows_summed: 0,
            out_row: 0,
            histogram: [0; 256],
            sample_step,
            grey: false,
        }
    }

    fn out_row_of(&self, y: u32) -> u32 {
        (u64::from(y) * u64::from(self.out.height()) / u64::from(self.src_height)) as u32
    }

    fn begin_row(&mut self, y: u32) {
        let target = self.out_row_of(y);
        if target != self.out_row {
            self.flush();
            self.out_row = target;
        }
        self.rows_summed += 1;
    }

    /// One source row of RGB bytes (`3 × src_width`).
    pub(super) fn push_rgb(&mut self, y: u32, row: &[u8]) {
        self.begin_row(y);
        self.grey = false;
        let sample = y.is_multiple_of(self.sample_step);
        for (x, p) in row.chunks_exact(3).take(self.src_width as usize).enumerate() {
            let c = self.column[x] as usize * 3;
            self.sums[c] += u32::from(p[0]);
            self.sums[c + 1] += u32::from(p[1]);
            self.sums[c + 2] += u32::from(p[2]);
            if sample && (x as u32).is_multiple_of(self.sample_step) {
                let luma = (u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8;
                self.histogram[luma as usize] += 1;
            }
        }
    }

    /// One source row of grey bytes (`src_width`).
    pub(super) fn push_grey(&mut self, y: u32, row: &[u8]) {
        self.begin_row(y);
        self.grey = true;
        let sample = y.is_multiple_of(self.sample_step);
        for (x, &v) in row.iter().take(self.src_width as usize).enumerate() {
            let c = self.column[x] as usize * 3;
            self.sums[c] += u32::from(v);
            if sample && (x as u32).is_multiple_of(self.sample_step) {
                self.histogram[usize::from(v)] += 1;
            }
        }
    }

    fn flush(&mut self) {
        if self.rows_summed == 0 || self.out_row >= self.out.height() {
            return;
        }
        let grey_only = self.grey;
        for (x, s) in self.sums.chunks_exact(3).enumerate() {
            let n = self.column_weight[x] * self.rows_summed;
            if n == 0 {
                continue;
            }
            let px = if grey_only {
                let v = ((s[0] + n / 2) / n) as u8;
                [v, v, v]
            } else {
                [((s[0] + n / 2) / n) as u8, ((s[1] + n / 2) / n) as u8, ((s[2] + n / 2) / n) as u8]
            };
            self.out.put_pixel(x as u32, self.out_row, image::Rgb(px));
        }
        self.sums.iter_mut().for_each(|s| *s = 0);
        self.rows_summed = 0;
    }

    /// The output, and whether the sampled source held only two grey levels.
    pub(super) fn finish(mut self) -> (RgbImage, bool) {
        self.flush();
        let two = histogram_two_level(&self.histogram);
        (self.out, two)
    }
}

/// Two grey levels far apart carry at least 99 % of the samples (and neither is empty).
fn histogram_two_level(histogram: &[u64; 256]) -> bool {
    let total: u64 = histogram.iter().sum();
    let mut levels: Vec<(u64, usize)> = histogram.iter().enumerate().map(|(v, &n)| (n, v)).collect();
    levels.sort_unstable_by(|a, b| b.cmp(a));
    let ((n1, v1), (n2, v2)) = (levels[0], levels[1]);
    total > 0 && n2 > 0 && v1.abs_diff(v2) >= 128 && (n1 + n2) * 100 >= total * 99
}

/// Whether a decoded picture holds only two grey levels (sampled on a grid of about 512×512).
pub(super) fn two_level(picture: &DynamicImage) -> bool {
    let (w, h) = picture.dimensions();
    let step = (w.max(h) / 512).max(1);
    let mut histogram = [0u64; 256];
    for y in (0..h).step_by(step as usize) {
        for x in (0..w).step_by(step as usize) {
            let p = picture.get_pixel(x, y).0;
            let luma = (u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8;
            histogram[luma as usize] += 1;
        }
    }
    histogram_two_level(&histogram)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_blocks_and_keeps_grey_grey() {
        // 4×4 source: left half black, right half white → 2×2 output.
        let mut s = Shrinker::new(4, 4, 2, 2);
        for y in 0..4 {
            s.push_grey(y, &[0, 0, 255, 255]);
        }
        let (out, two) = s.finish();
        assert_eq!(out.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(out.get_pixel(1, 1).0, [255, 255, 255]);
        assert!(two);
        let mut s = Shrinker::new(3, 1, 1, 1);
        s.push_rgb(0, &[255, 0, 0, 255, 0, 0, 0, 0, 0]);
        let (out, two) = s.finish();
        assert_eq!(out.get_pixel(0, 0).0, [170, 0, 0]);
        assert!(!two);
    }
}
