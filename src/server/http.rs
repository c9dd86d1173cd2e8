//! The router: probes, the Leptos app and its server functions, static files, and the layers
//! every response goes through.

use axum::{
    Router,
    handler::Handler,
    http::{HeaderName, HeaderValue, Request, Response, header},
    middleware,
    routing::{get, post},
};
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use std::{sync::OnceLock, time::Duration};
use tower_http::{
    compression::CompressionLayer,
    services::ServeDir,
    set_header::{SetResponseHeader, SetResponseHeaderLayer},
    trace::TraceLayer,
};
use tracing::Span;

use super::{action_errors, csrf, health, unavailable};
use crate::{
    accounts::{handlers, session, two_factor::handlers as two_factor},
    api,
    app::{App, shell},
    audit_log, environments, members,
    platform::{csp, state::AppState},
    secrets,
};

/// The app's routes, generated once per process. Generating them renders the app with resource
/// loading suppressed process-wide, which would stall any page being rendered at that moment
/// (leptos-rs/leptos#4773): the server builds one router, but tests build many, concurrently.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// How long browsers keep a bundle whose name is its content's hash: for good.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn router(state: AppState) -> Router {
    let routes = route_list();
    let options = (*state.leptos_options).clone();

    let sessions = session::layer(session::store(state.pool.clone()), state.secure_cookies);

    // The REST API: signed requests, no sessions, no CSRF check (callers are servers).
    let api = api::router();

    // The built site's files (`pkg/`, the favicon; precompressed ones when the client takes
    // them), and for anything else the app's "Page not found". tower-http answers the files on
    // its own: leptos_axum's `file_and_error_handler` answers them inside a new Leptos owner,
    // which inherits whatever owner its worker thread ran last, so a page rendered meanwhile
    // with a 404 (or a server function's 401) would give its status to a file (tests/api/foundation.rs).
    let not_found = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        csp::set_for_this_page,
        shell,
    )
    .with_state(state.clone());
    let site_files = files(&*state.leptos_options.site_root, not_found.clone());
    // The bundles' names carry their content's hash (hash-files): a name never changes meaning,
    // so browsers keep them for a year without asking again. Without hashes they revalidate.
    let immutable = state.leptos_options.hash_files;
    let bundles = SetResponseHeader::if_not_present(
        files(
            std::path::Path::new(&*state.leptos_options.site_root)
                .join(&*state.leptos_options.site_pkg_dir),
            not_found,
        ),
        header::CACHE_CONTROL,
        move |response: &Response<_>| {
            (immutable && response.status().is_success())
                .then_some(HeaderValue::from_static(IMMUTABLE))
        },
    );

    // Probes and the browsers' CSP reports: no session, no CSRF check.
    let probes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            csp::REPORT_PATH,
            post(csp::report).layer(axum::extract::DefaultBodyLimit::max(csp::MAX_REPORT_BYTES)),
        );

    let app = Router::new()
        .route("/", get(environments::handlers::home))
        .route("/api-secrets", get(environments::handlers::home))
        .route("/sign-up", post(handlers::sign_up))
        .route("/sign-in", post(handlers::sign_in))
        .route("/sign-in/two-factor", post(two_factor::second_step_post))
        .route("/sign-out", post(handlers::sign_out))
        .route("/security/two-factor/setup", post(two_factor::setup))
        .route("/security/two-factor/enable", post(two_factor::enable))
        .route(
            "/security/two-factor/recovery-codes",
            post(two_factor::replace_recovery_codes),
        )
        .route("/security/two-factor/disable", post(two_factor::disable))
        .route(
            "/environments/switch",
            get(environments::handlers::switch_environment),
        )
        .route("/organizations/switch", post(handlers::switch_organization))
        .route("/members/invite", post(members::handlers::invite))
        .route(
            "/environments/{id}/api-secrets",
            post(secrets::handlers::create),
        )
        .route(
            "/environments/{id}/api-secrets/{secret}/use-with-webhooks",
            post(secrets::handlers::confirm),
        )
        .route(
            "/environments/{id}/api-secrets/{secret}/remove",
            post(secrets::handlers::confirm),
        )
        .route(
            "/environments/{id}/api-secrets/{secret}/rotate",
            post(secrets::handlers::confirm),
        )
        .route(
            "/environments/{id}/api-secrets/{secret}/expiry",
            post(secrets::handlers::confirm),
        )
        .route("/audit-log.csv", get(audit_log::csv::export))
        .route("/invitations/accept", get(members::handlers::open))
        .route("/join/accept", post(members::handlers::accept))
        .route("/join/sign-in", post(members::handlers::sign_in))
        .route("/join/sign-up", post(members::handlers::sign_up))
        .leptos_routes_with_context(&state, routes, csp::set_for_this_page, move || {
            shell(options.clone())
        })
        .nest_service(&format!("/{}", state.leptos_options.site_pkg_dir), bundles)
        .fallback_service(site_files)
        // Inner to outer: action errors in links, who is signed in, sessions, errors in the
        // caller's shape, CSRF, compression.
        .layer(middleware::from_fn(action_errors::only_our_own))
        .layer(middleware::from_fn_with_state(state.clone(), session::gate))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            unavailable::in_kind,
        ))
        .layer(middleware::from_fn(csrf::refuse_cross_site))
        .layer(CompressionLayer::new());
    with_security_headers(probes.merge(api).merge(app), state.secure_cookies)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    // The path only: query strings and headers (cookies) stay out of the logs.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                })
                .on_request(())
                .on_response(|response: &Response<_>, latency: Duration, _span: &Span| {
                    tracing::info!(
                        status = response.status().as_u16(),
                        latency_us = latency.as_micros() as u64,
                        "response"
                    );
                }),
        )
        .with_state(state)
}

/// The built files under `dir` (precompressed ones when the client takes them); anything else
/// goes to `fallback`.
fn files<F>(dir: impl AsRef<std::path::Path>, fallback: F) -> ServeDir<F> {
    ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .call_fallback_on_method_not_allowed(true)
        .fallback(fallback)
}

/// Baseline headers on every response (a handler may set its own first: pages set their own
/// policy, see [`csp`]). HSTS when the portal is served over https (its cookies are Secure).
fn with_security_headers<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    https: bool,
) -> Router<S> {
    const HEADERS: [(HeaderName, &str); 4] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, csp::NOT_A_PAGE),
    ];
    const HSTS: (HeaderName, &str) = (
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=63072000; includeSubDomains",
    );
    let headers = HEADERS.into_iter().chain(https.then_some(HSTS));
    headers.fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}
