//! Pictures decoded for people to see — the preview of a TIFF scan, a picture placed in the
//! printed volumes — in the worker only, and bounded before anything is allocated: what a
//! header says (width, height, bit depth, pages) is checked against one budget first; a
//! bilevel or low-bit scan too large to expand is shrunk while it is expanded; anything else
//! past the budget is refused with a reason people can read. Written as PNG no longer than
//! asked on its long side.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use thiserror::Error;

/// The most a decoded picture (or a bilevel one still packed) may take in memory.
pub const MAX_DECODED: u64 = 256 << 20;
/// The most pages of a multi-page TIFF placed or previewed.
pub const MAX_PAGES: usize = 500;
/// The most an EXIF block is looked for in.
const EXIF_HEAD: usize = 256 * 1024;

/// Why a picture is not shown: said in Chinese, for a placeholder page or a preview's refusal.
#[derive(Debug, Error, PartialEq)]
pub enum PictureError {
    #[error("图片尺寸过大（{width}×{height} 像素），超出服务器可解码的范围")]
    TooLarge { width: u32, height: u32 },
    #[error("多页图片页数过多（超过 {MAX_PAGES} 页）")]
    TooManyPages,
    #[error("图片已损坏，无法解码（{0}）")]
    Damaged(String),
    #[error("不支持的图片格式（{0}）")]
    Unsupported(String),
}

impl From<image::ImageError> for PictureError {
    fn from(e: image::ImageError) -> Self {
        match e {
            image::ImageError::Unsupported(e) => PictureError::Unsupported(e.to_string()),
            image::ImageError::Limits(_) => PictureError::TooLarge { width: 0, height: 0 },
            other => PictureError::Damaged(other.to_string()),
        }
    }
}

impl From<tiff::TiffError> for PictureError {
    fn from(e: tiff::TiffError) -> Self {
        match e {
            tiff::TiffError::LimitsExceeded => PictureError::TooLarge { width: 0, height: 0 },
            tiff::TiffError::UnsupportedError(e) => PictureError::Unsupported(e.to_string()),
            other => PictureError::Damaged(other.to_string()),
        }
    }
}

/// A picture ready to show: at most the side asked for, and how it is turned to be upright
/// (EXIF/TIFF orientation, 1–8).
pub struct Page {
    pub picture: DynamicImage,
    pub orientation: u8,
}

/// Every picture in `bytes` (each page of a TIFF, else the one picture), each at most `side`
/// pixels on its long side, within the budget.
pub fn pages(bytes: &[u8], side: u32) -> Result<Vec<Page>, PictureError> {
    if yingjian_shared::sniff(&bytes[..bytes.len().min(16)]) == Some("tiff") {
        return tiff_pages(bytes, side, MAX_PAGES);
    }
    let picture = decode(bytes)?;
    Ok(vec![Page { picture: shrink(picture, side), orientation: 1 }])
}

/// The first picture in `bytes`, at most `side` pixels long.
pub fn first(bytes: &[u8], side: u32) -> Result<Page, PictureError> {
    if yingjian_shared::sniff(&bytes[..bytes.len().min(16)]) == Some("tiff") {
        let mut pages = tiff_pages(bytes, side, 1)?;
        return pages.pop().ok_or_else(|| PictureError::Damaged("no page".into()));
    }
    Ok(Page { picture: shrink(decode(bytes)?, side), orientation: 1 })
}

/// Decodes a picture whole (PNG, BMP, and the other formats `image` reads here) once its
/// header shows it fits the budget.
fn decode(bytes: &[u8]) -> Result<DynamicImage, PictureError> {
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(image::ImageError::IoError)?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODED);
    reader.limits(limits);
    if reader.format().is_none() {
        return Err(PictureError::Unsupported("unknown".into()));
    }
    let decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    if decoder.total_bytes() > MAX_DECODED {
        return Err(PictureError::TooLarge { width, height });
    }
    Ok(DynamicImage::from_decoder(decoder)?)
}

/// `picture`, shrunk (never enlarged) to at most `side` pixels long.
fn shrink(picture: DynamicImage, side: u32) -> DynamicImage {
    if picture.width() > side || picture.height() > side { picture.thumbnail(side, side) } else { picture }
}

/// `picture` as PNG, shrunk to at most `side` pixels long.
pub fn png_at_most(picture: DynamicImage, side: u32) -> Result<Vec<u8>, PictureError> {
    let picture = shrink(picture, side);
    let mut png = Vec::new();
    picture.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)?;
    Ok(png)
}

/// The preview job: the first page of a picture as a PNG at most `side` pixels long, written to
/// `out` (in the worker).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PreviewJob {
    pub input: std::path::PathBuf,
    pub side: u32,
    /// Which page (1-based) of a PDF or a TIFF; a picture has one.
    #[serde(default = "first_page")]
    pub page: u32,
    pub out: std::path::PathBuf,
}

