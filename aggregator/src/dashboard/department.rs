//! 部门: a department's items and files with the office's review, its reports and cases, the
//! browser upload, its contacts form and its PCs.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Html;
use yingjian_shared::{
    CASES_FOLDER, Contacts, EvidenceEntry, Filed, ItemState, Kind, REPORT_FOLDER, Returned, item_folder_name,
    size_text,
};

use super::contacts_form;
use super::views::{Nav, PageError, PageResult, Viewer, local, nav, review_lines, state_class, verdict_of};
use crate::auth::{Caller, WEB_AGENT};
use crate::error::AppError;
use crate::state::AppState;

struct DeptItem {
    code: String,
    title: String,
    points: String,
    state: &'static str,
    class: &'static str,
    reasons: Vec<String>,
    files: Vec<DeptFile>,
}

/// A file on the department page, with the office's verdict and what the review form needs.
struct DeptFile {
    line: String,
    path: String,
    verdict: String,
    verdict_class: &'static str,
}

#[derive(Template)]
#[template(path = "department.html")]
struct DepartmentPage {
    nav: Nav,
    id: String,
    /// The office is looking: it may print the 催办通知.
    office: bool,
    name: String,
    points_total: String,
    points_complete: String,
    items: Vec<DeptItem>,
    reports: Vec<DeptFile>,
    cases: Vec<DeptFile>,
    cases_note: String,
    /// Where the review forms come back to.
    back: String,
    contacts: Vec<Vec<String>>,
    contacts_filed: bool,
    /// Folders a department may upload into from its own page: (path prefix, label).
    upload_targets: Vec<UploadTarget>,
    upload_kinds: [&'static str; 5],
    /// Its files uploaded from the browser, which it may withdraw here: (path, line).
    web_files: Vec<(String, String)>,
    contact_rows: Vec<contacts_form::RowView>,
    /// Why the submitted form was not saved.
    contact_problem: &'static str,
    agents: Vec<Vec<String>>,
    unsorted: Vec<String>,
    /// Files an agent leaves out, with why and on which PC.
    skipped: Vec<String>,
    /// Reports and typical cases the office returned.
    returned: Vec<String>,
}

/// The folders a department may upload into from the browser: the items' folders as `init` names
/// them, and (on its own page) 自评报告 and 典型案例.
pub(super) fn upload_targets<'a>(
    items: impl Iterator<Item = &'a yingjian_shared::Item>,
    reports_and_cases: bool,
) -> Vec<UploadTarget> {
    let mut out: Vec<UploadTarget> = items
        .map(|i| UploadTarget { folder: item_folder_name(i.code, &i.short_title), item: true })
        .collect();
    if reports_and_cases {
        out.extend(
            [REPORT_FOLDER, CASES_FOLDER].map(|f| UploadTarget { folder: f.to_string(), item: false }),
        );
    }
    out
}

/// A folder the browser may upload into; an item's takes a 类别 subfolder.
pub struct UploadTarget {
    pub(super) folder: String,
    pub(super) item: bool,
}

/// The 类别 the upload form offers, as the kind subfolders are named.
pub(super) const UPLOAD_KINDS: [&str; 5] = [
    Kind::Document.label(),
    Kind::Manuscript.label(),
    Kind::Picture.label(),
    Kind::Information.label(),
    Kind::Publicity.label(),
];

fn file_line(r: &EvidenceEntry) -> String {
    let kind = r.kind.map_or("", Kind::label);
    let name = r.path.file_name();
    format!("{kind} {name}（{}，{}）", size_text(r.size), local(r.received)).trim().to_string()
}

pub async fn department(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(id): Path<String>,
) -> PageResult {
    Ok(department_page(&state, &caller, &id, None).await?.1)
}

/// A submitted contacts form that did not pass: what was typed, and what is wrong.
pub struct ContactsAttempt {
    pub list: Contacts,
    pub problems: Vec<crate::contacts::FieldProblem>,
    pub whole: Option<&'static str>,
}

