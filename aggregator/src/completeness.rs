//! Completeness against the catalogue: per item × department, per department, for the city.
//! Pure: reads a `StatusData` snapshot, so it is tested without a server.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use yingjian_shared::{
    AgentHealth, AreaStatus, Catalogue, Contacts, Deadlines, DepartmentStatus, DuplicateCopy, DuplicateGroup,
    Heartbeat, Item, ItemState, ItemStatus, Kind, Points, RelPath, Returned, SkippedFile, Status, contacts,
    extension_fits,
};

use crate::db::{ReturnedFile, StatusData};

/// Problem files named in an item's reasons before the rest is summed up.
const NAMED_PROBLEMS: usize = 3;

/// Computes the status document. `scope` limits it to one department (a department token).
pub fn compute(
    catalogue: &Catalogue,
    deadlines: &Deadlines,
    data: &StatusData,
    now: Timestamp,
    silent_after: std::time::Duration,
    scope: Option<&str>,
) -> Status {
    // (department, item) → kinds with their file counts.
    let mut evidence: HashMap<(&str, &str), BTreeMap<Kind, u64>> = HashMap::new();
    let mut reports: HashMap<&str, u64> = HashMap::new();
    let mut last_upload: HashMap<&str, Timestamp> = HashMap::new();
    let mut late: HashMap<&str, u64> = HashMap::new();
    for g in &data.groups {
        let dept = g.department.as_str();
        match (g.placement.as_str(), &g.item) {
            ("item", Some(item)) => {
                let kind = g.kind.as_deref().and_then(Kind::from_wire).unwrap_or(Kind::Unclassified);
                *evidence.entry((dept, item.as_str())).or_default().entry(kind).or_default() += g.files;
            }
            ("report", _) => *reports.entry(dept).or_default() += g.files,
            _ => {}
        }
        let last = last_upload.entry(dept).or_insert(g.last_received);
        *last = (*last).max(g.last_received);
        *late.entry(dept).or_default() += g.late;
    }
    let mut problems: HashMap<(&str, &str), Vec<(&str, &str)>> = HashMap::new();
    for p in &data.problems {
        if let Some(item) = &p.item {
            problems
                .entry((p.department.as_str(), item.as_str()))
                .or_default()
                .push((p.path.as_str(), p.problem.as_str()));
        }
    }
    // A typical case is a file or a folder directly under 典型案例/.
    let mut cases: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (dept, path) in &data.case_paths {
        let case = path.split('/').nth(1).unwrap_or(path);
        cases.entry(dept.as_str()).or_default().insert(case);
    }
    let mut heartbeat: HashMap<&str, Timestamp> = HashMap::new();
    let mut unsorted: HashMap<&str, BTreeSet<RelPath>> = HashMap::new();
    let mut agents: HashMap<&str, Vec<AgentHealth>> = HashMap::new();
    for (dept, agent, at, body) in &data.heartbeats {
        let last = heartbeat.entry(dept.as_str()).or_insert(*at);
        *last = (*last).max(*at);
        if let Ok(hb) = serde_json::from_str::<Heartbeat>(body) {
            unsorted.entry(dept.as_str()).or_default().extend(hb.unsorted);
            agents.entry(dept.as_str()).or_default().push(AgentHealth {
                agent: agent.clone(),
                host: hb.host,
                version: hb.version,
                watch_mode: hb.watch_mode,
                pending: hb.pending,
                failed: hb.failed,
                oldest_pending: hb.oldest_pending,
                // Said in Chinese whatever the agent's version sent.
                skipped: hb
                    .skipped
                    .into_iter()
                    .map(|f| if f.message.is_empty() { SkippedFile::new(f.name, f.reason) } else { f })
                    .collect(),
                last_seen: *at,
                silent: now.duration_since(*at).as_secs() > silent_after.as_secs() as i64,
            });
        }
    }
    // The office's returns and notes, by department and item; returned reports and cases apart.
    let mut returned: HashMap<(&str, &str), Vec<&ReturnedFile>> = HashMap::new();
    let mut returned_other: HashMap<&str, Vec<&ReturnedFile>> = HashMap::new();
    for r in &data.returned {
        match &r.item {
            Some(item) => returned.entry((r.department.as_str(), item.as_str())).or_default().push(r),
            None => returned_other.entry(r.department.as_str()).or_default().push(r),
        }
    }
    let notes: HashMap<(&str, &str), &str> =
        data.notes.iter().map(|(d, i, t)| ((d.as_str(), i.as_str()), t.as_str())).collect();
    let reviews = Reviews { returned, notes };
    let contacts: HashMap<&str, (bool, Timestamp)> = data
        .contacts
        .iter()
        .map(|(dept, body, updated)| {
            // 已报 needs a name and a number that reaches them, for both roles.
            let complete = serde_json::from_str::<Contacts>(body).is_ok_and(|c| contacts::filed(&c));
            (dept.as_str(), (complete, *updated))
        })
        .collect();

    let departments: Vec<DepartmentStatus> = catalogue
        .departments
        .iter()
        .filter(|d| scope.is_none_or(|s| s == d.id))
        .map(|d| {
            let id = d.id.as_str();
            let scored: Vec<&Item> = catalogue.items_for(id).filter(|i| i.is_scored()).collect();
            let items: Vec<ItemStatus> = scored
                .iter()
                .map(|item| {
                    let code = item.code.to_string();
                    let (kinds, problems) =
                        (evidence.get(&(id, code.as_str())), problems.get(&(id, code.as_str())));
                    item_status(item, kinds, problems, &reviews.of(id, &code))
                })
                .collect();
            let points_in = |pass: fn(ItemState) -> bool| -> Points {
                scored.iter().zip(&items).filter(|(_, s)| pass(s.status)).map(|(i, _)| i.score()).sum()
            };
            let points_complete = points_in(|s| s == ItemState::Complete);
            let points_covered = points_in(|s| s != ItemState::Missing);
            let case_count = cases.get(id).map_or(0, |c| c.len() as u64);
            let (contacts_ok, contacts_at) = contacts.get(id).copied().unwrap_or((false, now));
            let evidence_missing =
                items.iter().any(|i| i.status == ItemState::Missing) || !reports.contains_key(id);
            let late_uploads = late.get(id).copied().unwrap_or(0);
            let other = returned_other.get(id).map_or(&[][..], Vec::as_slice);
            // A returned report counts once the department has answered it.
            let report_returned = other.iter().any(|r| r.placement == "report" && !r.answered);
            DepartmentStatus {
                id: d.id.clone(),
                name: d.name.clone(),
                points_total: catalogue.points_for(id),
                points_complete,
                points_covered,
                report: reports.contains_key(id) && !report_returned,
                cases: case_count,
                cases_ok: (u64::from(catalogue.cases.min_for(id))..=u64::from(catalogue.cases.max))
                    .contains(&case_count),
                contacts: contacts_ok,
                contacts_late: (contacts_ok && contacts_at > deadlines.contacts)
                    || (!contacts_ok && now > deadlines.contacts),
                evidence_late: late_uploads > 0 || (evidence_missing && now > deadlines.evidence),
                late_uploads,
                last_upload: last_upload.get(id).copied(),
                last_heartbeat: heartbeat.get(id).copied(),
                unsorted: unsorted.remove(id).map(|s| s.into_iter().collect()).unwrap_or_default(),
                returned: other.iter().filter_map(|r| wire(r)).collect(),
                agents: agents.remove(id).unwrap_or_default(),
                items,
            }
        })
        .collect();

    // City totals: an item is 齐全 when every responsible department's evidence is, covered when
    // every one has sent something.
    let state_of = |item: &Item| -> Vec<ItemState> {
        let code = item.code.to_string();
        item.departments
            .iter()
            .map(|d| {
                item_status(
                    item,
                    evidence.get(&(d.as_str(), code.as_str())),
                    problems.get(&(d.as_str(), code.as_str())),
                    &reviews.of(d, &code),
                )
                .status
            })
            .collect()
    };
    let in_scope = |item: &Item| scope.is_none_or(|s| item.has_department(s));
    let mut areas = Vec::new();
    let (mut total, mut complete, mut covered, mut at_risk) =
        (Points::ZERO, Points::ZERO, Points::ZERO, Points::ZERO);
    for area in &catalogue.areas {
        let (mut a_total, mut a_complete, mut a_covered) = (Points::ZERO, Points::ZERO, Points::ZERO);
        for item in area.key_points.iter().flat_map(|k| &k.items).filter(|i| i.is_scored() && in_scope(i)) {
            let states = state_of(item);
            a_total = a_total + item.score();
            if states.iter().all(|s| *s == ItemState::Complete) {
                a_complete = a_complete + item.score();
            }
            if states.iter().all(|s| *s != ItemState::Missing) {
                a_covered = a_covered + item.score();
            }
            let some_evidence = states.iter().any(|s| *s != ItemState::Missing);
            if some_evidence && states.iter().any(|s| *s != ItemState::Complete) {
                at_risk = at_risk + item.score();
            }
        }
        total = total + a_total;
        complete = complete + a_complete;
        covered = covered + a_covered;
        areas.push(AreaStatus {
            code: area.code,
            name: area.name.clone(),
            points_total: a_total,
            points_complete: a_complete,
            points_covered: a_covered,
        });
    }

    let mut duplicates: Vec<DuplicateGroup> = Vec::new();
    for (sha, dept, path) in &data.duplicates {
        if scope.is_some_and(|s| s != dept) {
            continue;
        }
        let (Ok(sha256), Ok(path)) = (yingjian_shared::Sha256Hex::parse(sha), RelPath::parse(path)) else {
            continue;
        };
        let copy = DuplicateCopy { department: dept.clone(), path };
        match duplicates.last_mut() {
            Some(g) if g.sha256 == sha256 => g.copies.push(copy),
            _ => duplicates.push(DuplicateGroup { sha256, copies: vec![copy] }),
        }
    }
    duplicates.retain(|g| g.copies.len() > 1);

    Status {
        catalogue_year: catalogue.year,
        points_total: total,
        points_complete: complete,
        points_covered: covered,
        points_at_risk: at_risk,
        areas,
        departments,
        duplicates,
        // Filled by `AppState::status` from what was read.
        analysis: yingjian_shared::Analysis::default(),
        held: Vec::new(),
        generated: now,
    }
}

