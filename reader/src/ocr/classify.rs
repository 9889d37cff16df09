//! Line orientation: the PP-OCR mobile v2 classifier says whether a line image is upside down
//! (RapidOCR's `ch_ppocr_cls`).

/// The classifier's input width; lines are scaled to 48 high and cut or padded to this.
pub(super) const WIDTH: u32 = 192;
/// A line is turned over only when the classifier is at least this sure (RapidOCR's `cls_thresh`).
const TURN_THRESH: f32 = 0.9;

/// Whether each line should be turned 180°, from the classifier's `[n, 2]` output
/// (class 0 = upright, class 1 = upside down).
pub(super) fn upside_down(probs: &[f32]) -> Vec<bool> {
    probs.chunks_exact(2).map(|p| p[1] > p[0] && p[1] > TURN_THRESH).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_confident_upside_down_lines_are_turned() {
        assert_eq!(upside_down(&[0.99, 0.01, 0.05, 0.95, 0.15, 0.85]), [false, true, false]);
        assert!(upside_down(&[0.5]).is_empty());
    }
}
