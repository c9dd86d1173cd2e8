//! The server's foundation against a real Postgres: probes, headers, compression, pages, the
//! status server function's query, and the configuration rules.
#![cfg(feature = "ssr")]

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use portal::server::{http::router, state::AppState};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tower::ServiceExt;

use common::state;

async fn get(state: AppState, uri: &str, headers: &[(&str, &str)]) -> axum::response::Response {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    router(state)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn text(response: axum::response::Response) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[sqlx::test]
async fn healthz_answers_ok(pool: PgPool) {
    let response = get(state(pool), "/healthz", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "ok");
}

#[sqlx::test]
async fn readyz_is_ready_when_the_database_answers(pool: PgPool) {
    let response = get(state(pool), "/readyz", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, r#"{"status":"ready"}"#);
}

#[sqlx::test]
async fn readyz_is_503_with_a_reason_when_the_database_is_unreachable(pool: PgPool) {
    // A pool whose server does not exist: nothing listens on this socket directory.
    let dead = PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy("postgres://postgres@localhost/none?host=/nonexistent-portal-socket")
        .unwrap();
    drop(pool);
    let response = get(state(dead), "/readyz", &[]).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(body["reason"].as_str().unwrap().contains("database"));
}

#[sqlx::test]
async fn every_response_carries_the_baseline_security_headers(pool: PgPool) {
    for uri in ["/healthz", "/api-secrets", "/no-such-page"] {
        let response = get(state(pool.clone()), uri, &[]).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(
            headers["referrer-policy"], "strict-origin-when-cross-origin",
            "{uri}"
        );
        assert_eq!(headers["x-frame-options"], "DENY", "{uri}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{uri}"
        );
    }
}

#[sqlx::test]
async fn pages_are_server_rendered_and_compressed(pool: PgPool) {
    let response = get(state(pool.clone()), "/sign-in", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = text(response).await;
    assert!(html.contains("<h1>Sign in"), "{html}");
    assert!(html.contains("Customer Portal"));

    let response = get(state(pool), "/sign-in", &[("accept-encoding", "br")]).await;
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
}

#[sqlx::test]
async fn an_unknown_page_is_a_404_page_for_customers_and_a_sign_in_for_visitors(pool: PgPool) {
    let mut client = common::Client::new(pool);
    let visitor = client.get("/no-such-page").await;
    assert_eq!(visitor.status, StatusCode::SEE_OTHER);
    assert_eq!(visitor.location(), "/sign-in?next=/no-such-page");
    client.sign_up("ada@example.com", "Acme").await;
    let customer = client.get("/no-such-page").await;
    assert_eq!(customer.status, StatusCode::NOT_FOUND);
    assert!(customer.body.contains("Page not found"));
}

#[sqlx::test]
async fn the_status_page_renders_what_postgres_says(pool: PgPool) {
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&pool)
        .await
        .unwrap();
    let response = get(state(pool), "/status", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = text(response).await;
    assert!(html.contains("Connected"), "{html}");
    assert!(html.contains(&version), "{html}");
}

#[sqlx::test]
async fn the_status_query_reports_the_applied_schema(pool: PgPool) {
    let report = portal::status::db::read(&pool).await.unwrap();
    let latest = sqlx::migrate!().iter().map(|m| m.version).max();
    assert_eq!(report.schema_version, latest);
    assert!(!report.server_version.is_empty());
    let checked_at = chrono::DateTime::parse_from_rfc3339(&report.checked_at).unwrap();
    let age = chrono::Utc::now() - checked_at.to_utc();
    assert!(
        age.num_seconds().abs() < 60,
        "database clock far off: {age}"
    );
}
