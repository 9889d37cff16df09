//! One file → what it says: its text (layer first, then OCR), fields, pages, scan findings and a
//! near-duplicate signature. The order of sources: a PDF page's text layer, else OCR of its
//! image; a picture's OCR; an Office document's own text.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::ReadError;
use crate::fields::{self, Fields, Line};
use crate::ocr::Ocr;
use crate::pages::{self, Budget, ColourMode, PageImage};
use crate::quality::{self, Code, Finding, Thresholds};
use crate::similar::{self, Signature};
use crate::text;
pub use yingjian_shared::TextSource;

/// The largest file read: the worker holds it whole (PDF parsers want the bytes).
pub const MAX_FILE: u64 = 256 << 20;
/// Pages OCR'd in one document: the first ones and the last (where the 成文日期 is).
pub const OCR_PAGES: u32 = 12;
/// Pages checked for scan quality in one document.
pub const CHECKED_PAGES: u32 = 60;
/// Below this share of ink (a tenth of a blank page's: about a hundred pixels at 100 dpi, less
/// than one character of body text) a page is not given to OCR.
const NO_INK_PERCENT: f32 = 0.01;
/// Characters of text kept for search.
pub const MAX_TEXT_CHARS: usize = 200_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reading {
    pub text_source: TextSource,
    /// The whole text, capped at `MAX_TEXT_CHARS`.
    pub text: String,
    pub pages: Option<u32>,
    pub fields: Fields,
    pub quality: Vec<Finding>,
    pub signature: Signature,
}

/// The OCR models, loaded when the first page needs them: most files carry their text.
#[derive(Default)]
pub struct OcrOnDemand {
    /// Where the model files are; the embedded models when `None`.
    folder: Option<PathBuf>,
    loaded: OnceLock<Result<Ocr, String>>,
}

impl OcrOnDemand {
    /// The models of `folder`, or the embedded ones when there is none.
    #[must_use]
    pub fn from(folder: Option<PathBuf>) -> Self {
        Self { folder, loaded: OnceLock::new() }
    }

    /// The models, or why they cannot be had: a page that needs them then fails its file, as
    /// a reading without its OCR would look like a page with no text.
    fn get(&self) -> Result<&Ocr, ReadError> {
        self.loaded
            .get_or_init(|| {
                Ocr::load(self.folder.as_deref()).map_err(|e| match e {
                    ReadError::Model(why) => why,
                    other => other.to_string(),
                })
            })
            .as_ref()
            .map_err(|why| ReadError::Model(why.clone()))
    }
}

/// Reads the file at `path`. Without `ocr`, pages without a text layer give no text.
pub fn read_file(
    path: &Path,
    ocr: Option<&OcrOnDemand>,
    thresholds: &Thresholds,
) -> Result<Reading, ReadError> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > MAX_FILE {
        return Err(ReadError::TooLarge(format!("{} MB", size >> 20)));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE).read_to_end(&mut bytes)?;
    let budget = Budget::default();
    let mut pages = Pages::default();
    match yingjian_shared::sniff(&bytes[..bytes.len().min(16)]) {
        Some("pdf") => pages.pdf(&bytes, ocr, thresholds, &budget)?,
        Some("jpeg" | "png" | "tiff" | "bmp" | "gif" | "webp") => {
            let images = pages::picture_pages(&bytes, &budget)?;
            pages.count = Some(images.len() as u32);
            for (i, image) in images.iter().enumerate() {
                let number = i as u32 + 1;
                let ink = pages.check(image, number, thresholds);
                if number <= OCR_PAGES {
                    pages.ocr(image, number, ocr, Some(ink))?;
                }
            }
        }
        Some("zip") => {
            // What the text reader knows: Word's document, Excel's workbook, ODF's content.
            let kind = match text::office_format(std::io::Cursor::new(&bytes[..])) {
                Some(format @ ("docx" | "xlsx")) => format,
                Some("odt" | "ods" | "odp") => "odt",
                _ => return Err(ReadError::Unsupported),
            };
            pages.layer.extend(text::office(&bytes, kind)?);
            pages.count = text::office_pages(&bytes, kind);
        }
        _ => return Err(ReadError::Unsupported),
    }
    Ok(pages.finish(thresholds))
}

/// What is gathered page by page.
#[derive(Default)]
struct Pages {
    count: Option<u32>,
    layer: Vec<Line>,
    ocr: Vec<Line>,
    quality: Vec<Finding>,
    /// Scanned pages seen, and whether any of them carries colour: a colour scan's pages of
    /// black text alone look grey, so a scan has lost its colour only when no page has any.
    scans_seen: u32,
    scan_in_colour: bool,
}

