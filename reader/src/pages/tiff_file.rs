//! Every full-resolution page of a TIFF, of any bit depth: dimensions checked against the budget
//! from each directory before its pixels are read, strips decoded one at a time and shrunk row
//! by row, so a 1-bit fax page is never expanded to a byte a pixel at its source resolution.

use std::io::Cursor;

use tiff::ColorType;
use tiff::decoder::ifd::Value;
use tiff::decoder::{ChunkType, Decoder, DecodingResult, Limits};
use tiff::tags::{PlanarConfiguration, Tag};

use super::shrink::Shrinker;
use super::{Budget, ColourMode, PageImage, check_pixels, decide_mode, effective_dpi, target_size};
use crate::ReadError;

fn tiff_error(e: tiff::TiffError) -> ReadError {
    match e {
        tiff::TiffError::LimitsExceeded => ReadError::TooLarge("TIFF over the decoding limits".into()),
        tiff::TiffError::UnsupportedError(u) => ReadError::Damaged(format!("TIFF: {u}")),
        other => ReadError::Damaged(format!("TIFF: {other}")),
    }
}

/// How the samples of a page turn into pixels.
enum Kind {
    Grey { alpha: bool },
    Rgb { samples: usize },
    Palette { map: Vec<[u8; 3]> },
    Cmyk { samples: usize },
    YCbCr,
}

impl Kind {
    fn samples(&self) -> usize {
        match self {
            Kind::Grey { alpha } => 1 + usize::from(*alpha),
            Kind::Rgb { samples } | Kind::Cmyk { samples } => *samples,
            Kind::Palette { .. } => 1,
            Kind::YCbCr => 3,
        }
    }
}

pub(super) fn tiff_pages(bytes: &[u8], budget: &Budget) -> Result<Vec<PageImage>, ReadError> {
    let mut limits = Limits::default();
    // One strip (or, for tiled pages, one page) at up to 8 bytes a pixel of the budget.
    limits.decoding_buffer_size = usize::try_from(budget.max_pixels.saturating_mul(8)).unwrap_or(usize::MAX);
    limits.intermediate_buffer_size = limits.decoding_buffer_size;
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(tiff_error)?.with_limits(limits);
    let mut pages = Vec::new();
    // Thumbnails and masks are skipped but still bounded: at most four directories a page.
    for _ in 0..budget.max_pages.saturating_mul(4) {
        if !is_reduced(&mut decoder)? {
            if pages.len() >= budget.max_pages as usize {
                break;
            }
            pages.push(tiff_page(&mut decoder, budget)?);
        }
        if !decoder.more_images() {
            break;
        }
        decoder.next_image().map_err(tiff_error)?;
    }
    if pages.is_empty() {
        return Err(ReadError::Damaged("TIFF without a full-resolution page".into()));
    }
    Ok(pages)
}

/// A reduced-resolution copy (thumbnail) or a mask, by NewSubfileType bits 0 and 2 or the old
/// SubfileType 2.
fn is_reduced(decoder: &mut Decoder<Cursor<&[u8]>>) -> Result<bool, ReadError> {
    let new = decoder.find_tag_unsigned::<u32>(Tag::NewSubfileType).map_err(tiff_error)?.unwrap_or(0);
    let old = decoder.find_tag_unsigned::<u32>(Tag::SubfileType).map_err(tiff_error)?.unwrap_or(1);
    Ok(new & 0b101 != 0 || old == 2)
}

/// XResolution in ResolutionUnit (2 = inch, the default; 3 = cm; 1 = none).
fn stated_dpi(decoder: &mut Decoder<Cursor<&[u8]>>) -> Option<f32> {
    let x = match decoder.find_tag(Tag::XResolution).ok()?? {
        Value::Rational(n, d) if d != 0 => n as f32 / d as f32,
        Value::Float(v) => v,
        Value::Double(v) => v as f32,
        Value::Short(v) => f32::from(v),
        Value::Unsigned(v) => v as f32,
        _ => return None,
    };
    let unit = decoder.find_tag_unsigned::<u16>(Tag::ResolutionUnit).ok()?.unwrap_or(2);
    match unit {
        2 => Some(x),
        3 => Some(x * 2.54),
        _ => None,
    }
}

