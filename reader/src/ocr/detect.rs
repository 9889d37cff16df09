//! Text detection: the page scaled for the DB (differentiable binarisation) model, and its
//! probability map turned into one quadrilateral per text line (RapidOCR's `ch_ppocr_det`).

use image::GrayImage;
use image::imageops::{self, FilterType};
use imageproc::contours::{BorderType, find_contours};
use imageproc::drawing::draw_polygon_mut;
use imageproc::geometry::min_area_rect;
use imageproc::point::Point;
use tract_onnx::prelude::{Tensor, tract_ndarray};

/// A pixel of the probability map is text above this.
const THRESH: f32 = 0.3;
/// A candidate box is kept when the mean probability inside it reaches this.
const BOX_THRESH: f32 = 0.5;
/// How far a shrunk DB region is grown back (distance = area × ratio ÷ perimeter).
const UNCLIP_RATIO: f32 = 1.6;
/// Boxes whose short side (in map pixels) is below this are noise.
const MIN_SIZE: f32 = 3.0;
/// More regions than this on one page is not text; RapidOCR stops at the same count.
const MAX_CANDIDATES: usize = 1000;
/// The short side small pages are enlarged to (RapidOCR's `limit_side_len` with `limit_type: min`).
const MIN_SHORT_SIDE: f32 = 736.0;

/// A text line's corners in page pixels: top-left, top-right, bottom-right, bottom-left.
pub(super) type Quad = [[f32; 2]; 4];

/// The detector's input size for a page: both sides multiples of 32 (the network downsamples by
/// 32), the short side enlarged towards 736 for small images, the long side at most `max_side`.
pub(super) fn input_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let (w, h) = (width as f32, height as f32);
    let mut ratio = 1.0_f32;
    if w.min(h) < MIN_SHORT_SIDE {
        ratio = MIN_SHORT_SIDE / w.min(h);
    }
    if w.max(h) * ratio > max_side as f32 {
        ratio = max_side as f32 / w.max(h);
    }
    let round32 = |v: f32| (((v * ratio) / 32.0).round() as u32).max(1) * 32;
    (round32(w), round32(h))
}

/// The detector's input tensor `[1, 3, h, w]`: the (red-channel) page resized, scaled to -1..1,
/// the one channel repeated three times as the model expects colour.
pub(super) fn input_tensor(gray: &GrayImage, width: u32, height: u32) -> Tensor {
    let resized = imageops::resize(gray, width, height, FilterType::Triangle);
    let (w, h) = (width as usize, height as usize);
    let plane: Vec<f32> = resized.as_raw().iter().map(|&v| f32::from(v) / 127.5 - 1.0).collect();
    let mut data = Vec::with_capacity(3 * plane.len());
    for _ in 0..3 {
        data.extend_from_slice(&plane);
    }
    tract_ndarray::Array4::from_shape_vec((1, 3, h, w), data).expect("three planes of h × w values").into()
}

/// The text lines in a probability map of `map_w` × `map_h` (row-major), as quads scaled to a
/// page of `page_w` × `page_h`.
pub(super) fn boxes_from_map(map: &[f32], map_w: u32, map_h: u32, page_w: u32, page_h: u32) -> Vec<Quad> {
    if map_w == 0 || map_h == 0 || map.len() != map_w as usize * map_h as usize {
        return Vec::new();
    }
    let bitmap = dilated_bitmap(map, map_w, map_h);
    let sx = page_w as f32 / map_w as f32;
    let sy = page_h as f32 / map_h as f32;
    let mut boxes = Vec::new();
    let contours = find_contours::<i32>(&bitmap);
    for contour in contours
        .iter()
        .filter(|c| c.border_type == BorderType::Outer && !c.points.is_empty())
        .take(MAX_CANDIDATES)
    {
        let rect = min_area_rect(&contour.points);
        let rect = rect.map(|p| [p.x as f32, p.y as f32]);
        if short_side(&rect) < MIN_SIZE {
            continue;
        }
        if box_score(map, map_w, map_h, &rect) < BOX_THRESH {
            continue;
        }
        let grown = unclip(&rect);
        if short_side(&grown) < MIN_SIZE + 2.0 {
            continue;
        }
        let quad = grown.map(|[x, y]| {
            [(x * sx).round().clamp(0.0, page_w as f32), (y * sy).round().clamp(0.0, page_h as f32)]
        });
        let quad = clip(order_clockwise(quad), page_w, page_h);
        // RapidOCR's `filter_tag_det_res`: slivers are not lines.
        if dist(quad[0], quad[1]) as u32 <= 3 || dist(quad[0], quad[3]) as u32 <= 3 {
            continue;
        }
        boxes.push(quad);
    }
    boxes
}

