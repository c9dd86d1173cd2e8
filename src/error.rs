//! The error every server function returns: shared with the browser, so it carries only what a
//! customer may read. Causes (database text, I/O errors) are logged on the server, never sent.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// What a customer reads while the database cannot be reached, on pages and from actions.
pub const UNAVAILABLE: &str =
    "The portal cannot reach its database right now. Your secrets are safe; try again in a moment.";

/// Seconds a client is asked to wait (`Retry-After`) before trying again after a 503.
#[cfg(feature = "ssr")]
pub const RETRY_AFTER_SECONDS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The input broke a rule; the message says which, in the customer's words.
    #[error("{0}")]
    Invalid(String),
    /// The request is valid but the current state forbids it (a limit, a rule about another
    /// row); the message says what to do instead.
    #[error("{0}")]
    Conflict(String),
    /// Nobody is signed in (or the session ended).
    #[error("Your session has ended. Sign in again.")]
    Unauthorized,
    /// Signed in, but the member's role may not do this; the message says who may.
    #[error("{0}")]
    Forbidden(String),
    /// A dangerous action, and the person has not confirmed their password lately (step-up):
    /// the page asks for it and the action can be tried again.
    #[error("Confirm your password to continue.")]
    ConfirmationNeeded,
    /// Too many failed attempts lately; the message says when to try again.
    #[error("{0}")]
    TooManyAttempts(String),
    /// Missing, or belonging to someone else: the two are indistinguishable on purpose.
    #[error("Not found.")]
    NotFound,
    /// The request could not be read (malformed arguments, wrong encoding).
    #[error("The request was not understood. Reload the page and try again.")]
    BadRequest,
    /// The browser could not reach the server.
    #[error("Could not reach the server. Check your connection and try again.")]
    Network,
    /// Every password check was busy (a flood): try again in a few seconds.
    #[error("The portal is busy. Please try again in a few seconds.")]
    Busy,
    /// The database could not be reached (stopped, restarting, cut off): nothing was done.
    #[error("{UNAVAILABLE}")]
    Unavailable,
    /// Anything unexpected; the cause is in the server's log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

impl AppError {
    /// How long to wait before retrying (`Retry-After`, seconds), for errors that soon pass.
    pub fn retry_after(&self) -> Option<u32> {
        #[cfg(feature = "ssr")]
        let seconds = RETRY_AFTER_SECONDS;
        #[cfg(not(feature = "ssr"))]
        let seconds = 5;
        matches!(self, AppError::Busy | AppError::Unavailable).then_some(seconds)
    }

    /// The HTTP status that goes with the error.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::Conflict(_) => 409,
            AppError::Unauthorized => 401,
            AppError::Forbidden(_) | AppError::ConfirmationNeeded => 403,
            AppError::TooManyAttempts(_) => 429,
            AppError::NotFound => 404,
            AppError::BadRequest => 400,
            AppError::Network | AppError::Busy | AppError::Unavailable => 503,
            AppError::Internal => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// On the server, the answer's status is the error's (an unreadable request is 400, not
    /// the 500 Leptos would answer with).
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let error = match value {
            ServerFnErrorErr::Request(_) => AppError::Network,
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => AppError::BadRequest,
            _ => AppError::Internal,
        };
        #[cfg(feature = "ssr")]
        let error = fail(error);
        error
    }
}