/// The department page, with the contacts form as stored or as `attempt` left it (then 422).
pub async fn department_page(
    state: &AppState,
    caller: &Caller,
    id: &str,
    attempt: Option<ContactsAttempt>,
) -> Result<(StatusCode, Html<String>), PageError> {
    let c = &state.catalogue;
    let dept = c.department(id).ok_or_else(|| AppError::NotFound(format!("没有名为“{id}”的责任单位。")))?;
    caller.require_access(&dept.id).map_err(|_| AppError::Forbidden("只能查看本单位的材料。".into()))?;
    let status = state.status(Some(&dept.id)).await?;
    let d = status.departments.first().ok_or_else(|| AppError::NotFound("没有这个责任单位。".into()))?;
    let records = state.db.evidence(Some(dept.id.clone())).await?;
    let verdicts = state.db.verdicts(dept.id.clone()).await?;
    let dept_file = |r: &EvidenceEntry| {
        let (verdict, verdict_class) = verdict_of(verdicts.get(r.path.as_str()), r);
        DeptFile { line: file_line(r), path: r.path.to_string(), verdict, verdict_class }
    };
    let items = d
        .items
        .iter()
        .map(|s| {
            let item = c.item(s.code).expect("status items come from the catalogue");
            let code = s.code.to_string();
            DeptItem {
                code: code.clone(),
                title: item.short_title.clone(),
                points: item.score().to_string(),
                state: s.status.label(),
                class: state_class(s.status),
                reasons: if s.status == ItemState::Missing { Vec::new() } else { s.reasons.clone() }
                    .into_iter()
                    .chain(review_lines(s))
                    .collect(),
                files: records.iter().filter(|r| r.item == Some(s.code)).map(dept_file).collect(),
            }
        })
        .collect();
    // 典型案例 in the order they are numbered (案例二 before 案例十一).
    let of = |placement: Filed| {
        let mut files: Vec<&EvidenceEntry> = records.iter().filter(|r| r.placement == placement).collect();
        files.sort_by(|a, b| yingjian_shared::natural::natural_cmp(a.path.as_str(), b.path.as_str()));
        files.into_iter().map(dept_file).collect::<Vec<_>>()
    };
    let stored = match state.db.contacts_of(dept.id.clone()).await? {
        Some(body) => serde_json::from_str::<Contacts>(&body).map(|cs| cs.contacts).unwrap_or_default(),
        None => Vec::new(),
    };
    let contacts = stored
        .iter()
        .map(|x| std::iter::once(x.role.label()).chain(x.columns()).map(String::from).collect())
        .collect();
    let (status, contact_rows, contact_problem) = match &attempt {
        Some(a) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            contacts_form::rows(&a.list.contacts, &a.problems),
            a.whole.unwrap_or("有填写不正确的地方，请按提示修改后重新保存。"),
        ),
        None => (StatusCode::OK, contacts_form::rows(&stored, &[]), ""),
    };
    let agents = d
        .agents
        .iter()
        .map(|a| {
            let mode = a.watch_mode.label();
            let failed =
                a.failed.iter().map(|f| format!("{}：{}", f.path, f.reason)).collect::<Vec<_>>().join("；");
            // A PC online is not announced at each heartbeat (`presence`): the minute it was
            // last heard would stand still on an open page.
            let seen = if a.silent {
                format!("失联（最后联系 {}）", local(a.last_seen))
            } else {
                "在线".into()
            };
            let oldest = a
                .oldest_pending
                .as_ref()
                .map_or_else(String::new, |p| format!("{}（{} 起）", p.path.file_name(), local(p.since)));
            vec![
                a.agent.clone(),
                a.host.clone(),
                a.version.clone(),
                mode.into(),
                a.pending.to_string(),
                oldest,
                failed,
                seen,
            ]
        })
        .collect();
    let min = c.cases.min_for(&dept.id);
    let cases_note =
        if min > 0 { format!("{min}至{}个", c.cases.max) } else { format!("不超过{}个", c.cases.max) };
    let page = DepartmentPage {
        nav: nav(state, caller, &format!("/departments/{}", dept.id)),
        id: dept.id.clone(),
        office: caller.is_office(),
        name: d.name.clone(),
        contacts_filed: d.contacts,
        upload_kinds: UPLOAD_KINDS,
        upload_targets: if caller.department.as_deref() == Some(dept.id.as_str()) {
            upload_targets(c.items_for(&dept.id).filter(|i| i.is_scored()), true)
        } else {
            Vec::new()
        },
        web_files: records
            .iter()
            .filter(|r| r.agent == WEB_AGENT)
            .map(|r| (r.path.to_string(), format!("{}（{}）", r.path, local(r.received))))
            .collect(),
        contact_rows,
        contact_problem,
        points_total: d.points_total.to_string(),
        points_complete: d.points_complete.to_string(),
        items,
        reports: of(Filed::Report),
        cases: of(Filed::Case),
        cases_note,
        back: format!("/departments/{}", dept.id),
        contacts,
        agents,
        unsorted: d.unsorted.iter().map(ToString::to_string).collect(),
        skipped: d
            .agents
            .iter()
            .flat_map(|a| {
                a.skipped.iter().map(move |f| format!("{}：{}（{}）", f.name, f.reason.label(), a.host))
            })
            .collect(),
        returned: d.returned.iter().map(Returned::line).collect(),
    };
    Ok((status, Html(page.render()?)))
}
