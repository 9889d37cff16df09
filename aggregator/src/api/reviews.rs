//! `PUT /api/v1/reviews` and `PUT /api/v1/notes` (office), over `crate::review`.

use axum::extract::State;
use axum::http::StatusCode;
use yingjian_shared::{Note, Review};

use super::ApiJson;
use crate::auth::Caller;
use crate::error::AppResult;
use crate::review::{apply_note, apply_review};
use crate::state::AppState;

pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(review): ApiJson<Review>,
) -> AppResult<StatusCode> {
    apply_review(&state, &caller, review).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn note(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(note): ApiJson<Note>,
) -> AppResult<StatusCode> {
    apply_note(&state, &caller, note).await?;
    Ok(StatusCode::NO_CONTENT)
}
