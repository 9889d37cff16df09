//! Page view models: everything a template shows is prepared here as text, so the templates
//! stay loops and holes, checked at compile time.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use yingjian_shared::{
    CASES_FOLDER, Catalogue, Contacts, DepartmentStatus, EvidenceEntry, Filed, ItemCode, ItemState,
    ItemStatus, Kind, Points, REPORT_FOLDER, Returned, Status, Verdict, china_time, chinese_numeral,
    countdown, is_image_name, item_folder_name, size_text,
};

use super::contacts_form;
use super::wording::{AuditLine, audit_line, trigger_label};
use crate::auth::{Caller, WEB_AGENT};
use crate::bundle::Layout;
use crate::db::FileVerdict;
use crate::error::AppError;
use crate::state::AppState;

pub(super) fn local(t: Timestamp) -> String {
    china_time(t).strftime("%Y-%m-%d %H:%M").to_string()
}

/// An error shown as a page; the status code comes from `AppError` like everywhere else.
pub struct PageError(AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl From<crate::db::DbError> for PageError {
    fn from(e: crate::db::DbError) -> Self {
        PageError(e.into())
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError(AppError::internal(e))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, _) = self.0.status_and_code();
        if status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        let title = match status {
            StatusCode::FORBIDDEN => "无权查看",
            StatusCode::NOT_FOUND => "未找到",
            s if s.is_server_error() => "服务器出错",
            _ => "请求有误",
        };
        let page = ErrorPage { title, message: self.0.to_string() };
        let body = page.render().unwrap_or_else(|_| title.to_string());
        (status, Html(body)).into_response()
    }
}

pub(super) type PageResult = Result<Html<String>, PageError>;

/// The caller of a page: like `Caller`, but a missing or bad session leads to the login page,
/// which comes back to the page asked for.
pub struct Viewer(pub Caller);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => Ok(Viewer(caller)),
            Err(e)
                if e.status_and_code().0 == StatusCode::UNAUTHORIZED
                    && parts.method == axum::http::Method::GET =>
            {
                let asked = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                let next = percent_encoding::utf8_percent_encode(asked, percent_encoding::NON_ALPHANUMERIC);
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
            Err(e) => Err(PageError(e).into_response()),
        }
    }
}

pub struct NavLink {
    pub(super) href: String,
    pub(super) label: &'static str,
    pub(super) active: bool,
}

/// The header: who is logged in, and where they may go (read by every page's template).
pub struct Nav {
    pub(super) city: String,
    pub(super) year: u16,
    pub(super) who: String,
    pub(super) links: Vec<NavLink>,
    pub(super) generated: String,
    /// The 搜索 box, where files are read (the text is what it searches most).
    pub(super) search: bool,
}

