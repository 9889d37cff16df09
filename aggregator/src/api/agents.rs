//! What agents and departments report besides evidence: heartbeats and contacts.

use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use yingjian_shared::{Contacts, EventKind, Heartbeat, limits};

use super::ApiJson;
use crate::auth::Caller;
use crate::db::AuditEntry;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub async fn heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(hb): ApiJson<Heartbeat>,
) -> AppResult<StatusCode> {
    let department = caller.department()?.to_string();
    limits::heartbeat(&hb)?;
    let body = serde_json::to_string(&hb).map_err(AppError::internal)?;
    state.db.put_heartbeat(department.clone(), caller.agent.clone(), body).await?;
    state.publish(EventKind::Heartbeat, Some(&department), None, Some(hb.host));
    Ok(StatusCode::NO_CONTENT)
}

pub async fn contacts(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(mut contacts): ApiJson<Contacts>,
) -> AppResult<StatusCode> {
    // Capped where they are written, so that no export (Excel's 32,767 characters a cell) can
    // ever meet a field too long for it.
    limits::contacts(&contacts)?;
    let department = match (&caller.department, &contacts.department) {
        (Some(own), None) => own.clone(),
        (_, Some(name)) => {
            let dept = state.catalogue.department(name).ok_or_else(|| {
                AppError::Unprocessable(format!(
                    "no department {name:?} in the catalogue: use its id or name"
                ))
            })?;
            caller.require_access(&dept.id)?;
            dept.id.clone()
        }
        (None, None) => {
            return Err(AppError::BadRequest(
                "the office must say which department: add \"department\"".into(),
            ));
        }
    };
    if contacts.contacts.is_empty() {
        return Err(AppError::Unprocessable(
            "send at least one contact: one 分管领导 (leader) and one 工作人员 (staff)".into(),
        ));
    }
    if let Some(nameless) = contacts.contacts.iter().position(|c| c.name.trim().is_empty()) {
        return Err(AppError::Unprocessable(format!("contact {} has no name: fill in 姓名", nameless + 1)));
    }
    contacts.department = Some(department.clone());
    let body = serde_json::to_string(&contacts).map_err(AppError::internal)?;
    let names: Vec<&str> = contacts.contacts.iter().map(|c| c.name.as_str()).collect();
    let audit = AuditEntry {
        at: Timestamp::now(),
        department: Some(department.clone()),
        agent: Some(caller.agent.clone()),
        host: caller.host.clone(),
        action: "contacts".into(),
        detail: names.join("、"),
    };
    state.db.put_contacts(department.clone(), body, audit).await?;
    state.publish(EventKind::Contacts, Some(&department), None, None);
    Ok(StatusCode::NO_CONTENT)
}