impl Pages {
    fn pdf(
        &mut self,
        pdf: &[u8],
        ocr: Option<&OcrOnDemand>,
        t: &Thresholds,
        budget: &Budget,
    ) -> Result<(), ReadError> {
        let layers = text::pdf_layer(pdf, budget.max_pages)?;
        let count = layers.len() as u32;
        self.count = (count > 0).then_some(count);
        let without: Vec<u32> =
            (0..count).filter(|&i| layers[i as usize].as_ref().is_none_or(Vec::is_empty)).collect();
        // OCR the first pages without a layer and the last one (the signature block).
        let mut to_ocr: Vec<u32> = without.iter().copied().take(OCR_PAGES as usize - 1).collect();
        if let Some(&last) = without.last()
            && !to_ocr.contains(&last)
        {
            to_ocr.push(last);
        }
        for (i, layer) in layers.into_iter().enumerate() {
            let index = i as u32;
            if let Some(lines) = layer {
                self.layer.extend(lines);
            }
            let wanted = to_ocr.contains(&index);
            if !wanted && index >= CHECKED_PAGES {
                continue;
            }
            // A page that cannot be rendered costs its checks, not the document.
            let Ok(image) = pages::pdf_page(pdf, index, budget) else { continue };
            let ink = (image.source_dpi.is_some() && index < CHECKED_PAGES)
                .then(|| self.check(&image, index + 1, t));
            if wanted {
                self.ocr(&image, index + 1, ocr, ink)?;
            }
        }
        Ok(())
    }

    /// Checks a page; its ink in percent, which OCR then need not measure again.
    fn check(&mut self, image: &PageImage, page: u32, t: &Thresholds) -> f32 {
        if image.source_dpi.is_some() {
            self.scans_seen += 1;
            self.scan_in_colour |= image.mode == ColourMode::Colour;
        }
        let measures = quality::measure(image);
        self.quality.extend(quality::findings(image, page, t, &measures));
        measures.ink_percent
    }

    /// OCR of a page whose ink (in percent) was measured already, or is measured here.
    fn ocr(
        &mut self,
        image: &PageImage,
        page: u32,
        ocr: Option<&OcrOnDemand>,
        ink: Option<f32>,
    ) -> Result<(), ReadError> {
        let Some(ocr) = ocr else { return Ok(()) };
        // A page without a speck of ink has nothing to read; the detector would spend seconds
        // on it all the same.
        if ink.unwrap_or_else(|| quality::ink_percent(image)) < NO_INK_PERCENT {
            return Ok(());
        }
        let ocr = ocr.get()?;
        for line in ocr.read(&image.image)? {
            self.ocr.push(Line { text: line.text, page, confidence: line.confidence });
        }
        Ok(())
    }

    fn finish(mut self, _t: &Thresholds) -> Reading {
        // Lines in page order: layer and OCR lines of one document never share a page.
        let (source, mut lines) = match (self.layer.is_empty(), self.ocr.is_empty()) {
            (true, true) => (TextSource::None, Vec::new()),
            (false, true) => (TextSource::Layer, std::mem::take(&mut self.layer)),
            (true, false) => (TextSource::Ocr, std::mem::take(&mut self.ocr)),
            (false, false) => {
                let mut all = std::mem::take(&mut self.layer);
                all.append(&mut self.ocr);
                (TextSource::Ocr, all)
            }
        };
        lines.sort_by_key(|l| l.page);
        let fields = fields::extract(&lines);
        // A red-header notice (it has a 文号 or an issuing body's header) scanned without colour
        // has lost its 红头 and seal.
        let colourless_scan = self.scans_seen > 0 && !self.scan_in_colour;
        if colourless_scan && (fields.doc_number.is_some() || fields.issuer.is_some()) {
            self.quality.push(Finding { code: Code::ColourLost, page: 1, value: 0.0 });
        }
        let mut text = String::new();
        for line in &lines {
            if text.len() + line.text.len() > MAX_TEXT_CHARS * 3 {
                break;
            }
            text.push_str(&line.text);
            text.push('\n');
        }
        let text: String = text.chars().take(MAX_TEXT_CHARS).collect();
        Reading {
            text_source: source,
            signature: similar::signature(&text),
            text,
            pages: self.count,
            fields,
            quality: self.quality,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_pages_are_not_given_to_ocr() {
        let page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R >>".to_vec();
        let pdf = crate::pages::tests::pdf(&[
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>".to_vec(),
            page.clone(),
            page,
            b"<< /Length 0 >>\nstream\n\nendstream".to_vec(),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blank.pdf");
        std::fs::write(&path, pdf).unwrap();
        // Models that cannot load: a page given to OCR would fail the file.
        let ocr = OcrOnDemand::from(Some(dir.path().join("no models here")));
        let reading = read_file(&path, Some(&ocr), &Thresholds::default()).unwrap();
        assert_eq!(reading.pages, Some(2));
        assert_eq!(reading.text_source, TextSource::None);
        assert!(ocr.loaded.get().is_none(), "the models were loaded for blank pages");
    }
}
