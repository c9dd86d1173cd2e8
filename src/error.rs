//! The error every server function returns: shared with the browser, so it carries only what a
//! customer may read. Causes (database text, I/O errors) are logged on the server, never sent.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

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
    /// Missing, or belonging to someone else: the two are indistinguishable on purpose.
    #[error("Not found.")]
    NotFound,
    /// The request could not be read (malformed arguments, wrong encoding).
    #[error("The request was not understood. Reload the page and try again.")]
    BadRequest,
    /// The browser could not reach the server.
    #[error("Could not reach the server. Check your connection and try again.")]
    Network,
    /// Anything unexpected; the cause is in the server's log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

impl AppError {
    /// The HTTP status that goes with the error.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::Conflict(_) => 409,
            AppError::Unauthorized => 401,
            AppError::NotFound => 404,
            AppError::BadRequest => 400,
            AppError::Network => 503,
            AppError::Internal => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => AppError::Network,
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => AppError::BadRequest,
            _ => AppError::Internal,
        }
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
