//! 总览: the figures, the departments (sortable, filterable), 待复核, the areas, held files,
//! duplicates, misplaced files and recent activity.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use jiff::{SignedDuration, Timestamp};
use yingjian_shared::{Catalogue, DepartmentStatus, ItemState, Status, chinese_numeral, countdown};

use super::views::{Nav, PageResult, Viewer, dept_name, local, nav, office_only};
use super::wording::audit_line;
use crate::state::AppState;

struct DeadlineCard {
    label: &'static str,
    at: String,
    countdown: String,
}

struct AreaRow {
    name: String,
    total: String,
    complete: String,
    open: String,
}

struct DeptRow {
    id: String,
    name: String,
    complete: usize,
    incomplete: usize,
    missing: usize,
    points_total: String,
    points_complete: String,
    report: &'static str,
    report_class: &'static str,
    cases: String,
    cases_class: &'static str,
    contacts: &'static str,
    contacts_class: &'static str,
    last_upload: String,
    agent: String,
    agent_class: &'static str,
    /// Files in its folders that are not on the server (misplaced, refused, skipped).
    left_out: usize,
    late: &'static str,
    late_class: &'static str,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    nav: Nav,
    points_total: String,
    points_covered: String,
    points_complete: String,
    points_partial: String,
    points_missing: String,
    deadlines: Vec<DeadlineCard>,
    areas: Vec<AreaRow>,
    departments: Vec<DeptRow>,
    unsorted: Vec<(String, String)>,
    /// The content's first file name, its SHA-256 (for the tooltip) and every copy.
    duplicates: Vec<(String, String, Vec<String>)>,
    activity: Vec<String>,
    reading: super::reading::OverviewReading,
    rechecks: Vec<Recheck>,
    /// Where the review forms come back to.
    back: &'static str,
}

/// 待复核: a return the department has answered (a new version, or the file withdrawn), for the
/// office to 通过, 退回 again or 撤销.
struct Recheck {
    department: String,
    department_id: String,
    path: String,
    line: String,
}

fn rechecks(status: &Status) -> Vec<Recheck> {
    status
        .departments
        .iter()
        .flat_map(|d| {
            d.items.iter().flat_map(|i| i.returned.iter()).chain(&d.returned).filter(|r| r.answered).map(
                |r| Recheck {
                    department: d.name.clone(),
                    department_id: d.id.clone(),
                    path: r.path.to_string(),
                    line: format!("{}（退回理由：{}）", r.path, r.reason),
                },
            )
        })
        .collect()
}

/// 逾期, 临近截止 (a deadline within three days and what it asks for not all in), or 按期.
fn timeliness(
    d: &DepartmentStatus,
    deadlines: &yingjian_shared::Deadlines,
    now: Timestamp,
) -> (&'static str, &'static str) {
    let near = |at: Timestamp| {
        let left = at.duration_since(now);
        !left.is_negative() && left < SignedDuration::from_hours(72)
    };
    let evidence_open = !d.report || d.items.iter().any(|i| i.status == ItemState::Missing);
    if d.evidence_late || d.contacts_late {
        ("逾期", "no")
    } else if (near(deadlines.evidence) && evidence_open) || (near(deadlines.contacts) && !d.contacts) {
        ("临近截止", "incomplete")
    } else {
        ("按期", "yes")
    }
}

