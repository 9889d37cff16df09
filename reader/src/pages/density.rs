//! The density a picture file states: JFIF APP0 or EXIF for JPEG, pHYs for PNG, the BMP header.
//! Each reader walks a bounded number of headers and gives `None` on anything unexpected.

use image::ImageFormat;

const INCH_PER_METRE: f32 = 0.0254;
const CM_PER_INCH: f32 = 2.54;

/// Horizontal density in dots per inch, when the file states one in physical units.
pub(super) fn stated_dpi(bytes: &[u8], format: ImageFormat) -> Option<f32> {
    let dpi = match format {
        ImageFormat::Jpeg => jpeg_dpi(bytes),
        ImageFormat::Png => png_dpi(bytes),
        ImageFormat::Bmp => bmp_dpi(bytes),
        _ => None,
    }?;
    (dpi.is_finite() && dpi > 0.0).then_some(dpi)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// JFIF density (units 1 = inch, 2 = cm; 0 is an aspect ratio only), else EXIF XResolution.
fn jpeg_dpi(b: &[u8]) -> Option<f32> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    let mut exif = None;
    // Markers before the scan; a file with hundreds of segments is not a page scan worth reading.
    for _ in 0..256 {
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = usize::from(be16(b, at + 2)?);
        let body = b.get(at + 4..at + 2 + len)?;
        if marker == 0xE0 && body.starts_with(b"JFIF\0") && body.len() >= 12 {
            let units = body[7];
            let x = f32::from(be16(body, 8)?);
            match units {
                1 => return Some(x),
                2 => return Some(x * CM_PER_INCH),
                _ => {}
            }
        }
        if marker == 0xE1 && body.starts_with(b"Exif\0\0") {
            exif = Some(&body[6..]);
        }
        at += 2 + len;
    }
    exif_dpi(exif?)
}

/// XResolution with ResolutionUnit (2 = inch, the default; 3 = cm) from a TIFF-structured EXIF.
fn exif_dpi(tiff: &[u8]) -> Option<f32> {
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
    let x = match &exif.get_field(exif::Tag::XResolution, exif::In::PRIMARY)?.value {
        exif::Value::Rational(r) => r.first()?.to_f64() as f32,
        _ => return None,
    };
    let unit = exif
        .get_field(exif::Tag::ResolutionUnit, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .unwrap_or(2);
    match unit {
        2 => Some(x),
        3 => Some(x * CM_PER_INCH),
        _ => None,
    }
}

/// pHYs pixels per unit with unit 1 (metre); the chunk must come before the image data.
fn png_dpi(b: &[u8]) -> Option<f32> {
    let mut at = 8;
    for _ in 0..1024 {
        let len = be32(b, at)? as usize;
        let kind = b.get(at + 4..at + 8)?;
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        if kind == b"pHYs" && len == 9 {
            let body = b.get(at + 8..at + 17)?;
            let x = be32(body, 0)?;
            return (body[8] == 1).then_some(x as f32 * INCH_PER_METRE);
        }
        at = at.checked_add(12)?.checked_add(len)?;
    }
    None
}

/// biXPelsPerMeter of a BITMAPINFOHEADER or later (0 = not stated).
fn bmp_dpi(b: &[u8]) -> Option<f32> {
    let header = u32::from_le_bytes(b.get(14..18)?.try_into().ok()?);
    if header < 40 {
        return None;
    }
    let ppm = i32::from_le_bytes(b.get(38..42)?.try_into().ok()?);
    (ppm > 0).then_some(ppm as f32 * INCH_PER_METRE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncated_headers_state_nothing() {
        for bytes in [&b""[..], b"\xFF\xD8", b"\xFF\xD8\xFF\xE0\xFF\xFF", b"\x89PNG\r\n\x1a\n\0\0\0", b"BM"] {
            for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Bmp] {
                assert_eq!(stated_dpi(bytes, format), None);
            }
        }
    }
}
