//! Pages spoiled as a scanner or a phone camera would (skew, noise, blur, grey or bilevel, JPEG,
//! perspective and uneven light), wrapped back into image-only PDFs.

use std::io;
use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage};
use imageproc::geometric_transformations::{Border, Interpolation, Projection, rotate_about_center, warp};
use lopdf::{Document, Object, Stream, dictionary};

use super::convert::{rasterise, text_pdf, unique_name};
use super::spec::{Rng, Spec, Truth};

/// How a scan spoils a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Degrade {
    /// Skew in degrees (clockwise).
    pub angle: f32,
    /// Gaussian noise, standard deviation in grey levels.
    pub noise: f32,
    /// JPEG quality (1–100).
    pub jpeg_quality: u8,
    pub colour: ScanColour,
    /// Gaussian blur sigma in pixels (0: none).
    pub blur: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanColour {
    Colour,
    Grey,
    /// Black and white (a threshold), as fax-era scanners do: the red header goes black or white.
    Bilevel,
}

impl Degrade {
    /// A clean colour scan.
    pub const CLEAN: Self =
        Self { angle: 0.0, noise: 0.0, jpeg_quality: 90, colour: ScanColour::Colour, blur: 0.0 };

    /// A varied office scan from a seed: skew within ±1.5°, light noise, JPEG 60–90, mostly colour.
    pub fn random(seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x5ca1);
        let colour = match rng.below(10) {
            0 => ScanColour::Grey,
            1 => ScanColour::Bilevel,
            _ => ScanColour::Colour,
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "60..90")]
        let jpeg_quality = rng.float(60.0, 90.0) as u8;
        Self {
            angle: rng.float(-1.5, 1.5),
            noise: rng.float(0.0, 8.0),
            jpeg_quality,
            colour,
            blur: if rng.chance(20) { 0.8 } else { 0.0 },
        }
    }
}

/// A page as a scanner would spoil it.
pub fn degrade(page: &RgbImage, how: &Degrade, seed: u64) -> DynamicImage {
    let mut img = page.clone();
    if how.blur > 0.0 {
        img = imageproc::filter::gaussian_blur_f32(&img, how.blur);
    }
    if how.angle.abs() > 0.01 {
        img = rotate_about_center(
            &img,
            how.angle.to_radians(),
            Interpolation::Bilinear,
            Border::Constant(Rgb([255, 255, 255])),
        );
    }
    if how.noise > 0.0 {
        img = imageproc::noise::gaussian_noise(&img, 0.0, f64::from(how.noise), seed);
    }
    match how.colour {
        ScanColour::Colour => DynamicImage::ImageRgb8(img),
        ScanColour::Grey => DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(img).to_luma8()),
        ScanColour::Bilevel => {
            let mut grey: GrayImage = DynamicImage::ImageRgb8(img).to_luma8();
            for p in grey.pixels_mut() {
                *p = Luma([if p.0[0] < 150 { 0 } else { 255 }]);
            }
            DynamicImage::ImageLuma8(grey)
        }
    }
}

fn jpeg(img: &DynamicImage, quality: u8) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(img)
        .map_err(io::Error::other)?;
    Ok(out)
}

/// An image-only PDF of JPEG pages (DCTDecode XObjects), each page sized from its pixels at
/// `dpi` (as a scanner's PDF is).
pub fn image_pdf(pages: &[(Vec<u8>, u32, u32, bool)], dpi: u32) -> io::Result<Vec<u8>> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for (data, width, height, grey) in pages {
        let image = Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Image",
                "Width" => i64::from(*width),
                "Height" => i64::from(*height),
                "ColorSpace" => if *grey { "DeviceGray" } else { "DeviceRGB" },
                "BitsPerComponent" => 8,
                "Filter" => "DCTDecode",
            },
            data.clone(),
        )
        .with_compression(false);
        let image_id = doc.add_object(image);
        let (w, h) = (f64::from(*width) * 72.0 / f64::from(dpi), f64::from(*height) * 72.0 / f64::from(dpi));
        let content = format!("q {w:.3} 0 0 {h:.3} 0 0 cm /Im0 Do Q");
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let leaf = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(w as f32), Object::Real(h as f32)],
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
        });
        kids.push(leaf.into());
    }
    let count = i64::try_from(kids.len()).map_err(io::Error::other)?;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(io::Error::other)?;
    Ok(out)
}

/// A scanned PDF: the text PDF rendered at `dpi`, each page degraded, wrapped as JPEG images.
pub fn scanned_pdf(spec: &Spec, dir: &Path, dpi: u32, how: &Degrade) -> io::Result<(PathBuf, Truth)> {
    let (pdf, truth) = text_pdf(spec, dir)?;
    Ok((scan_of(&pdf, dir, dpi, how)?, truth))
}

