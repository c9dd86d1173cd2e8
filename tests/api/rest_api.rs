//! The REST API's signature check against the real router and Postgres: the scheme, the time
//! window, refusals, removed secrets (on this and on another instance), "last used".

use std::time::Duration;

use crate::helpers::{Client, Headers, Reply, TestApp, call, count, eventually, now_ms, signed};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use portal::secrets::removal_phrase;
use sqlx::PgPool;
use uuid::Uuid;

/// A request body that announces some bytes and never sends them.
struct EndlessBody;

impl http_body::Body for EndlessBody {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(100)
    }
}

fn error_code(reply: &Reply) -> String {
    let body: serde_json::Value =
        serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body));
    body["error"].as_str().unwrap().to_owned()
}

#[sqlx::test]
async fn each_of_the_three_secrets_signs_requests(pool: PgPool) {
    let (mut client, env, secrets) = TestApp::new(pool.clone()).customer_with_secrets(3).await;
    let uri = format!("/api/v1/environments/{env}/api-secrets?limit=10");
    for secret in &secrets {
        let ping = format!("/api/v1/environments/{env}/ping");
        let reply = call(
            &mut client,
            "GET",
            &ping,
            "",
            &signed(&secret.value, "GET", &ping, "", now_ms()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let pong: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(pong["signed_with"], secret.secret.id.to_string());
        assert_eq!(pong["environment_id"], env.to_string());
        let reply = call(
            &mut client,
            "GET",
            &uri,
            "",
            &signed(&secret.value, "GET", &uri, "", now_ms()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let listed: Vec<serde_json::Value> = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0]["masked"], secrets[0].secret.masked);
        assert_eq!(listed[0]["webhook_signer"], true);
        for s in &secrets {
            assert!(
                !reply.body.contains(&s.value[4..20]),
                "values are never listed"
            );
        }
    }
    // Whichever secret was used last is tried first: switching back and forth still names the
    // secret that signed each request.
    let ping = format!("/api/v1/environments/{env}/ping");
    for i in [2, 2, 0, 1, 1, 2, 0, 0, 1] {
        let reply = call(
            &mut client,
            "GET",
            &ping,
            "",
            &signed(&secrets[i].value, "GET", &ping, "", now_ms()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let pong: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(pong["signed_with"], secrets[i].secret.id.to_string());
        // Past the 100 ms in which a key's use is not recorded again: the key used last is
        // always the one just used.
        tokio::time::sleep(std::time::Duration::from_millis(110)).await;
    }
}

#[sqlx::test]
async fn the_openapi_document_matches_the_server(pool: PgPool) {
    let (mut client, env, secrets) = TestApp::new(pool.clone()).customer_with_secrets(1).await;
    let reply = call(&mut client, "GET", "/api/v1/openapi.json", "", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    // Every documented operation answers its documented success to a signed request, and 401
    // to an unsigned one; every operation the server has is documented.
    let hook = r#"{"url": "http://127.0.0.1:9/hook", "events": ["ping"]}"#;
    let operations: [(&str, &str, &str, StatusCode); 7] = [
        (
            "post",
            "/api/v1/environments/{environment_id}/webhooks",
            hook,
            StatusCode::CREATED,
        ),
        (
            "get",
            "/api/v1/environments/{environment_id}/ping",
            "",
            StatusCode::OK,
        ),
        (
            "get",
            "/api/v1/environments/{environment_id}/api-secrets",
            "",
            StatusCode::OK,
        ),
        (
            "get",
            "/api/v1/environments/{environment_id}/failed-requests",
            "",
            StatusCode::OK,
        ),
        (
            "get",
            "/api/v1/environments/{environment_id}/webhooks",
            "",
            StatusCode::OK,
        ),
        (
            "get",
            "/api/v1/environments/{environment_id}/webhooks/{webhook_id}/deliveries",
            "",
            StatusCode::OK,
        ),
        (
            "delete",
            "/api/v1/environments/{environment_id}/webhooks/{webhook_id}",
            "",
            StatusCode::NO_CONTENT,
        ),
    ];
    let documented: usize = paths
        .values()
        .map(|ops| ops.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, operations.len());
    let mut webhook_id = String::new();
    for (method, path, body, expected) in operations {
        let documented = &paths[path][method]["responses"][expected.as_str()];
        assert!(
            documented.is_object(),
            "{method} {path}: {expected} is not documented"
        );
        let uri = path
            .replace("{environment_id}", &env.to_string())
            .replace("{webhook_id}", &webhook_id);
        let method = method.to_uppercase();
        let headers = signed(&secrets[0].value, &method, &uri, body, now_ms());
        let reply = call(&mut client, &method, &uri, body, &headers).await;
        assert_eq!(reply.status, expected, "{method} {uri}: {}", reply.body);
        if expected == StatusCode::CREATED {
            let created: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
            webhook_id = created["id"].as_str().unwrap().to_owned();
        }
        let reply = call(&mut client, &method, &uri, body, &[]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // The documented refusal codes are the ones the server uses.
    let documented: Vec<&str> =
        doc["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|code| code.as_str().unwrap())
            .collect();
    for code in [
        "missing_timestamp",
        "missing_signature",
        "malformed_timestamp",
        "stale_timestamp",
        "future_timestamp",
        "bad_signature",
        "expired_secret",
        "body_too_large",
        "invalid_webhook",
        "no_webhook_signer",
        "webhook_limit_reached",
        "not_found",
        "internal_error",
    ] {
        assert!(documented.contains(&code), "{code}");
    }
    assert_eq!(documented.len(), 13);
}

/// A customer with two secrets, and the usage counter of the instance they call (which the test
/// flushes itself).
async fn customer_counting_usage(
    pool: &PgPool,
) -> (
    std::sync::Arc<portal::platform::usage::Usage>,
    Client,
    Uuid,
    Vec<portal::secrets::CreatedSecret>,
) {
    let state = crate::helpers::state(pool.clone());
    let usage = state.usage.clone();
    let (client, env, secrets) = TestApp::from(state).customer_with_secrets(2).await;
    (usage, client, env, secrets)
}

#[sqlx::test]
async fn last_used_is_written_once_per_flush_and_never_goes_back(pool: PgPool) {
    let (usage, mut client, env, secrets) = customer_counting_usage(&pool).await;
    let (created, unused) = (&secrets[0], &secrets[1]);

    let uri = format!("/api/v1/environments/{env}/api-secrets");
    let before = now_ms();
    for _ in 0..50 {
        let reply = call(
            &mut client,
            "GET",
            &uri,
            "",
            &signed(&created.value, "GET", &uri, "", now_ms()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    usage.flush(&pool).await.unwrap();
    assert_eq!(usage.statements_written(), 1, "50 uses, one statement");
    let last_used = |id: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
                "SELECT last_used_at FROM api_secrets WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let at = last_used(created.secret.id).await.expect("marked used");
    assert!(at.timestamp_millis() >= before - 1000 && at.timestamp_millis() <= now_ms() + 1000);
    assert_eq!(last_used(unused.secret.id).await, None);
    // Nothing pending: no write.
    usage.flush(&pool).await.unwrap();
    assert_eq!(usage.statements_written(), 1);

    // Another instance wrote a later date: an older mark does not move it back.
    sqlx::query("UPDATE api_secrets SET last_used_at = now() + interval '1 hour' WHERE id = $1")
        .bind(created.secret.id)
        .execute(&pool)
        .await
        .unwrap();
    let later = last_used(created.secret.id).await.unwrap();
    usage.mark(created.secret.id, before);
    usage.flush(&pool).await.unwrap();
    assert_eq!(last_used(created.secret.id).await, Some(later));
}

#[sqlx::test]
async fn refusals_name_the_reason_and_never_the_secret(pool: PgPool) {
    let (mut client, env, secrets) = TestApp::new(pool.clone()).customer_with_secrets(1).await;
    let key = &secrets[0].value;
    let uri = format!("/api/v1/environments/{env}/api-secrets?a=1");
    let body = r#"{"a":1}"#;
    let now = now_ms();
    // Only GET routes exist so far; a GET may carry a body, and the body is signed.
    let ok = signed(key, "GET", &uri, body, now);
    let with = |name: &'static str, value: &str| -> Headers {
        ok.iter()
            .map(|(n, v)| {
                (
                    *n,
                    if *n == name {
                        value.to_owned()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect()
    };

    let cases: Vec<(&str, Headers)> = vec![
        ("missing_timestamp", vec![ok[0].clone()]),
        ("missing_signature", vec![ok[1].clone()]),
        ("malformed_timestamp", with("x-cs-timestamp", "yesterday")),
        ("malformed_timestamp", with("x-cs-timestamp", "-1")),
        ("bad_signature", with("x-cs-signature", "nothex")),
    ];
    for (expected, headers) in cases {
        let reply = call(&mut client, "GET", &uri, body, &headers).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{expected}");
        assert_eq!(error_code(&reply), expected);
    }

    // The window: ±5 minutes, edges included (a little slack for the test's own run time).
    for (offset, expected) in [
        (-299_000, None),
        (299_000, None),
        (-301_000, Some("stale_timestamp")),
        (301_000, Some("future_timestamp")),
    ] {
        let headers = signed(key, "GET", &uri, "", now_ms() + offset);
        let reply = call(&mut client, "GET", &uri, "", &headers).await;
        match expected {
            None => assert_eq!(reply.status, StatusCode::OK, "{offset}: {}", reply.body),
            Some(code) => assert_eq!(error_code(&reply), code, "{offset}"),
        }
    }

    // Tampering with anything signed.
    let other_uri = format!("/api/v1/environments/{env}/api-secrets?a=2");
    let other_path = format!("/api/v1/environments/{env}/api-secrets");
    let signed_as_post = signed(key, "POST", &uri, body, now);
    let bad = [
        ("GET", uri.as_str(), body, signed_as_post),
        ("GET", other_uri.as_str(), body, ok.clone()),
        ("GET", other_path.as_str(), body, ok.clone()),
        ("GET", uri.as_str(), r#"{"a":2}"#, ok.clone()),
        ("GET", uri.as_str(), body, {
            let mut h = ok.clone();
            h[1].1 = (now + 1).to_string();
            h
        }),
    ];
    // The untampered request passes.
    assert_eq!(
        call(&mut client, "GET", &uri, body, &ok).await.status,
        StatusCode::OK
    );
    let mut bodies = Vec::new();
    for (method, uri, body, headers) in bad {
        let reply = call(&mut client, method, uri, body, &headers).await;
        assert!(
            matches!(reply.status, StatusCode::UNAUTHORIZED),
            "{method} {uri} {body}: {} {}",
            reply.status,
            reply.body
        );
        assert_eq!(error_code(&reply), "bad_signature");
        bodies.push(reply.body);
    }
    // An unknown environment, or one that is not an id, answers exactly like a bad signature.
    for env in [Uuid::new_v4().to_string(), "not-an-id".to_owned()] {
        let uri = format!("/api/v1/environments/{env}/api-secrets");
        let reply = call(
            &mut client,
            "GET",
            &uri,
            "",
            &signed(key, "GET", &uri, "", now_ms()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.body, bodies[0]);
    }

    // One spelling per timestamp: the signed string has no separators, so `0T` after `?x=1`
    // would sign the same bytes as `T` after `?x=10`.
    let ping = format!("/api/v1/environments/{env}/ping");
    let signed_x10 = signed(key, "GET", &format!("{ping}?x=10"), "", now_ms());
    let shifted: Headers = vec![
        signed_x10[0].clone(),
        ("x-cs-timestamp", format!("0{}", signed_x10[1].1)),
    ];
    let reply = call(&mut client, "GET", &format!("{ping}?x=1"), "", &shifted).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(error_code(&reply), "malformed_timestamp");
    let reply = call(&mut client, "GET", &format!("{ping}?x=10"), "", &signed_x10).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    // The body is read last: a request for an environment without secrets is refused without
    // waiting for it (this one never ends).
    let unknown = format!("/api/v1/environments/{}/webhooks", Uuid::new_v4());
    let mut api = client.clone();
    api.cookie = None;
    let mut request = Request::builder().method("POST").uri(&unknown);
    for (name, value) in signed(key, "POST", &unknown, "{}", now_ms()) {
        request = request.header(name, value);
    }
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        api.send(request, Body::new(EndlessBody)),
    )
    .await
    .expect("refused without reading the body");
    assert_eq!(error_code(&reply), "bad_signature");

    // Bodies are capped before any signature work.
    let big = "x".repeat(1024 * 1024 + 1);
    let reply = call(
        &mut client,
        "GET",
        &uri,
        &big,
        &signed(key, "GET", &uri, &big, now_ms()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A signed change is accepted once, on any instance: a copy of the request (from a proxy log, a
/// shared HAR file) is refused with its reason while its timestamp is still in the window.
/// Reads may be repeated.
#[sqlx::test]
async fn a_signed_change_is_accepted_once_here_and_on_other_instances(pool: PgPool) {
    let (mut client, env, secrets) = TestApp::new(pool.clone()).customer_with_secrets(1).await;
    let key = &secrets[0].value;
    let mut other = Client::with_state(crate::helpers::state(pool.clone()));
    let webhooks = format!("/api/v1/environments/{env}/webhooks");
    let body = r#"{"url": "http://127.0.0.1:9/hook", "events": ["ping"]}"#;
    let create = signed(key, "POST", &webhooks, body, now_ms());

    let reply = call(&mut client, "POST", &webhooks, body, &create).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = serde_json::from_str::<serde_json::Value>(&reply.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for instance in [&mut client, &mut other] {
        let reply = call(instance, "POST", &webhooks, body, &create).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        assert_eq!(error_code(&reply), "replayed_request");
    }
    let added = count(&pool, "SELECT count(*) FROM webhooks").await;
    assert_eq!(added, 1, "the copies created nothing");

    // The same body signed anew is a new request.
    let again = signed(key, "POST", &webhooks, body, now_ms() + 1);
    let reply = call(&mut other, "POST", &webhooks, body, &again).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);

    // A DELETE likewise; a copy of a GET is answered.
    let one = format!("{webhooks}/{id}");
    let delete = signed(key, "DELETE", &one, "", now_ms());
    let reply = call(&mut other, "DELETE", &one, "", &delete).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let reply = call(&mut client, "DELETE", &one, "", &delete).await;
    assert_eq!(error_code(&reply), "replayed_request");
    let list = signed(key, "GET", &webhooks, "", now_ms());
    for instance in [&mut client, &mut other] {
        for _ in 0..2 {
            assert_eq!(
                call(instance, "GET", &webhooks, "", &list).await.status,
                StatusCode::OK
            );
        }
    }

    // Remembered until the timestamp has left the window (and a minute of clock slack), then
    // pruned: the table does not grow with the traffic.
    let at: i64 = create[1].1.parse().unwrap();
    let kept_ms: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at)::float8 * 1000 FROM accepted_signatures
          ORDER BY expires_at LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        (kept_ms - (at + 360_000) as f64).abs() < 2.0,
        "{kept_ms} vs {at}"
    );
    sqlx::query("UPDATE accepted_signatures SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    portal::api::replay::prune(&pool).await.unwrap();
    let left = count(&pool, "SELECT count(*) FROM accepted_signatures").await;
    assert_eq!(left, 0);
}

/// A second instance on the same database, with its own key cache and listener, once that
/// listener is listening (its connection ran LISTEN and is idle), not after a fixed sleep, which
/// a loaded host could outlast.
async fn other_instance(pool: &PgPool) -> Client {
    let state = crate::helpers::state(pool.clone());
    tokio::spawn(portal::platform::changes::listen(
        pool.clone(),
        vec![state.keys.clone()],
    ));
    let listen = format!(r#"%LISTEN "{}"%"#, portal::platform::keys::CHANNEL);
    eventually("the other instance's listener listening", || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND state = 'idle' AND query LIKE $1",
        )
        .bind(&listen)
        .fetch_one(pool)
        .await
        .unwrap()
            > 0
    })
    .await;
    Client::with_state(state)
}

/// A signed GET of the environment's secrets' list, on `instance`: the list.
async fn listed(instance: &mut Client, env: Uuid, secret: &str) -> Vec<serde_json::Value> {
    let uri = format!("/api/v1/environments/{env}/api-secrets");
    let reply = call(
        instance,
        "GET",
        &uri,
        "",
        &signed(secret, "GET", &uri, "", now_ms()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

/// The list is read from the keys cached to verify the request, which every change to what it
/// shows invalidates on every instance: no query for it, yet nothing it shows is out of date
/// (its last use: to within the minute between notices, but at once for the first use and for
/// this instance's own).
#[sqlx::test]
async fn the_secrets_list_is_served_from_the_key_cache_and_follows_every_change(pool: PgPool) {
    let (usage, mut client, env, secrets) = customer_counting_usage(&pool).await;
    let (signer, other_secret) = (&secrets[0], &secrets[1]);
    let mut other = other_instance(&pool).await;
    let shown = listed(&mut other, env, &signer.value).await;
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[0]["masked"], signer.secret.masked);
    assert_eq!(shown[0]["webhook_signer"], true);
    assert_eq!(shown[1]["webhook_signer"], false);
    assert_eq!(shown[1]["last_used_at"], serde_json::Value::Null);
    // This instance's own use of the signing secret shows at once.
    assert!(shown[0]["last_used_at"].is_string(), "{shown:?}");

    // With the table locked against every read, the list still answers: it reads none.
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE api_secrets IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let shown = tokio::time::timeout(
        Duration::from_secs(5),
        listed(&mut other, env, &signer.value),
    )
    .await
    .expect("the list waited for the locked table");
    assert_eq!(shown.len(), 2);
    lock.rollback().await.unwrap();

    // The signer moves on the first instance; the other one's list follows.
    let reply = crate::helpers::switch(&mut client, env, other_secret.secret.id).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    eventually("the other instance lists the new signer", || async {
        let shown = listed(&mut other.clone(), env, &signer.value).await;
        shown[1]["webhook_signer"] == true && shown[0]["webhook_signer"] == false
    })
    .await;

    // The other secret's first use, written by the first instance: listed by the other one.
    let uri = format!("/api/v1/environments/{env}/ping");
    let ping = signed(&other_secret.value, "GET", &uri, "", now_ms());
    assert_eq!(
        call(&mut client, "GET", &uri, "", &ping).await.status,
        StatusCode::OK
    );
    usage.flush(&pool).await.unwrap();
    eventually("the other instance lists the first use", || async {
        let shown = listed(&mut other.clone(), env, &signer.value).await;
        shown[1]["last_used_at"].is_string()
    })
    .await;
}

#[sqlx::test]
async fn a_removed_secret_stops_verifying_here_and_on_other_instances(pool: PgPool) {
    let (mut client, env, secrets) = TestApp::new(pool.clone()).customer_with_secrets(2).await;
    let removed = &secrets[1];
    let uri = format!("/api/v1/environments/{env}/api-secrets");

    let mut other = other_instance(&pool).await;
    // Both have the keys cached.
    for instance in [&mut client, &mut other] {
        let reply = call(
            instance,
            "GET",
            &uri,
            "",
            &signed(&removed.value, "GET", &uri, "", now_ms()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
    }

    let reply = client
        .post_form(
            "/rpc/remove_api_secret",
            &[
                ("environment_id", &env.to_string()),
                ("secret_id", &removed.secret.id.to_string()),
                ("phrase", &removal_phrase(&removed.secret.masked)),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let reply = call(
        &mut client,
        "GET",
        &uri,
        "",
        &signed(&removed.value, "GET", &uri, "", now_ms()),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "refused at once where it was removed"
    );
    let started = std::time::Instant::now();
    loop {
        let reply = call(
            &mut other,
            "GET",
            &uri,
            "",
            &signed(&removed.value, "GET", &uri, "", now_ms()),
        )
        .await;
        if reply.status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "still verifying after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The remaining secret still works on both.
    for instance in [&mut client, &mut other] {
        let reply = call(
            instance,
            "GET",
            &uri,
            "",
            &signed(&secrets[0].value, "GET", &uri, "", now_ms()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
}

/// While every request load permit is taken (here: 4 loads stuck behind a table lock), the next
/// cache miss waits a bounded time and is told to retry (503, Retry-After, in words) instead of
/// queueing without end; the webhook worker's load is not refused, and completes once the
/// database answers.
#[sqlx::test]
async fn a_request_waits_a_bounded_time_for_a_key_load_and_deliveries_never(test_pool: PgPool) {
    use portal::platform::keys::{MAX_CONCURRENT_LOADS, MAX_LOAD_WAIT};
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(20)
        .connect_with((*test_pool.connect_options()).clone())
        .await
        .unwrap();
    let state = crate::helpers::state(pool.clone());
    let (client, env, _) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    state.keys.clear();
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE api_secrets IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let made_up = |client: &Client| {
        let mut client = client.clone();
        async move {
            let uri = format!("/api/v1/environments/{}/ping", Uuid::new_v4());
            let headers = signed("made up", "GET", &uri, "", now_ms());
            call(&mut client, "GET", &uri, "", &headers).await
        }
    };
    let stuck: Vec<_> = (0..MAX_CONCURRENT_LOADS)
        .map(|_| tokio::spawn(made_up(&client)))
        .collect();
    let delivery = tokio::spawn({
        let state = state.clone();
        async move {
            state
                .keys
                .keys_for_delivery(&state.pool, &state.keyring, env)
                .await
                .map(|keys| keys.len())
        }
    });
    eventually("the stuck loads hold every permit", || {
        let pool = test_pool.clone();
        async move {
            let waiting = count(&pool, "SELECT count(*) FROM pg_locks WHERE relation = 'api_secrets'::regclass AND NOT granted").await;
            waiting == i64::try_from(MAX_CONCURRENT_LOADS).unwrap() + 1
        }
    })
    .await;

    let started = std::time::Instant::now();
    let refused = tokio::time::timeout(MAX_LOAD_WAIT * 5, made_up(&client))
        .await
        .expect("the request was answered, not queued without end");
    let waited = started.elapsed();
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert_eq!(error_code(&refused), "unavailable");
    assert_eq!(refused.headers["retry-after"], "1");
    assert!(refused.body.contains("Retry shortly"), "{}", refused.body);
    assert!(
        waited >= MAX_LOAD_WAIT && waited < MAX_LOAD_WAIT * 3,
        "waited {waited:?}"
    );

    lock.rollback().await.unwrap();
    assert_eq!(
        delivery.await.unwrap().unwrap(),
        1,
        "the worker got the keys"
    );
    for stuck in stuck {
        assert_eq!(error_code(&stuck.await.unwrap()), "bad_signature");
    }
}

/// Any caller can send a fresh timestamp with a made-up environment id and signature. A flood of
/// those neither evicts the real keys nor holds more than a few of the pool's connections.
#[sqlx::test]
async fn made_up_environment_ids_neither_evict_keys_nor_take_the_pool(test_pool: PgPool) {
    use portal::platform::keys::{MAX_CONCURRENT_LOADS, MAX_EMPTY_ENTRIES};
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    };

    // Room for many more connections than the loads may take (the test pool has only 5).
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(20)
        .connect_with((*test_pool.connect_options()).clone())
        .await
        .unwrap();
    let state = crate::helpers::state(pool.clone());
    let (mut client, env, secrets) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    let uri = format!("/api/v1/environments/{env}/ping");
    let ping = |client: &mut Client| {
        let headers = signed(&secrets[0].value, "GET", &uri, "", now_ms());
        let mut client = client.clone();
        let uri = uri.clone();
        async move { call(&mut client, "GET", &uri, "", &headers).await.status }
    };
    assert_eq!(
        ping(&mut client).await,
        StatusCode::OK,
        "the keys are cached"
    );

    // Connections in use, sampled while the flood runs.
    let busiest = Arc::new(AtomicU32::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn({
        let (pool, busiest, done) = (pool.clone(), busiest.clone(), done.clone());
        async move {
            while !done.load(Ordering::Relaxed) {
                let in_use = pool.size() - u32::try_from(pool.num_idle()).unwrap();
                busiest.fetch_max(in_use, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }
    });
    // More made-up ids than are remembered, 32 callers at a time, each over the REST API.
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..32 {
        let client = client.clone();
        callers.spawn(async move {
            let mut client = client;
            for _ in (caller..=MAX_EMPTY_ENTRIES).step_by(32) {
                let uri = format!("/api/v1/environments/{}/ping", Uuid::new_v4());
                let headers = signed("made up", "GET", &uri, "", now_ms());
                let reply = call(&mut client, "GET", &uri, "", &headers).await;
                // Or told to retry, should a load have waited its limit on a busy machine.
                let code = error_code(&reply);
                assert!(code == "bad_signature" || code == "unavailable", "{code}");
            }
        });
    }
    while let Some(caller) = callers.join_next().await {
        caller.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    // 4 loads hold a connection each, and sqlx hands a used one back in a task of its own, so
    // more may be counted as in use for a moment (11 seen on a busy 2-core machine, where those
    // tasks wait their turn). Without the limit, all 20 are.
    let busiest = busiest.load(Ordering::Relaxed);
    assert_eq!(MAX_CONCURRENT_LOADS, 4);
    assert!(
        (1..=14).contains(&busiest),
        "{busiest} of 20 connections in use at once"
    );

    // One more made-up id is remembered too.
    let unknown = Uuid::new_v4();
    let keys = state
        .keys
        .keys(&pool, &state.keyring, unknown)
        .await
        .unwrap();
    assert!(keys.is_empty());

    // Without the database, both are still answered from the cache: the real keys were kept.
    pool.close().await;
    assert_eq!(state.keys.with_cached(env, <[_]>::len), Some(1));
    assert_eq!(state.keys.with_cached(unknown, <[_]>::len), Some(0));
    assert_eq!(ping(&mut client).await, StatusCode::OK);
}
