//! "Rotate": one transaction creates the replacement (value shown once), hands it the webhook
//! signing if the old one had it, marks the old one as rotating (optionally retiring it on a
//! date), within the limit of 3; the old one is safe to remove once unused for 24 hours.

use axum::http::StatusCode;
use portal::secrets::{ALREADY_ROTATING, CreatedSecret, ROTATE_LIMIT, SecretSummary};
use sqlx::PgPool;

use crate::helpers::{TestApp, created, list, message, rotate};

#[sqlx::test]
async fn rotating_the_signer_hands_over_signing_and_marks_the_old_one(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let old = created(&mut client, env).await.secret;
    assert!(old.webhook_signer);

    let in_a_month = (chrono::Utc::now() + chrono::TimeDelta::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let reply = rotate(&mut client, env, old.id, &in_a_month).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    let rotated: CreatedSecret = serde_json::from_str(&reply.body).unwrap();
    assert!(rotated.value.starts_with("csk_"));
    let new = &rotated.secret;
    assert!(new.webhook_signer && new.rotation.is_none());
    let secrets = list(&mut client, env).await;
    let old_now = secrets.iter().find(|s| s.id == old.id).unwrap();
    assert!(!old_now.webhook_signer);
    let rotation = old_now.rotation.as_ref().expect("rotating");
    assert_eq!(rotation.replaced_by, new.id);
    assert_eq!(rotation.replaced_by_masked, new.masked);
    assert!(
        !rotation.safe_to_remove,
        "never used, but it co-signs webhooks for a day"
    );
    assert!(
        old_now
            .expires_at
            .as_ref()
            .unwrap()
            .iso
            .starts_with(&in_a_month)
    );
    // Recorded as what happened: created, signer changed, expiry set.
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_events WHERE environment_id = $1 ORDER BY id")
            .bind(env)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            "api_secret.created",
            "api_secret.created",
            "webhook_signer.changed",
            "api_secret.expiry_changed"
        ]
    );

    // Used within the day: not yet safe; a day later it is.
    sqlx::query("UPDATE api_secrets SET last_used_at = now() - interval '2 hours' WHERE id = $1")
        .bind(old.id)
        .execute(&pool)
        .await
        .unwrap();
    let used = |secrets: Vec<SecretSummary>| {
        secrets
            .into_iter()
            .find(|s| s.id == old.id)
            .and_then(|s| s.rotation)
            .unwrap()
            .safe_to_remove
    };
    assert!(!used(list(&mut client, env).await));
    sqlx::query("UPDATE api_secrets SET last_used_at = now() - interval '25 hours' WHERE id = $1")
        .bind(old.id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(!used(list(&mut client, env).await), "still co-signing");
    sqlx::query(
        "UPDATE environments SET webhook_signer_changed_at = now() - interval '25 hours' WHERE id = $1",
    )
    .bind(env)
    .execute(&pool)
    .await
    .unwrap();
    assert!(used(list(&mut client, env).await));

    // Rotated once is enough: the old one cannot be rotated again.
    let again = rotate(&mut client, env, old.id, "").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(message(&again), ALREADY_ROTATING);
}

#[sqlx::test]
async fn rotation_stays_within_the_limit_and_refuses_bad_dates(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let first = created(&mut client, env).await.secret;
    let second = created(&mut client, env).await.secret;
    // Not the signer: the signer stays.
    let reply = rotate(&mut client, env, second.id, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let rotated: CreatedSecret = serde_json::from_str(&reply.body).unwrap();
    assert!(!rotated.secret.webhook_signer);
    assert_eq!(
        rotated.secrets.iter().filter(|s| s.webhook_signer).count(),
        1
    );
    assert!(
        rotated
            .secrets
            .iter()
            .any(|s| s.id == first.id && s.webhook_signer)
    );

    // Three secrets: rotating would make a fourth.
    let full = rotate(&mut client, env, first.id, "").await;
    assert_eq!(full.status, StatusCode::CONFLICT);
    assert_eq!(message(&full), ROTATE_LIMIT);
    assert_eq!(list(&mut client, env).await.len(), 3);

    // Removing the new one ends the rotation; a past date changes nothing.
    let phrase = portal::secrets::removal_phrase(&rotated.secret.masked);
    let removed = crate::helpers::remove(&mut client, env, rotated.secret.id, &phrase).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    let secrets = list(&mut client, env).await;
    assert!(secrets.iter().all(|s| s.rotation.is_none()));
    let past = rotate(&mut client, env, first.id, "2020-01-01").await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(list(&mut client, env).await.len(), 2);
}
