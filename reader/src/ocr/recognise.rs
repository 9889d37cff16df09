//! Line images and recognition: each detected quad cut out of the page and straightened, the
//! recogniser's input batches, and greedy CTC decoding (RapidOCR's `ch_ppocr_rec`).

use image::GrayImage;
use image::imageops::{self, FilterType};
use imageproc::geometric_transformations::{
    Border, Interpolation, Projection, rotate180, rotate270, warp_into,
};
use tract_onnx::prelude::{Tensor, tract_ndarray};

use super::detect::{Quad, dist};

/// The recogniser's input height.
pub(super) const HEIGHT: u32 = 48;
/// Narrower batches are padded to this width (PaddleOCR's `rec_img_shape` 3 × 48 × 320).
pub(super) const MIN_WIDTH: u32 = 320;
/// The widest line image fed to the recogniser: wider ones are squeezed. 80 × 48 columns is a
/// line of some 80 characters; the model's output for it is about 13 MB.
pub(super) const MAX_WIDTH: u32 = 80 * HEIGHT;

/// The line inside `quad`, straightened to a rectangle (RapidOCR's `get_rotate_crop_image`):
/// as wide as the quad's longer horizontal edge, as high as its longer vertical one, turned a
/// quarter counter-clockwise when it stands upright (a vertical line). `None` for a degenerate quad.
pub(super) fn crop_line(page: &GrayImage, quad: &Quad) -> Option<GrayImage> {
    let w = dist(quad[0], quad[1]).max(dist(quad[2], quad[3])) as u32;
    let h = dist(quad[0], quad[3]).max(dist(quad[1], quad[2])) as u32;
    if w == 0 || h == 0 || w > page.width().max(page.height()) * 2 {
        return None;
    }
    let from = quad.map(|[x, y]| (x, y));
    let (wf, hf) = (w as f32, h as f32);
    let to = [(0.0, 0.0), (wf, 0.0), (wf, hf), (0.0, hf)];
    let projection = Projection::from_control_points(from, to)?;
    let mut line = GrayImage::new(w, h);
    warp_into(page, projection, Interpolation::Bicubic, Border::Replicate, &mut line);
    if hf / wf >= 1.5 {
        line = rotate270(&line);
    }
    Some(line)
}

/// The line turned upside down (the orientation model said it was).
pub(super) fn turn_over(line: &GrayImage) -> GrayImage {
    rotate180(line)
}

/// Line images as one `[n, 3, 48, width]` tensor: each line scaled to the height
/// keeping its aspect (at most `width` wide), values -1..1, the rest padded with 0, the gray
/// channel repeated three times.
pub(super) fn batch_tensor(lines: &[&GrayImage], width: u32) -> Tensor {
    let (h, w) = (HEIGHT as usize, width as usize);
    let plane = h * w;
    let mut data = vec![0.0_f32; lines.len() * 3 * plane];
    for (i, line) in lines.iter().enumerate() {
        let ratio = line.width() as f32 / line.height().max(1) as f32;
        let resized_w = ((HEIGHT as f32 * ratio).ceil() as u32).clamp(1, width);
        let resized = imageops::resize(*line, resized_w, HEIGHT, FilterType::Triangle);
        let base = i * 3 * plane;
        for (x, y, p) in resized.enumerate_pixels() {
            let v = f32::from(p.0[0]) / 127.5 - 1.0;
            let at = y as usize * w + x as usize;
            for c in 0..3 {
                data[base + c * plane + at] = v;
            }
        }
    }
    tract_ndarray::Array4::from_shape_vec((lines.len(), 3, h, w), data)
        .expect("n × 3 planes of 48 × width values")
        .into()
}

/// The input width for a line of this aspect ratio (width ÷ height): its width at 48 pixels
/// high, at least 320 (PaddleOCR's `rec_img_shape`), rounded up to a multiple of 160 up to 1,920
/// and of 320 beyond, at most `MAX_WIDTH`. Few widths, few optimised plans; the rest is padding,
/// as in PaddleOCR's batches.
pub(super) fn bucket_width(ratio: f32) -> u32 {
    // max/min (not clamp) so that a NaN ratio gives the minimum.
    let natural = (HEIGHT as f32 * ratio).ceil().max(MIN_WIDTH as f32).min(MAX_WIDTH as f32) as u32;
    let step = if natural <= 1920 { 160 } else { 320 };
    natural.div_ceil(step).saturating_mul(step).min(MAX_WIDTH)
}