fn dept_row(catalogue: &Catalogue, d: &DepartmentStatus, late: (&'static str, &'static str)) -> DeptRow {
    let count = |s: ItemState| d.items.iter().filter(|i| i.status == s).count();
    // Every PC counts: one online must not hide another that is silent or paused.
    let down = d.agents.iter().filter(|a| a.silent || a.watch_mode.is_paused()).count();
    let (agent, agent_class) = match d.agents.iter().max_by_key(|a| a.last_seen) {
        None => ("未连接".to_string(), "muted"),
        Some(_) if d.agents.len() > 1 => {
            let pending: u64 = d.agents.iter().filter(|a| !a.silent).map(|a| a.pending).sum();
            let online = d.agents.len() - down;
            let text = if down == 0 {
                format!("{online} 台在线（待传 {pending}）")
            } else {
                format!("{online} 台在线，{down} 台失联或暂停")
            };
            (text, if down == 0 { "yes" } else { "no" })
        }
        Some(a) if a.silent => (format!("失联（{}）", local(a.last_seen)), "no"),
        Some(a) if a.watch_mode.is_paused() => ("已暂停".to_string(), "no"),
        Some(a) => (format!("在线（待传 {}）", a.pending), "yes"),
    };
    let left_out =
        d.unsorted.len() + d.agents.iter().map(|a| a.failed.len() + a.skipped.len()).sum::<usize>();
    let min_cases = catalogue.cases.min_for(&d.id);
    DeptRow {
        id: d.id.clone(),
        name: d.name.clone(),
        complete: count(ItemState::Complete),
        incomplete: count(ItemState::Incomplete),
        missing: count(ItemState::Missing),
        points_total: d.points_total.to_string(),
        points_complete: d.points_complete.to_string(),
        report: if d.report { "已交" } else { "未交" },
        report_class: if d.report { "yes" } else { "no" },
        cases: if min_cases > 0 { format!("{} / 至少{min_cases}", d.cases) } else { d.cases.to_string() },
        cases_class: if d.cases_ok { "yes" } else { "no" },
        contacts: if d.contacts { "已报" } else { "未报" },
        contacts_class: if d.contacts { "yes" } else { "no" },
        last_upload: d.last_upload.map_or_else(|| "—".into(), local),
        agent,
        agent_class,
        left_out,
        late: late.0,
        late_class: late.1,
    }
}

pub async fn overview(State(state): State<AppState>, Viewer(caller): Viewer) -> PageResult {
    office_only(&caller)?;
    let status: Status = state.status(None).await?;
    let now = Timestamp::now();
    let c = &state.catalogue;
    // What people did: a record says what an upload before it only counted in bytes.
    let activity = state
        .db
        .audit(60, None)
        .await?
        .iter()
        .filter(|e| !e.action.starts_with("upload"))
        .take(20)
        .map(|e| {
            let line = audit_line(c, e);
            format!("{} {} {}：{}", local(e.at), line.who, line.action, line.detail)
        })
        .collect();
    let page = Overview {
        nav: nav(&state, &caller, "/overview"),
        rechecks: rechecks(&status),
        back: "/overview",
        points_total: status.points_total.to_string(),
        points_covered: status.points_covered.to_string(),
        // Every scored item is in one of three, so the cards add up to the total.
        points_complete: status.points_complete.to_string(),
        points_partial: status.points_at_risk.to_string(),
        points_missing: (status.points_total - status.points_complete - status.points_at_risk).to_string(),
        deadlines: vec![
            DeadlineCard {
                label: "联系人名单截止",
                at: local(state.deadlines.contacts),
                countdown: countdown(now, state.deadlines.contacts),
            },
            DeadlineCard {
                label: "自评报告和印证材料截止",
                at: local(state.deadlines.evidence),
                countdown: countdown(now, state.deadlines.evidence),
            },
        ],
        areas: status
            .areas
            .iter()
            .map(|a| AreaRow {
                name: format!("{}、{}", chinese_numeral(a.code), a.name),
                total: a.points_total.to_string(),
                complete: a.points_complete.to_string(),
                open: (a.points_total - a.points_complete).to_string(),
            })
            .collect(),
        departments: status
            .departments
            .iter()
            .map(|d| dept_row(c, d, timeliness(d, &state.deadlines, Timestamp::now())))
            .collect(),
        unsorted: status
            .departments
            .iter()
            .flat_map(|d| d.unsorted.iter().map(|u| (d.name.clone(), u.to_string())))
            .collect(),
        duplicates: status
            .duplicates
            .iter()
            .map(|g| {
                let copies: Vec<String> = g
                    .copies
                    .iter()
                    .map(|c2| format!("{}：{}", dept_name(c, &c2.department), c2.path))
                    .collect();
                let name = g.copies.first().map_or_else(String::new, |c2| c2.path.file_name().to_string());
                (name, g.sha256.to_string(), copies)
            })
            .collect(),
        activity,
        reading: super::reading::overview_reading(&state, &status).await?,
    };
    Ok(Html(page.render()?))
}