/// The map thresholded and dilated by a 2 × 2 square (RapidOCR's `use_dilation`), as a mask of
/// 0/255 for the contour finder.
fn dilated_bitmap(map: &[f32], w: u32, h: u32) -> GrayImage {
    let (wu, hu) = (w as usize, h as usize);
    let on = |x: usize, y: usize| map[y * wu + x] > THRESH;
    let mut bitmap = GrayImage::new(w, h);
    for y in 0..hu {
        for x in 0..wu {
            // OpenCV anchors an even kernel at its centre, so a pixel takes its own value and
            // those up and to the left.
            let set = on(x, y)
                || (x > 0 && on(x - 1, y))
                || (y > 0 && on(x, y - 1))
                || (x > 0 && y > 0 && on(x - 1, y - 1));
            if set {
                bitmap.put_pixel(x as u32, y as u32, image::Luma([255]));
            }
        }
    }
    bitmap
}

/// The mean probability inside the quad (RapidOCR's `box_score_fast`).
fn box_score(map: &[f32], w: u32, h: u32, quad: &Quad) -> f32 {
    let xs = quad.iter().map(|p| p[0]);
    let ys = quad.iter().map(|p| p[1]);
    let clamp_x = |v: f32| (v as i64).clamp(0, i64::from(w) - 1) as u32;
    let clamp_y = |v: f32| (v as i64).clamp(0, i64::from(h) - 1) as u32;
    let x0 = clamp_x(xs.clone().fold(f32::MAX, f32::min).floor());
    let x1 = clamp_x(xs.fold(f32::MIN, f32::max).ceil());
    let y0 = clamp_y(ys.clone().fold(f32::MAX, f32::min).floor());
    let y1 = clamp_y(ys.fold(f32::MIN, f32::max).ceil());
    let mut mask = GrayImage::new(x1 - x0 + 1, y1 - y0 + 1);
    let mut poly: Vec<Point<i32>> =
        quad.iter().map(|p| Point::new(p[0] as i32 - x0 as i32, p[1] as i32 - y0 as i32)).collect();
    // imageproc refuses a polygon whose last point repeats its first (a degenerate rectangle).
    poly.dedup();
    while poly.len() > 1 && poly.first() == poly.last() {
        poly.pop();
    }
    if poly.len() < 3 {
        return 0.0;
    }
    draw_polygon_mut(&mut mask, &poly, image::Luma([1]));
    let (mut sum, mut n) = (0.0_f64, 0_u32);
    for (mx, my, m) in mask.enumerate_pixels() {
        if m.0[0] != 0 {
            sum += f64::from(map[(y0 + my) as usize * w as usize + (x0 + mx) as usize]);
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { (sum / f64::from(n)) as f32 }
}

/// The rectangle grown outward on every side by area × `UNCLIP_RATIO` ÷ perimeter. RapidOCR
/// offsets the polygon with round joins and takes the min-area rectangle of the result, which
/// for a rectangle is exactly this.
fn unclip(rect: &Quad) -> Quad {
    let w = dist(rect[0], rect[1]);
    let h = dist(rect[1], rect[2]);
    if w <= 0.0 || h <= 0.0 {
        return *rect;
    }
    let d = w * h * UNCLIP_RATIO / (2.0 * (w + h));
    let centre = [rect.iter().map(|p| p[0]).sum::<f32>() / 4.0, rect.iter().map(|p| p[1]).sum::<f32>() / 4.0];
    let ux = [(rect[1][0] - rect[0][0]) / w, (rect[1][1] - rect[0][1]) / w];
    let uy = [(rect[2][0] - rect[1][0]) / h, (rect[2][1] - rect[1][1]) / h];
    let (hw, hh) = (w / 2.0 + d, h / 2.0 + d);
    let corner = |a: f32, b: f32| [centre[0] + a * ux[0] + b * uy[0], centre[1] + a * ux[1] + b * uy[1]];
    [corner(-hw, -hh), corner(hw, -hh), corner(hw, hh), corner(-hw, hh)]
}

fn short_side(quad: &Quad) -> f32 {
    dist(quad[0], quad[1]).min(dist(quad[1], quad[2]))
}

pub(super) fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Top-left, top-right, bottom-right, bottom-left: the two left-most points by y, then the two
/// right-most by y (RapidOCR's `order_points_clockwise`).
fn order_clockwise(mut pts: Quad) -> Quad {
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (mut left, mut right) = ([pts[0], pts[1]], [pts[2], pts[3]]);
    left.sort_by(|a, b| a[1].total_cmp(&b[1]));
    right.sort_by(|a, b| a[1].total_cmp(&b[1]));
    [left[0], right[0], right[1], left[1]]
}

/// Corners moved inside the page and onto whole pixels (RapidOCR's `clip_det_res`).
fn clip(quad: Quad, w: u32, h: u32) -> Quad {
    let max_x = w.saturating_sub(1) as f32;
    let max_y = h.saturating_sub(1) as f32;
    quad.map(|[x, y]| [x.clamp(0.0, max_x).trunc(), y.clamp(0.0, max_y).trunc()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_sizes_are_multiples_of_32_within_the_limit() {
        // An A4 page at 200 dpi is scaled down to the limit.
        assert_eq!(input_size(1654, 2339, 2000), (1408, 1984));
        assert_eq!(input_size(1654, 2339, 1280), (896, 1280));
        // A small picture is enlarged towards a 736-pixel short side.
        assert_eq!(input_size(400, 300, 2000), (992, 736));
        // Degenerate shapes still give a usable size.
        assert_eq!(input_size(1, 1, 2000), (736, 736));
        assert_eq!(input_size(20_000, 1, 2000), (2016, 32));
    }

    #[test]
    fn a_filled_rectangle_in_the_map_becomes_one_grown_box() {
        let (w, h) = (100_u32, 40_u32);
        let mut map = vec![0.0_f32; (w * h) as usize];
        for y in 15..25 {
            for x in 20..80 {
                map[y * w as usize + x] = 0.9;
            }
        }
        let boxes = boxes_from_map(&map, w, h, 200, 80);
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let b = boxes[0];
        // Grown beyond the region (x 40..160, y 30..50 at page scale) on every side.
        assert!(b[0][0] < 40.0 && b[1][0] > 158.0, "{b:?}");
        assert!(b[0][1] < 30.0 && b[3][1] > 50.0, "{b:?}");
        assert!(b[0][1] <= b[3][1] && b[0][0] <= b[1][0]);
    }

    #[test]
    fn faint_or_tiny_regions_are_dropped() {
        let (w, h) = (60_u32, 60_u32);
        let mut map = vec![0.0_f32; (w * h) as usize];
        // Above THRESH but below BOX_THRESH on average.
        for y in 5..20 {
            for x in 5..50 {
                map[y * w as usize + x] = 0.35;
            }
        }
        // A speck.
        map[40 * w as usize + 40] = 1.0;
        assert!(boxes_from_map(&map, w, h, 60, 60).is_empty());
        // Mismatched sizes are refused, not indexed out of bounds.
        assert!(boxes_from_map(&map, w + 1, h, 60, 60).is_empty());
    }

    #[test]
    fn unclip_grows_each_side_by_the_db_distance() {
        let rect = [[0.0, 0.0], [10.0, 0.0], [10.0, 4.0], [0.0, 4.0]];
        let d = 10.0 * 4.0 * UNCLIP_RATIO / 28.0;
        let grown = unclip(&rect);
        assert!((grown[0][0] + d).abs() < 1e-4 && (grown[0][1] + d).abs() < 1e-4);
        assert!((grown[2][0] - 10.0 - d).abs() < 1e-4 && (grown[2][1] - 4.0 - d).abs() < 1e-4);
    }
}
