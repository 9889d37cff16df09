//! The worker's side of reading: one stored file in, its `Reading` out. Runs in the child (and
//! in the reading bench, which measures what the server does).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use yingjian_reader::quality::Thresholds;
use yingjian_reader::{OcrOnDemand, ReadError, Reading, read_file};

use crate::libreoffice::{self, ConvertJob};

/// The reading job: the blob's file (the store's, or a copy in the job's folder), the thresholds
/// of the scan checks, the OCR models' folder (the embedded models when there is none) and
/// LibreOffice, when the server has it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadJob {
    pub blob: PathBuf,
    pub quality: Thresholds,
    pub models: Option<PathBuf>,
    pub soffice: Option<PathBuf>,
}

impl crate::worker::Job for ReadJob {
    const NAME: &'static str = "read";
}

impl ReadJob {
    /// Reads the file; a refusal says why in Chinese. The OCR models load only for a page
    /// without a text layer. An Office file whose pages only a layout can tell (one LibreOffice
    /// saved, a spreadsheet), or whose text no crate here reads (.doc, .wps, .rtf), is laid out
    /// by LibreOffice: its pages counted, or the PDF read in its place.
    pub fn run(&self, dir: &Path) -> Result<Reading, String> {
        let ocr = OcrOnDemand::from(self.models.clone());
        let read = |path: &Path| read_file(path, Some(&ocr), &self.quality);
        let first = read(&self.blob);
        let unlaid = match &first {
            Ok(r) => r.pages.is_none(),
            Err(e) => matches!(e, ReadError::Unsupported),
        };
        let soffice = self.soffice.as_ref().filter(|_| unlaid);
        let Some((soffice, ext)) = soffice.zip(libreoffice::extension_of(&self.blob)) else {
            return first.map_err(|e| reason(&e));
        };
        let pdf = dir.join("laid-out.pdf");
        let job = ConvertJob {
            soffice: soffice.clone(),
            input: self.blob.clone(),
            name: format!("input.{ext}"),
            out: pdf.clone(),
        };
        let converted = libreoffice::convert(&job, dir);
        match (first, converted) {
            (Ok(mut reading), Ok(_)) => {
                reading.pages = page_count(&pdf);
                Ok(reading)
            }
            (Ok(reading), Err(why)) => {
                tracing::info!(why, "an Office file did not convert: its pages are not counted");
                Ok(reading)
            }
            (Err(_), Ok(_)) => read(&pdf).map_err(|e| reason(&e)),
            (Err(e), Err(why)) => {
                tracing::info!(why, "an Office file did not convert: its text is not read");
                Err(reason(&e))
            }
        }
    }
}

/// Pages of a PDF LibreOffice wrote (only its page tree is looked at).
fn page_count(pdf: &Path) -> Option<u32> {
    let pages = lopdf::Document::load(pdf).ok()?.get_pages().len();
    u32::try_from(pages).ok().filter(|&n| n > 0)
}

/// Why a file could not be read, for the office and the clerk.
fn reason(e: &ReadError) -> String {
    match e {
        ReadError::Io(_) => "服务器读取文件时出错".into(),
        ReadError::Unsupported => "不是可以识别文字的格式".into(),
        ReadError::Damaged(_) => "文件已损坏或格式异常".into(),
        ReadError::TooLarge(what) => format!("文件过大（{what}），未识别文字"),
        ReadError::Encrypted => "文件设有密码，无法打开".into(),
        ReadError::Model(_) => "文字识别模型不可用".into(),
    }
}
