//! What was read: `GET /api/v1/search`, `PUT /api/v1/holds`, `PUT /api/v1/blank-pages` and
//! `PUT /api/v1/facts` (office),
//! over `crate::reading::office`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use yingjian_shared::{BlankPages, FactCorrection, HoldRelease, SearchHit};

use super::ApiJson;
use crate::auth::Caller;
use crate::error::AppResult;
use crate::reading::office;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SearchQuery>,
) -> AppResult<Json<Vec<SearchHit>>> {
    Ok(Json(office::search(&state, &caller, &q.q).await?))
}

pub async fn hold(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(hold): ApiJson<HoldRelease>,
) -> AppResult<StatusCode> {
    office::apply_hold(&state, &caller, hold).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn blank_pages(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(blank): ApiJson<BlankPages>,
) -> AppResult<StatusCode> {
    office::apply_blank_pages(&state, &caller, blank).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn correct(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(correction): ApiJson<FactCorrection>,
) -> AppResult<StatusCode> {
    office::apply_correction(&state, &caller, correction).await?;
    Ok(StatusCode::NO_CONTENT)
}
