//! "Failed requests": refused signed requests recorded with their reason (never a query value,
//! a body, or which secret came close), bounded against floods, kept to the latest 200, shown to
//! the environment's organization and to holders of its secrets only.

use axum::http::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, call, now_ms, signed, signed_call, text};
use portal::platform::failures::{KEPT, PER_ENVIRONMENT_PER_MINUTE};

async fn recorded(pool: &PgPool, env: Uuid) -> Vec<(String, String, Option<i64>)> {
    sqlx::query_as("SELECT reason, path, skew_ms FROM api_request_failures WHERE environment_id = $1 ORDER BY id")
        .bind(env)
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn each_refusal_is_shown_with_its_reason_and_nothing_of_the_request_s_data(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let failures = state.failures.clone();
    let (mut client, env, secrets) = TestApp::from(state).customer_with_secrets(1).await;
    let key = &secrets[0].value;
    let uri = format!("/api/v1/environments/{env}/ping?token=query-value-7731");
    let mut api = client.clone();
    api.cookie = None;
    let with_agent = |mut headers: Vec<(&'static str, String)>| {
        headers.push(("user-agent", "<b>cron</b>/1".to_owned()));
        headers
    };
    // 10 minutes late; signed over another body; no signature at all.
    let stale = with_agent(signed(key, "GET", &uri, "", now_ms() - 600_000));
    let tampered = with_agent(signed(key, "GET", &uri, "{\"amount\":1}", now_ms()));
    let unsigned = with_agent(vec![("x-cs-timestamp", now_ms().to_string())]);
    for (headers, body) in [(stale, ""), (tampered, "{\"amount\":1000}"), (unsigned, "")] {
        let reply = call(&mut api, "GET", &uri, body, &headers).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    }
    failures.flush(&pool).await.unwrap();
    let rows = recorded(&pool, env).await;
    let path = format!("/api/v1/environments/{env}/ping");
    assert_eq!(
        rows.iter()
            .map(|(reason, p, _)| (reason.as_str(), p.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("stale_timestamp", path.as_str()),
            ("bad_signature", path.as_str()),
            ("missing_signature", path.as_str())
        ]
    );
    let skew = rows[0].2.unwrap();
    assert!((-601_000..=-599_000).contains(&skew), "{skew}");

    // The tab: newest first, the reason in words, the skew in seconds; no query, no body.
    let page = client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("query-value-7731") && !page.body.contains("amount"));
    assert!(!page.body.contains("<b>cron"), "the user agent is text");
    let shown = text(&page.body);
    let section = &shown[shown.find("Failed requests").expect("the section")..];
    let (missing, bad, late) = (
        section.find("missing_signature").unwrap(),
        section.find("bad_signature").unwrap(),
        section.find("stale_timestamp").unwrap(),
    );
    assert!(missing < bad && bad < late, "newest first: {section}");
    assert!(section.contains(&format!("GET {path}")));
    assert!(
        section.contains("It was 600 s behind our clock")
            || section.contains("It was 599 s behind our clock"),
        "{section}"
    );
    assert!(section.contains("&lt;b&gt;cron&lt;/b&gt;/1"));

    // The REST API: the same, to a holder of one of the environment's secrets.
    let reply = signed_call(
        &client,
        key,
        "GET",
        &format!("/api/v1/environments/{env}/failed-requests"),
        "",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let listed: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let reasons: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["missing_signature", "bad_signature", "stale_timestamp"]
    );
    assert_eq!(listed[0]["path"], path.as_str());
    assert_eq!(listed[0]["address"], "203.0.113.7");
    assert!(!reply.body.contains(key.as_str()));

    // Another organization sees nothing of it, and learns nothing from trying.
    let (mut bob, _) = TestApp::new(pool.clone()).customer("bob@example.com").await;
    let theirs = bob
        .post_form(
            "/rpc/api_secrets_page",
            &[("environment_id", &env.to_string())],
        )
        .await;
    let random = bob
        .post_form(
            "/rpc/api_secrets_page",
            &[("environment_id", &Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.body, random.body);
}

#[sqlx::test]
async fn a_flood_of_junk_signatures_stays_within_the_recording_bound(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let failures = state.failures.clone();
    let (client, env, secrets) = TestApp::from(state).customer_with_secrets(1).await;
    // The environment's keys are cached: it is known to have secrets.
    let ping = format!("/api/v1/environments/{env}/ping");
    assert_eq!(
        signed_call(&client, &secrets[0].value, "GET", &ping, "")
            .await
            .status,
        StatusCode::OK
    );
    let mut api = client.clone();
    api.cookie = None;
    for i in 0..1_000 {
        let junk = signed("junk", "GET", &ping, "", now_ms());
        assert_eq!(
            call(&mut api, "GET", &ping, "", &junk).await.status,
            StatusCode::UNAUTHORIZED
        );
        // And ids of environments that do not exist.
        let made_up = format!("/api/v1/environments/{}/ping", Uuid::new_v4());
        let stale = signed("junk", "GET", &made_up, "", now_ms() - 600_000 - i);
        call(&mut api, "GET", &made_up, "", &stale).await;
    }
    failures.flush(&pool).await.unwrap();
    assert_eq!(failures.statements_written(), 1);
    let rows = recorded(&pool, env).await.len() as u32;
    // 20 a minute (40 if the burst straddled a minute's turn), not 1,000.
    assert!(
        (PER_ENVIRONMENT_PER_MINUTE..=2 * PER_ENVIRONMENT_PER_MINUTE).contains(&rows),
        "{rows}"
    );
    let others: i64 =
        sqlx::query_scalar("SELECT count(*) FROM api_request_failures WHERE environment_id <> $1")
            .bind(env)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(others, 0, "nothing for ids that name no environment");
}

#[sqlx::test]
async fn an_environment_keeps_its_latest_200(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let failures = state.failures.clone();
    let (client, env, _) = TestApp::from(state).customer_with_secrets(1).await;
    sqlx::query(
        "INSERT INTO api_request_failures (environment_id, at, method, path, user_agent, reason)
         SELECT $1, now() - make_interval(secs => 300 - n), 'GET', '/old/' || n, '', 'bad_signature'
           FROM generate_series(1, 250) AS n",
    )
    .bind(env)
    .execute(&pool)
    .await
    .unwrap();
    let mut api = client.clone();
    api.cookie = None;
    let ping = format!("/api/v1/environments/{env}/ping");
    call(&mut api, "GET", &ping, "", &[]).await;
    failures.flush(&pool).await.unwrap();
    let rows = recorded(&pool, env).await;
    assert_eq!(rows.len() as i64, KEPT + 1);
    assert_eq!(rows[0].1, "/old/51", "the oldest 50 went");
    assert_eq!(rows.last().unwrap().0, "missing_timestamp");
    // And anything older than 30 days goes with the janitor.
    sqlx::query(
        "UPDATE api_request_failures SET at = now() - interval '31 days' WHERE path = '/old/51'",
    )
    .execute(&pool)
    .await
    .unwrap();
    portal::platform::failures::prune(&pool).await.unwrap();
    assert_eq!(recorded(&pool, env).await.len() as i64, KEPT);
}
