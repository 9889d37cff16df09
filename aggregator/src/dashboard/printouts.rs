//! Printouts: the 催办通知 the office sends a department (one, or every department at once),
//! A4, in the style of a 发文; and the 回执 of what the office holds from a department, for the
//! department or the office.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use jiff::Timestamp;
use yingjian_shared::{DepartmentStatus, EvidenceEntry, Kind, chinese_date_time, reminders, size_text};

use super::views::{Nav, PageError, Viewer, nav};
use crate::error::AppError;
use crate::state::AppState;

struct Notice {
    department: String,
    lacks: Vec<String>,
    returned: Vec<String>,
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    nav: Nav,
    issuer: String,
    year: u16,
    notices: Vec<Notice>,
    contacts_deadline: String,
    evidence_deadline: String,
    contact: String,
    date: String,
}

/// Who signs: the city's coordinating office.
fn issuer(state: &AppState) -> String {
    format!("{}质量强市工作领导小组办公室", state.config.city)
}

/// A department as the city's own notice addresses it: 市工业和信息化局, 市市场监管局; one
/// named after the city already (平顶山海关) as it is.
fn addressee(city: &str, name: &str) -> String {
    let place = city.trim_end_matches('市');
    if !place.is_empty() && name.starts_with(place) { name.to_string() } else { format!("市{name}") }
}

fn notices_of(
    state: &AppState,
    caller: &crate::auth::Caller,
    departments: &[DepartmentStatus],
) -> Result<Html<String>, PageError> {
    let d = yingjian_shared::china_time(Timestamp::now());
    let page = NoticePage {
        nav: nav(state, caller, ""),
        issuer: issuer(state),
        year: state.catalogue.year,
        notices: departments
            .iter()
            .map(|d| Notice {
                department: addressee(&state.config.city, &d.name),
                lacks: reminders::lacking(d, &state.catalogue),
                returned: reminders::open_returns(d),
            })
            .collect(),
        contacts_deadline: chinese_date_time(state.deadlines.contacts),
        evidence_deadline: chinese_date_time(state.deadlines.evidence),
        contact: state.config.notice_contact.clone(),
        date: format!("{}年{}月{}日", d.year(), d.month(), d.day()),
    };
    Ok(Html(page.render()?))
}

/// `GET /departments/{id}/notice` (office): one department's 催办通知.
pub async fn notice(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    if !caller.is_office() {
        return Err(AppError::Forbidden("催办通知由市质量强市办公室打印。".into()).into());
    }
    let dept = state
        .catalogue
        .department(&id)
        .ok_or_else(|| AppError::NotFound(format!("没有名为“{id}”的责任单位。")))?;
    let status = state.status(Some(&dept.id)).await?;
    notices_of(&state, &caller, &status.departments)
}

/// `GET /notices` (office): every department that still lacks something, a page each.
pub async fn notices(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
) -> Result<Html<String>, PageError> {
    if !caller.is_office() {
        return Err(AppError::Forbidden("催办通知由市质量强市办公室打印。".into()).into());
    }
    let status = state.status(None).await?;
    let open: Vec<DepartmentStatus> = status
        .departments
        .into_iter()
        .filter(|d| {
            !reminders::lacking(d, &state.catalogue).is_empty() || !reminders::open_returns(d).is_empty()
        })
        .collect();
    notices_of(&state, &caller, &open)
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    nav: Nav,
    issuer: String,
    department: String,
    count: usize,
    total: String,
    printed: String,
    rows: Vec<Vec<String>>,
}

/// `GET /departments/{id}/receipt`: every file the office holds from the department, in
/// catalogue order, with the first 16 digits of its SHA-256.
pub async fn receipt(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let dept = state
        .catalogue
        .department(&id)
        .ok_or_else(|| AppError::NotFound(format!("没有名为“{id}”的责任单位。")))?;
    caller.require_access(&dept.id).map_err(|_| AppError::Forbidden("只能打印本单位的回执。".into()))?;
    let mut records = state.db.evidence(Some(dept.id.clone())).await?;
    records.sort_by(EvidenceEntry::catalogue_cmp);
    let rows = records
        .iter()
        .enumerate()
        .map(|(n, r)| {
            vec![
                (n + 1).to_string(),
                r.place(),
                r.kind.map_or("", Kind::label).to_string(),
                r.path.file_name().to_string(),
                r.caption.clone().unwrap_or_default(),
                chinese_date_time(r.received),
                r.sha256.as_str()[..16].to_string(),
            ]
        })
        .collect();
    let page = ReceiptPage {
        nav: nav(&state, &caller, ""),
        issuer: issuer(&state),
        department: dept.name.clone(),
        count: records.len(),
        total: size_text(records.iter().map(|r| r.size).sum()),
        printed: chinese_date_time(Timestamp::now()),
        rows,
    };
    Ok(Html(page.render()?))
}

#[cfg(test)]
mod tests {
    use super::addressee;

    #[test]
    fn a_notice_addresses_departments_by_the_names_the_city_uses() {
        assert_eq!(addressee("平顶山市", "工业和信息化局"), "市工业和信息化局");
        assert_eq!(addressee("平顶山市", "市场监管局"), "市市场监管局");
        assert_eq!(addressee("平顶山市", "平顶山海关"), "平顶山海关");
        assert_eq!(addressee("", "公安局"), "市公安局");
    }
}
