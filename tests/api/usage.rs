//! Per-secret usage: requests per hour and callers, counted in memory and written in one
//! statement per flush, bounded, pruned, and shown to the organization's members only.

use axum::http::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{Client, TestApp, call, now_ms, signed, text};
use portal::platform::usage::MAX_CALLERS;

/// A signed ping from `ip` with `agent` as its user agent.
async fn ping(client: &Client, env: Uuid, secret: &str, ip: [u8; 4], agent: &str) -> StatusCode {
    let mut caller = client.clone();
    caller.ip = ip.into();
    let uri = format!("/api/v1/environments/{env}/ping");
    let mut headers = signed(secret, "GET", &uri, "", now_ms());
    headers.push(("user-agent", agent.to_owned()));
    call(&mut caller, "GET", &uri, "", &headers).await.status
}

async fn hours(pool: &PgPool, secret: Uuid) -> (i64, i64) {
    sqlx::query_as(
        "SELECT COALESCE(sum(requests), 0)::int8, COALESCE(sum(other_requests), 0)::int8
           FROM api_secret_usage WHERE secret_id = $1",
    )
    .bind(secret)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn callers(pool: &PgPool, secret: Uuid) -> Vec<(String, String, i64)> {
    sqlx::query_as(
        "SELECT host(address), user_agent, requests FROM api_secret_callers
          WHERE secret_id = $1 ORDER BY requests DESC",
    )
    .bind(secret)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn a_burst_of_ten_thousand_requests_is_one_statement_and_nothing_is_lost(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let usage = state.usage.clone();
    let (client, env, secrets) = TestApp::from(state).customer_with_secrets(2).await;
    let (used, unused) = (&secrets[0], &secrets[1]);
    for i in 0..10_000 {
        let (ip, agent) = if i % 5 < 3 {
            ([198, 51, 100, 20], "billing-service/2.1")
        } else {
            ([192, 0, 2, 9], "python-requests/2.32")
        };
        assert_eq!(
            ping(&client, env, &used.value, ip, agent).await,
            StatusCode::OK
        );
    }
    // The database is away at the first write: everything is kept for the next.
    let away =
        sqlx::postgres::PgPoolOptions::new().connect_lazy_with((*pool.connect_options()).clone());
    away.close().await;
    assert!(usage.flush(&away).await.is_err());
    assert_eq!(usage.statements_written(), 0);
    usage.flush(&pool).await.unwrap();
    assert_eq!(
        usage.statements_written(),
        1,
        "10,000 requests, one statement"
    );
    assert_eq!(hours(&pool, used.secret.id).await, (10_000, 0));
    assert_eq!(
        callers(&pool, used.secret.id).await,
        vec![
            ("198.51.100.20".into(), "billing-service/2.1".into(), 6_000),
            ("192.0.2.9".into(), "python-requests/2.32".into(), 4_000),
        ]
    );
    assert_eq!(hours(&pool, unused.secret.id).await, (0, 0));
    assert!(callers(&pool, unused.secret.id).await.is_empty());
    // Nothing new: no statement.
    usage.flush(&pool).await.unwrap();
    assert_eq!(usage.statements_written(), 1);
}

#[sqlx::test]
async fn refused_requests_are_not_counted(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let usage = state.usage.clone();
    let (mut client, env, secrets) = TestApp::from(state).customer_with_secrets(1).await;
    let secret = &secrets[0];
    let uri = format!("/api/v1/environments/{env}/ping");
    let stale = signed(&secret.value, "GET", &uri, "", now_ms() - 3_600_000);
    let forged = signed("not-the-secret", "GET", &uri, "", now_ms());
    for headers in [stale, forged] {
        assert_eq!(
            call(&mut client, "GET", &uri, "", &headers).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    usage.flush(&pool).await.unwrap();
    assert_eq!(usage.statements_written(), 0);
    assert_eq!(hours(&pool, secret.secret.id).await, (0, 0));
}

#[sqlx::test]
async fn callers_beyond_the_cap_are_other_and_hostile_agents_are_shown_as_text(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let usage = state.usage.clone();
    let (mut client, env, secrets) = TestApp::from(state).customer_with_secrets(1).await;
    let secret = &secrets[0];
    let hostile = "<script>alert(1)</script>\"'&";
    for i in 0..MAX_CALLERS + 50 {
        let ip = [10, 0, (i / 250) as u8, (i % 250) as u8];
        let agent = if i == 0 { hostile } else { "fleet/1" };
        assert_eq!(
            ping(&client, env, &secret.value, ip, agent).await,
            StatusCode::OK
        );
    }
    usage.flush(&pool).await.unwrap();
    assert_eq!(callers(&pool, secret.secret.id).await.len(), MAX_CALLERS);
    assert_eq!(hours(&pool, secret.secret.id).await, (150, 50));

    let page = format!("/environments/{env}/api-secrets/{}", secret.secret.id);
    let reply = client.get(&page).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.body.contains("<script>alert"), "escaped");
    let shown = text(&reply.body);
    assert!(shown.contains(&format!("Usage of {}", secret.secret.masked)));
    assert!(shown.contains("Callers in the last 7 days"));
    assert!(shown.contains("10.0.0.0"));
    assert!(shown.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(shown.contains("Other callers: 50 requests"));
    assert!(shown.contains("150 verified requests in all"));
    // The tab's row: a sparkline named by its numbers, and the way to the details.
    let tab = client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert!(
        tab.body
            .contains("aria-label=\"Requests per day, last 30 days: 150 in all, 150 today\""),
        "{}",
        tab.body
    );
    assert!(tab.body.contains(&format!("href=\"{page}\"")));
    // The view that counts them has as many days as the portal shows, today last.
    let daily = &crate::helpers::list(&mut client, env).await[0].daily_requests;
    assert_eq!(daily.len(), portal::secrets::usage::DAYS);
    assert_eq!(daily.last(), Some(&150));

    // Another organization's members, and made-up ids, find nothing.
    let (mut bob, bob_env) = TestApp::new(pool.clone()).customer("bob@example.com").await;
    let theirs = bob.get(&page).await;
    let random = bob
        .get(&format!(
            "/environments/{bob_env}/api-secrets/{}",
            Uuid::new_v4()
        ))
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(random.status, StatusCode::NOT_FOUND);
    assert!(!text(&theirs.body).contains("10.0.0.0"));
    let mut stranger = TestApp::new(pool.clone()).client();
    assert_eq!(stranger.get(&page).await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn instances_add_up_and_a_secret_removed_before_the_write_is_skipped(pool: PgPool) {
    let (a, b) = (
        crate::helpers::state(pool.clone()),
        crate::helpers::state(pool.clone()),
    );
    let (usage_a, usage_b) = (a.usage.clone(), b.usage.clone());
    let (mut client, env, secrets) = TestApp::from(a).customer_with_secrets(2).await;
    let mut other = TestApp::from(b).client();
    other.cookie = client.cookie.clone();
    for _ in 0..30 {
        ping(&client, env, &secrets[0].value, [192, 0, 2, 1], "one").await;
        ping(&other, env, &secrets[0].value, [192, 0, 2, 1], "one").await;
        ping(&client, env, &secrets[1].value, [192, 0, 2, 1], "one").await;
    }
    // Both instances write at once, to the same rows.
    let (written_a, written_b) = tokio::join!(usage_a.flush(&pool), usage_b.flush(&pool));
    written_a.unwrap();
    written_b.unwrap();
    assert_eq!(hours(&pool, secrets[0].secret.id).await, (60, 0));
    assert_eq!(
        callers(&pool, secrets[0].secret.id).await,
        vec![("192.0.2.1".into(), "one".into(), 60)]
    );

    // Counted, then removed before the write: the write skips it, and keeps the others.
    ping(&client, env, &secrets[1].value, [192, 0, 2, 1], "one").await;
    ping(&client, env, &secrets[0].value, [192, 0, 2, 1], "one").await;
    let phrase = portal::secrets::removal_phrase(&secrets[1].secret.masked);
    let removed = crate::helpers::remove(&mut client, env, secrets[1].secret.id, &phrase).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    usage_a.flush(&pool).await.unwrap();
    assert_eq!(hours(&pool, secrets[0].secret.id).await, (61, 0));
    assert_eq!(hours(&pool, secrets[1].secret.id).await, (0, 0));
}

#[sqlx::test]
async fn usage_older_than_90_days_is_pruned(pool: PgPool) {
    let (_client, _env, secrets) = TestApp::new(pool.clone()).customer_with_secrets(1).await;
    let id = secrets[0].secret.id;
    sqlx::query(
        "INSERT INTO api_secret_usage (secret_id, hour, requests)
         VALUES ($1, date_trunc('hour', now()) - interval '91 days', 5),
                ($1, date_trunc('hour', now()) - interval '89 days', 7);
         ",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO api_secret_callers
                (secret_id, address, user_agent, first_seen_at, last_seen_at, requests)
         VALUES ($1, '192.0.2.1', 'old', now() - interval '100 days', now() - interval '91 days', 5),
                ($1, '192.0.2.2', 'new', now() - interval '100 days', now() - interval '1 day', 7)",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    portal::platform::usage::prune(&pool, 90).await.unwrap();
    assert_eq!(hours(&pool, id).await, (7, 0));
    assert_eq!(
        callers(&pool, id).await,
        vec![("192.0.2.2".into(), "new".into(), 7)]
    );
}
