//! The REST API's one error type: a refused signature, a broken rule, a busy or failing server
//! all answer `{"error": code, "message": text}` with their status. Conversions (`From`) let
//! every handler use `?`; a 5xx is logged once, with its cause, where it is made.

use std::borrow::Cow;

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::Refusal;
use crate::error::AppError;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    /// Seconds, on a 503: nothing was done, and retrying soon may work.
    retry_after: Option<u32>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'static str,
    message: &'a str,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Something unexpected: logged here with its cause chain; the caller reads only that it
    /// failed.
    /// The database being out of reach is no bug: 503, nothing was done.
    pub fn internal(doing: &str, error: &(dyn std::error::Error + 'static)) -> ApiError {
        match crate::error::internal_error(doing, error) {
            AppError::Unavailable => ApiError::database_unreachable(),
            _ => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side. Please try again.",
            ),
        }
    }

    /// 503: the database cannot be reached right now.
    pub fn database_unreachable() -> ApiError {
        ApiError::unavailable(
            "The API cannot reach its database right now; nothing was changed. Retry shortly.",
        )
    }

    /// 503 with Retry-After: nothing was done, and retrying soon may work.
    pub fn unavailable(message: &'static str) -> ApiError {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let status = match refusal {
            Refusal::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNAUTHORIZED,
        };
        ApiError::new(status, refusal.code(), refusal.message())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::internal("a database query (REST)", &error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(Body {
            error: self.code,
            message: &self.message,
        });
        match self.retry_after {
            Some(seconds) => (self.status, [(header::RETRY_AFTER, seconds)], body).into_response(),
            None => (self.status, body).into_response(),
        }
    }
}
