//! The worker's side of reading: one stored file in, its `Reading` out. Runs in the child (and
//! in the reading bench, which measures what the server does).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use yingjian_reader::quality::Thresholds;
use yingjian_reader::{OcrOnDemand, ReadError, Reading, read_file};

use crate::libreoffice::{self, ConvertJob};

/// The reading job: the blob's file (the store's, or a copy in the job's folder), the thresholds
/// of the scan checks, the OCR models' folder (the embedded models when there is none) and
/// LibreOffice, when the server has it, with the longest it may take over the file (`[print]
/// office_timeout_secs`: past it the job keeps what the crates read, rather than the whole job
/// running into its own limit and losing that too).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadJob {
    pub blob: PathBuf,
    pub quality: Thresholds,
    pub models: Option<PathBuf>,
    pub soffice: Option<PathBuf>,
    pub office_limit: Duration,
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
        let converted = libreoffice::convert(&job, dir, Some(self.office_limit));
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A Word file whose layout LibreOffice never finishes keeps the text the crates read.
    #[cfg(unix)]
    #[test]
    fn a_hanging_layout_keeps_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("word/document.xml", zip::write::SimpleFileOptions::default()).unwrap();
        let body = r#"<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>关于开展质量提升行动的通知</w:t></w:r></w:p></w:body></w:document>"#;
        zip.write_all(body.as_bytes()).unwrap();
        let blob = dir.path().join("blob");
        std::fs::write(&blob, zip.finish().unwrap().into_inner()).unwrap();
        let job = ReadJob {
            blob,
            quality: Thresholds::default(),
            models: None,
            soffice: Some(crate::libreoffice::tests::hanging_soffice(dir.path())),
            office_limit: Duration::from_secs(1),
        };
        let work = tempfile::tempdir().unwrap();
        let reading = job.run(work.path()).unwrap();
        assert!(reading.text.contains("质量提升行动"), "{}", reading.text);
        assert_eq!(reading.pages, None, "no layout, no page count");
    }
}
