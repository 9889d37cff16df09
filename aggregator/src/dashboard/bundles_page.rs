//! 打包: what goes out unchosen is chosen first (`bundle::preflight`), then build the bundle
//! and the 纸质版 now, list what was built, download them and the office's report.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use yingjian_shared::{Catalogue, QuestionedFile, RelPath, SendChoice, SendDecision, size_text};

use super::form::PageForm;
use super::views::{Nav, PageError, PageResult, Viewer, local, nav, office_only};
use super::wording::trigger_label;
use crate::bundle::{Layout, NameParts};
use crate::error::AppError;
use crate::review::apply_choice;
use crate::state::AppState;

/// A file with a question over it, and the office's choice.
struct ChoiceRow {
    department_id: String,
    department: String,
    path: String,
    sha256: String,
    questions: String,
    decision: &'static str,
    class: &'static str,
    can_send: bool,
    can_leave_out: bool,
}

/// A bundle in the 打包 page's list.
struct BundleRow {
    name: String,
    layout: &'static str,
    /// The time of the last change it holds.
    as_of: String,
    /// When it was built, and by what (每晚自动, 打包页, …).
    built: String,
    size: String,
    complete: String,
}

#[derive(Template)]
#[template(path = "bundles.html")]
struct BundlesPage {
    nav: Nav,
    choices: Vec<ChoiceRow>,
    undecided: usize,
    progress: Option<String>,
    failure: Option<String>,
    schedule: String,
    last_nightly: String,
    bundles: Vec<BundleRow>,
    /// The 纸质版: whether it is of the current state (class, words), whether a build runs, its
    /// PDFs (name, size), what the last build met.
    paper: (&'static str, String),
    printing: bool,
    printed: Vec<(String, String)>,
    print_outcome: Option<String>,
    print_problems: Vec<String>,
}

pub async fn bundles(State(state): State<AppState>, Viewer(caller): Viewer) -> PageResult {
    office_only(&caller)?;
    // Who built what and how much of it was 齐全, from the audit log: `name (trigger) complete=x/y`.
    let builds: HashMap<String, (String, String)> = state
        .db
        .audit_of("bundle", 200)
        .await?
        .into_iter()
        .filter_map(|(at, detail)| {
            let mut parts = detail.split(' ');
            let name = parts.next()?.to_string();
            let how = parts.next().and_then(trigger_label).unwrap_or_default();
            let complete =
                parts.find_map(|p| p.strip_prefix("complete=")).unwrap_or_default().replace('/', " / ");
            Some((name, (format!("{} {how}", local(at)), complete)))
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
            // The name holds the time of the last change it holds.
            let parts = NameParts::of(&b.name);
            let as_of = parts.as_ref().map_or_else(String::new, |p| {
                let (d, t) = (p.date, p.time);
                format!("{}-{}-{} {}:{}", &d[..4], &d[4..6], &d[6..8], &t[..2], &t[2..4])
            });
            let (built, complete) =
                builds.get(&b.name).cloned().unwrap_or_else(|| (local(b.created), String::new()));
            BundleRow {
                complete,
                layout: match parts.as_ref().map(|p| (p.layout, p.paged)) {
                    Some((Layout::BagIt, true)) => "BagIt 包，含起止页",
                    Some((Layout::BagIt, false)) => "BagIt 包",
                    Some((Layout::Plain, true)) => "文件夹，含起止页",
                    _ => "文件夹",
                },
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
    let planned = crate::bundle::planned(&state).await?;
    let paper = paper_state(&state, &planned.fingerprint).await?;
    let undecided = planned.questioned.iter().filter(|q| q.decision == SendDecision::Undecided).count();
    let choices = choice_rows(&state.catalogue, planned.questioned);
    let page = BundlesPage {
        nav: nav(&state, &caller, "/bundles"),
        undecided,
        choices,
        progress,
        failure,
        schedule,
        last_nightly,
        bundles,
        paper,
        printing: state.printouts.is_building(),
        printed: printed.into_iter().map(|(n, size)| (n, size_text(size))).collect(),
        print_outcome,
        print_problems,
    };
    Ok(Html(page.render()?))
}

/// Whether the paper of record is of the current state: paper and zip go together only then.
async fn paper_state(state: &AppState, now: &str) -> Result<(&'static str, String), PageError> {
    Ok(match state.db.print_record().await? {
        None => ("muted", "尚未生成纸质版：材料包目录中的起止页暂时空缺。".to_string()),
        Some((of, at)) if of == now => (
            "yes",
            format!(
                "纸质版是当前状态（{} 生成，校验码 {of}）：此后打包的材料包名称带“含页码”，目录中的起止页与纸质版一致。",
                local(at)
            ),
        ),
        Some((of, at)) => (
            "no",
            format!(
                "纸质版生成（{}，校验码 {of}）之后材料有变化，与当前材料包（校验码 {now}）不一致：请重新生成纸质版，再打包。",
                local(at)
            ),
        ),
    })
}

/// The questioned files, each with the office's choice, as the page shows them.
fn choice_rows(catalogue: &Catalogue, questioned: Vec<QuestionedFile>) -> Vec<ChoiceRow> {
    questioned
        .into_iter()
        .map(|q| {
            let (decision, class) = match q.decision {
                SendDecision::Undecided => ("待确认（暂不报送）", "incomplete"),
                SendDecision::Send => ("报送", "yes"),
                SendDecision::LeaveOut => ("不报送", "no"),
            };
            ChoiceRow {
                department: catalogue
                    .department(&q.department)
                    .map_or_else(|| q.department.clone(), |d| d.name.clone()),
                department_id: q.department,
                path: q.path.to_string(),
                sha256: q.sha256.to_string(),
                questions: q.questions.join("；"),
                decision,
                class,
                can_send: q.decision != SendDecision::Send,
                can_leave_out: q.decision != SendDecision::LeaveOut,
            }
        })
        .collect()
}

#[derive(Deserialize)]
pub struct ChoiceForm {
    /// Absent for 「其余全部」: every file not chosen yet.
    department: Option<String>,
    path: Option<String>,
    choice: String,
}

/// 「报送」 / 「不报送」 beside a questioned file, or for every one not chosen yet.
pub async fn choose(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    PageForm(form): PageForm<ChoiceForm>,
) -> Result<Redirect, PageError> {
    office_only(&caller)?;
    let send = match form.choice.as_str() {
        "send" => Some(true),
        "leave_out" => Some(false),
        "undecided" => None,
        _ => return Err(AppError::BadRequest("请选择“报送”或“不报送”。".into()).into()),
    };
    let files: Vec<(String, RelPath)> = match (form.department, form.path) {
        (Some(department), Some(path)) => {
            vec![(department, RelPath::parse(&path).map_err(|e| AppError::BadRequest(e.to_string()))?)]
        }
        _ => crate::bundle::planned(&state)
            .await?
            .questioned
            .into_iter()
            .filter(|q| q.decision == SendDecision::Undecided)
            .map(|q| (q.department, q.path))
            .collect(),
    };
    for (department, path) in files {
        apply_choice(&state, &caller, SendChoice { department, path, send }).await?;
    }
    Ok(Redirect::to("/bundles#preflight"))
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
    let disposition = crate::download_name::inline(&file);
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
    let disposition = crate::download_name::attachment(&name);
    Ok(([(CONTENT_TYPE, mime.to_string()), (CONTENT_DISPOSITION, disposition)], body).into_response())
}
