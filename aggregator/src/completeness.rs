//! Completeness against the catalogue: per item × department, per department, for the city.
//! Pure: reads a `StatusData` snapshot, so it is tested without a server.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use yingjian_shared::{
    AgentHealth, AreaStatus, Catalogue, Deadlines, Department, DepartmentStatus, DuplicateCopy,
    DuplicateGroup, Filed, Item, ItemState, ItemStatus, Kind, Points, RelPath, Returned, SkippedFile, Status,
    contacts, extension_fits,
};

use crate::db::{FiledHeartbeat, ReturnedFile, StatusData};

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
    let mut seen = Seen::of(data, now, silent_after);
    let departments: Vec<DepartmentStatus> = catalogue
        .departments
        .iter()
        .filter(|d| scope.is_none_or(|s| s == d.id))
        .map(|d| seen.department(catalogue, deadlines, d, now))
        .collect();
    let city = City::of(catalogue, &seen, scope);
    Status {
        catalogue_year: catalogue.year,
        points_total: city.total,
        points_complete: city.complete,
        points_covered: city.covered,
        points_at_risk: city.at_risk,
        areas: city.areas,
        departments,
        duplicates: duplicates(data, scope),
        // Filled by `AppState::status` from what was read.
        analysis: yingjian_shared::Analysis::default(),
        held: Vec::new(),
        generated: now,
    }
}

/// What one snapshot holds, by department (and item): what the status is read from.
#[derive(Default)]
struct Seen<'a> {
    /// (department, item) → kinds with their file counts.
    evidence: HashMap<(&'a str, &'a str), BTreeMap<Kind, u64>>,
    reports: HashMap<&'a str, u64>,
    last_upload: HashMap<&'a str, Timestamp>,
    late: HashMap<&'a str, u64>,
    /// (department, item) → (path, problem) of each file that makes the item 待完善.
    problems: HashMap<(&'a str, &'a str), Vec<(&'a str, &'a str)>>,
    /// The typical cases: a file or a folder directly under 典型案例/.
    cases: HashMap<&'a str, BTreeSet<&'a str>>,
    heartbeat: HashMap<&'a str, Timestamp>,
    unsorted: HashMap<&'a str, BTreeSet<RelPath>>,
    agents: HashMap<&'a str, Vec<AgentHealth>>,
    reviews: Reviews<'a>,
    /// Returned reports and cases, by department.
    returned_other: HashMap<&'a str, Vec<&'a ReturnedFile>>,
    /// Whether the contact list counts as 已报, and when it was filed.
    contacts: HashMap<&'a str, (bool, Timestamp)>,
}

