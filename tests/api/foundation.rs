//! The server's foundation against a real Postgres: probes, headers, compression, pages, the
//! status server function's query, and the configuration rules.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use portal::{platform::state::AppState, server::http::router};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tower::ServiceExt;

use crate::helpers::state;

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

/// The nonce of the page's policy (`script-src 'self' 'nonce-…'`), after checking the policy is
/// strict: nothing inline runs without it, nothing can be framed, based or embedded.
fn page_nonce(headers: &axum::http::HeaderMap) -> String {
    let policy = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "report-uri /csp-reports",
        "report-to csp",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(
        !policy.contains("unsafe-inline") && !policy.contains("'unsafe-eval'"),
        "{policy}"
    );
    assert_eq!(headers["reporting-endpoints"], r#"csp="/csp-reports""#);
    let script_src = policy
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_else(|| panic!("no script-src in {policy}"));
    let nonce = script_src
        .split_whitespace()
        .find_map(|source| source.strip_prefix("'nonce-")?.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no nonce in {script_src}"));
    assert!(nonce.len() >= 22, "a nonce of at least 128 bits: {nonce}");
    nonce.to_owned()
}

/// Every `<script>` of the page carries the policy's nonce.
fn assert_scripts_carry(html: &str, nonce: &str) {
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "{html}");
    for script in scripts {
        let tag = script.split('>').next().unwrap();
        assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "<script{tag}>");
    }
}

