//! The archival fields of a document (DA/T 22-2015 目录 columns) found in its text: 文号,
//! 责任者 (发文机关), 成文日期, 题名, and the 密级 mark. A field below its confidence bar is `None`:
//! blank rather than wrong. Nothing here ever looks at a file's own dates.
//!
//! The rules follow GB/T 9704 (红头文件): the 发文机关标志 on top, the 发文字号 alone on its line
//! under it, the title, the addressee ending in 「：」, the body, the signature block with the
//! 成文日期; the 密级 top left. Plain reports (自评报告, 工作总结, 方案) have a heading line or two, and a
//! signature block. They read text layers and OCR alike, so they tolerate OCR's misreadings
//! (〔〕 as 【】 [] () ［］ （） 「」, a lost 〕, 〇 as O/0/○, ★ lost or read as *).

mod classification;
mod dates;
mod doc_number;
mod issuer;
#[cfg(test)]
mod tests;
mod title;

use serde::{Deserialize, Serialize};

use classification::classification;
use dates::date;
use doc_number::doc_number;
use issuer::issuer;
use title::{heading, title_after_number, trim_title};

/// One line of a document's text, in reading order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub text: String,
    /// 1-based page number.
    pub page: u32,
    /// OCR confidence (0..1); 1.0 for a text layer or an Office file's text.
    pub confidence: f32,
}

/// A value and how sure the reader is of it (the lowest confidence of the lines it came from).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub value: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fields {
    /// 文号, normalised to 〔〕 brackets: 「平市监〔2021〕12号」.
    pub doc_number: Option<Field>,
    /// 发文机关 in full (joint issuers joined with 「、」).
    pub issuer: Option<Field>,
    /// 成文日期: `YYYY-MM-DD` (or `YYYY-MM` when the day is not printed).
    pub date: Option<Field>,
    /// 题名, without 文号, date or file extension.
    pub title: Option<Field>,
    /// 密级 mark as printed: 「秘密★1年」, 「机密」, 「内部资料」, 「注意保密」.
    pub classification: Option<Field>,
}

/// A field whose lines were read with less confidence than this is left blank.
pub const MIN_CONFIDENCE: f32 = 0.5;

/// Lines of page 1 searched for the 文号 and a report's heading.
const HEAD_LINES: usize = 30;
/// Lines of page 1 searched for the 密级 mark (it is printed top left, above everything).
const MARK_LINES: usize = 6;

/// The fields in a document's lines (all pages, in reading order).
pub fn extract(lines: &[Line]) -> Fields {
    let lines: Vec<Norm<'_>> = lines
        .iter()
        .map(|l| Norm { compact: fold(&l.text), line: l })
        .filter(|n| !n.compact.is_empty())
        .collect();
    let first_page = lines.first().map_or(1, |l| l.line.page);
    let head: Vec<usize> =
        (0..lines.len()).filter(|&i| lines[i].line.page == first_page).take(HEAD_LINES).collect();

    let number_at = head.iter().copied().find(|&i| doc_number(&lines[i].compact).is_some());
    let doc_number_field =
        number_at.and_then(|i| doc_number(&lines[i].compact).and_then(|value| field(value, &[&lines[i]])));

    let title_lines = match number_at {
        Some(i) => title_after_number(&lines, i),
        None => heading(&lines, &head),
    };
    let title = (!title_lines.is_empty()).then(|| {
        let text: String = title_lines.iter().map(|&i| lines[i].compact.as_str()).collect();
        trim_title(&text)
    });
    let title_field = title.as_ref().and_then(|t| {
        let used: Vec<&Norm<'_>> = title_lines.iter().map(|&i| &lines[i]).collect();
        field(t.clone(), &used)
    });

    let (date_field, date_at) = match date(&lines) {
        Some((value, i)) => (field(value, &[&lines[i]]).filter(|f| !dates::to_come(&f.value)), Some(i)),
        None => (None, None),
    };

    let issuer_field = issuer(&lines, &head, number_at, title.as_deref(), &title_lines, date_at);
    let classification = head
        .iter()
        .take(MARK_LINES)
        .find_map(|&i| classification(&lines[i].compact).and_then(|value| field(value, &[&lines[i]])));

    Fields {
        doc_number: doc_number_field,
        issuer: issuer_field,
        date: date_field,
        title: title_field,
        classification,
    }
}

/// A line with its folded text: no white space, full-width digits and letters as ASCII.
struct Norm<'a> {
    compact: String,
    line: &'a Line,
}

fn field(value: String, from: &[&Norm<'_>]) -> Option<Field> {
    let confidence = from.iter().map(|n| n.line.confidence).fold(1.0f32, f32::min);
    (confidence >= MIN_CONFIDENCE && !value.is_empty()).then_some(Field { value, confidence })
}

/// White space removed, full-width ASCII folded to ASCII (「２０２１」 → 「2021」), except the
/// full-width punctuation Chinese text uses itself (：，（）；！？).
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '：' | '，' | '（' | '）' | '；' | '！' | '？' | '［' | '］' | '｛' | '｝' | '＊' => {
                c
            }
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(u32::from(c) - 0xfee0).unwrap_or(c),
            _ => c,
        })
        .collect()
}