pub(super) fn nav(state: &AppState, caller: &Caller, active: &str) -> Nav {
    let mut links: Vec<(String, &'static str)> = Vec::new();
    match &caller.department {
        None => {
            links.push(("/overview".into(), "总览"));
            links.push(("/matrix".into(), "矩阵"));
            links.push(("/audit".into(), "审计日志"));
            links.push(("/bundles".into(), "打包"));
        }
        Some(d) => links.push((format!("/departments/{d}"), "本单位")),
    }
    let who = match &caller.department {
        None => "市质量强市办公室".to_string(),
        Some(d) => state.catalogue.department(d).map_or_else(|| d.clone(), |d| d.name.clone()),
    };
    Nav {
        city: state.config.city.clone(),
        year: state.catalogue.year,
        who,
        links: links
            .into_iter()
            .map(|(href, label)| NavLink { active: href == active, href, label })
            .collect(),
        generated: local(Timestamp::now()),
        search: state.config.reading.enabled,
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    error: Option<&'a str>,
    /// Where to go once logged in: the page that was asked for.
    next: Option<&'a str>,
}

pub fn login_page(error: Option<&str>, next: Option<&str>) -> PageResult {
    Ok(Html(LoginPage { error, next: next.filter(|n| is_local_path(n)) }.render()?))
}

/// A path on this site (`/items/8.3?x`), never another site (`//evil`, `/\\evil`, `https:`).
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

// ── 总览 ───────────────────────────────────────────────────────────────────

struct DeadlineCard {
    label: &'static str,
    at: String,
    countdown: String,
}

struct AreaRow {
    name: String,
    total: String,
    covered: String,
    open: String,
}

struct DeptRow {
    id: String,
    name: String,
    complete: usize,
    incomplete: usize,
    missing: usize,
    points_total: String,
    points_covered: String,
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
        points_covered: d.points_covered.to_string(),
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

fn office_only(caller: &Caller) -> Result<(), PageError> {
    caller.require_office().map_err(|_| AppError::Forbidden("此页面仅供市质量强市办公室查看。".into()).into())
}

fn dept_name(catalogue: &Catalogue, id: &str) -> String {
    catalogue.department(id).map_or_else(|| id.to_string(), |d| d.name.clone())
}

pub async fn overview(State(state): State<AppState>, Viewer(caller): Viewer) -> PageResult {
    office_only(&caller)?;
    let status: Status = state.status(None).await?;
    let now = Timestamp::now();
    let c = &state.catalogue;
    // Every scored item in one of three: 齐全 for all its departments, nothing from any, or in
    // between; so the three cards add up to the total.
    let state_of = |code: ItemCode| -> ItemState {
        let seen: Vec<ItemState> = status
            .departments
            .iter()
            .flat_map(|d| d.items.iter().filter(|s| s.code == code).map(|s| s.status))
            .collect();
        if seen.iter().all(|s| *s == ItemState::Complete) {
            ItemState::Complete
        } else if seen.iter().all(|s| *s == ItemState::Missing) {
            ItemState::Missing
        } else {
            ItemState::Incomplete
        }
    };
    let points_in = |wanted: ItemState| -> Points {
        c.items()
            .filter(|i| i.is_scored() && state_of(i.code) == wanted)
            .map(yingjian_shared::Item::score)
            .sum()
    };
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
        points_complete: points_in(ItemState::Complete).to_string(),
        points_partial: points_in(ItemState::Incomplete).to_string(),
        points_missing: points_in(ItemState::Missing).to_string(),
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
                covered: a.points_covered.to_string(),
                open: (a.points_total - a.points_covered).to_string(),
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

// ── 矩阵 ───────────────────────────────────────────────────────────────────

/// A deduction or veto item for a department: nothing to collect (a 情况说明 may be filed).
const NO_EVIDENCE_NEEDED: &str = "无需材料";

struct MatrixRow {
    code: String,
    title: String,
    points: String,
    cells: Vec<Option<(&'static str, &'static str)>>,
}

#[derive(Template)]
#[template(path = "matrix.html")]
struct Matrix {
    nav: Nav,
    departments: Vec<String>,
    rows: Vec<MatrixRow>,
}

fn state_class(s: ItemState) -> &'static str {
    match s {
        ItemState::Missing => "missing",
        ItemState::Incomplete => "incomplete",
        ItemState::Complete => "complete",
    }
}

pub async fn matrix(State(state): State<AppState>, Viewer(caller): Viewer) -> PageResult {
    office_only(&caller)?;
    let status = state.status(None).await?;
    // Deduction and veto items are rows too: 无需材料 for the departments they concern.
    let rows = state
        .catalogue
        .items()
        .map(|item| MatrixRow {
            code: item.code.to_string(),
            title: item.short_title.clone(),
            points: if item.is_scored() { item.score().to_string() } else { item.scoring().label() },
            cells: status
                .departments
                .iter()
                .map(|d| match d.items.iter().find(|s| s.code == item.code) {
                    Some(s) => Some((state_class(s.status), s.status.label())),
                    None if item.has_department(&d.id) => Some(("muted", NO_EVIDENCE_NEEDED)),
                    None => None,
                })
                .collect(),
        })
        .collect();
    let departments = status.departments.iter().map(|d| d.name.clone()).collect();
    Ok(Html(Matrix { nav: nav(&state, &caller, "/matrix"), departments, rows }.render()?))
}

// ── 部门 ───────────────────────────────────────────────────────────────────

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
    points_covered: String,
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
fn upload_targets<'a>(
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
    folder: String,
    item: bool,
}

/// The 类别 the upload form offers, as the kind subfolders are named.
const UPLOAD_KINDS: [&str; 5] = [
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
            let seen =
                if a.silent { format!("{}（失联）", local(a.last_seen)) } else { local(a.last_seen) };
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
        points_covered: d.points_covered.to_string(),
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

// ── 事项 ───────────────────────────────────────────────────────────────────

struct ItemFile {
    kind: &'static str,
    caption: String,
    path: String,
    href: String,
    size: String,
    received: String,
    agent: String,
    sha256: String,
    /// A picture, shown from `picture` (the file, or its PNG preview for a TIFF).
    image: bool,
    picture: String,
    pdf: bool,
    /// The office's verdict on this version: 通过, 已退回 with the reason, or nothing.
    verdict: String,
    verdict_class: &'static str,
    /// What was read in it.
    facts: super::reading::FileFacts,
}

struct ItemDept {
    id: String,
    name: String,
    state: &'static str,
    class: &'static str,
    reasons: Vec<String>,
    files: Vec<ItemFile>,
    note: String,
}

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage {
    nav: Nav,
    code: String,
    short_title: String,
    title: String,
    points: String,
    area: String,
    key_point: String,
    focus: Option<String>,
    departments: Vec<ItemDept>,
    /// The office may return and accept files, and write notes.
    office: bool,
    /// A responsible department may upload into the item's folder from here.
    upload_targets: Vec<UploadTarget>,
    upload_kinds: [&'static str; 5],
    /// Where the review forms come back to.
    back: String,
    /// A scored item; a deduction or veto item needs none (a 情况说明 may be filed).
    scored: bool,
    /// Files are read: each file's fields and findings are shown.
    reading: bool,
}

pub async fn item(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> PageResult {
    let code: ItemCode = raw.parse().map_err(|_| AppError::NotFound(format!("没有编号为“{raw}”的事项。")))?;
    let c = &state.catalogue;
    let (area, kp, item) =
        c.locate(code).ok_or_else(|| AppError::NotFound(format!("没有编号为“{raw}”的事项。")))?;
    let visible: Vec<&String> =
        item.departments.iter().filter(|d| caller.department.as_ref().is_none_or(|own| own == *d)).collect();
    if visible.is_empty() {
        return Err(AppError::Forbidden("这个事项不由本单位负责。".into()).into());
    }
    let mut departments = Vec::new();
    let knowledge = state.knowledge().await?;
    let told = state.told();
    // Near-duplicates across the city for the office, within its own files for a department.
    let everyone = state.db.evidence(caller.department.clone()).await?;
    let near = knowledge.near_duplicates(&everyone);
    for dept in visible {
        let status = state.status(Some(dept)).await?;
        let s = status.departments.first().and_then(|d| d.items.iter().find(|i| i.code == code));
        let records = state.db.evidence_of_item(dept.clone(), code.to_string()).await?;
        let verdicts = state.db.verdicts(dept.clone()).await?;
        let files = records
            .iter()
            .map(|r| {
                let name = r.path.file_name().to_string();
                let (verdict, verdict_class) = verdict_of(verdicts.get(r.path.as_str()), r);
                let near =
                    near.get(&(r.department.clone(), r.path.to_string())).map_or(&[][..], Vec::as_slice);
                ItemFile {
                    facts: super::reading::file_facts(
                        &knowledge,
                        &told,
                        r,
                        near,
                        state.config.reading.enabled,
                    ),
                    verdict,
                    verdict_class,
                    kind: r.kind.map_or("", Kind::label),
                    caption: r.caption.clone().unwrap_or_else(|| name.clone()),
                    href: format!("/files/{}?name={}", r.sha256, super::files::percent_encode(&name)),
                    path: r.path.to_string(),
                    size: size_text(r.size),
                    received: local(r.received),
                    agent: r.agent.clone(),
                    sha256: r.sha256.to_string(),
                    image: is_image_name(&name),
                    picture: if super::files::needs_png_preview(&name) {
                        format!("/files/{}/preview.png", r.sha256)
                    } else {
                        format!("/files/{}?name={}", r.sha256, super::files::percent_encode(&name))
                    },
                    pdf: name.to_ascii_lowercase().ends_with(".pdf"),
                }
            })
            .collect();
        let (state_label, class, reasons) = match s {
            Some(s) if s.status == ItemState::Missing => {
                (s.status.label(), state_class(s.status), Vec::new())
            }
            Some(s) => (s.status.label(), state_class(s.status), s.reasons.clone()),
            None => (NO_EVIDENCE_NEEDED, "muted", Vec::new()),
        };
        let mut reasons = reasons;
        if let Some(s) = s {
            reasons.extend(review_lines(s));
        }
        let note = s.and_then(|s| s.note.clone()).unwrap_or_default();
        departments.push(ItemDept {
            id: dept.clone(),
            name: dept_name(c, dept),
            state: state_label,
            class,
            reasons,
            files,
            note,
        });
    }
    let points = item.scoring().label();
    let page = ItemPage {
        nav: nav(&state, &caller, ""),
        code: code.to_string(),
        short_title: item.short_title.clone(),
        title: item.title.clone(),
        points,
        area: format!("{}、{}", chinese_numeral(area.code), area.name),
        key_point: format!("（{}）{}", chinese_numeral(kp.code), kp.name),
        focus: item.focus.clone().or_else(|| kp.focus.clone()),
        scored: item.is_scored(),
        reading: state.config.reading.enabled,
        departments,
        office: caller.is_office(),
        back: format!("/items/{code}"),
        upload_kinds: UPLOAD_KINDS,
        upload_targets: if caller.department.as_ref().is_some_and(|own| item.has_department(own)) {
            upload_targets(std::iter::once(item), false)
        } else {
            Vec::new()
        },
    };
    Ok(Html(page.render()?))
}

/// What the office said of a file's version on file: the verdict, if it is of this version.
fn verdict_of(review: Option<&FileVerdict>, r: &EvidenceEntry) -> (String, &'static str) {
    let Some(v) = review else { return (String::new(), "") };
    let this_version = v.sha256 == r.sha256.as_str();
    match v.verdict {
        Verdict::Accepted if this_version => ("通过".into(), "yes"),
        Verdict::Returned if this_version => (format!("已退回：{}", v.reason.as_deref().unwrap_or("")), "no"),
        Verdict::Returned => ("已按退回意见重新提交".into(), "muted"),
        _ => (String::new(), ""),
    }
}

/// The office's note and the returns already answered, for an item's list of problems (the
/// unanswered returns are among its reasons).
fn review_lines(s: &ItemStatus) -> Vec<String> {
    let mut lines: Vec<String> = s.note.iter().map(|n| format!("办公室备注：{n}")).collect();
    lines.extend(s.returned.iter().filter(|r| r.answered).map(Returned::line));
    lines
}

// ── 审计日志 ────────────────────────────────────────────────────────────────

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Nav,
    entries: Vec<AuditLine>,
}

pub async fn audit(State(state): State<AppState>, Viewer(caller): Viewer) -> PageResult {
    office_only(&caller)?;
    let entries = state.db.audit(500, None).await?.iter().map(|e| audit_line(&state.catalogue, e)).collect();
    Ok(Html(AuditPage { nav: nav(&state, &caller, "/audit"), entries }.render()?))
}

// ── 打包 ───────────────────────────────────────────────────────────────────

/// A bundle in the 打包 page's list.
struct BundleRow {
    name: String,
    layout: &'static str,
    /// The time of the last change it holds.
    as_of: String,
    /// When it was built, and by what (每晚自动, 打包页, …).
    built: String,
    size: String,
    covered: String,
}

#[derive(Template)]
#[template(path = "bundles.html")]
struct BundlesPage {
    nav: Nav,
    progress: Option<String>,
    failure: Option<String>,
    schedule: String,
    last_nightly: String,
    bundles: Vec<BundleRow>,
    /// The 纸质版: whether a build runs, its PDFs (name, size), what the last build met.
    printing: bool,
    printed: Vec<(String, String)>,
    print_outcome: Option<String>,
    print_problems: Vec<String>,
}

pub async fn bundles(State(state): State<AppState>, Viewer(caller): Viewer) -> PageResult {
    office_only(&caller)?;
    // Who built what and what it covered, from the audit log: `name (trigger) covered=x/y`.
    let builds: HashMap<String, (String, String)> = state
        .db
        .audit_of("bundle", 200)
        .await?
        .into_iter()
        .filter_map(|(at, detail)| {
            let mut parts = detail.split(' ');
            let name = parts.next()?.to_string();
            let how = parts.next().and_then(trigger_label).unwrap_or_default();
            let covered =
                parts.find_map(|p| p.strip_prefix("covered=")).unwrap_or_default().replace('/', " / ");
            Some((name, (format!("{} {how}", local(at)), covered)))
        })
        .collect();
    // Blocking: the shelves may be an object store.
    let (shelf, printouts) = (state.bundles.clone(), state.printouts.clone());
    let (listed, printed) = tokio::task::spawn_blocking(move || (shelf.list(), printouts.list()))
        .await
        .map_err(AppError::internal)?;
    let bundles = listed
        .map_err(AppError::from)?
        .into_iter()
        .map(|b| {
            // yingjian-2021-20220117-173000-abcdef01.zip: the time of the last change it holds.
            let as_of =
                b.name.split('-').nth(2).zip(b.name.split('-').nth(3)).map_or_else(String::new, |(d, t)| {
                    format!("{}-{}-{} {}:{}", &d[..4], &d[4..6], &d[6..8], &t[..2], &t[2..4])
                });
            let (built, covered) =
                builds.get(&b.name).cloned().unwrap_or_else(|| (local(b.created), String::new()));
            BundleRow {
                covered,
                layout: if b.name.ends_with("-bagit.zip") { "BagIt 包" } else { "文件夹" },
                built,
                size: size_text(b.size),
                as_of,
                name: b.name,
            }
        })
        .collect();
    let progress = state.bundles.progress().map(|(done, total)| {
        (done * 100).checked_div(total).map_or_else(|| "准备中".to_string(), |p| format!("{p}%"))
    });
    let failure = state.bundles.last_failure().map(|f| format!("{} 打包失败：{}", local(f.at), f.reason));
    let settings = &state.config.bundle;
    let schedule = if settings.nightly.trim().is_empty() {
        "每晚自动打包已关闭（aggregator.toml 中 [bundle] nightly = \"\"）。".to_string()
    } else {
        format!(
            "每晚 {}（北京时间）自动打包一次（材料有变化时），保留最近 {} 个材料包。",
            settings.nightly.trim(),
            settings.keep.max(1)
        )
    };
    let last_nightly = state.db.audit_of("nightly", 1).await?.pop().map_or_else(
        || "尚未自动打包过。".to_string(),
        |(at, what)| format!("上次自动打包：{} {what}", local(at)),
    );
    let (print_outcome, print_problems) = match state.printouts.last() {
        None => (None, Vec::new()),
        Some((at, Ok(problems))) => (Some(format!("{} 已生成", local(at))), problems),
        Some((at, Err(why))) => (Some(format!("{} 生成失败：{why}", local(at))), Vec::new()),
    };
    let page = BundlesPage {
        nav: nav(&state, &caller, "/bundles"),
        progress,
        failure,
        schedule,
        last_nightly,
        bundles,
        printing: state.printouts.is_building(),
        printed: printed.into_iter().map(|(n, size)| (n, size_text(size))).collect(),
        print_outcome,
        print_problems,
    };
    Ok(Html(page.render()?))
}

/// Starts a bundle in the background and goes back to the list; the page shows the progress
/// when loaded and refreshes itself (live.js) when the bundle is done. A build under way is
/// joined, not doubled (`Bundles::build`).
pub async fn build_bundle(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    form: Result<axum::Form<BuildForm>, axum::extract::rejection::FormRejection>,
) -> Result<Redirect, PageError> {
    office_only(&caller)?;
    // A form without the choice (a script's bare POST) builds the folder layout.
    let bagit = form.is_ok_and(|f| f.layout.as_deref() == Some("bagit"));
    let layout = if bagit { Layout::BagIt } else { Layout::Plain };
    let job = state.clone();
    // The outcome is shown on the page, audited and logged by `Bundles::build`.
    tokio::spawn(async move { job.bundles.build(&job, "dashboard", layout, |_, _| {}).await });
    Ok(Redirect::to("/bundles"))
}

/// Starts building the 纸质版 in the background (one build at a time) and goes back to the page.
pub async fn build_print(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
) -> Result<Redirect, PageError> {
    office_only(&caller)?;
    if !state.printouts.is_building() {
        let job = state.clone();
        tokio::spawn(async move { job.printouts.build(&job).await });
    }
    Ok(Redirect::to("/bundles#print"))
}

/// One printable PDF, for the office.
pub async fn printed(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(file): Path<String>,
) -> Result<Response, PageError> {
    office_only(&caller)?;
    let (shelf, wanted) = (state.printouts.clone(), file.clone());
    let pdf = tokio::task::spawn_blocking(move || shelf.open(&wanted))
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::NotFound("没有这个打印文件".into()))?;
    let body = axum::body::Body::from_stream(crate::blobs::reader_stream(pdf));
    let disposition = format!("inline; filename*=UTF-8''{}", super::files::percent_encode(&file));
    Ok(([(CONTENT_TYPE, "application/pdf".to_string()), (CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}

#[derive(serde::Deserialize)]
pub struct BuildForm {
    layout: Option<String>,
}

/// The office's report of the state now (never part of a bundle), as a workbook or a page.
pub async fn report(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(file): Path<String>,
) -> Result<Response, PageError> {
    office_only(&caller)?;
    let report = crate::bundle::report::build(&state).await?;
    let (mime, body, ext) = match file.as_str() {
        "report.xlsx" => {
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", report.xlsx, "xlsx")
        }
        "report.html" => return Ok(Html(report.html).into_response()),
        _ => return Err(AppError::NotFound("没有这份报告".into()).into()),
    };
    let name = format!("{}-{}.{ext}", report.title, report.stamp);
    let disposition = format!("attachment; filename*=UTF-8''{}", super::files::percent_encode(&name));
    Ok(([(CONTENT_TYPE, mime.to_string()), (CONTENT_DISPOSITION, disposition)], body).into_response())
}
