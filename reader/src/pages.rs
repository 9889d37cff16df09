//! The page images of a document, decoded within a pixel and memory budget that is checked from
//! the header before anything is allocated: every page of a PDF (rendered at the budget's dpi, or
//! its source's if lower), every page of a TIFF of any bit depth, a photo turned upright by its
//! EXIF.

mod density;
mod pdf_file;
mod shrink;
mod tiff_file;

use std::io::Cursor;

use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageFormat, ImageReader, RgbImage};

use crate::ReadError;

pub use pdf_file::pdf_page;

/// How the source pixels were stored: a grey or 1-bit scan of a red-header notice lost its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourMode {
    Colour,
    Grey,
    Bilevel,
}

/// One page, ready to be read and checked.
pub struct PageImage {
    /// The page at about `Budget::dpi` (never upscaled past its source), RGB.
    pub image: RgbImage,
    /// Resolution of `image` in pixels per inch (the checks measure at fixed physical scales).
    pub dpi: f32,
    /// Effective resolution of the source: JFIF/pHYs/TIFF/BMP density for a picture (estimated
    /// from an A4 page filling the picture when the file states none, or states one that would
    /// make the page larger than A3, like a photo's 72 dpi), image pixels over placed size for a
    /// scanned PDF page; `None` when the page is not a scan (vector, text layer).
    pub source_dpi: Option<f32>,
    pub mode: ColourMode,
}

/// Limits on decoding.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Largest source picture accepted, in pixels (width × height).
    pub max_pixels: u64,
    /// Most pages looked at in one document.
    pub max_pages: u32,
    /// Target resolution of the page images handed out.
    pub dpi: f32,
}

impl Default for Budget {
    fn default() -> Self {
        Self { max_pixels: 20_000 * 20_000, max_pages: 500, dpi: 200.0 }
    }
}

/// Long side of A4 in inches: a picture without a usable density is taken as an A4 page.
const A4_LONG_INCHES: f32 = 11.69;
/// A stated density making the page's long side longer than this (A3 is 16.5 in) is not a scan
/// density (cameras write 72 dpi) and is ignored.
const MAX_PLAUSIBLE_LONG_INCHES: f32 = 17.0;

/// The pages of a picture file (JPEG, PNG, BMP, TIFF with every page). A panic in a decoder on
/// hostile bytes becomes an error for this file.
pub fn picture_pages(bytes: &[u8], budget: &Budget) -> Result<Vec<PageImage>, ReadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_pictures(bytes, budget)))
        .unwrap_or_else(|_| Err(ReadError::Damaged("the picture decoder failed on this file".into())))
}

fn decode_pictures(bytes: &[u8], budget: &Budget) -> Result<Vec<PageImage>, ReadError> {
    let format = image::guess_format(bytes).map_err(|_| ReadError::Unsupported)?;
    match format {
        ImageFormat::Tiff => tiff_file::tiff_pages(bytes, budget),
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Bmp => {
            Ok(vec![single_picture(bytes, format, budget)?])
        }
        _ => Err(ReadError::Unsupported),
    }
}

/// Refuses a picture over the pixel budget, from its header's dimensions.
fn check_pixels(width: u32, height: u32, budget: &Budget) -> Result<(), ReadError> {
    let pixels = u64::from(width) * u64::from(height);
    if width == 0 || height == 0 {
        return Err(ReadError::Damaged(format!("picture of {width}×{height} pixels")));
    }
    if pixels > budget.max_pixels {
        return Err(ReadError::TooLarge(format!(
            "picture of {width}×{height} pixels, more than {} allowed",
            budget.max_pixels
        )));
    }
    Ok(())
}

/// The density to use: the stated one when plausible for a paper page, else an estimate from an
/// A4 page filling the picture.
fn effective_dpi(stated: Option<f32>, width: u32, height: u32) -> f32 {
    let long = width.max(height) as f32;
    match stated {
        Some(dpi) if dpi.is_finite() && dpi >= 10.0 && long / dpi <= MAX_PLAUSIBLE_LONG_INCHES => dpi,
        _ => long / A4_LONG_INCHES,
    }
}

