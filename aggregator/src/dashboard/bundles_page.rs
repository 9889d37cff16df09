//! 打包: build the bundle and the 纸质版 now, list what was built, download them and the
//! office's report.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Redirect, Response};
use yingjian_shared::size_text;

use super::views::{Nav, PageError, PageResult, Viewer, local, nav, office_only};
use super::wording::trigger_label;
use crate::bundle::Layout;
use crate::error::AppError;
use crate::state::AppState;

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
            // yingjian-2021-20220117-173000-abcdef01.zip: the time of the last change it holds.
            let as_of =
                b.name.split('-').nth(2).zip(b.name.split('-').nth(3)).map_or_else(String::new, |(d, t)| {
                    format!("{}-{}-{} {}:{}", &d[..4], &d[4..6], &d[6..8], &t[..2], &t[2..4])
                });
            let (built, complete) =
                builds.get(&b.name).cloned().unwrap_or_else(|| (local(b.created), String::new()));
            BundleRow {
                complete,
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