impl<'a> Seen<'a> {
    fn of(data: &'a StatusData, now: Timestamp, silent_after: std::time::Duration) -> Seen<'a> {
        let mut seen = Seen::default();
        for g in &data.groups {
            let dept = g.department.as_str();
            match (g.placement, &g.item) {
                (Filed::Item, Some(item)) => {
                    let kind = g.kind.as_deref().and_then(Kind::from_wire).unwrap_or(Kind::Unclassified);
                    *seen.evidence.entry((dept, item.as_str())).or_default().entry(kind).or_default() +=
                        g.files;
                }
                (Filed::Report, _) => *seen.reports.entry(dept).or_default() += g.files,
                _ => {}
            }
            let last = seen.last_upload.entry(dept).or_insert(g.last_received);
            *last = (*last).max(g.last_received);
            *seen.late.entry(dept).or_default() += g.late;
        }
        for p in &data.problems {
            if let Some(item) = &p.item {
                let of = seen.problems.entry((p.department.as_str(), item.as_str())).or_default();
                of.push((p.path.as_str(), p.problem.as_str()));
            }
        }
        for (dept, path) in &data.case_paths {
            let case = path.split('/').nth(1).unwrap_or(path);
            seen.cases.entry(dept.as_str()).or_default().insert(case);
        }
        for heard in &data.heartbeats {
            seen.hear(heard, now, silent_after);
        }
        for r in &data.returned {
            let dept = r.department.as_str();
            match &r.item {
                Some(item) => seen.reviews.returned.entry((dept, item.as_str())).or_default().push(r),
                None => seen.returned_other.entry(dept).or_default().push(r),
            }
        }
        seen.reviews.notes =
            data.notes.iter().map(|(d, i, t)| ((d.as_str(), i.as_str()), t.as_str())).collect();
        seen.contacts = data
            .contacts
            .iter()
            // 已报 needs a name and a number that reaches them, for both roles.
            .map(|c| (c.department.as_str(), (c.contacts.as_ref().is_some_and(contacts::filed), c.updated)))
            .collect();
        seen
    }

    /// A PC's last heartbeat: when its department was last heard from, its health, and the
    /// files it could not place.
    fn hear(&mut self, heard: &'a FiledHeartbeat, now: Timestamp, silent_after: std::time::Duration) {
        let (dept, at) = (heard.department.as_str(), heard.at);
        let last = self.heartbeat.entry(dept).or_insert(at);
        *last = (*last).max(at);
        let Some(hb) = heard.heartbeat.clone() else { return };
        self.unsorted.entry(dept).or_default().extend(hb.unsorted);
        self.agents.entry(dept).or_default().push(AgentHealth {
            agent: heard.agent.clone(),
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
            last_seen: at,
            silent: silent(at, now, silent_after),
        });
    }

    /// One scored item for one of its departments.
    fn item(&self, item: &Item, department: &str) -> ItemStatus {
        let code = item.code.to_string();
        let key = (department, code.as_str());
        item_status(
            item,
            self.evidence.get(&key),
            self.problems.get(&key),
            &self.reviews.of(department, &code),
        )
    }

    /// One department's status; what it takes of its PCs is its alone, so it is taken.
    fn department(
        &mut self,
        catalogue: &Catalogue,
        deadlines: &Deadlines,
        d: &Department,
        now: Timestamp,
    ) -> DepartmentStatus {
        let id = d.id.as_str();
        let scored: Vec<&Item> = catalogue.items_for(id).filter(|i| i.is_scored()).collect();
        let items: Vec<ItemStatus> = scored.iter().map(|item| self.item(item, id)).collect();
        let points_in = |pass: fn(ItemState) -> bool| -> Points {
            scored.iter().zip(&items).filter(|(_, s)| pass(s.status)).map(|(i, _)| i.score()).sum()
        };
        let case_count = self.cases.get(id).map_or(0, |c| c.len() as u64);
        let (contacts_ok, contacts_at) = self.contacts.get(id).copied().unwrap_or((false, now));
        let evidence_missing =
            items.iter().any(|i| i.status == ItemState::Missing) || !self.reports.contains_key(id);
        let late_uploads = self.late.get(id).copied().unwrap_or(0);
        let other = self.returned_other.get(id).map_or(&[][..], Vec::as_slice);
        // A returned report counts once the department has answered it.
        let report_returned = other.iter().any(|r| r.placement == Filed::Report && !r.answered);
        DepartmentStatus {
            id: d.id.clone(),
            name: d.name.clone(),
            points_total: catalogue.points_for(id),
            points_complete: points_in(|s| s == ItemState::Complete),
            points_covered: points_in(|s| s != ItemState::Missing),
            report: self.reports.contains_key(id) && !report_returned,
            cases: case_count,
            cases_ok: (u64::from(catalogue.cases.min_for(id))..=u64::from(catalogue.cases.max))
                .contains(&case_count),
            contacts: contacts_ok,
            contacts_late: (contacts_ok && contacts_at > deadlines.contacts)
                || (!contacts_ok && now > deadlines.contacts),
            evidence_late: late_uploads > 0 || (evidence_missing && now > deadlines.evidence),
            late_uploads,
            last_upload: self.last_upload.get(id).copied(),
            last_heartbeat: self.heartbeat.get(id).copied(),
            returned: other.iter().filter_map(|r| wire(r)).collect(),
            unsorted: self.unsorted.remove(id).map(|s| s.into_iter().collect()).unwrap_or_default(),
            agents: self.agents.remove(id).unwrap_or_default(),
            items,
        }
    }
}

/// The city's points: an item is 齐全 when every responsible department's evidence is, covered
/// when every one has sent something, at risk when some have and not all are 齐全.
struct City {
    areas: Vec<AreaStatus>,
    total: Points,
    complete: Points,
    covered: Points,
    at_risk: Points,
}

impl City {
    fn of(catalogue: &Catalogue, seen: &Seen<'_>, scope: Option<&str>) -> City {
        let mut city = City {
            areas: Vec::new(),
            total: Points::ZERO,
            complete: Points::ZERO,
            covered: Points::ZERO,
            at_risk: Points::ZERO,
        };
        let in_scope = |item: &Item| scope.is_none_or(|s| item.has_department(s));
        for area in &catalogue.areas {
            let (mut total, mut complete, mut covered) = (Points::ZERO, Points::ZERO, Points::ZERO);
            for item in area.key_points.iter().flat_map(|k| &k.items).filter(|i| i.is_scored() && in_scope(i))
            {
                let states: Vec<ItemState> =
                    item.departments.iter().map(|d| seen.item(item, d).status).collect();
                total = total + item.score();
                if states.iter().all(|s| *s == ItemState::Complete) {
                    complete = complete + item.score();
                }
                if states.iter().all(|s| *s != ItemState::Missing) {
                    covered = covered + item.score();
                }
                let some_evidence = states.iter().any(|s| *s != ItemState::Missing);
                if some_evidence && states.iter().any(|s| *s != ItemState::Complete) {
                    city.at_risk = city.at_risk + item.score();
                }
            }
            city.total = city.total + total;
            city.complete = city.complete + complete;
            city.covered = city.covered + covered;
            city.areas.push(AreaStatus {
                code: area.code,
                name: area.name.clone(),
                points_total: total,
                points_complete: complete,
                points_covered: covered,
            });
        }
        city
    }
}

/// Content filed more than once, in groups of its copies (of one department's, with a scope).
fn duplicates(data: &StatusData, scope: Option<&str>) -> Vec<DuplicateGroup> {
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
    duplicates
}

/// The office's returns and notes, by (department, item).
#[derive(Default)]
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

/// Whether a PC last heard from `at` is silent at `now`: the pages and the status say 失联.
pub fn silent(at: Timestamp, now: Timestamp, silent_after: std::time::Duration) -> bool {
    now.duration_since(at).as_secs() > silent_after.as_secs() as i64
}
