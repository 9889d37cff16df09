//! What the office, the clerk and the 目录 are told about one record: the blob's reading, the
//! clerk's caption and file name, and the office's corrections, merged field by field with the
//! source of each; the files held for a 密级 mark; near-duplicates across the city.

use std::collections::{HashMap, HashSet};

use yingjian_shared::{
    Catalogue, EvidenceEntry, Facts as WireFacts, FieldName, FieldSource, FieldSources, Filed, Kind,
    NearDuplicate, QualityCode, ReadState, TextSource,
};

mod near;
pub mod topics;

pub use near::same_paper;

use crate::archival;
use crate::db::{Correction, Db, DbResult, OfficeMark};
use crate::facts::Facts;

/// Everything known about the stored contents, read at one moment.
#[derive(Debug, Default)]
pub struct Knowledge {
    facts: HashMap<String, Facts>,
    /// (department, path, field) → (sha256 corrected, value).
    corrections: HashMap<(String, String, FieldName), (String, String)>,
    /// (department, path, sha256) released from their hold.
    released: HashSet<(String, String, String)>,
    /// (department, path, sha256) whose blank pages are left out of the printout.
    blanks_omitted: HashSet<(String, String, String)>,
}

/// A record's fields as the 目录 and the pages show them.
pub struct Told<'a> {
    pub catalogue: &'a Catalogue,
    /// The city's name, for departments' full names (平顶山市公安局).
    pub city: &'a str,
}

impl Knowledge {
    pub async fn load(db: &Db) -> DbResult<Knowledge> {
        let facts = db.facts().await?;
        let corrections = db
            .corrections()
            .await?
            .into_iter()
            .map(|Correction { department, path, sha256, field, value }| {
                ((department, path, field), (sha256, value))
            })
            .collect();
        let released = db.marks(OfficeMark::HoldReleased).await?.into_iter().collect();
        let blanks_omitted = db.marks(OfficeMark::BlankPagesDropped).await?.into_iter().collect();
        Ok(Knowledge { facts, corrections, released, blanks_omitted })
    }

    fn key(r: &EvidenceEntry) -> (String, String, String) {
        (r.department.clone(), r.path.to_string(), r.sha256.to_string())
    }

    /// The pages of this record's content the scan checks found blank.
    pub fn blank_pages(&self, r: &EvidenceEntry) -> Vec<u32> {
        let quality = self.facts.get(r.sha256.as_str()).map(|f| f.quality.as_slice()).unwrap_or_default();
        quality.iter().filter(|q| q.code == QualityCode::BlankPage).map(|q| q.page).collect()
    }

    /// The blank pages the office left out of this record's printout.
    pub fn unprinted_pages(&self, r: &EvidenceEntry) -> Vec<u32> {
        if self.blanks_omitted.contains(&Self::key(r)) { self.blank_pages(r) } else { Vec::new() }
    }

    /// Whether this record's content was read by OCR: a scan, not a document's own text.
    pub fn scanned(&self, r: &EvidenceEntry) -> bool {
        self.facts.get(r.sha256.as_str()).is_some_and(|f| f.text == TextSource::Ocr)
    }

    /// The 密级 mark read on this record's content, released or not.
    pub fn mark(&self, r: &EvidenceEntry) -> Option<&str> {
        self.facts.get(r.sha256.as_str())?.classification.as_deref()
    }

    /// The 密级 mark that keeps this record out of the hand-in, unless the office released it.
    pub fn hold(&self, r: &EvidenceEntry) -> Option<&str> {
        let mark = self.mark(r)?;
        (!self.released.contains(&Self::key(r))).then_some(mark)
    }

    /// The near-duplicates of every record: other records whose content is a different scan
    /// of the same paper.
    pub fn near_duplicates(
        &self,
        records: &[EvidenceEntry],
    ) -> HashMap<(String, String), Vec<NearDuplicate>> {
        let signatures: Vec<(&str, &[u32])> = self
            .facts
            .iter()
            .filter(|(_, f)| !f.signature.is_empty())
            .map(|(sha, f)| (sha.as_str(), f.signature.as_slice()))
            .collect();
        let groups = near::groups(&signatures);
        let mut by_sha: HashMap<&str, Vec<&EvidenceEntry>> = HashMap::new();
        for r in records {
            by_sha.entry(r.sha256.as_str()).or_default().push(r);
        }
        let mut out: HashMap<(String, String), Vec<NearDuplicate>> = HashMap::new();
        for group in groups {
            for sha in &group {
                for r in by_sha.get(sha.as_str()).into_iter().flatten() {
                    let others = group
                        .iter()
                        .filter(|other| *other != sha)
                        .flat_map(|other| by_sha.get(other.as_str()).into_iter().flatten())
                        .map(|o| NearDuplicate { department: o.department.clone(), path: o.path.clone() })
                        .collect::<Vec<_>>();
                    if !others.is_empty() {
                        out.entry((r.department.clone(), r.path.to_string())).or_default().extend(others);
                    }
                }
            }
        }
        out
    }