fn tiff_page(decoder: &mut Decoder<Cursor<&[u8]>>, budget: &Budget) -> Result<PageImage, ReadError> {
    let (width, height) = decoder.dimensions().map_err(tiff_error)?;
    check_pixels(width, height, budget)?;
    let colour = decoder.colortype().map_err(tiff_error)?;
    let bits = colour.bit_depth();
    if !matches!(bits, 1 | 2 | 4 | 8 | 16) {
        return Err(ReadError::Damaged(format!("TIFF of {bits} bits a sample")));
    }
    let kind = match colour {
        ColorType::Gray(_) => Kind::Grey { alpha: false },
        ColorType::GrayA(_) => Kind::Grey { alpha: true },
        ColorType::RGB(_) => Kind::Rgb { samples: 3 },
        ColorType::RGBA(_) => Kind::Rgb { samples: 4 },
        ColorType::CMYK(_) => Kind::Cmyk { samples: 4 },
        ColorType::CMYKA(_) => Kind::Cmyk { samples: 5 },
        ColorType::YCbCr(8) => Kind::YCbCr,
        ColorType::Palette(_) => Kind::Palette { map: colour_map(decoder, bits)? },
        other => return Err(ReadError::Damaged(format!("TIFF colour type {other:?}"))),
    };
    let planar = decoder.find_tag_unsigned::<u16>(Tag::PlanarConfiguration).map_err(tiff_error)?;
    if kind.samples() > 1 && planar == Some(PlanarConfiguration::Planar.to_u16()) {
        return Err(ReadError::Damaged("planar TIFF".into()));
    }
    let source_dpi = effective_dpi(stated_dpi(decoder), width, height);
    let (w, h, dpi) = target_size(width, height, source_dpi, budget);
    let mut shrinker = Shrinker::new(width, height, w, h);
    let row_units = width as usize * kind.samples();
    // Bytes of one row in a U8 buffer (sub-byte rows are padded to whole bytes), or u16 samples.
    let stride = if bits == 16 { row_units } else { (row_units * usize::from(bits)).div_ceil(8) };
    let mut feeder = RowFeeder { kind: &kind, bits, width, stride, row: Vec::new(), y: 0, height };
    if decoder.get_chunk_type() == ChunkType::Strip {
        let strips = decoder.strip_count().map_err(tiff_error)?;
        for strip in 0..strips {
            if feeder.y >= height {
                break;
            }
            let data = decoder.read_chunk(strip).map_err(tiff_error)?;
            feeder.feed(&data, &mut shrinker)?;
        }
    } else {
        let data = decoder.read_image().map_err(tiff_error)?;
        feeder.feed(&data, &mut shrinker)?;
    }
    if feeder.y < height {
        return Err(ReadError::Damaged(format!("TIFF page has {} of {height} rows", feeder.y)));
    }
    let (image, two_level) = shrinker.finish();
    let mode = if bits == 1 && matches!(kind, Kind::Grey { .. }) {
        ColourMode::Bilevel
    } else {
        decide_mode(&image, false, two_level)
    };
    Ok(PageImage { image, dpi, source_dpi: Some(source_dpi), mode })
}

/// ColorMap: all reds, then greens, then blues, 16 bits each.
fn colour_map(decoder: &mut Decoder<Cursor<&[u8]>>, bits: u8) -> Result<Vec<[u8; 3]>, ReadError> {
    let raw = decoder.get_tag_u16_vec(Tag::ColorMap).map_err(tiff_error)?;
    let n = 1usize << bits;
    if raw.len() < 3 * n {
        return Err(ReadError::Damaged("TIFF colour map too short".into()));
    }
    Ok((0..n).map(|i| [(raw[i] >> 8) as u8, (raw[n + i] >> 8) as u8, (raw[2 * n + i] >> 8) as u8]).collect())
}

