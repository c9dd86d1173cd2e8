//! API secrets that expire: the date is checked, the webhook signer never expires, an expired
//! secret stops verifying at that instant on every instance (from the cached keys, without
//! waiting for an invalidation), and webhooks hear of it 7 days and 1 day before and when it
//! has, each notice once however many janitors look.

use axum::http::StatusCode;
use chrono::{TimeDelta, Utc};
use portal::secrets::{
    EXPIRING_CANNOT_SIGN, FIRST_CANNOT_EXPIRE, SIGNER_CANNOT_EXPIRE, SecretSummary,
    expiry::announce,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{
    Client, Reply, TestApp, call, count, created, list, now_ms, set_expiry, signed, switch,
};

/// `YYYY-MM-DD`, `days` from today (UTC).
fn day(days: i64) -> String {
    (Utc::now() + TimeDelta::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn error_code(reply: &Reply) -> String {
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    body["error"].as_str().unwrap_or_default().to_owned()
}

async fn ping(client: &mut Client, env: Uuid, secret: &str) -> Reply {
    let uri = format!("/api/v1/environments/{env}/ping");
    call(
        client,
        "GET",
        &uri,
        "",
        &signed(secret, "GET", &uri, "", now_ms()),
    )
    .await
}

fn expires_at(secrets: &[SecretSummary], id: Uuid) -> Option<String> {
    let secret = secrets.iter().find(|s| s.id == id).unwrap();
    secret.expires_at.as_ref().map(|at| at.iso.clone())
}

#[sqlx::test]
async fn expiry_dates_are_days_ahead_and_bad_ones_change_nothing(pool: PgPool) {
    let (mut client, env, secrets) = TestApp::new(pool.clone()).customer_with_secrets(2).await;
    let second = secrets[1].secret.id;
    for (input, message) in [
        ("2027-02-30", "must be a date such as"),
        ("31/01/2027", "must be a date such as"),
        ("<script>", "must be a date such as"),
        ("２０２７-01-31", "must be a date such as"),
        ("2027-01-31\u{0}", "must be a date such as"),
        (&"2027-01-31".repeat(100_000), "must be a date such as"),
        (&day(0), "must be in the future"),
        (&day(-3), "must be in the future"),
        (&day(5 * 366 + 2), "at most 5 years ahead"),
    ] {
        let reply = set_expiry(&mut client, env, second, input).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{input}: {}",
            reply.body
        );
        assert!(reply.body.contains(message), "{input}: {}", reply.body);
        let reply = client
            .post_form(
                "/rpc/create_api_secret",
                &[("environment_id", &env.to_string()), ("expires_on", input)],
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{input}: {}",
            reply.body
        );
    }
    assert_eq!(expires_at(&list(&mut client, env).await, second), None);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM api_secrets").await,
        2,
        "nothing created"
    );

    // A good date: 00:00 UTC that day, in the tab, the REST API and the audit trail; then
    // cleared again.
    let date = day(30);
    let reply = set_expiry(&mut client, env, second, &date).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let secrets_now: Vec<SecretSummary> = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        expires_at(&secrets_now, second).unwrap(),
        format!("{date}T00:00:00.000Z")
    );
    let uri = format!("/api/v1/environments/{env}/api-secrets");
    let rest = call(
        &mut client,
        "GET",
        &uri,
        "",
        &signed(&secrets[0].value, "GET", &uri, "", now_ms()),
    )
    .await;
    let rest: serde_json::Value = serde_json::from_str(&rest.body).unwrap();
    assert_eq!(rest[1]["expires_at"], format!("{date}T00:00:00.000Z"));
    assert_eq!(rest[0]["expires_at"], serde_json::Value::Null);
    let reply = set_expiry(&mut client, env, second, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(expires_at(&list(&mut client, env).await, second), None);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM audit_events WHERE action = 'api_secret.expiry_changed'"
        )
        .await,
        2
    );
}

