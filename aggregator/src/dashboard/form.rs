//! `Form` and `Query` for pages: what a browser (or a hand-made request) sends wrong becomes the
//! Chinese error page, not axum's English rejection text.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::views::PageError;
use crate::error::AppError;

/// A page's form body.
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(PageForm(value)),
            Err(rejection) => Err(refused(rejection.status(), &rejection.body_text())),
        }
    }
}

/// A page's query string.
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(PageQuery(value)),
            Err(rejection) => Err(refused(rejection.status(), &rejection.body_text())),
        }
    }
}

/// The rejection as people read it; axum's own words stay in brackets for the log.
fn refused(status: StatusCode, detail: &str) -> PageError {
    let error = match status {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            AppError::UnsupportedMediaType(format!("请从页面上的表单提交（{detail}）"))
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::Unprocessable(format!("填写的内容过长，请缩短后重新提交（{detail}）"))
        }
        _ => AppError::BadRequest(format!("提交的内容不完整或有误，请返回页面重新填写（{detail}）")),
    };
    error.into()
}
