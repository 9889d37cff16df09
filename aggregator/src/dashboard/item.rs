//! 事项: an item's files from each responsible department, with previews, review, notes and
//! (where files are read) their fields.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use yingjian_shared::{ItemCode, ItemState, Kind, chinese_numeral, is_image_name, size_text};

use super::department::{UPLOAD_KINDS, UploadTarget, upload_targets};
use super::views::{
    NO_EVIDENCE_NEEDED, Nav, PageResult, Viewer, dept_name, local, nav, review_lines, state_class, verdict_of,
};
use crate::error::AppError;
use crate::state::AppState;

struct ItemFile {
    kind: &'static str,
    /// The kind's wire name, for the office's 更改类别 chooser.
    kind_wire: &'static str,
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
    /// What the office may make a file: (wire name, label).
    kinds: Vec<(&'static str, &'static str)>,
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
                    kind_wire: r.kind.map_or("", Kind::wire),
                    caption: r.caption.clone().unwrap_or_else(|| name.clone()),
                    href: format!("/files/{}?name={}", r.sha256, crate::download_name::percent_encode(&name)),
                    path: r.path.to_string(),
                    size: size_text(r.size),
                    received: local(r.received),
                    agent: r.agent.clone(),
                    sha256: r.sha256.to_string(),
                    image: is_image_name(&name),
                    picture: if super::files::needs_png_preview(&name) {
                        format!("/files/{}/preview.png", r.sha256)
                    } else {
                        format!("/files/{}?name={}", r.sha256, crate::download_name::percent_encode(&name))
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
        kinds: Kind::ALL.iter().map(|k| (k.wire(), k.label())).collect(),
        upload_targets: if caller.department.as_ref().is_some_and(|own| item.has_department(own)) {
            upload_targets(std::iter::once(item), false)
        } else {
            Vec::new()
        },
    };
    Ok(Html(page.render()?))
}
