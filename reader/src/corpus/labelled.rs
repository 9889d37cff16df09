//! The labelled scans of the scan checks (DA/T 31-2017): what the bench measures the checks
//! against and the tests deliver through the real agent and server.

use std::io;
use std::path::{Path, PathBuf};

use image::{DynamicImage, Rgb, RgbImage};

use super::{Degrade, Kind, ScanColour, Spec, degrade, image_pdf, photo_of, rasterise, scan_of, text_pdfs};
use crate::quality::Code;

fn write_jpeg(img: &DynamicImage, quality: u8, path: &Path) -> io::Result<()> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .map_err(io::Error::other)?;
    std::fs::write(path, out)?;
    Ok(())
}

/// A scan made of page images (see `scan_of`), each degraded as `how` says.
fn scan_from(pages: &[RgbImage], dpi: u32, how: &Degrade, path: &Path) -> io::Result<()> {
    let mut encoded = Vec::new();
    for (k, page) in pages.iter().enumerate() {
        let img = degrade(page, how, 31 + k as u64);
        let grey = !matches!(img, DynamicImage::ImageRgb8(_));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, how.jpeg_quality)
            .encode_image(&img)
            .map_err(io::Error::other)?;
        encoded.push((jpeg, img.width(), img.height(), grey));
    }
    std::fs::write(path, image_pdf(&encoded, dpi)?)?;
    Ok(())
}

/// The page moved by `(dx, dy)` pixels on white paper: the same sheet laid on the glass again.
fn shifted(page: &RgbImage, dx: i64, dy: i64) -> RgbImage {
    let (w, h) = page.dimensions();
    RgbImage::from_fn(w, h, |x, y| {
        let (sx, sy) = (i64::from(x) - dx, i64::from(y) - dy);
        if (0..i64::from(w)).contains(&sx) && (0..i64::from(h)).contains(&sy) {
            *page.get_pixel(sx as u32, sy as u32)
        } else {
            Rgb([255, 255, 255])
        }
    })
}

/// The first seed from `seed` whose document is a red-header notice.
fn notice(mut seed: u64) -> Spec {
    loop {
        let spec = Spec::random(seed);
        if spec.kind == Kind::Notice {
            return spec;
        }
        seed += 1;
    }
}

/// A scan made to be flagged (or not), with what the checks should say.
pub struct Labelled {
    pub name: &'static str,
    pub path: PathBuf,
    /// Findings expected: code and page. Empty: a clean scan.
    pub expected: Vec<(Code, u32)>,
    pub pages: u32,
    pub paper: usize,
}

/// The labelled set of issue 33: a clean 300-dpi scan and its rescan (other noise, skew and
/// shift), a clean 200-dpi scan, a 100-dpi scan, a grey scan of a red-header notice, a blank page
/// after a page, a 4° skew, a blurred phone photo. Each of a different paper but the rescan.
pub fn labelled_set(seed: u64, dir: &Path) -> io::Result<Vec<Labelled>> {
    let base = seed * 1000 + 500;
    let specs: Vec<Spec> = (0..7u64).map(|k| notice(base + 10 * k).one_page()).collect();
    let pdfs = text_pdfs(&specs, dir)?;
    let pdf = |k: usize| pdfs[k].0.clone();
    let at300 = |k: usize| rasterise(&pdf(k), 300, dir);
    let clean = Degrade::CLEAN;
    let mut out = Vec::new();
    let mut push =
        |name, path, expected, pages, paper| out.push(Labelled { name, path, expected, pages, paper });

    let original = at300(0)?;
    let path = dir.join("clean-300.pdf");
    scan_from(&original, 300, &clean, &path)?;
    push("clean 300 dpi", path, vec![], 1, 1000);
    let rescan: Vec<RgbImage> = original.iter().map(|p| shifted(p, 24, -16)).collect();
    let path = dir.join("rescan-300.pdf");
    scan_from(&rescan, 300, &Degrade { angle: -0.7, noise: 6.0, jpeg_quality: 70, ..clean }, &path)?;
    push("rescan of it (noise, 0.7°, shift)", path, vec![], 1, 1000);
    push("clean 200 dpi", scan_of(&pdf(1), dir, 200, &clean)?, vec![], 1, 1001);
    push("100 dpi", scan_of(&pdf(2), dir, 100, &clean)?, vec![(Code::LowResolution, 1)], 1, 1002);
    let grey = Degrade { colour: ScanColour::Grey, ..clean };
    push("grey red-header notice", scan_of(&pdf(3), dir, 300, &grey)?, vec![(Code::ColourLost, 1)], 1, 1003);
    let mut with_blank = at300(4)?;
    let first = with_blank.first().ok_or_else(|| io::Error::other("the notice has no page"))?;
    let blank = RgbImage::from_pixel(first.width(), first.height(), Rgb([252, 252, 250]));
    with_blank.insert(1, blank);
    let path = dir.join("blank-page.pdf");
    scan_from(&with_blank, 300, &Degrade { noise: 3.0, ..clean }, &path)?;
    let pages = with_blank.len() as u32;
    push("blank page 2 inserted", path, vec![(Code::BlankPage, 2)], pages, 1004);
    let skew = Degrade { angle: 4.0, ..clean };
    push("4° skew", scan_of(&pdf(5), dir, 300, &skew)?, vec![(Code::Skewed, 1)], 1, 1005);
    let photo = photo_of(&pdf(6), dir, base + 6)?;
    let sharp = image::open(&photo).map_err(io::Error::other)?.to_rgb8();
    let blurred = degrade(&sharp, &Degrade { blur: 3.0, ..clean }, 7);
    let path = dir.join("blurred-photo.jpg");
    write_jpeg(&blurred, 85, &path)?;
    push("blurred phone photo (σ 3 px)", path, vec![(Code::Blurred, 1)], 1, 1006);
    Ok(out)
}