/// Greedy CTC decoding of one line's `[steps, classes]` probabilities: the best class at each
/// step, repeats merged, blanks (class 0) dropped; the confidence is the mean probability of
/// the characters kept (0 when none).
pub(super) fn ctc_decode(probs: &[f32], classes: usize, dict: &[String]) -> (String, f32) {
    let mut text = String::new();
    let (mut sum, mut kept) = (0.0_f32, 0_u32);
    let mut previous = usize::MAX;
    if classes == 0 {
        return (text, 0.0);
    }
    for step in probs.chunks_exact(classes) {
        let (best, p) = step
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |acc, (i, v)| if v > acc.1 { (i, v) } else { acc });
        if best != 0
            && best != previous
            && let Some(ch) = dict.get(best)
        {
            text.push_str(ch);
            sum += p;
            kept += 1;
        }
        previous = best;
    }
    let confidence = if kept == 0 { 0.0 } else { sum / kept as f32 };
    (text, confidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict() -> Vec<String> {
        ["blank", "平", "市", "监", " "].iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn ctc_merges_repeats_and_drops_blanks() {
        let classes = 5;
        // Steps: 平 平 blank 市 市 blank 市 监
        let best = [1, 1, 0, 2, 2, 0, 2, 3];
        let mut probs = vec![0.0_f32; best.len() * classes];
        for (t, &b) in best.iter().enumerate() {
            probs[t * classes + b] = if b == 0 { 0.9 } else { 0.8 };
        }
        let (text, conf) = ctc_decode(&probs, classes, &dict());
        assert_eq!(text, "平市市监");
        assert!((conf - 0.8).abs() < 1e-6);
    }

    #[test]
    fn ctc_of_all_blanks_is_empty_with_zero_confidence() {
        let probs = [1.0, 0.0, 0.0, 0.0, 0.0].repeat(6);
        assert_eq!(ctc_decode(&probs, 5, &dict()), (String::new(), 0.0));
        assert_eq!(ctc_decode(&[], 0, &dict()), (String::new(), 0.0));
    }

    #[test]
    fn widths_come_in_few_buckets() {
        assert_eq!(bucket_width(0.0), MIN_WIDTH);
        assert_eq!(bucket_width(f32::NAN), MIN_WIDTH);
        assert_eq!(bucket_width(2.0), MIN_WIDTH);
        assert_eq!(bucket_width(10.0), 480);
        assert_eq!(bucket_width(30.0), 1440);
        assert_eq!(bucket_width(30.1), 1600);
        assert_eq!(bucket_width(41.0), 2240);
        assert_eq!(bucket_width(1000.0), MAX_WIDTH);
    }

    #[test]
    fn crops_are_straightened_and_upright_lines_turned() {
        let mut page = GrayImage::from_pixel(100, 100, image::Luma([255]));
        page.put_pixel(10, 10, image::Luma([0]));
        let quad = [[10.0, 10.0], [60.0, 10.0], [60.0, 30.0], [10.0, 30.0]];
        let line = crop_line(&page, &quad).expect("a crop");
        assert_eq!(line.dimensions(), (50, 20));
        assert!(line.get_pixel(0, 0).0[0] < 128, "the dark corner stays top-left");
        let tall = [[10.0, 10.0], [20.0, 10.0], [20.0, 60.0], [10.0, 60.0]];
        assert_eq!(crop_line(&page, &tall).expect("a crop").dimensions(), (50, 10));
        let flat = [[10.0, 10.0], [60.0, 10.0], [60.0, 10.0], [10.0, 10.0]];
        assert!(crop_line(&page, &flat).is_none());
    }

    #[test]
    fn lines_are_padded_with_zero() {
        let line = GrayImage::from_pixel(96, 48, image::Luma([255]));
        let t = batch_tensor(&[&line], 320);
        assert_eq!(t.shape(), &[1, 3, 48, 320]);
        let v = t.to_plain_array_view::<f32>().expect("f32");
        assert!((v[[0, 2, 10, 50]] - 1.0).abs() < 1e-6);
        assert!(v[[0, 0, 10, 200]].abs() < 1e-6);
    }
}
