//! A realistic test corpus with a known truth (feature `corpus`): GB/T 9704 red-header notices
//! (红头文件) and plain reports of a city's departments, written as flat ODT, converted by
//! LibreOffice (`soffice`) into text PDFs or .docx, rasterised by poppler (`pdftoppm`) and degraded
//! like a scanner or a phone camera would (skew, noise, JPEG, grey or bilevel), then wrapped back
//! into image-only PDFs.
//!
//! Needs `soffice` and `pdftoppm` on the PATH; every function that runs one says clearly which tool
//! is missing rather than skipping.

mod convert;
mod fodt;
mod labelled;
mod scan;
mod spec;
#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

use convert::{unique_name, write_fodt};

pub use convert::{convert, docx, rasterise, require, text_pdf, text_pdfs};
pub use labelled::{Labelled, labelled_set};
pub use scan::{Degrade, ScanColour, degrade, image_pdf, photo_of, picture, scan_of, scanned_pdf};
pub use spec::{Issuer, Kind, Rng, Spec, Truth};

/// What `city_set` made of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    TextPdf,
    ScannedPdf { dpi: u32 },
    Docx,
    Picture,
}

/// About 20 varied documents of a city's departments: text PDFs, scans at 200 and 300 dpi with
/// skew, noise and seals, two Word files and two photographed pages. Deterministic per seed.
pub fn city_set(seed: u64, dir: &Path) -> io::Result<Vec<(PathBuf, Truth, Made)>> {
    std::fs::create_dir_all(dir)?;
    let mut specs: Vec<Spec> =
        (0..20u64).map(|k| Spec::random(seed.wrapping_mul(1000).wrapping_add(k))).collect();
    for spec in &mut specs[18..] {
        *spec = spec.one_page();
    }
    // Two LibreOffice runs in all (each costs seconds): every PDF, then the Word files.
    let pdfs = text_pdfs(&specs, dir)?;
    let inputs: Vec<PathBuf> =
        specs[16..18].iter().map(|s| write_fodt(s, dir, &unique_name("word"))).collect::<io::Result<_>>()?;
    let words = convert(&inputs, "docx", dir)?;
    let mut out = Vec::new();
    for (k, (pdf, truth)) in pdfs.into_iter().enumerate() {
        match k {
            0..10 => out.push((pdf, truth, Made::TextPdf)),
            10..16 => {
                let dpi = if k % 2 == 0 { 200 } else { 300 };
                let scan = scan_of(&pdf, dir, dpi, &Degrade::random(seed ^ k as u64))?;
                out.push((scan, truth, Made::ScannedPdf { dpi }));
            }
            16..18 => out.push((words[k - 16].clone(), truth, Made::Docx)),
            _ => {
                let photo = photo_of(&pdf, dir, seed ^ (k as u64 + 77))?;
                out.push((photo, Truth { pages: 1, ..truth }, Made::Picture));
            }
        }
    }
    Ok(out)
}
