//! Pictures decoded on the server for people to see — the preview of a TIFF scan, a picture
//! placed in the printed volumes — bounded in pixels and memory whatever a file claims, and
//! written as PNG no longer than asked on its long side.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, ImageResult, Limits};

/// A picture wider or taller than this is not decoded.
const MAX_SIDE: u32 = 12_000;
const MAX_ALLOC: u64 = 256 << 20;

/// Decodes the (first) picture in `bytes`, whatever its format, within the limits.
pub fn decode(bytes: &[u8]) -> ImageResult<DynamicImage> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    reader.decode()
}

/// `picture` as PNG, shrunk (never enlarged: `thumbnail` would) to at most `side` pixels long.
pub fn png_at_most(mut picture: DynamicImage, side: u32) -> ImageResult<Vec<u8>> {
    if picture.width() > side || picture.height() > side {
        picture = picture.thumbnail(side, side);
    }
    let mut png = Vec::new();
    picture.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)?;
    Ok(png)
}
