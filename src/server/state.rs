use axum::extract::FromRef;
use leptos::prelude::*;
use sqlx::PgPool;

use crate::error::AppError;

/// Shared by every handler and server function (leptos_axum provides it as context).
///
/// axum clones the state for every request: one `Arc` makes that one reference count, not one
/// per field.
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Shared>);

/// What [`AppState`] shares.
#[derive(Clone)]
pub struct Shared {
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
    /// Our own proxies, whose `X-Forwarded-For` says who the client is.
    pub trusted_proxies: super::client::TrustedProxies,
    /// Sign-ups accepted from one address (or IPv6 /64) per hour.
    pub sign_ups_per_hour: i32,
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(std::sync::Arc::new(shared))
    }

    /// This state's own copy to change (a server sets its state up once; tests vary it).
    pub fn make_mut(&mut self) -> &mut Shared {
        std::sync::Arc::make_mut(&mut self.0)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
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