/// Turns decoded chunks into rows of grey or RGB bytes for the shrinker.
struct RowFeeder<'k> {
    kind: &'k Kind,
    bits: u8,
    width: u32,
    stride: usize,
    row: Vec<u8>,
    y: u32,
    height: u32,
}

impl RowFeeder<'_> {
    fn feed(&mut self, data: &DecodingResult, shrinker: &mut Shrinker) -> Result<(), ReadError> {
        match data {
            DecodingResult::U8(buf) if self.bits <= 8 => {
                for chunk in buf.chunks_exact(self.stride) {
                    if self.y >= self.height {
                        break;
                    }
                    self.unpack_u8(chunk);
                    self.push(shrinker);
                }
            }
            DecodingResult::U16(buf) if self.bits == 16 => {
                for chunk in buf.chunks_exact(self.stride) {
                    if self.y >= self.height {
                        break;
                    }
                    self.row.clear();
                    self.row.extend(chunk.iter().map(|&v| (v >> 8) as u8));
                    self.push(shrinker);
                }
            }
            _ => return Err(ReadError::Damaged("TIFF sample format".into())),
        }
        Ok(())
    }

    /// Samples of one row as bytes: 8-bit kept, sub-byte grey scaled to 0–255, palette indices kept.
    fn unpack_u8(&mut self, chunk: &[u8]) {
        self.row.clear();
        if self.bits == 8 {
            self.row.extend_from_slice(chunk);
            return;
        }
        let bits = usize::from(self.bits);
        let max = (1u16 << bits) - 1;
        let scale = !matches!(self.kind, Kind::Palette { .. });
        let count = self.width as usize * self.kind.samples();
        for i in 0..count {
            let bit = i * bits;
            let shift = 8 - bits - bit % 8;
            let v = (u16::from(chunk[bit / 8]) >> shift) & max;
            self.row.push(if scale { (v * 255 / max) as u8 } else { v as u8 });
        }
    }

    fn push(&mut self, shrinker: &mut Shrinker) {
        let y = self.y;
        self.y += 1;
        match self.kind {
            Kind::Grey { alpha: false } => shrinker.push_grey(y, &self.row),
            Kind::Grey { alpha: true } => {
                let grey: Vec<u8> = self.row.chunks_exact(2).map(|p| p[0]).collect();
                shrinker.push_grey(y, &grey);
            }
            Kind::Rgb { samples: 3 } => shrinker.push_rgb(y, &self.row),
            Kind::Rgb { samples } => {
                let rgb: Vec<u8> = self.row.chunks_exact(*samples).flat_map(|p| [p[0], p[1], p[2]]).collect();
                shrinker.push_rgb(y, &rgb);
            }
            Kind::Palette { map } => {
                let rgb: Vec<u8> = self
                    .row
                    .iter()
                    .flat_map(|&i| map.get(usize::from(i)).copied().unwrap_or([255; 3]))
                    .collect();
                shrinker.push_rgb(y, &rgb);
            }
            Kind::Cmyk { samples } => {
                let rgb: Vec<u8> = self
                    .row
                    .chunks_exact(*samples)
                    .flat_map(|p| {
                        let k = 255 - u16::from(p[3]);
                        [p[0], p[1], p[2]].map(|c| ((255 - u16::from(c)) * k / 255) as u8)
                    })
                    .collect();
                shrinker.push_rgb(y, &rgb);
            }
            Kind::YCbCr => {
                let rgb: Vec<u8> = self
                    .row
                    .chunks_exact(3)
                    .flat_map(|p| {
                        let (l, cb, cr) = (f32::from(p[0]), f32::from(p[1]) - 128.0, f32::from(p[2]) - 128.0);
                        [l + 1.402 * cr, l - 0.344_136 * cb - 0.714_136 * cr, l + 1.772 * cb]
                            .map(|v| v.round().clamp(0.0, 255.0) as u8)
                    })
                    .collect();
                shrinker.push_rgb(y, &rgb);
            }
        }
    }
}
