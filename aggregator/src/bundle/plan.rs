//! What goes into a bundle, in which order, under which names: decided from the records alone,
//! so the same state always gives the same plan.

use std::collections::{HashMap, HashSet};

use yingjian_shared::{Catalogue, EvidenceEntry, Filed, Kind, china_time};

use super::names::{MAX_PATH_CHARS, Namer, sanitize, shorten};

/// One evidence file in the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFile {
    /// Path inside the bundle's root folder, `/`-separated.
    pub path: String,
    pub sha256: String,
    pub size: u64,
    /// Running number in the 目录.
    pub number: usize,
    /// `8.3`, or 自评报告 / 典型案例.
    pub item: String,
    pub department: String,
    pub kind: String,
    /// Caption, else the file name without extension.
    pub title: String,
    /// The file's modification date, `YYYY-MM-DD` in China Standard Time.
    pub date: String,
    pub remarks: Vec<String>,
}

fn kind_of(row: &EvidenceEntry) -> Kind {
    row.kind.unwrap_or(Kind::Unclassified)
}

fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(s, _)| s)
}

/// Room left for a file's name below `folder` within the path budget.
fn room(root: &str, folder: &str) -> usize {
    MAX_PATH_CHARS.saturating_sub(root.chars().count() + 1 + folder.chars().count() + 1)
}

/// A clerk's subfolder is kept as a folder while this much room is left below it for names;
/// deeper levels go into the file's name instead.
const NAME_ROOM: usize = 40;

/// The bundle's files in catalogue order: reports and cases first (under `00`), then area →
/// key point → item. A given content appears at most once per item.
pub fn plan(catalogue: &Catalogue, root: &str, rows: &[EvidenceEntry]) -> Vec<PlannedFile> {
    let dept_name = |id: &str| catalogue.department(id).map_or_else(|| sanitize(id), |d| d.name.clone());
    let dept_order: HashMap<&str, usize> =
        catalogue.departments.iter().enumerate().map(|(i, d)| (d.id.as_str(), i)).collect();
    let local_date = |r: &EvidenceEntry| china_time(r.modified).strftime("%Y-%m-%d").to_string();
    let mut out: Vec<PlannedFile> = Vec::new();
    let push = |out: &mut Vec<PlannedFile>, path: String, r: &EvidenceEntry, item: String, kind: &str| {
        let name = r.path.file_name();
        out.push(PlannedFile {
            number: out.len() + 1,
            path,
            sha256: r.sha256.to_string(),
            size: r.size,
            item,
            department: dept_name(&r.department),
            kind: kind.to_string(),
            title: r.caption.clone().unwrap_or_else(|| stem(name).to_string()),
            date: local_date(r),
            remarks: if r.problem.as_deref() == Some("uncaptioned") {
                vec!["缺少文字说明".to_string()]
            } else {
                Vec::new()
            },
        });
    };

    let mut names = Namer::default();

    // Reports and cases, per department in registry order, keeping the clerk's subfolders.
    for (placement, folder) in [(Filed::Report, "00 自评报告"), (Filed::Case, "00 典型案例")] {
        let mut of: Vec<&EvidenceEntry> = rows.iter().filter(|r| r.placement == placement).collect();
        of.sort_by_key(|r| {
            (dept_order.get(r.department.as_str()).copied().unwrap_or(usize::MAX), r.path.as_str())
        });
        let mut seen = HashSet::new();
        for r in of {
            if !seen.insert((r.department.as_str(), r.sha256.as_str())) {
                continue;
            }
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
            push(&mut out, path, r, label.to_string(), label);
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
                    push(&mut out, path, r, code.clone(), kind);
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
