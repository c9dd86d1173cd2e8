//! Errors answered in the shape their caller reads. The session gate and the plain handlers
//! answer an [`AppError`] as text (and keep it on the response); this layer gives it its shape:
//! a server function's caller gets the JSON its client decodes (the same as the function's own
//! errors), and a browser gets, while the database cannot be reached, a page in the portal's
//! layout with a sentence a person can act on, instead of a bare status.
//!
//! It sits outside the session layer, whose one answer of its own is a bare 500 when the session
//! store cannot save a changed session: the store is the database, so that is the database out
//! of reach (or too busy to take the write), answered as such.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::{prelude::provide_context, server_fn::error::FromServerFnError};

use crate::{error::AppError, platform::state::AppState, ui::DatabaseUnavailable};

pub async fn in_kind(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if is_session_store_failure(&response) {
        response = with_cookies_of(AppError::Unavailable.into_response(), &response);
    }
    let Some(error) = response.extensions().get::<AppError>().cloned() else {
        return response;
    };
    if path.starts_with("/rpc/") {
        as_server_function_error(response, &error)
    } else if error == AppError::Unavailable {
        let mut page = state
            .render_page(
                &path,
                StatusCode::SERVICE_UNAVAILABLE,
                Default::default(),
                || provide_context(DatabaseUnavailable),
            )
            .await;
        if let Some(retry_after) = response.headers().get(header::RETRY_AFTER) {
            page.headers_mut()
                .insert(header::RETRY_AFTER, retry_after.clone());
        }
        with_cookies_of(page, &response)
    } else {
        response
    }
}

/// The session layer's bare 500 (tower-sessions logs the store's error): no error of ours rides
/// on it, and it has no body to tell anyone anything.
fn is_session_store_failure(response: &Response) -> bool {
    response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && response.extensions().get::<AppError>().is_none()
        && !response.headers().contains_key(header::CONTENT_TYPE)
}

/// `answer`, with the cookies `original` set (a session that changed keeps its new cookie).
fn with_cookies_of(mut answer: Response, original: &Response) -> Response {
    for cookie in original.headers().get_all(header::SET_COOKIE) {
        answer
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    answer
}

/// The response with `error` as its body, encoded as server functions encode their errors.
fn as_server_function_error(response: Response, error: &AppError) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(error.ser()))
}
