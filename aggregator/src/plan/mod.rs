//! What goes into a bundle, in which order, under which names: decided from the records alone,
//! so the same state always gives the same plan.

use std::collections::{HashMap, HashSet};

use yingjian_shared::natural::natural_cmp;
use yingjian_shared::{Catalogue, EvidenceEntry, Facts, Filed, Kind};

pub mod names;

use names::{MAX_PATH_CHARS, Namer, sanitize, shorten};

/// One evidence file in the bundle, with its 目录 row (DA/T 22-2015's columns). Serialisable:
/// the print build hands it to the worker.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlannedFile {
    /// Path inside the bundle's root folder, `/`-separated.
    pub path: String,
    pub sha256: String,
    pub size: u64,
    /// 序号: running number in the 目录.
    pub number: usize,
    /// 档号: the item's code and the file's number within it (`08.03-001`).
    pub reference: String,
    /// `8.3`, or 自评报告 / 典型案例.
    pub item: String,
    pub department: String,
    /// The 类别 of evidence in an item; none for a report or a case.
    pub kind: Option<Kind>,
    /// 文号, as read in the document (or told by its caption or name, or the office).
    pub doc_number: Option<String>,
    /// 责任者 in full; empty when unknown.
    pub author: String,
    /// 题名: the document's title, a picture's caption, else the file name.
    pub title: String,
    /// 日期 as DA/T 22 writes it (`20210305`): the 成文日期, never a file's or a scan's date.
    pub date: Option<String>,
    /// 页数, when the content tells.
    pub pages: Option<u32>,
    /// 起止页 in the paper version (`03 质量安全监管 第5–6页`), once it has been printed.
    pub printed: Option<String>,
    pub remarks: Vec<String>,
    /// Blank pages (numbered from 1) the office left out of the printout.
    #[serde(default)]
    pub unprinted: Vec<u32>,
}

/// 备注 of a file printed without its blank pages: 「第2、5页为空白页，纸质版未打印」.
fn unprinted_remark(pages: &[u32]) -> Option<String> {
    (!pages.is_empty()).then(|| format!("第{}页为空白页，纸质版未打印", page_list(pages)))
}

/// Page numbers as people list them: 「2、5」.
pub fn page_list(pages: &[u32]) -> String {
    pages.iter().map(u32::to_string).collect::<Vec<_>>().join("、")
}

fn kind_of(row: &EvidenceEntry) -> Kind {
    row.kind.unwrap_or(Kind::Unclassified)
}

/// Room left for a file's name below `folder` within the path budget.
fn room(root: &str, folder: &str) -> usize {
    MAX_PATH_CHARS.saturating_sub(root.chars().count() + 1 + folder.chars().count() + 1)
}

/// A clerk's subfolder is kept as a folder while this much room is left below it for names;
/// deeper levels go into the file's name instead.
const NAME_ROOM: usize = 40;