    /// What is known about one record.
    pub fn of(&self, r: &EvidenceEntry, told: &Told<'_>) -> WireFacts {
        let read = self.facts.get(r.sha256.as_str());
        let (state, text) = read.map_or((ReadState::Queued, TextSource::None), |f| (f.read, f.text));
        let content = match text {
            TextSource::Layer => Some(FieldSource::Layer),
            TextSource::Ocr => Some(FieldSource::Ocr),
            TextSource::None => None,
        };
        let corrected = |field: FieldName| {
            self.corrections
                .get(&(r.department.clone(), r.path.to_string(), field))
                .filter(|(sha, _)| sha == r.sha256.as_str())
                .map(|(_, value)| (value.clone(), FieldSource::Office))
        };
        let from_content = |value: Option<&String>| Some((value?.clone(), content?));
        let caption = r.caption.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let name = r.path.file_name();
        let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
        // The clerk's own words: a caption is theirs; the file name only when no caption was
        // given (the server derives a caption from a picture's name).
        let clerk = |f: fn(&str) -> Option<String>| {
            caption
                .and_then(f)
                .map(|v| (v, FieldSource::Caption))
                .or_else(|| f(stem).map(|v| (v, FieldSource::Name)))
        };
        let picture = r.kind == Some(Kind::Picture);

        let doc_number = corrected(FieldName::DocNumber)
            .or_else(|| from_content(read.and_then(|f| f.doc_number.as_ref())))
            .or_else(|| clerk(archival::doc_number));
        let clerk_title = || {
            let title = archival::title(caption, name);
            let source = if caption.is_some() { FieldSource::Caption } else { FieldSource::Name };
            (!title.is_empty()).then_some((title, source))
        };
        // A photo's 题名 is its caption; a document's is the title printed on it.
        let title = corrected(FieldName::Title).or_else(|| {
            if picture {
                clerk_title()
            } else {
                from_content(read.and_then(|f| f.title.as_ref())).or_else(clerk_title)
            }
        });
        let in_window = |date: &String| window_allows(told.catalogue.year, r.placement, date);
        let date = corrected(FieldName::Date)
            .or_else(|| from_content(read.and_then(|f| f.date.as_ref())))
            // A date in a name outside the assessment's window is more likely a scanner's day
            // than the document's: left blank.
            .or_else(|| clerk(told_date).filter(|(d, _)| in_window(d)));
        let issuer = corrected(FieldName::Issuer)
            .or_else(|| from_content(read.and_then(|f| f.issuer.as_ref())))
            .or_else(|| {
                let title = title.as_ref().map(|(t, _)| t.as_str())?;
                archival::issuer(title).map(|i| (i, FieldSource::Name))
            });
        // Unknown: the body that filed it, in full (平顶山市公安局), with no source of its own.
        let filer = issuer.is_none().then(|| full_name(told, &r.department));
        let out_of_year = date.as_ref().is_some_and(|(d, _)| !in_window(d));
        WireFacts {
            read: state,
            text,
            sources: FieldSources {
                doc_number: doc_number.as_ref().map(|v| v.1),
                issuer: issuer.as_ref().map(|v| v.1),
                date: date.as_ref().map(|v| v.1),
                title: title.as_ref().map(|v| v.1),
            },
            doc_number: doc_number.map(|v| v.0),
            issuer: issuer.map(|v| v.0).or(filer),
            date: date.map(|v| v.0),
            title: title.map(|v| v.0),
            pages: read.and_then(|f| f.pages.or(f.printed)),
            classification: read.and_then(|f| f.classification.clone()),
            quality: read.map(|f| f.quality.clone()).unwrap_or_default(),
            near_duplicates: Vec::new(),
            failure: read.and_then(|f| f.failure.clone()),
            out_of_year,
            suggested_item: read
                .zip(r.item)
                .and_then(|(f, item)| topics::suggestion(told.catalogue, &f.topics, &r.department, item)),
            unprinted_pages: self.unprinted_pages(r),
        }
    }
}

/// A department's full name as a 责任者: 平顶山市公安局.
pub fn full_name(told: &Told<'_>, department: &str) -> String {
    let name = told.catalogue.department(department).map_or(department, |d| d.name.as_str());
    if name.starts_with(told.city) && !told.city.is_empty() {
        return name.to_string();
    }
    let city = if told.city.is_empty() { "市" } else { told.city };
    format!("{city}{name}")
}

/// A date the clerk wrote in a caption or name, as `YYYY-MM-DD` or `YYYY-MM`.
fn told_date(text: &str) -> Option<String> {
    let compact = archival::doc_date(text)?;
    Some(match compact.len() {
        8 => format!("{}-{}-{}", &compact[..4], &compact[4..6], &compact[6..]),
        _ => format!("{}-{}", &compact[..4], &compact[4..6]),
    })
}

/// Whether a 成文日期 falls in the assessment year; reports may also be dated in the following
/// January (they are written after the year ends).
fn window_allows(year: u16, placement: Filed, date: &str) -> bool {
    let Some(y) = date.get(..4).and_then(|y| y.parse::<u16>().ok()) else { return false };
    let january = date.get(5..7) == Some("01");
    y == year || (placement == Filed::Report && y == year + 1 && january)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_year_and_for_reports_the_next_january() {
        assert!(window_allows(2021, Filed::Item, "2021-03-05"));
        assert!(!window_allows(2021, Filed::Item, "2022-01-12"));
        assert!(window_allows(2021, Filed::Report, "2022-01-12"));
        assert!(!window_allows(2021, Filed::Report, "2022-02-01"));
        assert!(!window_allows(2021, Filed::Item, "2026-12-06"));
    }

    #[test]
    fn told_dates_are_written_with_dashes() {
        assert_eq!(told_date("2021年3月5日会议纪要").as_deref(), Some("2021-03-05"));
        assert_eq!(told_date("2021年3月质量月").as_deref(), Some("2021-03"));
        assert_eq!(told_date("质量工作总结"), None);
    }
}
