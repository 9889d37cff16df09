//! What was read, where people look: the 搜索 page, each file's fields and scan findings on the
//! item page (with the office's correction, 密级 release and blank-page forms), and the overview's reading
//! progress, held files and rescans of the same paper.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use askama::Template;
use axum::extract::State;
use axum::response::{Html, Redirect};
use serde::Deserialize;
use yingjian_shared::{
    BlankPages, Catalogue, EvidenceEntry, FactCorrection, FieldName, HoldRelease, NearDuplicate, ReadState,
    RelPath, Status,
};

use super::form::{PageForm, PageQuery};
use super::views::{Nav, PageError, PageResult, Viewer, nav};
use crate::error::AppError;
use crate::knowledge::{Knowledge, Told, same_paper};
use crate::reading::office;
use crate::state::AppState;

/// A file's reading, as the item page shows it under the file.
pub struct FileFacts {
    /// 「文号 … · 责任者 … · 日期 … · 页数 …」 with each value's source.
    pub line: String,
    /// 「正在识别文字」, 「无法读取文字（…）」, or nothing.
    pub state: String,
    /// The 密级 mark that holds the file back, if it is held.
    pub held: String,
    /// The 密级 mark of a file the office released.
    pub released: String,
    /// Scan findings, a sentence each, with the address of the page's thumbnail.
    pub findings: Vec<(String, String)>,
    /// The blank pages found (「2、5」), and whether the office left them out of the printout.
    pub blank: String,
    pub blank_omitted: bool,
    /// What the office should look at beside the fields: 「内容可能属于 01.10 …」, then each
    /// near-identical file (「与商务局 06.04 的《…》为同一份材料的不同扫描件」).
    pub notices: Vec<String>,
    /// The current value of each correctable field, for the correction form.
    pub fields: Vec<(&'static str, &'static str, String)>,
}

pub fn file_facts(
    knowledge: &Knowledge,
    told: &Told<'_>,
    r: &EvidenceEntry,
    near: &[NearDuplicate],
    reading: bool,
) -> FileFacts {
    let f = knowledge.of(r, told);
    let source = |s: Option<yingjian_shared::FieldSource>| s.map_or("", |s| s.label());
    let mut parts = Vec::new();
    let mut add = |label: &str, value: &Option<String>, from: &str| {
        if let Some(v) = value {
            parts.push(if from.is_empty() {
                format!("{label} {v}")
            } else {
                format!("{label} {v}（{from}）")
            });
        }
    };
    add("文号", &f.doc_number, source(f.sources.doc_number));
    add("责任者", &f.issuer, source(f.sources.issuer));
    add("日期", &f.date, source(f.sources.date));
    add("页数", &f.pages.map(|p| p.to_string()), "");
    if f.out_of_year {
        parts.push(format!("日期不在考核年度（{}年）", told.catalogue.year));
    }
    let suggested = f.suggested_item.and_then(|code| told.catalogue.item(code));
    let mut notices: Vec<String> = suggested
        .map(|item| format!("内容可能属于 {} {}", item.code.padded(), item.short_title))
        .into_iter()
        .collect();
    notices.extend(near.iter().map(|n| near_line(told.catalogue, n, knowledge.scanned(r))));
    let state = match f.read {
        // With reading turned off nothing will be read: nothing to say.
        ReadState::Queued if !reading => String::new(),
        ReadState::Queued => "正在识别文字".to_string(),
        ReadState::Failed => format!("无法读取文字（{}）", f.failure.as_deref().unwrap_or("原因不明")),
        ReadState::Done => String::new(),
    };
    let held = knowledge.hold(r).map(str::to_string).unwrap_or_default();
    let released = if held.is_empty() { f.classification.clone().unwrap_or_default() } else { String::new() };
    FileFacts {
        line: parts.join(" · "),
        state,
        held,
        released,
        findings: f
            .quality
            .iter()
            .map(|q| (q.advice(), format!("/files/{}/pages/{}.png", r.sha256, q.page)))
            .collect(),
        blank: crate::plan::page_list(&knowledge.blank_pages(r)),
        blank_omitted: !f.unprinted_pages.is_empty(),
        notices,
        fields: FieldName::ALL
            .into_iter()
            .map(|name| {
                let value = match name {
                    FieldName::DocNumber => f.doc_number.clone(),
                    FieldName::Issuer => f.issuer.clone(),
                    FieldName::Date => f.date.clone(),
                    FieldName::Title => f.title.clone(),
                };
                (name.wire(), name.label(), value.unwrap_or_default())
            })
            .collect(),
    }
}

/// 「与商务局 06.04 的《…》为同一份材料的不同扫描件」 (of a file read by OCR, `scanned`).
fn near_line(catalogue: &Catalogue, n: &NearDuplicate, scanned: bool) -> String {
    let dept = catalogue.department(&n.department).map_or(n.department.as_str(), |d| d.name.as_str());
    let place = n.path.components().next().unwrap_or("");
    let code = place.split_whitespace().next().unwrap_or(place);
    format!("与{dept} {code} 的《{}》{}", n.path.file_name(), same_paper(scanned))
}

/// The overview's part: reading progress, held files, rescans of the same paper.
pub struct OverviewReading {
    /// Files are read at all (`[reading] enabled`).
    pub enabled: bool,
    /// 「正在识别 N 份」 or 「全部 N 份已识别」.
    pub progress: String,
    /// (department name, department id, path, mark) of each held file.
    pub held: Vec<(String, String, String, String)>,
    /// One sentence per pair of rescans.
    pub rescans: Vec<String>,
    /// Files with scan findings, per department name.
    pub findings: HashMap<String, usize>,
}

