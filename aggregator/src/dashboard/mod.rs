//! The office's dashboard: server-rendered pages in Simplified Chinese, a server-side session
//! behind an opaque cookie, and a few lines of JavaScript that refresh a page when the server
//! announces a change. Every page works without JavaScript.

mod archive;
mod audit;
mod bundles_page;
mod contacts_form;
mod contacts_list;
mod department;
mod files;
mod form;
mod item;
mod matrix;
mod overview;
mod partial;
mod printouts;
mod reading;
mod rendered;
mod views;
pub(crate) mod wording;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use yingjian_shared::{ItemCode, Kind, KindChange, Note, RelPath, Review, Verdict};

use crate::auth::{
    Caller, SESSION_DAYS, WEB_AGENT, new_session_id, session_cookie, session_from_parts, token_hash,
};
use crate::db::RecordAt;
use crate::error::AppError;
use crate::review::{accept_all, apply_kind, apply_note, apply_review};
use crate::state::AppState;

use form::{PageForm, PageQuery};
pub use views::PageError;
use views::Viewer;

pub fn router(state: &AppState) -> Router<AppState> {
    // The pages of the city's state, which every open tab fetches again on each change.
    let live = Router::new()
        .route("/overview", get(overview::overview))
        .route("/matrix", get(matrix::matrix))
        .route("/departments/{id}", get(department::department))
        .route("/contacts", get(contacts_list::page))
        .route("/items/{code}", get(item::item))
        .route_layer(axum::middleware::from_fn_with_state(
            rendered::Rendered::new(state.clone()),
            rendered::shared,
        ));
    Router::new()
        .merge(live)
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/departments/{id}/contacts", axum::routing::post(contacts_submit))
        .route("/departments/{id}/withdraw", axum::routing::post(withdraw_submit))
        .route("/departments/{id}/notice", get(printouts::notice))
        .route("/departments/{id}/receipt", get(printouts::receipt))
        .route("/notices", get(printouts::notices))
        .route("/contacts.xlsx", get(contacts_list::xlsx))
        .route("/items/{code}/files.zip", get(archive::item))
        .route("/departments/{id}/files.zip", get(archive::department))
        .route("/audit", get(audit::audit))
        .route("/uploads", get(partial::page))
        .route("/uploads/remove", axum::routing::post(partial::remove))
        .route("/bundles", get(bundles_page::bundles))
        .route("/bundles/build", axum::routing::post(bundles_page::build_bundle))
        .route("/choices", axum::routing::post(bundles_page::choose))
        .route("/bundles/{file}", get(bundles_page::report))
        .route("/bundles/print", axum::routing::post(bundles_page::build_print))
        .route("/bundles/print/{file}", get(bundles_page::printed))
        .route("/reviews", axum::routing::post(review_form))
        .route("/reviews/all", axum::routing::post(accept_all_form))
        .route("/kinds", axum::routing::post(kind_form))
        .route("/notes", axum::routing::post(note_form))
        .route("/search", get(reading::search))
        .route("/holds", axum::routing::post(reading::hold_form))
        .route("/blank-pages", axum::routing::post(reading::blank_pages_form))
        .route("/facts", axum::routing::post(reading::facts_form))
        .route("/files/{sha256}", get(files::download))
        .route("/files/{sha256}/preview.png", get(files::preview))
        .route("/files/{sha256}/pages/{page}", get(files::page))
        .route("/static/style.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
        .route("/static/live.js", get(|| async { asset("text/javascript; charset=utf-8", LIVE_JS) }))
        .route("/static/events.js", get(|| async { asset("text/javascript; charset=utf-8", EVENTS_JS) }))
        .route("/static/table.js", get(|| async { asset("text/javascript; charset=utf-8", TABLE_JS) }))
        .route("/static/upload.js", get(|| async { asset("text/javascript; charset=utf-8", UPLOAD_JS) }))
        .route("/static/vendor/tus.min.js", get(|| async { asset("text/javascript; charset=utf-8", TUS_JS) }))
}

/// Assets are embedded in the binary: nothing to install beside it, no build step.
const STYLE: &str = include_str!("../../static/style.css");
const LIVE_JS: &str = include_str!("../../static/live.js");
/// The shared worker that holds one event stream for all of a browser's tabs.
const EVENTS_JS: &str = include_str!("../../static/events.js");
const TABLE_JS: &str = include_str!("../../static/table.js");
const UPLOAD_JS: &str = include_str!("../../static/upload.js");
/// tus-js-client 4.3.1 (MIT, `static/vendor/tus-js-client-LICENSE.txt`), the tus project's
/// browser client, as published on npm (`dist/tus.min.js`).
const TUS_JS: &str = include_str!("../../static/vendor/tus-js-client-4.3.1.min.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "max-age=3600")], body).into_response()
}

/// The office lands on the overview, a department on its own page, a stranger on the login.
async fn home(caller: Result<Caller, AppError>) -> Redirect {
    match caller {
        Ok(c) => Redirect::to(&landing(&c)),
        Err(_) => Redirect::to("/login"),
    }
}

fn landing(caller: &Caller) -> String {
    match &caller.department {
        None => "/overview".into(),
        Some(d) => format!("/departments/{d}"),
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_form(PageQuery(q): PageQuery<LoginQuery>) -> Result<Html<String>, PageError> {
    views::login_page(None, q.next.as_deref())
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    let token = form.token.trim();
    let found = if token.len() > 200 { None } else { state.db.find_token(token_hash(token)).await? };
    let Some(row) = found else {
        return Ok(views::login_page(
            Some("令牌无效或已被撤销，请向市质量强市办公室索取新令牌。"),
            form.next.as_deref(),
        )?
        .into_response());
    };
    let caller = Caller { token_id: row.id, department: row.department, agent: row.agent, host: None };
    let id = new_session_id()?;
    let expires = Timestamp::now() + SignedDuration::from_hours(SESSION_DAYS * 24);
    state.db.create_session(token_hash(&id), caller.token_id, expires).await.map_err(AppError::from)?;
    let cookie = session_cookie(Some(&id), state.config.tls.is_some());
    let to = form.next.filter(|n| views::is_local_path(n)).unwrap_or_else(|| landing(&caller));
    Ok(([(SET_COOKIE, cookie)], Redirect::to(&to)).into_response())
}

#[derive(Deserialize)]
struct ReviewForm {
    department: String,
    path: String,
    verdict: Verdict,
    reason: Option<String>,
    back: Option<String>,
}

/// The item page's 退回 / 通过 / 撤销 buttons.
async fn review_form(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    PageForm(form): PageForm<ReviewForm>,
) -> Result<Redirect, PageError> {
    let path = RelPath::parse(&form.path).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let review = Review { department: form.department, path, verdict: form.verdict, reason: form.reason };
    apply_review(&state, &caller, review).await?;
    Ok(Redirect::to(back_to(form.back.as_deref())))
}

#[derive(Deserialize)]
struct AcceptAllForm {
    department: String,
    item: Option<ItemCode>,
    back: Option<String>,
}

/// The department and item pages' 全部通过.
async fn accept_all_form(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    PageForm(form): PageForm<AcceptAllForm>,
) -> Result<Redirect, PageError> {
    accept_all(&state, &caller, &form.department, form.item).await?;
    Ok(Redirect::to(back_to(form.back.as_deref())))
}

#[derive(Deserialize)]
struct KindForm {
    department: String,
    path: String,
    kind: Kind,
    back: Option<String>,
}

/// The item page's 更改类别.
async fn kind_form(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    PageForm(form): PageForm<KindForm>,
) -> Result<Redirect, PageError> {
    let path = RelPath::parse(&form.path).map_err(|e| AppError::BadRequest(e.to_string()))?;
    apply_kind(&state, &caller, KindChange { department: form.department, path, kind: form.kind }).await?;
    Ok(Redirect::to(back_to(form.back.as_deref())))
}

#[derive(Deserialize)]
struct NoteForm {
    department: String,
    item: ItemCode,
    text: String,
}

/// The item page's 保存备注.
async fn note_form(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    PageForm(form): PageForm<NoteForm>,
) -> Result<Redirect, PageError> {
    let back = format!("/items/{}", form.item);
    apply_note(&state, &caller, Note { department: form.department, item: form.item, text: form.text })
        .await?;
    Ok(Redirect::to(&back))
}

/// The department page's 保存联系人: stored, or the page again with every problem next to its
/// field (422) and nothing changed.
async fn contacts_submit(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    axum::extract::Path(id): axum::extract::Path<String>,
    PageForm(form): PageForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let department = state
        .catalogue
        .department(&id)
        .ok_or_else(|| AppError::NotFound(format!("没有名为“{id}”的责任单位。")))?
        .id
        .clone();
    caller.require_access(&department).map_err(|_| AppError::Forbidden("只能填写本单位的联系人。".into()))?;
    let list = contacts_form::parse(&form);
    let (problems, whole) = crate::contacts::check(&list);
    if !problems.is_empty() || whole.is_some() {
        let attempt = department::ContactsAttempt { list, problems, whole };
        return Ok(department::department_page(&state, &caller, &department, Some(attempt))
            .await?
            .into_response());
    }
    crate::contacts::file(&state, &caller, &department, list).await?;
    Ok(Redirect::to(&format!("/departments/{department}#contacts")).into_response())
}

#[derive(Deserialize)]
struct WithdrawForm {
    path: String,
}

/// The department page's 撤回 beside a file uploaded from the browser.
async fn withdraw_submit(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    axum::extract::Path(id): axum::extract::Path<String>,
    PageForm(form): PageForm<WithdrawForm>,
) -> Result<Redirect, PageError> {
    let department = caller
        .department
        .clone()
        .filter(|own| *own == id)
        .ok_or_else(|| AppError::Forbidden("只有本单位可以撤回本单位网页上传的文件。".into()))?;
    let path = RelPath::parse(&form.path).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let record = RecordAt { department: department.clone(), agent: WEB_AGENT.into(), path: path.to_string() };
    let withdrawn = state.db.withdraw_evidence(record, caller.host.clone()).await?;
    if withdrawn {
        state.publish(yingjian_shared::EventKind::Withdrawn, Some(&department), Some(path), None);
    }
    Ok(Redirect::to(&format!("/departments/{department}")))
}

/// A path no route knows: the API answers in JSON, a page in Chinese.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        AppError::NotFound(format!(
            "没有这个页面或接口：{}（no endpoint: see the API table in docs/api.md）",
            uri.path()
        ))
        .into_response()
    } else {
        PageError::from(AppError::NotFound("没有这个页面：请从总览或本单位页面进入。".into())).into_response()
    }
}

/// Where a form goes back to: one of this dashboard's pages, never another site.
fn back_to(back: Option<&str>) -> &str {
    back.filter(|b| (b.starts_with("/items/") || b.starts_with("/departments/")) && views::is_local_path(b))
        .unwrap_or("/overview")
}

/// Ends the session on the server, not only in the browser.
async fn logout(State(state): State<AppState>, request: Request) -> Result<Response, PageError> {
    let (parts, _) = request.into_parts();
    if let Some(id) = session_from_parts(&parts) {
        state.db.delete_session(token_hash(&id)).await.map_err(AppError::from)?;
    }
    let cookie = session_cookie(None, state.config.tls.is_some());
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}