impl crate::worker::Job for PreviewJob {
    const NAME: &'static str = "preview";
}

fn first_page() -> u32 {
    1
}

/// Runs a `PreviewJob`; answers the PNG's size.
pub fn preview(job: &PreviewJob) -> Result<u64, String> {
    let bytes = std::fs::read(&job.input).map_err(|e| e.to_string())?;
    let page = job.page.max(1);
    let picture = match yingjian_shared::sniff(&bytes[..bytes.len().min(16)]) {
        // Drawn small: a thumbnail needs no more than 40 dpi.
        Some("pdf") => {
            let budget = yingjian_reader::pages::Budget { dpi: 40.0, ..Default::default() };
            let drawn =
                yingjian_reader::pages::pdf_page(&bytes, page - 1, &budget).map_err(|e| e.to_string())?;
            DynamicImage::ImageRgb8(drawn.image)
        }
        Some("tiff") => {
            let most = usize::try_from(page).unwrap_or(usize::MAX);
            let mut pages = tiff_pages(&bytes, job.side, most).map_err(|e| e.to_string())?;
            (pages.len() == most).then(|| pages.pop()).flatten().ok_or("no such page")?.picture
        }
        _ => first(&bytes, job.side).map_err(|e| e.to_string())?.picture,
    };
    let png = png_at_most(picture, job.side).map_err(|e| e.to_string())?;
    std::fs::write(&job.out, &png).map_err(|e| e.to_string())?;
    Ok(png.len() as u64)
}

/// A JPEG's EXIF Orientation (1–8; 1 when it has none): how the picture is turned to be seen.
pub fn exif_orientation(jpeg: &[u8]) -> u8 {
    let head = &jpeg[..jpeg.len().min(EXIF_HEAD)];
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(head))
        .ok()
        .and_then(|exif| exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .unwrap_or(1)
}

/// The pages of a TIFF (a scanner's multi-page file; thumbnails skipped), up to `most`: grey of
/// 1, 2, 4, 8 or 16 bits, RGB and RGBA of 8 or 16, CMYK of 8.
fn tiff_pages(bytes: &[u8], side: u32, most: usize) -> Result<Vec<Page>, PictureError> {
    use tiff::ColorType;
    use tiff::decoder::{Decoder, DecodingResult};
    use tiff::tags::Tag;
    let mut limits = tiff::decoder::Limits::default();
    limits.decoding_buffer_size = usize::try_from(MAX_DECODED).unwrap_or(usize::MAX);
    let mut decoder = Decoder::new(Cursor::new(bytes))?.with_limits(limits);
    let mut out = Vec::new();
    loop {
        let thumbnail =
            decoder.find_tag_unsigned::<u32>(Tag::NewSubfileType).ok().flatten().unwrap_or(0) & 1 == 1;
        if !thumbnail {
            if out.len() == most {
                return if most == MAX_PAGES { Err(PictureError::TooManyPages) } else { Ok(out) };
            }
            let (width, height) = decoder.dimensions()?;
            let color = decoder.colortype()?;
            let (channels, bits) = match color {
                ColorType::Gray(b) => (1u32, b),
                ColorType::RGB(b) => (3, b),
                ColorType::RGBA(b) | ColorType::CMYK(b) => (4, b),
                other => return Err(PictureError::Unsupported(format!("TIFF {other:?}"))),
            };
            let too_large = PictureError::TooLarge { width, height };
            // As stored (bits packed) and as expanded to whole bytes.
            let row = (u64::from(width) * u64::from(channels) * u64::from(bits)).div_ceil(8);
            let packed = row.saturating_mul(u64::from(height));
            let expanded =
                u64::from(width) * u64::from(height) * u64::from(channels) * u64::from(bits.max(8) / 8);
            if packed > MAX_DECODED || (bits >= 8 && expanded > MAX_DECODED) {
                return Err(too_large);
            }
            let orientation = decoder.find_tag_unsigned::<u8>(Tag::Orientation).ok().flatten().unwrap_or(1);
            let wrong = || PictureError::Damaged("a TIFF page of the wrong length".into());
            let picture = match (color, decoder.read_image()?) {
                (ColorType::Gray(1 | 2 | 4), DecodingResult::U8(data)) => DynamicImage::ImageLuma8(
                    shrink_packed(&data, width, height, bits, side).ok_or_else(wrong)?,
                ),
                // The decoder turns min-is-white data around itself.
                (ColorType::Gray(8), DecodingResult::U8(data)) => {
                    DynamicImage::ImageLuma8(GrayImage::from_raw(width, height, data).ok_or_else(wrong)?)
                }
                (ColorType::Gray(16), DecodingResult::U16(data)) => DynamicImage::ImageLuma16(
                    image::ImageBuffer::from_raw(width, height, data).ok_or_else(wrong)?,
                ),
                (ColorType::RGB(8), DecodingResult::U8(data)) => {
                    DynamicImage::ImageRgb8(image::RgbImage::from_raw(width, height, data).ok_or_else(wrong)?)
                }
                (ColorType::RGB(16), DecodingResult::U16(data)) => DynamicImage::ImageRgb16(
                    image::ImageBuffer::from_raw(width, height, data).ok_or_else(wrong)?,
                ),
                (ColorType::RGBA(8), DecodingResult::U8(data)) => DynamicImage::ImageRgba8(
                    image::RgbaImage::from_raw(width, height, data).ok_or_else(wrong)?,
                ),
                (ColorType::RGBA(16), DecodingResult::U16(data)) => DynamicImage::ImageRgba16(
                    image::ImageBuffer::from_raw(width, height, data).ok_or_else(wrong)?,
                ),
                (ColorType::CMYK(8), DecodingResult::U8(data)) => {
                    // In place, four bytes to three: no second buffer of the page's size.
                    let mut data = data;
                    let pixels = data.len() / 4;
                    for i in 0..pixels {
                        let [c, m, y, k] = [data[4 * i], data[4 * i + 1], data[4 * i + 2], data[4 * i + 3]];
                        let ink = |v: u8| ((255 - u16::from(v)) * (255 - u16::from(k)) / 255) as u8;
                        data[3 * i] = ink(c);
                        data[3 * i + 1] = ink(m);
                        data[3 * i + 2] = ink(y);
                    }
                    data.truncate(pixels * 3);
                    DynamicImage::ImageRgb8(image::RgbImage::from_raw(width, height, data).ok_or_else(wrong)?)
                }
                (other, _) => return Err(PictureError::Unsupported(format!("TIFF {other:?}"))),
            };
            out.push(Page { picture: shrink(picture, side), orientation });
        }
        if !decoder.more_images() {
            return Ok(out);
        }
        decoder.next_image()?;
    }
}