/// The office's returns and notes, by (department, item).
struct Reviews<'a> {
    returned: HashMap<(&'a str, &'a str), Vec<&'a ReturnedFile>>,
    notes: HashMap<(&'a str, &'a str), &'a str>,
}

impl Reviews<'_> {
    fn of<'s>(&'s self, department: &'s str, item: &'s str) -> Review<'s> {
        Review {
            returned: self.returned.get(&(department, item)).map_or(&[][..], Vec::as_slice),
            note: self.notes.get(&(department, item)).copied(),
        }
    }
}

/// What the office said of one department's item: its returned files and its note.
struct Review<'a> {
    returned: &'a [&'a ReturnedFile],
    note: Option<&'a str>,
}

/// The problem of a picture without a caption, as records keep it.
pub const UNCAPTIONED: &str = "uncaptioned";

/// Why a file makes its item 待完善, if it does.
pub fn problem_of(
    path: &RelPath,
    kind: Option<yingjian_shared::Kind>,
    captioned: bool,
    magic: Option<&str>,
) -> Option<&'static str> {
    if let (Some(ext), Some(magic)) = (path.extension(), magic)
        && !extension_fits(&ext, magic)
    {
        return Some("mismatch");
    }
    (kind == Some(yingjian_shared::Kind::Picture) && !captioned).then_some(UNCAPTIONED)
}