/// Output size for a source at `source_dpi` handed out at about `budget.dpi`, never upscaled.
fn target_size(width: u32, height: u32, source_dpi: f32, budget: &Budget) -> (u32, u32, f32) {
    let scale = (budget.dpi / source_dpi).min(1.0);
    if scale >= 0.999 {
        return (width, height, source_dpi);
    }
    let w = ((width as f32 * scale).round() as u32).max(1);
    let h = ((height as f32 * scale).round() as u32).max(1);
    (w, h, source_dpi * w as f32 / width as f32)
}

fn single_picture(bytes: &[u8], format: ImageFormat, budget: &Budget) -> Result<PageImage, ReadError> {
    let damaged = |e: image::ImageError| match e {
        image::ImageError::Limits(l) => ReadError::TooLarge(l.to_string()),
        image::ImageError::Unsupported(u) => ReadError::Damaged(u.to_string()),
        other => ReadError::Damaged(other.to_string()),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let side = u32::try_from(budget.max_pixels).unwrap_or(u32::MAX);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    // The decoded picture at up to 8 bytes a pixel (16-bit RGBA), and the decoder's own buffers.
    limits.max_alloc = Some(budget.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(damaged)?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, budget)?;
    let bilevel_source =
        matches!(decoder.original_color_type(), ExtendedColorType::L1 | ExtendedColorType::La1);
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let stated = density::stated_dpi(bytes, format);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(damaged)?;
    picture.apply_orientation(orientation);
    let (width, height) = (picture.width(), picture.height());
    let source_dpi = effective_dpi(stated, width, height);
    let (w, h, dpi) = target_size(width, height, source_dpi, budget);
    let two_level = shrink::two_level(&picture);
    let image = match picture {
        DynamicImage::ImageRgb8(rgb) if (w, h) == (width, height) => rgb,
        DynamicImage::ImageRgb8(rgb) => image::imageops::thumbnail(&rgb, w, h),
        DynamicImage::ImageLuma8(grey) => {
            let small =
                if (w, h) == (width, height) { grey } else { image::imageops::thumbnail(&grey, w, h) };
            DynamicImage::ImageLuma8(small).to_rgb8()
        }
        other => {
            let rgb = other.to_rgb8();
            if (w, h) == (width, height) { rgb } else { image::imageops::thumbnail(&rgb, w, h) }
        }
    };
    let mode = decide_mode(&image, bilevel_source, two_level);
    Ok(PageImage { image, dpi, source_dpi: Some(source_dpi), mode })
}

/// Colour if the pixels carry colour; Bilevel for a 1-bit source or one of two grey levels.
fn decide_mode(image: &RgbImage, bilevel_source: bool, two_level: bool) -> ColourMode {
    if bilevel_source {
        ColourMode::Bilevel
    } else if carries_colour(image) {
        ColourMode::Colour
    } else if two_level {
        ColourMode::Bilevel
    } else {
        ColourMode::Grey
    }
}

/// Channel spread (max − min) from which a pixel counts as coloured: above JPEG chroma noise and
/// the colour fringes a scanner leaves at black text edges (averaged away by downscaling), below
/// red ink (a seal's red spreads 120–200).
const COLOUR_SPREAD: u8 = 60;
/// Share of coloured pixels from which the page is effectively in colour: a small red seal covers
/// about 0.3 % of an A4 page, a red header 1.9–2.3 %; grey content in a colour file stays near 0.
const COLOUR_SHARE: f32 = 0.000_5;

/// Whether the decoded pixels actually carry colour (a colour JPEG of a grey page does not).
pub(crate) fn carries_colour(image: &RgbImage) -> bool {
    let raw = image.as_raw();
    let total = raw.len() / 3;
    if total == 0 {
        return false;
    }
    let coloured = raw
        .chunks_exact(3)
        .filter(|p| {
            let (max, min) = (p[0].max(p[1]).max(p[2]), p[0].min(p[1]).min(p[2]));
            max - min >= COLOUR_SPREAD
        })
        .count();
    coloured as f32 / total as f32 >= COLOUR_SHARE
}

#[cfg(test)]
pub(crate) mod tests;
