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

/// Static files answer 200 with their bytes while, at the same moment, other requests render
/// pages and server functions that set an error status (404 pages, 401 and 404 answers). Those
/// statuses live in each render's own Leptos context and must never reach a file's response.
#[sqlx::test]
async fn static_files_answer_200_whatever_other_requests_answer_meanwhile(pool: PgPool) {
    let site = std::env::temp_dir().join(format!("portal-site-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    let script = "export default function hydrate() {}\n".repeat(200);
    std::fs::write(site.join("pkg/portal.js"), &script).unwrap();
    let mut state = state(pool.clone());
    let mut options = (*state.leptos_options).clone();
    options.site_root = site.to_string_lossy().into_owned().into();
    state.make_mut().leptos_options = std::sync::Arc::new(options);

    let mut customer = common::Client::with_state(state);
    let reply = customer.sign_up("ada@example.com", "Ada's").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let mut client = customer.clone();
        let script = script.clone();
        tasks.spawn(async move {
            let mut wrong = Vec::new();
            for round in 0..100 {
                let reply = match (worker + round) % 4 {
                    // A 404 page, a 404 and a 401 from server functions.
                    0 => {
                        client
                            .get(&format!(
                                "/environments/{}/api-secrets",
                                uuid::Uuid::new_v4()
                            ))
                            .await
                    }
                    1 => {
                        let id = uuid::Uuid::new_v4().to_string();
                        client
                            .post_form("/rpc/get_environment", &[("id", &id)])
                            .await
                    }
                    2 => {
                        let mut visitor = client.clone();
                        visitor.cookie = None;
                        visitor
                            .post_form(
                                "/rpc/list_webhooks",
                                &[("environment_id", &uuid::Uuid::new_v4().to_string())],
                            )
                            .await
                    }
                    _ => {
                        let reply = client.get("/pkg/portal.js").await;
                        if reply.status != StatusCode::OK || reply.body != script {
                            wrong.push(reply.status);
                        }
                        continue;
                    }
                };
                assert!(reply.status.is_client_error(), "{}", reply.status);
            }
            wrong
        });
    }
    let wrong: Vec<StatusCode> = tasks.join_all().await.into_iter().flatten().collect();
    std::fs::remove_dir_all(&site).unwrap();
    assert_eq!(
        wrong,
        Vec::<StatusCode>::new(),
        "a static file answered something else than itself"
    );
}