#[sqlx::test]
async fn pages_run_only_their_own_scripts_and_customers_pages_are_never_stored(pool: PgPool) {
    // A fresh nonce per page, on each of its scripts.
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let response = get(state(pool.clone()), "/sign-in", &[]).await;
        let nonce = page_nonce(response.headers());
        assert_scripts_carry(&text(response).await, &nonce);
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1]);

    // Pages rendered by the form handlers (a refused sign-in) and the 404 page too; a
    // signed-in customer's answers, and a form post's answer (it shows what was typed), are
    // never stored; what is not a page may load nothing.
    let mut client = crate::helpers::Client::new(pool.clone());
    let refused = client
        .post_form(
            "/sign-in",
            &[("email", "nobody@example.com"), ("password", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_scripts_carry(&refused.body, &page_nonce(&refused.headers));
    assert_eq!(refused.headers[header::CACHE_CONTROL], "no-store");
    let env =
        crate::helpers::environment_id(client.sign_up("ada@example.com", "Acme").await.location());
    for uri in [
        format!("/environments/{env}/api-secrets"),
        format!("/environments/{env}/webhooks"),
        "/environments".to_owned(),
        "/members".to_owned(),
        "/no-such-page".to_owned(),
    ] {
        let reply = client.get(&uri).await;
        assert_scripts_carry(&reply.body, &page_nonce(&reply.headers));
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store", "{uri}");
    }
    let reply = client.get("/").await;
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    for uri in [
        "/healthz",
        "/api/v1/openapi.json",
        "/api/v1/environments/x/ping",
    ] {
        let response = get(state(pool.clone()), uri, &[]).await;
        assert_eq!(
            response.headers()["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            "{uri}"
        );
    }

    // HSTS only where the portal is served over https.
    assert!(
        get(state(pool.clone()), "/sign-in", &[])
            .await
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none()
    );
    let mut https = state(pool.clone());
    https.make_mut().secure_cookies = true;
    assert_eq!(
        get(https, "/sign-in", &[]).await.headers()[header::STRICT_TRANSPORT_SECURITY],
        "max-age=63072000; includeSubDomains"
    );

    // Violation reports are taken (and logged), whatever their shape; big ones refused.
    for body in [
        r#"{"csp-report": {"violated-directive": "script-src", "blocked-uri": "inline"}}"#,
        r#"[{"type": "csp-violation", "body": {"effectiveDirective": "script-src-elem"}}]"#,
        "not json",
    ] {
        let response = router(state(pool.clone()))
            .oneshot(
                Request::post("/csp-reports")
                    .header(header::CONTENT_TYPE, "application/csp-report")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{body}");
    }
    let response = router(state(pool))
        .oneshot(
            Request::post("/csp-reports")
                .body(Body::from("x".repeat(17 * 1024)))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A form post's error comes back in the page's link; the page shows it only if the server
/// put it there, once. Anyone can write such a link with any text.
#[sqlx::test]
async fn an_error_link_shows_only_an_error_the_server_produced(pool: PgPool) {
    let mut client = crate::helpers::Client::new(pool);
    client.sign_up("ada@example.com", "Acme").await;
    let request = Request::post("/rpc/create_environment")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "http://portal.test/environments")
        .header("sec-fetch-site", "same-origin");
    let reply = client.send(request, Body::from("name=")).await;
    assert!(
        reply.status.is_redirection(),
        "{} {}",
        reply.status,
        reply.body
    );
    let link = reply.location().to_owned();
    assert!(link.contains("__err="), "{link}");
    let message = "Enter a name for the environment.";
    let page = client.get(&link).await;
    assert!(page.body.contains(message), "{}", page.body);
    // Once: the same link again, or one written by someone else, shows nothing.
    assert!(!client.get(&link).await.body.contains(message));
    let forged = "/environments?__path=%2Frpc%2Fcreate_environment\
                  &__err=eyJJbnZhbGlkIjoiU2VjdXJpdHkgYWxlcnQ6IGNhbGwgKzEgNTU1IDAxMDAifQ%3D%3D";
    let page = client.get(forged).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Environments"), "{}", page.body);
    assert!(!page.body.contains("Security alert"), "{}", page.body);
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
    let mut client = crate::helpers::Client::new(pool);
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

    let mut customer = crate::helpers::Client::with_state(state);
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

/// Least privilege: the server's role (`portal_server`) changes rows, never the schema. The
/// portal works through a pool of that role (sign-up, create, switch the signer, remove: the
/// audit trail is written), while altering a table, dropping or disabling the audit trail's
/// triggers, rewriting or deleting audit rows, creating a table and touching the migration
/// history are all refused by Postgres. (The pool takes the role with `SET ROLE` on a
/// superuser's connection, which a test may; `scripts/run` logs in as the role itself.)
#[sqlx::test]
async fn the_server_role_changes_rows_but_not_the_schema_or_the_audit_trail(pool: PgPool) {
    use sqlx::Executor;
    let server = PgPoolOptions::new()
        .max_connections(5)
        .after_connect(|connection, _| {
            Box::pin(async move {
                connection.execute("SET ROLE portal_server").await?;
                Ok(())
            })
        })
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let mut client = crate::helpers::Client::with_state(state(server.clone()));
    let reply = client.sign_up("ada@example.com", "Acme").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let env = crate::helpers::environment_id(reply.location());
    let first = crate::helpers::created(&mut client, env).await;
    let second = crate::helpers::created(&mut client, env).await;
    assert_eq!(
        crate::helpers::switch(&mut client, env, second.secret.id)
            .await
            .status,
        StatusCode::OK
    );
    let phrase = portal::secrets::removal_phrase(&first.secret.masked);
    let reply = crate::helpers::remove(&mut client, env, first.secret.id, &phrase).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let audited = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_events")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(audited().await, 4);

    for statement in [
        "ALTER TABLE api_secrets ADD COLUMN stolen text",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "DELETE FROM audit_events",
        "UPDATE audit_events SET actor_email = 'someone@else.test'",
        "TRUNCATE audit_events",
        "CREATE TABLE exfiltration (data text)",
        "DELETE FROM _sqlx_migrations",
    ] {
        let error = server.execute(statement).await.unwrap_err();
        let code = error.as_database_error().and_then(|e| e.code());
        assert_eq!(code.as_deref(), Some("42501"), "{statement}: {error}");
    }
    assert_eq!(audited().await, 4, "the audit trail is whole");
}

/// Bundles named by their content's hash are kept by browsers for a year; anything else (a
/// missing bundle, the favicon, bundles under plain names) is asked for again.
#[sqlx::test]
async fn only_hashed_bundles_are_cached_for_good(pool: PgPool) {
    let site = std::env::temp_dir().join(format!("portal-site-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/portal.Xq3k9.js"), "export {};\n").unwrap();
    std::fs::write(site.join("favicon.ico"), "icon").unwrap();
    // Plain names first: a page rendered with hashed names reads the hash file, which the test
    // binary has not; leptos reads it once per process, at the first page.
    for hashed in [false, true] {
        let mut state = state(pool.clone());
        let mut options = (*state.leptos_options).clone();
        options.site_root = site.to_string_lossy().into_owned().into();
        options.hash_files = hashed;
        state.make_mut().leptos_options = std::sync::Arc::new(options);
        let mut client = crate::helpers::Client::with_state(state);

        let bundle = client.get("/pkg/portal.Xq3k9.js").await;
        assert_eq!(bundle.status, StatusCode::OK);
        assert_eq!(bundle.body, "export {};\n");
        let cache = bundle
            .headers
            .get("cache-control")
            .map(|v| v.to_str().unwrap());
        if hashed {
            assert_eq!(cache, Some("public, max-age=31536000, immutable"));
        } else {
            assert_eq!(cache, None);
        }
        let missing = client.get("/pkg/portal.Zz.js").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_ne!(
            missing
                .headers
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("public, max-age=31536000, immutable")
        );
        let icon = client.get("/favicon.ico").await;
        assert_eq!(icon.status, StatusCode::OK);
        assert_eq!(icon.headers.get("cache-control"), None);
    }
    std::fs::remove_dir_all(&site).unwrap();
}

/// The session store is the database. When it cannot take a changed session (here its table
/// refuses writes the way a database that is starting up refuses connections), signing in is
/// answered with the portal's 503 page (its layout, Retry-After): never the session layer's bare,
/// empty 500.
#[sqlx::test]
async fn a_session_the_store_cannot_save_is_answered_as_the_database_unavailable(pool: PgPool) {
    let app = crate::helpers::TestApp::new(pool.clone());
    app.customer("ada@example.com").await;
    sqlx::raw_sql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
             RAISE EXCEPTION 'not now' USING ERRCODE = '57P03';
         END $$;
         CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON tower_sessions.session
             FOR EACH ROW EXECUTE FUNCTION refuse();",
    )
    .execute(&pool)
    .await
    .unwrap();

    let mut browser = app.client();
    let reply = browser
        .sign_in("ada@example.com", crate::helpers::PASSWORD)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(reply.headers[header::RETRY_AFTER], "5");
    assert!(
        reply.body.contains(portal::error::UNAVAILABLE),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains(r#"class="site-header""#),
        "{}",
        reply.body
    );
}

/// Pages start the islands from one inline script that carries the page's nonce (as every script
/// of the page does), and preload nothing: the bundles are fetched once the page is idle, after
/// its first paint.
#[sqlx::test]
async fn pages_start_the_islands_from_one_script_after_they_paint(pool: PgPool) {
    let mut client = crate::helpers::Client::new(pool);
    for uri in ["/sign-in", "/status"] {
        let reply = client.get(uri).await;
        let nonce = page_nonce(&reply.headers);
        let body = &reply.body;
        assert!(!body.contains("preload"), "{uri}: {body}");
        assert!(
            body.contains(&format!(r#"<script type="module" nonce="{nonce}">("#))
                && body.contains(r#")("/pkg/portal.js", "/pkg/portal.wasm");</script>"#),
            "{uri}: {body}"
        );
        assert_eq!(
            body.matches(nonce.as_str()).count(),
            body.matches("<script").count(),
            "{uri}"
        );
    }
}

#[sqlx::test]
async fn the_navigation_marks_the_page_it_is_on(pool: PgPool) {
    let mut client = crate::helpers::Client::new(pool);
    let env =
        crate::helpers::environment_id(client.sign_up("ada@example.com", "Acme").await.location());
    let secrets = format!("/environments/{env}/api-secrets");
    let webhooks = format!("/environments/{env}/webhooks");
    let secret = crate::helpers::created(&mut client, env).await.secret.id;
    let usage = format!("{secrets}/{secret}");
    // (page, the link marked current): a tab's link also below it (a secret's usage is the API
    // secrets tab's); "Environments" is current on its own page only.
    for (uri, current) in [
        (secrets.as_str(), secrets.as_str()),
        (usage.as_str(), secrets.as_str()),
        (webhooks.as_str(), webhooks.as_str()),
        ("/environments", "/environments"),
        ("/members", "/members"),
        ("/audit-log", "/audit-log"),
        ("/status", "/status"),
    ] {
        let body = client.get(uri).await.body;
        let marked: Vec<&str> = body
            .split("<a href=\"")
            .skip(1)
            .filter(|link| {
                link.split('>')
                    .next()
                    .unwrap()
                    .contains("aria-current=\"page\"")
            })
            .map(|link| link.split('"').next().unwrap())
            .collect();
        assert_eq!(marked, [current], "{uri}");
        assert!(body.contains(&format!("<a href=\"{secrets}\"")), "{uri}");
        assert!(body.contains(&format!("<a href=\"{webhooks}\"")), "{uri}");
        assert!(
            body.contains("rel=\"stylesheet\" href=\"/pkg/portal"),
            "{uri}"
        );
    }
}

/// A page's loads (the header's lists, the page's own data) run side by side, and none keeps a
/// database connection while the render waits on another: with a pool of 2 connections, 12
/// customers' views at once, none of them cached, all render whole, without waiting for a
/// connection that a view's own begun load holds.
#[sqlx::test]
async fn pages_render_side_by_side_on_a_small_pool(pool: PgPool) {
    let small = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let app = crate::helpers::TestApp::new(small);
    let (customer, env, _) = app.customer_with_secrets(1).await;
    let pages = [
        format!("/environments/{env}/api-secrets"),
        format!("/environments/{env}/webhooks"),
        "/environments".to_owned(),
        "/members".to_owned(),
    ];
    let started = std::time::Instant::now();
    let mut views = tokio::task::JoinSet::new();
    for view in 0..12 {
        let (mut client, page) = (customer.clone(), pages[view % pages.len()].clone());
        views.spawn(async move { (client.get(&page).await, page) });
    }
    for (reply, page) in views.join_all().await {
        assert_eq!(reply.status, StatusCode::OK, "{page}: {}", reply.body);
        assert!(
            reply.body.contains(r#"class="who">ada@example.com<"#),
            "{page}: the header's lists are missing"
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the views waited for the pool: {:?}",
        started.elapsed()
    );
}
