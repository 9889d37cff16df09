//! 联系人汇总: every department's 分管领导 and 工作人员 on one page for the office, with whether
//! the department has filed them (已报), and the same list as 附件4's Excel sheet.

use askama::Template;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use yingjian_shared::{Contacts, contacts};

use super::views::{Nav, PageError, Viewer, nav};
use crate::error::AppError;
use crate::state::AppState;

struct DepartmentContacts {
    name: String,
    id: String,
    filed: bool,
    /// 类别, 姓名, 性别, 单位, 职务, 电话、传真, 手机, 邮箱.
    rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    nav: Nav,
    departments: Vec<DepartmentContacts>,
    filed: usize,
}

/// Every department's stored list, in catalogue order (an empty list where none is stored).
async fn stored(state: &AppState) -> Result<Vec<(String, Contacts)>, AppError> {
    let mut out = Vec::new();
    for d in &state.catalogue.departments {
        let body = state.db.contacts_of(d.id.clone()).await?;
        let list = body.and_then(|b| serde_json::from_str::<Contacts>(&b).ok());
        out.push((d.id.clone(), list.unwrap_or(Contacts { department: None, contacts: Vec::new() })));
    }
    Ok(out)
}

pub async fn page(State(state): State<AppState>, Viewer(caller): Viewer) -> Result<Html<String>, PageError> {
    caller.require_office().map_err(|_| AppError::Forbidden("此页面仅供市质量强市办公室查看。".into()))?;
    let departments: Vec<DepartmentContacts> = stored(&state)
        .await?
        .into_iter()
        .map(|(id, list)| DepartmentContacts {
            name: state.catalogue.department(&id).map_or_else(|| id.clone(), |d| d.name.clone()),
            filed: contacts::filed(&list),
            rows: list
                .contacts
                .iter()
                .map(|c| std::iter::once(c.role.label()).chain(c.columns()).map(String::from).collect())
                .collect(),
            id,
        })
        .collect();
    let filed = departments.iter().filter(|d| d.filed).count();
    let page = ContactsPage { nav: nav(&state, &caller, "/overview"), departments, filed };
    Ok(Html(page.render()?))
}

/// 附件4 as an Excel sheet, as the bundle carries it.
pub async fn xlsx(State(state): State<AppState>, Viewer(caller): Viewer) -> Result<Response, PageError> {
    caller.require_office().map_err(|_| AppError::Forbidden("此页面仅供市质量强市办公室查看。".into()))?;
    let list = stored(&state).await?;
    let today = yingjian_shared::china_time(Timestamp::now());
    let day = (today.year() as u16, today.month() as u8, today.day() as u8);
    let body = crate::bundle::contacts_xlsx(&state.catalogue, &state.config.city, &list, day)
        .map_err(AppError::internal)?;
    let name = format!("{}{}年度质量工作考核联系人员名单.xlsx", state.config.city, state.catalogue.year);
    let disposition = crate::download_name::attachment(&name);
    let mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    Ok(([(CONTENT_TYPE, mime.to_string()), (CONTENT_DISPOSITION, disposition)], body).into_response())
}