pub async fn overview_reading(state: &AppState, status: &Status) -> Result<OverviewReading, AppError> {
    let knowledge = state.knowledge().await?;
    let told = state.told();
    let records = state.db.evidence(None).await?;
    let a = status.analysis;
    let mut progress = if !state.config.reading.enabled {
        "未开启".to_string()
    } else if a.queued > 0 {
        format!("正在识别 {} 份，已识别 {} 份", a.queued, a.done)
    } else {
        format!("全部 {} 份已识别", a.done + a.failed)
    };
    if a.failed > 0 {
        let _ = write!(progress, "，{} 份无法读取", a.failed);
    }
    let name = |id: &str| state.catalogue.department(id).map_or_else(|| id.to_string(), |d| d.name.clone());
    let held = status
        .held
        .iter()
        .map(|h| (name(&h.department), h.department.clone(), h.path.to_string(), h.classification.clone()))
        .collect();
    let mut rescans = Vec::new();
    let near = knowledge.near_duplicates(&records);
    let mut pairs: Vec<(&(String, String), &Vec<NearDuplicate>)> = near.iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let scans: HashSet<(&str, &str)> = records
        .iter()
        .filter(|r| knowledge.scanned(r))
        .map(|r| (r.department.as_str(), r.path.as_str()))
        .collect();
    for ((dept, path), others) in pairs {
        let scanned = scans.contains(&(dept.as_str(), path.as_str()));
        for o in others {
            // Each pair once.
            if (dept.as_str(), path.as_str()) < (o.department.as_str(), o.path.as_str()) {
                rescans.push(format!(
                    "{}：{} — {}",
                    name(dept),
                    path,
                    near_line(&state.catalogue, o, scanned)
                ));
            }
        }
    }
    let mut findings: HashMap<String, usize> = HashMap::new();
    for r in &records {
        if !knowledge.of(r, &told).quality.is_empty() {
            *findings.entry(r.department.clone()).or_default() += 1;
        }
    }
    Ok(OverviewReading { enabled: state.config.reading.enabled, progress, held, rescans, findings })
}

// ── 搜索 ───────────────────────────────────────────────────────────────────

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

struct Hit {
    department: String,
    place: String,
    href: String,
    path: String,
    /// The snippet before, in, and after the match.
    before: String,
    matched: String,
    after: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    nav: Nav,
    q: String,
    hits: Vec<Hit>,
}

pub async fn search(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    PageQuery(q): PageQuery<SearchQuery>,
) -> PageResult {
    let found = office::search(&state, &caller, &q.q).await?;
    let hits = found
        .into_iter()
        .map(|h| {
            let (before, rest) = h.snippet.split_once('【').unwrap_or((h.snippet.as_str(), ""));
            let (matched, after) = rest.split_once('】').unwrap_or(("", rest));
            let place = h.item.map_or_else(
                || h.path.components().next().unwrap_or("").to_string(),
                |code| {
                    let title = state.catalogue.item(code).map_or("", |i| i.short_title.as_str());
                    format!("{} {title}", code.padded())
                },
            );
            Hit {
                department: state
                    .catalogue
                    .department(&h.department)
                    .map_or(h.department.clone(), |d| d.name.clone()),
                href: h.item.map_or_else(
                    || format!("/departments/{}", h.department),
                    |code| format!("/items/{code}"),
                ),
                place,
                path: h.path.to_string(),
                before: before.to_string(),
                matched: matched.to_string(),
                after: after.to_string(),
            }
        })
        .collect();
    let page = SearchPage { nav: nav(&state, &caller, "/search"), q: q.q.trim().to_string(), hits };
    Ok(Html(page.render()?))
}

// ── the office's forms ────────────────────────────────────────────────────

#[derive(Deserialize)]
pub struct HoldForm {
    department: String,
    path: String,
    release: bool,
    back: Option<String>,
}

/// 「同意报送」 / 「恢复暂扣」 beside a held file.
pub async fn hold_form(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    PageForm(form): PageForm<HoldForm>,
) -> Result<Redirect, PageError> {
    let path = RelPath::parse(&form.path).map_err(|e| AppError::BadRequest(e.to_string()))?;
    office::apply_hold(
        &state,
        &caller,
        HoldRelease { department: form.department, path, release: form.release },
    )
    .await?;
    Ok(Redirect::to(super::back_to(form.back.as_deref())))
}

#[derive(Deserialize)]
pub struct BlankPagesForm {
    department: String,
    path: String,
    omit: bool,
    back: Option<String>,
}

/// 「纸质版略去空白页」 / 「恢复打印」 beside a file's blank-page findings.
pub async fn blank_pages_form(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    PageForm(form): PageForm<BlankPagesForm>,
) -> Result<Redirect, PageError> {
    let path = RelPath::parse(&form.path).map_err(|e| AppError::BadRequest(e.to_string()))?;
    office::apply_blank_pages(
        &state,
        &caller,
        BlankPages { department: form.department, path, omit: form.omit },
    )
    .await?;
    Ok(Redirect::to(super::back_to(form.back.as_deref())))
}

#[derive(Deserialize)]
pub struct FactsForm {
    department: String,
    path: String,
    field: String,
    value: String,
    back: Option<String>,
}

/// 「更正」 of a file's 文号, 责任者, 日期 or 题名.
pub async fn facts_form(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    PageForm(form): PageForm<FactsForm>,
) -> Result<Redirect, PageError> {
    let path = RelPath::parse(&form.path).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let field = FieldName::from_wire(&form.field).ok_or_else(|| AppError::BadRequest("没有这一项".into()))?;
    let correction = FactCorrection { department: form.department, path, field, value: form.value };
    office::apply_correction(&state, &caller, correction).await?;
    Ok(Redirect::to(super::back_to(form.back.as_deref())))
}
