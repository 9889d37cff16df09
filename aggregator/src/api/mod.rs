//! The v1 HTTP API (docs/api.md): routes and the extractors they share.

mod agents;
mod blobs;
mod bundles;
mod caller;
mod evidence;
mod reading;
mod reviews;
mod same_origin;
mod status;
mod uploads;

use std::time::Duration;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::error::AppError;
use crate::state::AppState;

/// The whole HTTP surface, assembled here alone: API, dashboard, and the layers every request
/// passes (the same-origin guard, the body idle timeout).
pub fn router(state: AppState) -> Router {
    let body_idle = Duration::from_secs(state.config.timeouts.body_idle_secs);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/catalogue", get(status::catalogue))
        .route("/api/v1/status", get(status::status))
        .route("/api/v1/events", get(status::events))
        .route("/api/v1/audit", get(status::audit))
        .route("/api/v1/evidence", put(evidence::put).delete(evidence::withdraw).get(evidence::list))
        .route("/api/v1/heartbeat", post(agents::heartbeat))
        .route("/api/v1/contacts", put(agents::contacts))
        .route("/api/v1/reviews", put(reviews::review))
        .route("/api/v1/notes", put(reviews::note))
        .route("/api/v1/kinds", put(reviews::kind))
        .route("/api/v1/choices", get(reviews::choices).put(reviews::choice))
        .route("/api/v1/search", get(reading::search))
        .route("/api/v1/holds", put(reading::hold))
        .route("/api/v1/blank-pages", put(reading::blank_pages))
        .route("/api/v1/facts", put(reading::correct))
        .route("/api/v1/bundles", post(bundles::create).get(bundles::list))
        .route("/api/v1/bundles/{name}", get(bundles::download))
        .merge(blobs::router())
        .merge(uploads::router())
        .merge(crate::dashboard::router(&state))
        .fallback(crate::dashboard::not_found)
        .layer(axum::middleware::from_fn(same_origin::guard))
        .layer(RequestBodyTimeoutLayer::new(body_idle))
        .with_state(state)
}

/// `Json` whose rejections are the API's JSON errors, saying what was wrong with the body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::TooLarge { max: 2 * 1024 * 1024 })
            }
            Err(rejection) => Err(AppError::BadRequest(json_message(&rejection))),
        }
    }
}

fn json_message(rejection: &JsonRejection) -> String {
    format!("the request body is not the JSON this call expects: {}", rejection.body_text())
}
