//! `PUT /api/v1/reviews`, `PUT /api/v1/kinds`, `GET`/`PUT /api/v1/choices` and
//! `PUT /api/v1/notes` (office), over
//! `crate::review`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use yingjian_shared::{KindChange, Note, QuestionedFile, Review, SendChoice};

use super::ApiJson;
use crate::auth::Caller;
use crate::error::AppResult;
use crate::review::{apply_choice, apply_kind, apply_note, apply_review};
use crate::state::AppState;

pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(review): ApiJson<Review>,
) -> AppResult<StatusCode> {
    apply_review(&state, &caller, review).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn kind(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(change): ApiJson<KindChange>,
) -> AppResult<StatusCode> {
    apply_kind(&state, &caller, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn choices(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Vec<QuestionedFile>>> {
    caller.require_office()?;
    Ok(Json(crate::bundle::planned(&state).await?.questioned))
}

pub async fn choice(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(choice): ApiJson<SendChoice>,
) -> AppResult<StatusCode> {
    apply_choice(&state, &caller, choice).await?;
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
