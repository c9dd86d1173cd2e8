//! The content security policy. A page may run only the scripts the server put in it: the
//! inline loader that carries this response's nonce (leptos_axum draws a fresh one for every
//! page and puts it on its own scripts) and the site's own files under `/pkg`. So a string that
//! slipped past escaping still cannot run. Violations are reported to [`REPORT_PATH`] and
//! logged.
//!
//! `'self'` stays in `script-src` (rather than `'strict-dynamic'`): the loader imports the bundle
//! from `/pkg`, and nothing on this origin serves a script a user could write (JSON answers are
//! `nosniff`, no uploads).

use std::{
    sync::{
        LazyLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    body::Bytes,
    http::{HeaderValue, StatusCode, header},
    response::IntoResponse,
};

pub const REPORT_PATH: &str = "/csp-reports";

/// For every response that is not a page (JSON, files, redirects, plain-text errors): nothing
/// may load, nothing may frame it.
pub const NOT_A_PAGE: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Where reports go (the `report-to` group named in the policy).
pub const REPORTING_ENDPOINTS: &str = "csp=\"/csp-reports\"";

/// The policy for a page whose scripts carry `nonce`.
pub fn for_page(nonce: &str) -> String {
    // cargo-leptos's live reload (`--watch`, development only) talks over a WebSocket on its
    // own port. Read once: the environment is read under a process-wide lock.
    static RELOAD: LazyLock<&str> = LazyLock::new(|| {
        if std::env::var_os("LEPTOS_WATCH").is_some() {
            " ws:"
        } else {
            ""
        }
    });
    let reload = *RELOAD;
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; \
         report-uri {REPORT_PATH}; report-to csp"
    )
}

/// Sets this page's policy, from inside its Leptos context (see [`super::http`]): every page
/// the server renders calls it.
pub fn set_for_this_page() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(policy) = HeaderValue::from_str(&for_page(&nonce.to_string())) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
        response.insert_header(
            header::HeaderName::from_static("reporting-endpoints"),
            HeaderValue::from_static(REPORTING_ENDPOINTS),
        );
    }
}

/// Reports logged per second at most (per instance): a page that anyone can make violate the
/// policy must not flood the logs. The rest are counted in the next logged line.
const MAX_LOGGED_PER_SECOND: u64 = 10;
/// The longest report read.
pub const MAX_REPORT_BYTES: usize = 16 * 1024;
/// The longest field logged.
const MAX_FIELD_CHARS: usize = 200;

static WINDOW: AtomicU64 = AtomicU64::new(0);
static IN_WINDOW: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// `POST /csp-reports`: a browser's violation report (the `report-uri` format or the Reporting
/// API's), logged as a warning with what was blocked where. Answers 204 whatever it gets.
pub async fn report(body: Bytes) -> impl IntoResponse {
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if WINDOW.swap(second, Ordering::Relaxed) != second {
        IN_WINDOW.store(0, Ordering::Relaxed);
    }
    if IN_WINDOW.fetch_add(1, Ordering::Relaxed) >= MAX_LOGGED_PER_SECOND {
        DROPPED.fetch_add(1, Ordering::Relaxed);
        return StatusCode::NO_CONTENT;
    }
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    // `{"csp-report": {...}}` (report-uri), or `[{"type": "csp-violation", "body": {...}}]`.
    let fields = report
        .get("csp-report")
        .or_else(|| report.get(0).and_then(|r| r.get("body")))
        .cloned()
        .unwrap_or_default();
    let field = |names: &[&str]| -> String {
        let value = names
            .iter()
            .find_map(|name| fields.get(*name).and_then(|v| v.as_str()))
            .unwrap_or("");
        // Where a page was: its path, not its query.
        let value = value.split(['?', '#']).next().unwrap_or("");
        value.chars().take(MAX_FIELD_CHARS).collect()
    };
    // Debug formatting: a report's strings are the sender's, so control characters are escaped.
    tracing::warn!(
        directive = ?field(&["effective-directive", "effectiveDirective", "violated-directive"]),
        blocked = ?field(&["blocked-uri", "blockedURL"]),
        page = ?field(&["document-uri", "documentURL"]),
        sample = ?field(&["script-sample", "sample"]),
        not_logged_before = DROPPED.swap(0, Ordering::Relaxed),
        "content security policy violation"
    );
    StatusCode::NO_CONTENT
}
