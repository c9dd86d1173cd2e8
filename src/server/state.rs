use axum::extract::FromRef;
use leptos::prelude::*;
use sqlx::PgPool;

use crate::error::AppError;

/// Shared by every handler and server function (leptos_axum provides it as context).
#[derive(Clone)]
pub struct AppState {
    /// Behind an `Arc`: the state is cloned for every request (by axum), options are not.
    pub leptos_options: std::sync::Arc<LeptosOptions>,
    pub pool: PgPool,
    /// Session cookies get `Secure` (and the `__Host-` prefix): the portal is served over https.
    pub secure_cookies: bool,
    /// Master keys for API secrets.
    pub keyring: std::sync::Arc<crate::secrets::crypto::Keyring>,
    /// Decrypted API secrets for verifying REST requests, per environment.
    pub keys: std::sync::Arc<crate::api::keys::KeyCache>,
    /// "Last used" marks waiting to be written.
    pub usage: std::sync::Arc<crate::api::usage::Usage>,
    /// How far `X-CS-Timestamp` may be from the server's clock.
    pub signature_tolerance: std::time::Duration,
    /// Where webhooks may go, how long retries wait, the previous signer's grace period.
    pub webhooks: std::sync::Arc<crate::webhooks::target::Settings>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        (*state.leptos_options).clone()
    }
}

/// The state, from inside a server function or a component rendered on the server.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}
