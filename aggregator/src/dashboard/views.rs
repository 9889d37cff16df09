//! What every page shares: the error page, the `Viewer` extractor, the navigation, the login
//! page, times as people read them, and the verdict and review lines of a file. Each page's view
//! model is in a module of its own (`overview`, `matrix`, `department`, `item`, `audit`,
//! `bundles_page`): everything a template shows is prepared as text, so the templates stay loops
//! and holes, checked at compile time.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::Timestamp;
use yingjian_shared::{Catalogue, EvidenceEntry, ItemState, ItemStatus, Returned, Verdict, china_time};

use crate::auth::Caller;
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
        // A person reads the Chinese alone: the English half in brackets, and an internal
        // error's detail, are for the log.
        let said = yingjian_shared::chinese::without_english(&self.0.to_string());
        let message = if status.is_server_error() {
            tracing::warn!(error = %self.0, "a page failed");
            "服务器出错，请稍后再试；如果反复出现，请联系系统管理员。".to_string()
        } else if yingjian_shared::chinese::has_chinese(&said) {
            said.trim().to_string()
        } else {
            format!("{title}。")
        };
        let page = ErrorPage { title, message };
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
    /// Whose pages these are, the office's or one department's: the tabs of one viewer share
    /// one event stream (`live.js`).
    pub(super) viewer: String,
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
        viewer: caller.department.clone().unwrap_or_else(|| "office".into()),
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

pub(super) fn office_only(caller: &Caller) -> Result<(), PageError> {
    caller.require_office().map_err(|_| AppError::Forbidden("此页面仅供市质量强市办公室查看。".into()).into())
}

pub(super) fn dept_name(catalogue: &Catalogue, id: &str) -> String {
    catalogue.department(id).map_or_else(|| id.to_string(), |d| d.name.clone())
}

pub(super) fn state_class(s: ItemState) -> &'static str {
    match s {
        ItemState::Missing => "missing",
        ItemState::Incomplete => "incomplete",
        ItemState::Complete => "complete",
    }
}

/// What the office said of a file's version on file: the verdict, if it is of this version.
pub(super) fn verdict_of(review: Option<&FileVerdict>, r: &EvidenceEntry) -> (String, &'static str) {
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
pub(super) fn review_lines(s: &ItemStatus) -> Vec<String> {
    let mut lines: Vec<String> = s.note.iter().map(|n| format!("办公室备注：{n}")).collect();
    lines.extend(s.returned.iter().filter(|r| r.answered).map(Returned::line));
    lines
}

/// A deduction or veto item for a department: nothing to collect (a 情况说明 may be filed).
pub(super) const NO_EVIDENCE_NEEDED: &str = "无需材料";