fn wire(r: &ReturnedFile) -> Option<Returned> {
    let path = RelPath::parse(&r.path).ok()?;
    Some(Returned { path, reason: r.reason.clone(), at: r.at, answered: r.answered })
}

/// One item for one department: 缺失, 待完善 with reasons, or 齐全.
fn item_status(
    item: &Item,
    kinds: Option<&BTreeMap<Kind, u64>>,
    problems: Option<&Vec<(&str, &str)>>,
    review: &Review<'_>,
) -> ItemStatus {
    let files: u64 = kinds.map_or(0, |k| k.values().sum());
    let returned: Vec<Returned> = review.returned.iter().filter_map(|r| wire(r)).collect();
    let note = review.note.map(str::to_string);
    if files == 0 {
        return ItemStatus {
            code: item.code,
            status: ItemState::Missing,
            reasons: vec!["尚无印证材料".into()],
            files,
            returned,
            note,
        };
    }
    let mut reasons = Vec::new();
    // A returned file holds its item at 待完善 until a new version comes or it is withdrawn.
    reasons.extend(returned.iter().filter(|r| !r.answered).map(Returned::line));
    for (problem, text) in [(UNCAPTIONED, "图片缺少文字说明"), ("mismatch", "文件内容与扩展名不符")]
    {
        let names: Vec<&str> = problems
            .into_iter()
            .flatten()
            .filter(|(_, p)| *p == problem)
            .map(|(path, _)| path.rsplit('/').next().unwrap_or(path))
            .collect();
        if !names.is_empty() {
            let shown =
                names.iter().take(NAMED_PROBLEMS).map(|n| format!("《{n}》")).collect::<Vec<_>>().join("、");
            let more =
                if names.len() > NAMED_PROBLEMS { format!("等{}个", names.len()) } else { String::new() };
            reasons.push(format!("{text}：{shown}{more}"));
        }
    }
    // 附件2 items are judged on materials that corroborate each other (文件、文稿、图片、信息、宣传资料).
    let kinds = kinds.expect("files > 0 implies kinds");
    let distinct = kinds.keys().filter(|k| **k != Kind::Unclassified).count();
    if item.focus.is_some() && distinct < 2 {
        let only = kinds.keys().next().map_or("", |k| k.label());
        reasons.push(format!("只有一类材料（{only}），请补充其他类别的材料以相互印证"));
    }
    let status = if reasons.is_empty() { ItemState::Complete } else { ItemState::Incomplete };
    ItemStatus { code: item.code, status, reasons, files, returned, note }
}