/// The bundle's files in catalogue order: reports and cases first (under `00`), then area →
/// key point → item. A given content appears at most once per item. `facts_of` tells what was
/// read in each record.
pub fn plan(
    catalogue: &Catalogue,
    root: &str,
    rows: &[EvidenceEntry],
    facts_of: &dyn Fn(&EvidenceEntry) -> Facts,
) -> Vec<PlannedFile> {
    let dept_name = |id: &str| catalogue.department(id).map_or_else(|| sanitize(id), |d| d.name.clone());
    let dept_order: HashMap<&str, usize> =
        catalogue.departments.iter().enumerate().map(|(i, d)| (d.id.as_str(), i)).collect();
    let mut out: Vec<PlannedFile> = Vec::new();
    let push =
        |out: &mut Vec<PlannedFile>, path: String, r: &EvidenceEntry, item: String, reference: String| {
            let facts = facts_of(r);
            let kind = kind_of(r);
            out.push(PlannedFile {
                number: out.len() + 1,
                path,
                sha256: r.sha256.to_string(),
                size: r.size,
                reference,
                item,
                department: dept_name(&r.department),
                kind: (r.placement == Filed::Item).then_some(kind),
                doc_number: facts.doc_number,
                author: facts.issuer.unwrap_or_default(),
                date: facts.date.map(|d| d.replace('-', "")),
                pages: facts.pages,
                printed: None,
                title: facts.title.unwrap_or_else(|| r.path.file_name().to_string()),
                remarks: if r.placement == Filed::Item && kind != Kind::Unclassified {
                    vec![kind.label().to_string()]
                } else {
                    Vec::new()
                }
                .into_iter()
                .chain(unprinted_remark(&facts.unprinted_pages))
                .collect(),
                unprinted: facts.unprinted_pages,
            });
        };

    let mut names = Namer::default();

    // Reports and cases, per department in registry order, keeping the clerk's subfolders.
    for (placement, folder, code) in
        [(Filed::Report, "00 自评报告", "00.01"), (Filed::Case, "00 典型案例", "00.02")]
    {
        let mut of: Vec<&EvidenceEntry> = rows.iter().filter(|r| r.placement == placement).collect();
        // By department, then as people number them (案例二 before 案例十一).
        let rank = |r: &EvidenceEntry| dept_order.get(r.department.as_str()).copied().unwrap_or(usize::MAX);
        of.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| natural_cmp(a.path.as_str(), b.path.as_str())));
        let mut seen = HashSet::new();
        let mut n = 0;
        for r in of {
            if !seen.insert((r.department.as_str(), r.sha256.as_str())) {
                continue;
            }
            n += 1;
            let top = names.folder("", folder);
            let mut dir = names.folder(&top, &sanitize(&dept_name(&r.department)));
            let below: Vec<String> = r.path.components().skip(1).map(|c| shorten(&sanitize(c), 40)).collect();
            let (parents, name) = below.split_at(below.len() - 1);
            let mut flattened: Vec<&str> = Vec::new();
            for p in parents {
                if flattened.is_empty() && room(root, &dir) >= p.chars().count() + 1 + NAME_ROOM {
                    dir = names.folder(&dir, p);
                } else {
                    flattened.push(p);
                }
            }
            flattened.push(&name[0]);
            let path = names.file(&dir, &flattened.join("-"), room(root, &dir));
            let label = if placement == Filed::Report { "自评报告" } else { "典型案例" };
            push(&mut out, path, r, label.to_string(), format!("{code}-{n:03}"));
        }
    }

    for area in &catalogue.areas {
        for kp in &area.key_points {
            for item in &kp.items {
                let code = item.code.to_string();
                let item_dir = [
                    format!("{:02} {}", area.code, sanitize(&area.name)),
                    format!("{:02} {}", kp.code, sanitize(&kp.name)),
                    format!("{} {}", item.code.padded(), sanitize(&item.short_title)),
                ]
                .iter()
                .fold(String::new(), |parent, name| names.folder(&parent, name));
                let mut files: Vec<&EvidenceEntry> =
                    rows.iter().filter(|r| r.placement == Filed::Item && r.item == Some(item.code)).collect();
                files.sort_by(|a, b| {
                    let key = |r: &EvidenceEntry| {
                        (
                            item.departments.iter().position(|d| *d == r.department).unwrap_or(usize::MAX),
                            kind_of(r),
                        )
                    };
                    key(a)
                        .cmp(&key(b))
                        .then_with(|| a.path.file_name().cmp(b.path.file_name()))
                        .then(a.path.cmp(&b.path))
                });
                let mut seen = HashSet::new();
                let mut n = 0;
                for r in files {
                    if !seen.insert(r.sha256.as_str()) {
                        continue;
                    }
                    n += 1;
                    let kind = kind_of(r).label();
                    let name = sanitize(&format!("{n:02} {kind} {}", r.path.file_name()));
                    let path = names.file(&item_dir, &name, room(root, &item_dir));
                    push(&mut out, path, r, code.clone(), format!("{}-{n:03}", item.code.padded()));
                }
            }
        }
    }

    // 备注: content that appears more than once in the bundle (captions were noted above).
    let mut copies: HashMap<String, Vec<usize>> = HashMap::new();
    for f in &out {
        copies.entry(f.sha256.clone()).or_default().push(f.number);
    }
    for f in &mut out {
        if let Some(others) = copies.get(f.sha256.as_str()).filter(|c| c.len() > 1) {
            let others: Vec<String> =
                others.iter().filter(|n| **n != f.number).map(|n| format!("第{n}号")).collect();
            f.remarks.insert(0, format!("重复（同{}）", others.join("、")));
        }
    }
    out
}