#[sqlx::test]
async fn the_webhook_signer_never_expires(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut client, env) = app.customer("ada@example.com").await;

    // The first secret signs webhooks: it cannot be created with an expiry.
    let reply = client
        .post_form(
            "/rpc/create_api_secret",
            &[
                ("environment_id", &env.to_string()),
                ("expires_on", &day(30)),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.body.contains(FIRST_CANNOT_EXPIRE), "{}", reply.body);
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 0);

    let first = created(&mut client, env).await.secret;
    let reply = set_expiry(&mut client, env, first.id, &day(30)).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.body.contains(SIGNER_CANNOT_EXPIRE), "{}", reply.body);

    // A second one may expire, and then cannot become the signer until its date is cleared.
    let reply = client
        .post_form(
            "/rpc/create_api_secret",
            &[
                ("environment_id", &env.to_string()),
                ("label", "temporary"),
                ("expires_on", &day(30)),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let second: portal::secrets::CreatedSecret = serde_json::from_str(&reply.body).unwrap();
    assert!(second.secret.expires_at.is_some());
    let reply = switch(&mut client, env, second.secret.id).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.body.contains(EXPIRING_CANNOT_SIGN), "{}", reply.body);
    assert_eq!(
        list(&mut client, env)
            .await
            .iter()
            .find(|s| s.webhook_signer)
            .unwrap()
            .id,
        first.id
    );

    // The database holds the rule too, whoever writes to it.
    let refused =
        sqlx::query("UPDATE api_secrets SET expires_at = now() + interval '1 day' WHERE id = $1")
            .bind(first.id)
            .execute(&pool)
            .await
            .unwrap_err();
    assert!(refused.to_string().contains("has an expiry"), "{refused}");
    let refused = sqlx::query("UPDATE environments SET webhook_signer_id = $2 WHERE id = $1")
        .bind(env)
        .bind(second.secret.id)
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("has an expiry"), "{refused}");

    let reply = set_expiry(&mut client, env, second.secret.id, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = switch(&mut client, env, second.secret.id).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // Now the first one may expire.
    let reply = set_expiry(&mut client, env, first.id, &day(30)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[sqlx::test]
async fn an_expired_secret_stops_verifying_at_that_instant_on_every_instance(pool: PgPool) {
    let (mut client, env, secrets) = TestApp::new(pool.clone()).customer_with_secrets(2).await;
    let (signer, expiring) = (&secrets[0].value, &secrets[1]);
    let mut other = Client::with_state(crate::helpers::state(pool.clone()));
    let reply = set_expiry(&mut client, env, expiring.secret.id, &day(2)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    // Its moment comes 5 seconds from now: both instances cache its keys before, and nothing
    // invalidates them after.
    let moment: chrono::DateTime<Utc> = sqlx::query_scalar(
        "UPDATE api_secrets SET expires_at = now() + interval '5 seconds' WHERE id = $1
         RETURNING expires_at",
    )
    .bind(expiring.secret.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    for instance in [&mut client, &mut other] {
        let reply = ping(instance, env, &expiring.value).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    assert!(Utc::now() < moment, "the pings took over 5 seconds");
    let wait = (moment - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(100)).await;
    for instance in [&mut client, &mut other] {
        let reply = ping(instance, env, &expiring.value).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        assert_eq!(error_code(&reply), "expired_secret");
        assert!(reply.body.contains("has expired"), "{}", reply.body);
        // The other secret works as before; a wrong signature is still just wrong.
        assert_eq!(ping(instance, env, signer).await.status, StatusCode::OK);
        assert_eq!(
            error_code(&ping(instance, env, "csk_made_up").await),
            "bad_signature"
        );
    }
    // The tab says so, in the row and above the table.
    let page = client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert!(page.body.contains("Expired just now"), "{}", page.body);
    assert!(
        page.body
            .contains("An API secret has expired: requests signed with it are refused."),
        "{}",
        page.body
    );

    // A new date brings it back (an admin's choice, in the audit trail).
    let reply = set_expiry(&mut client, env, expiring.secret.id, &day(3)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        ping(&mut client, env, &expiring.value).await.status,
        StatusCode::OK
    );
}

#[sqlx::test]
async fn webhooks_hear_of_an_expiry_a_week_and_a_day_before_and_after_once_each(pool: PgPool) {
    let (mut client, env, secrets) = TestApp::new(pool.clone()).customer_with_secrets(2).await;
    let reply = client
        .post_form(
            "/rpc/add_webhook",
            &[
                ("environment_id", &env.to_string()),
                ("url", "http://127.0.0.1:9/hook"),
                ("event_api_secret_expiring", "on"),
                ("event_api_secret_expired", "on"),
                ("max_retries", "0"),
                ("retry_interval_minutes", "1"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let second = &secrets[1].secret;
    let in_ten_days = day(10);
    let reply = set_expiry(&mut client, env, second.id, &in_ten_days).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let at = chrono::DateTime::parse_from_rfc3339(&format!("{in_ten_days}T00:00:00Z"))
        .unwrap()
        .to_utc();

    let notices = || async {
        sqlx::query_as::<_, (String, serde_json::Value)>(
            "SELECT event, payload FROM webhook_deliveries
              WHERE environment_id = $1 AND event <> 'ping' ORDER BY created_at",
        )
        .bind(env)
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    // Nothing 10 days ahead; then each threshold once, however many janitors look at once.
    assert_eq!(announce(&pool, Utc::now()).await.unwrap(), 0);
    for (moment, expected) in [
        (at - TimeDelta::days(7), 1),
        (at - TimeDelta::days(2), 0),
        (at - TimeDelta::hours(23), 1),
        (at - TimeDelta::seconds(1), 0),
        (at, 1),
        (at + TimeDelta::days(1), 0),
    ] {
        let (a, b) = tokio::join!(announce(&pool, moment), announce(&pool, moment));
        assert_eq!(a.unwrap() + b.unwrap(), expected, "at {moment}");
    }
    let seen = notices().await;
    let events: Vec<&str> = seen.iter().map(|(event, _)| event.as_str()).collect();
    assert_eq!(
        events,
        [
            "api_secret.expiring",
            "api_secret.expiring",
            "api_secret.expired"
        ]
    );
    assert_eq!(seen[0].1["within_days"], 7);
    assert_eq!(seen[1].1["within_days"], 1);
    for (_, payload) in &seen {
        assert_eq!(payload["id"], second.id.to_string());
        assert_eq!(payload["masked"], second.masked);
        assert!(!payload.to_string().contains(&secrets[1].value));
    }
    assert_eq!(seen[2].1["expired_at"], seen[0].1["expires_at"]);

    // A new date starts over; a date 12 hours away hears "in 1 day" only.
    let in_two_days = day(2);
    let reply = set_expiry(&mut client, env, second.id, &in_two_days).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let then = chrono::DateTime::parse_from_rfc3339(&format!("{in_two_days}T00:00:00Z"))
        .unwrap()
        .to_utc();
    assert_eq!(
        announce(&pool, then - TimeDelta::hours(12)).await.unwrap(),
        1
    );
    let last = notices().await.pop().unwrap();
    assert_eq!(last.0, "api_secret.expiring");
    assert_eq!(last.1["within_days"], 1);
}
