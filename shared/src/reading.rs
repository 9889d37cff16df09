//! Wire types of what the server read in each file: the archival fields, scan findings,
//! near-duplicates, holds for 密级 marks, and search. One definition for the aggregator, the
//! agent's to-do file and scripts, with the sentences people read about them.

use serde::{Deserialize, Serialize};

use crate::catalogue::ItemCode;
use crate::relpath::RelPath;

/// Whether a stored content has been read yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadState {
    Queued,
    Done,
    Failed,
}

/// Where a document's text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    /// The text the file carries (a PDF's text layer, an Office document's text).
    Layer,
    Ocr,
    None,
}

/// Where one field's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldSource {
    Layer,
    Ocr,
    Name,
    Caption,
    /// Corrected by the office (audited), kept across re-reading.
    Office,
}

impl FieldSource {
    pub fn wire(self) -> &'static str {
        match self {
            FieldSource::Layer => "layer",
            FieldSource::Ocr => "ocr",
            FieldSource::Name => "name",
            FieldSource::Caption => "caption",
            FieldSource::Office => "office",
        }
    }

    pub fn from_wire(text: &str) -> Option<FieldSource> {
        [FieldSource::Layer, FieldSource::Ocr, FieldSource::Name, FieldSource::Caption, FieldSource::Office]
            .into_iter()
            .find(|s| s.wire() == text)
    }

    /// As the item page says it: 正文, 识别, 文件名, 说明, 人工.
    pub fn label(self) -> &'static str {
        match self {
            FieldSource::Layer => "正文",
            FieldSource::Ocr => "识别",
            FieldSource::Name => "文件名",
            FieldSource::Caption => "说明",
            FieldSource::Office => "人工",
        }
    }
}

/// The fields the office may correct, by their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldName {
    DocNumber,
    Issuer,
    Date,
    Title,
}

impl FieldName {
    pub const ALL: [FieldName; 4] =
        [FieldName::DocNumber, FieldName::Issuer, FieldName::Date, FieldName::Title];

    pub fn wire(self) -> &'static str {
        match self {
            FieldName::DocNumber => "doc_number",
            FieldName::Issuer => "issuer",
            FieldName::Date => "date",
            FieldName::Title => "title",
        }
    }

    pub fn from_wire(text: &str) -> Option<FieldName> {
        FieldName::ALL.into_iter().find(|f| f.wire() == text)
    }

    /// The 目录's column name.
    pub fn label(self) -> &'static str {
        match self {
            FieldName::DocNumber => "文号",
            FieldName::Issuer => "责任者",
            FieldName::Date => "日期",
            FieldName::Title => "题名",
        }
    }
}

/// A scan finding's code (DA/T 31-2017).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityCode {
    LowResolution,
    ColourLost,
    BlankPage,
    Skewed,
    Blurred,
    TooDark,
}

/// One finding on one page, with the measured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityFinding {
    pub code: QualityCode,
    /// 1-based.
    pub page: u32,
    pub value: f32,
}

impl QualityFinding {
    /// What is wrong and what to do, in one sentence for the clerk and the office.
    pub fn advice(&self) -> String {
        let page = self.page;
        match self.code {
            QualityCode::LowResolution => {
                format!("第{page}页分辨率约 {:.0} dpi，低于 200 dpi，请重新扫描", self.value)
            }
            QualityCode::ColourLost => {
                "红头文件请用彩色扫描（红头、印章在黑白或灰度扫描件中看不出来）".into()
            }
            QualityCode::BlankPage => format!("第{page}页为空白页，请删除后重新扫描"),
            QualityCode::Skewed => format!("第{page}页歪斜约 {:.1}°，请摆正后重新扫描", self.value.abs()),
            QualityCode::Blurred => format!("第{page}页模糊不清，请重新扫描或重新拍摄"),
            QualityCode::TooDark => format!("第{page}页过暗，请调亮后重新扫描"),
        }
    }
}

/// Another file whose read text is near-identical: the same paper scanned twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearDuplicate {
    pub department: String,
    pub path: RelPath,
}

/// Where each known field came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldSources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_number: Option<FieldSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<FieldSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<FieldSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<FieldSource>,
}

/// What the server read in a file (`facts` of each `GET /api/v1/evidence` entry). A field it
/// could not read with confidence is `null`: blank, never a guess.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub read: ReadState,
    pub text: TextSource,
    /// 文号: 「平市监〔2021〕12号」.
    pub doc_number: Option<String>,
    /// 责任者 in full.
    pub issuer: Option<String>,
    /// 成文日期, `YYYY-MM-DD` or `YYYY-MM`; never a scan, file or upload date.
    pub date: Option<String>,
    pub title: Option<String>,
    pub pages: Option<u32>,
    /// 密级 mark as printed; the file is held until the office releases it.
    pub classification: Option<String>,
    #[serde(default)]
    pub quality: Vec<QualityFinding>,
    #[serde(default)]
    pub near_duplicates: Vec<NearDuplicate>,
    #[serde(default)]
    pub sources: FieldSources,
    /// Why the file could not be read, in Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The 成文日期 lies outside the assessment year.
    #[serde(default)]
    pub out_of_year: bool,
    /// The item its text suggests, for an unsorted or misplaced file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_item: Option<ItemCode>,
    /// Blank pages (numbered from 1) the office left out of the printout; the electronic file
    /// keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unprinted_pages: Vec<u32>,
}

/// `GET /api/v1/evidence`: a record and what was read in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceListed {
    #[serde(flatten)]
    pub entry: crate::api::EvidenceEntry,
    pub facts: Facts,
}

/// Reading progress, in the status document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    pub queued: u64,
    pub done: u64,
    pub failed: u64,
}

/// A file held back for its 密级 mark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldFile {
    pub department: String,
    pub path: RelPath,
    pub classification: String,
}

impl HeldFile {
    /// What the clerk is told.
    pub const ADVICE: &'static str = "该文件标有密级，不得报送；如确无密级请联系市质量强市办公室";
}

/// `PUT /api/v1/holds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldRelease {
    pub department: String,
    pub path: RelPath,
    /// `true` releases the file for the bundle; `false` holds it again.
    pub release: bool,
}

/// `PUT /api/v1/blank-pages`: the office leaves a file's blank pages (its `blank_page` findings)
/// out of the printout, or prints them again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlankPages {
    pub department: String,
    pub path: RelPath,
    /// `true` leaves them out; `false` prints them again.
    pub omit: bool,
}

/// `PUT /api/v1/facts`: the office corrects a field (an empty value clears the correction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactCorrection {
    pub department: String,
    pub path: RelPath,
    pub field: FieldName,
    pub value: String,
}

/// One answer of `GET /api/v1/search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub department: String,
    /// The item's code, or `None` for a report or a typical case.
    pub item: Option<ItemCode>,
    pub path: RelPath,
    /// Text around the first match; the match itself between 【 and 】.
    pub snippet: String,
}
