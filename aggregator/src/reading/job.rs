//! The worker's side of reading: one stored file in, its `Reading` out. Runs in the child.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use yingjian_reader::quality::Thresholds;
use yingjian_reader::{OcrOnDemand, ReadError, Reading, read_file};

/// `Job::Read`: the blob's file (the store's, or a copy in the job's folder), the thresholds
/// of the scan checks and the OCR models' folder (the embedded models when there is none).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadJob {
    pub blob: PathBuf,
    pub quality: Thresholds,
    pub models: Option<PathBuf>,
}

impl ReadJob {
    /// Reads the file; a refusal says why in Chinese. The OCR models load only for a page
    /// without a text layer.
    pub fn run(&self) -> Result<Reading, String> {
        read_file(&self.blob, Some(&OcrOnDemand::from(self.models.clone())), &self.quality)
            .map_err(|e| reason(&e))
    }
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