/// A grey picture of `bits` (1, 2 or 4) per pixel, 0 black (the decoder turns min-is-white data
/// around), packed in rows of whole bytes, expanded and
/// shrunk in one pass to at most `side` pixels long (a box average): never a byte per pixel at
/// full size. `None` when `data` is shorter than its rows.
fn shrink_packed(data: &[u8], width: u32, height: u32, bits: u8, side: u32) -> Option<GrayImage> {
    let bits = u32::from(bits);
    let row = (width * bits).div_ceil(8) as usize;
    if data.len() < row * height as usize {
        return None;
    }
    let mut k = width.max(height).div_ceil(side.max(1)).max(1);
    // Past 8, a whole byte of a bilevel row falls in one output pixel: count its bits at once.
    let by_byte = bits == 1 && k >= 8;
    if by_byte {
        k = k.next_multiple_of(8);
    }
    let (ow, oh) = (width.div_ceil(k), height.div_ceil(k));
    let top = (1u32 << bits) - 1;
    let mut sums = vec![0u64; ow as usize];
    let mut counts = vec![0u64; ow as usize];
    let mut out = Vec::with_capacity(ow as usize * oh as usize);
    for y in 0..height as usize {
        let line = &data[y * row..(y + 1) * row];
        if by_byte {
            for (i, byte) in line.iter().enumerate() {
                let x = i as u32 * 8;
                let valid = (width - x).min(8);
                let mask = if valid == 8 { 0xff } else { 0xffu8 << (8 - valid) };
                let ones = u64::from((byte & mask).count_ones());
                let cell = (x / k) as usize;
                sums[cell] += ones * 255;
                counts[cell] += u64::from(valid);
            }
        } else {
            for x in 0..width {
                let at = x * bits;
                let byte = line[(at / 8) as usize];
                let value = (u32::from(byte) >> (8 - bits - at % 8)) & top;
                let cell = (x / k) as usize;
                sums[cell] += u64::from(value * 255 / top);
                counts[cell] += 1;
            }
        }
        if (y as u32 + 1).is_multiple_of(k) || y as u32 + 1 == height {
            for (sum, count) in sums.iter_mut().zip(counts.iter_mut()) {
                out.push((*sum / (*count).max(1)) as u8);
                (*sum, *count) = (0, 0);
            }
        }
    }
    GrayImage::from_raw(ow, oh, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey_tiff(width: u32, height: u32) -> Vec<u8> {
        use tiff::encoder::{TiffEncoder, colortype};
        let mut out = Cursor::new(Vec::new());
        let mut encoder = TiffEncoder::new(&mut out).unwrap();
        let data: Vec<u8> = (0..width * height).map(|i| (i % 251) as u8).collect();
        encoder.write_image::<colortype::Gray8>(width, height, &data).unwrap();
        out.into_inner()
    }

    /// A 1-bit, uncompressed, min-is-white TIFF whose rows are given.
    fn bilevel_tiff(width: u32, height: u32, row: &[u8]) -> Vec<u8> {
        let row_bytes = width.div_ceil(8) as usize;
        assert_eq!(row.len(), row_bytes);
        let strip = row_bytes * height as usize;
        let entries: [(u16, u16, u32, u32); 9] = [
            (256, 4, 1, width),
            (257, 4, 1, height),
            (258, 3, 1, 1),
            (259, 3, 1, 1),
            (262, 3, 1, 0),
            (273, 4, 1, 8),
            (277, 3, 1, 1),
            (278, 4, 1, height),
            (279, 4, 1, strip as u32),
        ];
        let mut out = b"II*\0".to_vec();
        let ifd = 8 + strip as u32;
        out.extend(ifd.to_le_bytes());
        for _ in 0..height {
            out.extend_from_slice(row);
        }
        out.extend((entries.len() as u16).to_le_bytes());
        for (tag, kind, count, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(count.to_le_bytes());
            if kind == 3 {
                out.extend((value as u16).to_le_bytes());
                out.extend([0, 0]);
            } else {
                out.extend(value.to_le_bytes());
            }
        }
        out.extend(0u32.to_le_bytes());
        out
    }

    #[test]
    fn a_large_bilevel_scan_is_shrunk_while_expanded() {
        // Left half black (set bits, min-is-white), right half white.
        let (w, h) = (4000, 64);
        let row: Vec<u8> = (0..w / 8).map(|i| if i < w / 16 { 0xff } else { 0 }).collect();
        let page = first(&bilevel_tiff(w, h, &row), 100).unwrap();
        let grey = page.picture.to_luma8();
        assert!(grey.width() <= 100 && grey.width() >= 50, "{}", grey.width());
        assert_eq!(grey.get_pixel(0, 0).0[0], 0, "black stays black");
        assert_eq!(grey.get_pixel(grey.width() - 1, 0).0[0], 255, "white stays white");
        // Small: expanded pixel by pixel.
        let page = first(&bilevel_tiff(16, 2, &[0xf0, 0x0f]), 100).unwrap();
        let grey = page.picture.to_luma8();
        assert_eq!((grey.width(), grey.height()), (16, 2));
        assert_eq!((grey.get_pixel(0, 0).0[0], grey.get_pixel(4, 0).0[0]), (0, 255));
    }

    #[test]
    fn what_the_header_says_is_checked_before_anything_is_allocated() {
        // 40000² grey: 1.6 GB expanded; refused from the header, whatever the body holds.
        let mut huge = bilevel_tiff(8, 1, &[0]);
        // Width and height entries (first two) patched, bits per sample 8.
        let ifd = 8 + 1;
        let patch = |t: &mut Vec<u8>, entry: usize, value: u32| {
            let at = ifd + 2 + entry * 12 + 8;
            t[at..at + 4].copy_from_slice(&value.to_le_bytes());
        };
        patch(&mut huge, 0, 40_000);
        patch(&mut huge, 1, 40_000);
        patch(&mut huge, 7, 40_000);
        patch(&mut huge, 8, 1_600_000_000);
        let at = ifd + 2 + 2 * 12 + 8;
        huge[at..at + 2].copy_from_slice(&8u16.to_le_bytes());
        assert_eq!(first(&huge, 100).err(), Some(PictureError::TooLarge { width: 40_000, height: 40_000 }));
        // A PNG header claiming 20000²: refused, not decoded.
        let mut png = Vec::new();
        DynamicImage::new_rgb8(1, 1).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        png[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        assert!(matches!(first(&png, 100), Err(PictureError::TooLarge { .. } | PictureError::Damaged(_))));
    }

    #[test]
    fn garbage_and_truncated_pictures_are_refused_not_panicked_on() {
        let good = grey_tiff(64, 64);
        assert_eq!(pages(&good, 32).unwrap().len(), 1);
        for cut in [0, 4, 8, 20, good.len() / 2, good.len() - 1] {
            let _ = pages(&good[..cut], 32);
        }
        let mut png = Vec::new();
        DynamicImage::new_rgb8(300, 300).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        for cut in [8, 33, png.len() / 2] {
            assert!(pages(&png[..cut], 32).is_err());
        }
        assert!(pages(b"not a picture at all", 32).is_err());
    }
}
