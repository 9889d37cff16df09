//! The paper version's layout, which the print draws and the bundle's electronic 目录 reads its
//! 起止页 from: the volumes a plan is cut into (one per 考核领域, going on in （续01）… past their
//! pages or input), and where each file is in them.

pub mod page;

use std::collections::HashMap;

use yingjian_shared::{Catalogue, ItemCode};

use crate::facts::Facts;
use crate::plan::PlannedFile;

/// A volume's input is read into memory for the PDF writer, which holds what it embeds until the
/// volume is written: past this much, an area goes on in a further volume (（续01）, （续02）…,
/// numbered so that they sort).
pub const MAX_VOLUME_INPUT: u64 = 128 << 20;
/// What a page of a file whose pages are not known yet (not read yet) is taken to weigh when
/// volumes are cut: a 300-dpi scan's page as JPEG. A text PDF's pages are known as soon as it
/// is read, which takes a moment; a scan's wait for OCR.
pub const UNREAD_PAGE_BYTES: u64 = 512 << 10;

/// One printable PDF.
pub struct Volume<'a> {
    /// `01 质量水平状况.pdf`, `01 质量水平状况（续01）.pdf`.
    pub file_name: String,
    /// `一、质量水平状况`, as the cover says it.
    pub title: String,
    /// The area's `01 质量水平状况` and `一、质量水平状况`, and which of its volumes this is
    /// (0 the first, then 续01 …).
    pub area: (String, String),
    pub part: usize,
    pub files: Vec<&'a PlannedFile>,
}

/// The volumes of a plan, in catalogue order, each of about `volume_pages` pages at most (as
/// read; a file not read yet counts a page for each `UNREAD_PAGE_BYTES`) and `MAX_VOLUME_INPUT` of input, cut
/// between files: known from the state alone, so the electronic 目录 finds the same volumes.
/// What counts towards a volume's input is what will be held to be drawn: files whose pages the
/// content examination could tell (`facts`), but not PDFs when qpdf puts them in (`streamed`).
pub fn volumes<'a, S: std::hash::BuildHasher>(
    catalogue: &Catalogue,
    files: &'a [PlannedFile],
    facts: &HashMap<String, Facts, S>,
    volume_pages: usize,
    streamed: bool,
) -> Vec<Volume<'a>> {
    let input = |f: &PlannedFile| match facts.get(&f.sha256) {
        Some(x) if x.pages.is_some() && !(streamed && f.path.to_ascii_lowercase().ends_with(".pdf")) => {
            f.size
        }
        _ => 0,
    };
    let pages = |f: &PlannedFile| match facts.get(&f.sha256).and_then(|x| x.pages) {
        Some(p) => p as usize,
        None => usize::try_from(f.size / UNREAD_PAGE_BYTES).unwrap_or(usize::MAX).max(1),
    };
    let mut out: Vec<Volume<'a>> = Vec::new();
    let mut push = |key: (String, String), f: &'a PlannedFile| {
        let fits = out.last().is_some_and(|v| {
            let same = v.file_name.starts_with(&key.0);
            let held: u64 = v.files.iter().map(|f| input(f)).sum();
            let filled: usize = v.files.iter().map(|f| pages(f)).sum();
            same && (v.files.is_empty()
                || (held + input(f) <= MAX_VOLUME_INPUT && filled + pages(f) <= volume_pages.max(1)))
        });
        if !fits {
            let part = out.iter().filter(|v| v.file_name.starts_with(&key.0)).count();
            let (file_name, title) = if part == 0 {
                (format!("{}.pdf", key.0), key.1.clone())
            } else {
                (format!("{}（续{part:02}）.pdf", key.0), format!("{}（续{part:02}）", key.1))
            };
            out.push(Volume { file_name, title, area: key.clone(), part, files: Vec::new() });
        }
        out.last_mut().expect("just pushed").files.push(f);
    };
    for f in files {
        let key = match f.item.parse::<ItemCode>().ok().and_then(|code| area_of(catalogue, code)) {
            Some((code, name)) => {
                (format!("{code:02} {name}"), format!("{}、{name}", yingjian_shared::chinese_numeral(code)))
            }
            None => (format!("00 {}", f.item), f.item.clone()),
        };
        push(key, f);
    }
    out
}

fn area_of(catalogue: &Catalogue, code: ItemCode) -> Option<(u8, String)> {
    catalogue
        .areas
        .iter()
        .find(|a| a.key_points.iter().any(|k| k.items.iter().any(|i| i.code == code)))
        .map(|a| (a.code, a.name.clone()))
}

/// Where each file of a plan is in the paper version (`03 质量安全监管 第5–6页`), by 序号, for
/// the electronic 目录: known for a volume once a print build has seen every file in it.
pub fn spans(
    catalogue: &Catalogue,
    files: &[PlannedFile],
    facts: &HashMap<String, Facts>,
    settings: &crate::config::PrintSettings,
) -> HashMap<usize, String> {
    let mut out = HashMap::new();
    let streamed = crate::programs::qpdf(settings.qpdf.as_deref()).is_some();
    for volume in volumes(catalogue, files, facts, settings.volume_pages, streamed) {
        let pages: Option<Vec<usize>> = volume
            .files
            .iter()
            .map(|f| facts.get(&f.sha256).and_then(|x| x.printed).map(|p| p as usize))
            .collect();
        let Some(pages) = pages else { continue };
        let (starts, _) = page::layout(&volume.files, &pages, &|item| page::heading(catalogue, item));
        let stem = volume.file_name.trim_end_matches(".pdf");
        for ((f, start), n) in volume.files.iter().zip(starts).zip(pages) {
            let span = if n <= 1 { format!("{start}") } else { format!("{start}–{}", start + n - 1) };
            out.insert(f.number, format!("{stem} 第{span}页"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(number: usize, sha: &str, size: u64) -> PlannedFile {
        PlannedFile {
            path: format!("f{number}.pdf"),
            sha256: sha.into(),
            size,
            number,
            reference: format!("08.03-{number:03}"),
            item: "8.3".into(),
            department: "公安局".into(),
            kind: None,
            doc_number: None,
            author: "公安局".into(),
            title: format!("f{number}"),
            date: None,
            pages: None,
            printed: None,
            remarks: Vec::new(),
            unprinted: Vec::new(),
        }
    }

    #[test]
    fn a_volume_goes_on_in_another_past_its_input_and_only_what_is_embedded_counts() {
        let catalogue = Catalogue::builtin();
        let files: Vec<PlannedFile> = (1..=3).map(|n| file(n, &format!("{n}"), 60 << 20)).collect();
        let readable = |shas: &[&str]| -> HashMap<String, Facts> {
            shas.iter().map(|s| ((*s).to_string(), Facts { pages: Some(10), ..Facts::default() })).collect()
        };
        let names = |facts: &HashMap<String, Facts>| -> Vec<String> {
            volumes(catalogue, &files, facts, 300, false).into_iter().map(|v| v.file_name).collect()
        };
        assert_eq!(
            names(&readable(&["1", "2", "3"])),
            ["03 质量安全监管.pdf", "03 质量安全监管（续01）.pdf"]
        );
        // Files that will only get a placeholder take no room.
        assert_eq!(names(&readable(&["1"])), ["03 质量安全监管.pdf"]);
    }
}
