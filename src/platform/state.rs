use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::*;
use sqlx::PgPool;

use super::{
    client::TrustedProxies, config::Config, config::WebhookSettings, crypto::Keyring,
    environment_cache::EnvironmentCache, failures::Failures, keys::KeyCache,
    signed_in::SignedInCache, usage::Usage,
};
use crate::error::{AppError, internal_error};

/// Shared by every handler and server function (leptos_axum provides it as context).
///
/// axum clones the state for every request: one `Arc` makes that one reference count, not one
/// per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The whole HTML document around the app, for the handlers that render a page themselves (the
/// account forms' answers). The app is assembled above every feature, so it is handed down here
/// instead of being imported from below.
pub type Document = fn(LeptosOptions) -> AnyView;

/// What [`AppState`] shares.
#[derive(Clone)]
pub struct Shared {
    pub leptos_options: Arc<LeptosOptions>,
    pub document: Document,
    pub pool: PgPool,
    /// Session cookies get `Secure` (and the `__Host-` prefix): the portal is served over https.
    pub secure_cookies: bool,
    /// Master keys for API secrets.
    pub keyring: Arc<Keyring>,
    /// Decrypted API secrets for verifying REST requests, per environment.
    pub keys: Arc<KeyCache>,
    /// What each environment's page shows, read at most a moment ago.
    pub pages: Arc<EnvironmentCache>,
    /// Who each session is signed in as (see `accounts::session`).
    pub signed_in: Arc<SignedInCache>,
    /// Uses of API secrets ("Last used", counts, callers) waiting to be written.
    pub usage: Arc<Usage>,
    /// Refused signed requests waiting to be written ("Failed requests").
    pub failures: Arc<Failures>,
    /// How far `X-CS-Timestamp` may be from the server's clock.
    pub signature_tolerance: std::time::Duration,
    /// Where webhooks may go, how long retries wait, the previous signer's grace period.
    pub webhooks: Arc<WebhookSettings>,
    /// Our own proxies, whose `X-Forwarded-For` says who the client is.
    pub trusted_proxies: TrustedProxies,
    /// Sign-ups accepted from one address (or IPv6 /64) per hour.
    pub sign_ups_per_hour: i32,
    /// Where customers reach the portal, for links it hands out (else the request's host).
    pub public_url: Option<String>,
}

impl AppState {
    /// The state, from the configuration: the one place it is assembled, for the server and for
    /// the tests alike.
    pub fn new(config: Config, pool: PgPool, document: Document) -> AppState {
        AppState(Arc::new(Shared {
            leptos_options: Arc::new(config.leptos_options),
            document,
            pool,
            secure_cookies: config.secure_cookies,
            keyring: Arc::new(config.keyring),
            keys: Arc::new(KeyCache::new(config.key_cache_ttl)),
            pages: Arc::default(),
            signed_in: Arc::default(),
            usage: Arc::default(),
            failures: Arc::default(),
            signature_tolerance: config.signature_tolerance,
            webhooks: Arc::new(config.webhooks),
            trusted_proxies: config.trusted_proxies,
            sign_ups_per_hour: config.sign_ups_per_hour,
            public_url: config.public_url,
        }))
    }

    /// This state's own copy to change (a server sets its state up once; tests vary it).
    pub fn make_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
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

impl AppState {
    /// Renders the page at `uri` whole, on the server, with `status` and whatever `provide` puts
    /// in its context: how a handler answers a plain form post with the page and the outcome
    /// (a message, a link shown once). `extensions` are the post's (who is signed in, their
    /// session), so the page is rendered for the same visitor. Never cached: it answers a POST
    /// and may hold a secret.
    pub async fn render_page(
        &self,
        uri: &str,
        status: axum::http::StatusCode,
        extensions: axum::http::Extensions,
        provide: impl Fn() + Clone + Send + Sync + 'static,
    ) -> axum::response::Response {
        use axum::{
            body::Body,
            http::{HeaderValue, Request, header},
            response::IntoResponse,
        };
        let options = (*self.leptos_options).clone();
        let context_state = self.clone();
        let document = self.document;
        let handler = leptos_axum::render_app_async_with_context(
            move || {
                provide_context(context_state.clone());
                provide();
                super::csp::set_for_this_page();
            },
            move || document(options.clone()),
        );
        let request = match Request::get(uri).body(Body::empty()) {
            Ok(mut request) => {
                *request.extensions_mut() = extensions;
                request
            }
            Err(e) => {
                return internal_error("rendering a page", &e).into_response();
            }
        };
        let mut response = handler(request).await;
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The state, from inside a server function or a component rendered on the server.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}