/// A scan of an existing PDF (see [`scanned_pdf`]).
pub fn scan_of(pdf: &Path, dir: &Path, dpi: u32, how: &Degrade) -> io::Result<PathBuf> {
    let pages = rasterise(pdf, dpi, dir)?;
    let mut encoded = Vec::new();
    for (k, page) in pages.iter().enumerate() {
        let img = degrade(page, how, k as u64 + 1);
        let grey = !matches!(img, DynamicImage::ImageRgb8(_));
        encoded.push((jpeg(&img, how.jpeg_quality)?, img.width(), img.height(), grey));
    }
    let out = dir.join(format!("{}.pdf", unique_name("scan")));
    std::fs::write(&out, image_pdf(&encoded, dpi)?)?;
    Ok(out)
}

/// A phone photo of page 1 (of the one-page version of `spec`): the sheet on a darker desk, seen
/// slightly askew and in perspective, lit unevenly, as JPEG. Its truth is the whole document's
/// (the page holds it all).
pub fn picture(spec: &Spec, dir: &Path, seed: u64) -> io::Result<(PathBuf, Truth)> {
    let (pdf, mut truth) = text_pdf(&spec.one_page(), dir)?;
    truth.pages = 1;
    Ok((photo_of(&pdf, dir, seed)?, truth))
}

/// A phone photo of page 1 of an existing PDF (see [`picture`]).
pub fn photo_of(pdf: &Path, dir: &Path, seed: u64) -> io::Result<PathBuf> {
    let page = rasterise(pdf, 150, dir)?.into_iter().next().ok_or_else(|| io::Error::other("no page"))?;
    let mut rng = Rng::new(seed);
    let (w, h) = page.dimensions();
    #[allow(clippy::cast_precision_loss, reason = "image sizes")]
    let (wf, hf) = (w as f32, h as f32);
    let margin = 0.06;
    let mut desk = RgbImage::from_pixel(w, h, Rgb([96, 86, 74]));
    // The sheet shrunk into the frame so the desk shows around it.
    let inner = Projection::from_control_points(
        [(0.0, 0.0), (wf, 0.0), (wf, hf), (0.0, hf)],
        [
            (wf * rng.float(margin, 2.0 * margin), hf * rng.float(margin, 2.0 * margin)),
            (wf * (1.0 - rng.float(margin, 2.0 * margin)), hf * rng.float(margin, 2.0 * margin)),
            (wf * (1.0 - rng.float(margin * 0.5, margin)), hf * (1.0 - rng.float(margin * 0.5, margin))),
            (wf * rng.float(margin * 0.5, margin), hf * (1.0 - rng.float(margin * 0.5, margin))),
        ],
    )
    .ok_or_else(|| io::Error::other("degenerate projection"))?;
    let sheet = warp(&page, inner, Interpolation::Bilinear, Border::Constant(Rgb([0, 0, 0])));
    let mask = warp(
        &RgbImage::from_pixel(w, h, Rgb([255, 255, 255])),
        inner,
        Interpolation::Bilinear,
        Border::Constant(Rgb([0, 0, 0])),
    );
    let light_x = rng.float(0.0, wf);
    let diagonal = wf.hypot(hf);
    for (x, y, px) in desk.enumerate_pixels_mut() {
        #[allow(clippy::cast_precision_loss, reason = "pixel coordinates")]
        let (xf, yf) = (x as f32, y as f32);
        let alpha = f32::from(mask.get_pixel(x, y).0[0]) / 255.0;
        // Lamp light falls off away from one point above the page.
        let light = 1.0 - 0.25 * ((xf - light_x).hypot(yf) / diagonal);
        let s = sheet.get_pixel(x, y).0;
        for (channel, sheet_value) in px.0.iter_mut().zip(s) {
            let v = (f32::from(sheet_value) * alpha + f32::from(*channel) * (1.0 - alpha)) * light;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "clamped to 0..=255")]
            let v = v.clamp(0.0, 255.0) as u8;
            *channel = v;
        }
    }
    // Turned with the desk showing at the corners, not a scanner's white.
    let desk = rotate_about_center(
        &desk,
        rng.float(-3.0, 3.0).to_radians(),
        Interpolation::Bilinear,
        Border::Replicate,
    );
    let img = degrade(
        &desk,
        &Degrade { angle: 0.0, noise: 4.0, jpeg_quality: 80, colour: ScanColour::Colour, blur: 0.6 },
        seed,
    );
    let out = dir.join(format!("{}.jpg", unique_name("photo")));
    std::fs::write(&out, jpeg(&img, 85)?)?;
    Ok(out)
}
