//! What agents and departments report besides evidence: heartbeats and contacts.

use axum::extract::State;
use axum::http::StatusCode;
use yingjian_shared::{Contacts, Heartbeat, limits};

use super::ApiJson;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub async fn heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(hb): ApiJson<Heartbeat>,
) -> AppResult<StatusCode> {
    let department = caller.department()?.to_string();
    limits::heartbeat(&hb)?;
    crate::presence::heard(&state, &department, &caller.agent, &hb).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn contacts(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(contacts): ApiJson<Contacts>,
) -> AppResult<StatusCode> {
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
    crate::contacts::file(&state, &caller, &department, contacts).await?;
    Ok(StatusCode::NO_CONTENT)
}
