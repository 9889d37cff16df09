//! 矩阵: every item × department at a glance; deduction and veto items need no evidence.

use askama::Template;
use axum::extract::State;
use axum::response::Html;

use super::views::{NO_EVIDENCE_NEEDED, Nav, PageResult, Viewer, nav, office_only, state_class};
use crate::state::AppState;

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