/// Sets the HTTP status of the server function's (or page's) response to the error's, and
/// returns the error: `Err(fail(AppError::NotFound))`. A plain HTML form post (no JavaScript)
/// keeps the redirect back to its page that Leptos answers it with.
#[cfg(feature = "ssr")]
pub fn fail(error: AppError) -> AppError {
    use leptos::prelude::{use_context, with_context};
    let html_form_post = with_context(|parts: &axum::http::request::Parts| {
        parts.method == axum::http::Method::POST
            && parts
                .headers
                .get(axum::http::header::ACCEPT)
                .and_then(|accept| accept.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"))
    })
    .unwrap_or(false);
    if !html_form_post
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = axum::http::StatusCode::from_u16(error.status_code())
    {
        response.set_status(status);
        if error.retry_after().is_some() {
            response.insert_header(axum::http::header::RETRY_AFTER, retry_after_value());
        }
    }
    error
}

#[cfg(feature = "ssr")]
fn retry_after_value() -> axum::http::HeaderValue {
    axum::http::HeaderValue::from(RETRY_AFTER_SECONDS)
}

/// Whether a database error means the database could not be reached (down, restarting, the
/// connection cut or the pool's wait over), as opposed to a query it refused: the first is
/// answered 503 "try again in a moment", the second is a bug (500).
#[cfg(feature = "ssr")]
pub fn unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exceptions; 57P01-57P03: the server is shutting down or starting.
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// Logs an unexpected error with its whole cause chain and returns the generic error the
/// customer sees. `doing` says what failed, e.g. "reading the system status". An error caused
/// by the database being out of reach is no bug: it is [`AppError::Unavailable`] (503).
#[cfg(feature = "ssr")]
pub fn internal_error(doing: &str, error: &(dyn std::error::Error + 'static)) -> AppError {
    if caused_by_an_unreachable_database(error) {
        tracing::warn!(error = %error, "{doing} failed: the database is unreachable");
        return fail(AppError::Unavailable);
    }
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "{doing} failed");
    fail(AppError::Internal)
}

/// Whether the database being out of reach is in `error`'s cause chain: a connection error of
/// sqlx's, or of the session store (the same database; its errors reach us as text).
#[cfg(feature = "ssr")]
fn caused_by_an_unreachable_database(error: &(dyn std::error::Error + 'static)) -> bool {
    use tower_sessions::{session, session_store};
    let store_backend = |e: &session_store::Error| matches!(e, session_store::Error::Backend(_));
    std::iter::successors(Some(error), |e| e.source()).any(|e| {
        e.downcast_ref::<sqlx::Error>().is_some_and(unreachable)
            || e.downcast_ref::<session_store::Error>()
                .is_some_and(store_backend)
            || matches!(
                e.downcast_ref::<session::Error>(),
                Some(session::Error::Store(store)) if store_backend(store)
            )
    })
}

/// A row that may be missing (or belong to another organization, which reads the same): its
/// absence is [`AppError::NotFound`], any error converted as usual.
#[cfg(feature = "ssr")]
pub fn found<T, E: Into<AppError>>(lookup: Result<Option<T>, E>) -> Result<T, AppError> {
    lookup
        .map_err(Into::into)?
        .ok_or_else(|| fail(AppError::NotFound))
}

/// Which error a constraint's refusal is: `AppError::Invalid` or `AppError::Conflict`.
#[cfg(feature = "ssr")]
type Kind = fn(String) -> AppError;

/// What a customer is told when the database refuses a change by one of these constraints: the
/// one place constraint names become errors (each of them is an expected outcome).
#[cfg(feature = "ssr")]
const CONSTRAINTS: &[(&str, Kind, &str)] = &[
    (
        "environments_name_key",
        AppError::Invalid,
        "An environment with this name already exists.",
    ),
    (
        "memberships_keep_an_owner",
        AppError::Conflict,
        "An organization needs at least one owner. Make someone else an owner first.",
    ),
];

/// A database error: a refusal by a known constraint is the customer's to fix (its message);
/// anything else goes through [`internal_error`].
#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        let constraint = error.as_database_error().and_then(|e| e.constraint());
        match CONSTRAINTS
            .iter()
            .find(|(name, _, _)| Some(*name) == constraint)
        {
            Some((_, error, message)) => fail(error((*message).into())),
            None => internal_error("a database query", &error),
        }
    }
}

/// A plain handler's error (not a server function's): its status and its message as text. The
/// error rides along as an extension, so that a layer can answer in the request's own shape (a
/// page with the portal's layout, a server function's JSON).
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.status_code())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.to_string()).into_response();
        if self.retry_after().is_some() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after_value());
        }
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_map_to_customer_messages_without_their_details() {
        let network = AppError::from_server_fn_error(ServerFnErrorErr::Request(
            "connection refused to 10.0.0.7".into(),
        ));
        assert_eq!(network, AppError::Network);
        assert!(!network.to_string().contains("10.0.0.7"));

        let bad = AppError::from_server_fn_error(ServerFnErrorErr::Args("oops".into()));
        assert_eq!(bad.status_code(), 400);

        let other = AppError::from_server_fn_error(ServerFnErrorErr::ServerError(
            "relation \"x\" does not exist".into(),
        ));
        assert_eq!(other, AppError::Internal);
        assert!(!other.to_string().contains("relation"));
    }
}
