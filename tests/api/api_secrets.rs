//! API secrets against the real Postgres and the real router: shown once, sealed at rest, at
//! most 3, exactly one webhook signer, removal rules, audit trail, races.

use std::sync::Arc;

use crate::helpers::{Client, TestApp, count, create, created, list, message, remove, switch};
use axum::http::StatusCode;
use portal::{
    platform::crypto::Keyring,
    secrets::{
        CreatedSecret, LIMIT_REACHED, SIGNER_CANNOT_BE_REMOVED, SecretSummary, WRONG_PHRASE,
        removal_phrase, token,
    },
};
use sqlx::PgPool;
use uuid::Uuid;

/// The invariant: no secrets and no signer, or a signer that is one of the environment's secrets.
async fn assert_one_signer(pool: &PgPool, env: Uuid) -> (i64, Option<Uuid>) {
    let (count, signer, signer_is_ours): (i64, Option<Uuid>, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM api_secrets WHERE environment_id = e.id),
                e.webhook_signer_id,
                EXISTS (SELECT 1 FROM api_secrets s WHERE s.id = e.webhook_signer_id AND s.environment_id = e.id)
           FROM environments e WHERE e.id = $1",
    )
    .bind(env)
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(count <= 3, "{count} secrets");
    if count == 0 {
        assert_eq!(signer, None);
    } else {
        assert!(
            signer_is_ours,
            "signer {signer:?} is not one of the {count} secrets"
        );
    }
    (count, signer)
}

#[sqlx::test]
async fn a_new_secret_is_shown_once_and_never_again(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let reply = create(&mut client, env, " CI deploys ").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    let created: CreatedSecret = serde_json::from_str(&reply.body).unwrap();
    let value = created.value.clone();
    assert!(token::is_well_formed(&value), "{value}");
    assert_eq!(created.secret.masked, token::mask(&value));
    assert_eq!(created.secret.label, "CI deploys");
    assert!(
        created.secret.webhook_signer,
        "the first secret signs webhooks"
    );
    assert_eq!(created.secret.last_used_at, None);
    assert_eq!(created.secrets, vec![created.secret.clone()]);
    assert!(
        !format!("{created:?}").contains(&value),
        "Debug hides the value"
    );

    // Nothing else ever carries it: the page (HTML and hydration data), the list, the database.
    let page = client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&created.secret.masked));
    assert!(page.body.contains("CI deploys"));
    assert!(page.body.contains("Used with webhooks"));
    assert!(!page.body.contains(&value));
    assert!(!page.body.contains(&value[4..20]));
    let listed = client
        .post_form(
            "/rpc/list_api_secrets",
            &[("environment_id", &env.to_string())],
        )
        .await;
    assert!(!listed.body.contains(&value[4..20]), "{}", listed.body);
    let (masked, ciphertext, key_id): (String, Vec<u8>, String) =
        sqlx::query_as("SELECT masked, ciphertext, key_id FROM api_secrets")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(masked, created.secret.masked);
    assert_eq!(key_id, "test-1");
    assert!(
        !ciphertext
            .windows(16)
            .any(|w| w == &value.as_bytes()[4..20])
    );

    // The server can still use it: it decrypts to the value shown.
    let keyring = Keyring::parse(crate::helpers::TEST_KEYS).unwrap();
    let opened = portal::secrets::db::reveal(&pool, &keyring, env, created.secret.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.as_slice(), value.as_bytes());
}

#[sqlx::test]
async fn labels_are_checked_by_the_server(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let reply = create(&mut client, env, &"x".repeat(101)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        message(&reply),
        "The label must be at most 100 characters long."
    );
    let reply = create(&mut client, env, "a\u{7}b").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(assert_one_signer(&pool, env).await.0, 0);
}

#[sqlx::test]
async fn fifty_concurrent_creates_make_exactly_three_secrets(pool: PgPool) {
    let (client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let mut client = client.clone();
        tasks.spawn(async move { create(&mut client, env, "").await });
    }
    let (mut ok, mut limit) = (0, 0);
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        match reply.status {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => {
                assert_eq!(message(&reply), LIMIT_REACHED);
                limit += 1;
            }
            status => panic!("unexpected {status}: {}", reply.body),
        }
    }
    assert_eq!((ok, limit), (3, 47));
    let (count, signer) = assert_one_signer(&pool, env).await;
    assert_eq!(count, 3);
    // The signer is the first one created (the one that got slot 1, and the oldest).
    let first: Uuid = sqlx::query_scalar("SELECT id FROM api_secrets WHERE slot = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let oldest: Uuid = sqlx::query_scalar("SELECT id FROM api_secrets ORDER BY created_at LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(signer, Some(first));
    assert_eq!(oldest, first);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'api_secret.created'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 3);
}

#[sqlx::test]
async fn the_webhook_signer_switches_within_its_environment(pool: PgPool) {
    let (mut ada, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let first = created(&mut ada, env).await.secret;
    let second = created(&mut ada, env).await;
    assert!(
        !second.secret.webhook_signer,
        "only the first becomes the signer"
    );

    let reply = switch(&mut ada, env, second.secret.id).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let secrets: Vec<SecretSummary> = serde_json::from_str(&reply.body).unwrap();
    let signers: Vec<Uuid> = secrets
        .iter()
        .filter(|s| s.webhook_signer)
        .map(|s| s.id)
        .collect();
    assert_eq!(signers, vec![second.secret.id]);
    assert_eq!(
        assert_one_signer(&pool, env).await,
        (2, Some(second.secret.id))
    );
    // Again: nothing changes, nothing is audited twice.
    assert_eq!(
        switch(&mut ada, env, second.secret.id).await.status,
        StatusCode::OK
    );
    let switches = count(
        &pool,
        "SELECT count(*) FROM audit_events WHERE action = 'webhook_signer.changed'",
    )
    .await;
    assert_eq!(switches, 1);

    // Another organization can neither see nor touch these secrets, and gets what a random id gets.
    let (mut bob, bob_env) = TestApp::new(pool.clone()).customer("bob@example.com").await;
    let theirs = switch(&mut bob, env, first.id).await;
    let random = switch(&mut bob, Uuid::new_v4(), Uuid::new_v4()).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.body, random.body);
    // Nor can a secret of one environment sign another's webhooks.
    let bob_secret = created(&mut bob, bob_env).await.secret;
    assert_eq!(
        switch(&mut ada, env, bob_secret.id).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        switch(&mut bob, bob_env, first.id).await.status,
        StatusCode::NOT_FOUND
    );
    for reply in [
        create(&mut bob, env, "").await,
        remove(
            &mut bob,
            env,
            second.secret.id,
            &removal_phrase(&second.secret.masked),
        )
        .await,
        bob.post_form(
            "/rpc/list_api_secrets",
            &[("environment_id", &env.to_string())],
        )
        .await,
    ] {
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    }
    assert_eq!(
        bob.get(&format!("/environments/{env}/api-secrets"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        assert_one_signer(&pool, env).await,
        (2, Some(second.secret.id))
    );
}

#[sqlx::test]
async fn removal_needs_the_exact_phrase_and_never_takes_the_signer(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let signer = created(&mut client, env).await.secret;
    let other = created(&mut client, env).await.secret;

    let reply = remove(&mut client, env, signer.id, &removal_phrase(&signer.masked)).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(message(&reply), SIGNER_CANNOT_BE_REMOVED);

    let phrase = removal_phrase(&other.masked);
    for wrong in [
        "",
        "remove",
        &phrase.to_uppercase(),
        &format!("{phrase} "),
        "remove csk_",
    ] {
        let reply = remove(&mut client, env, other.id, wrong).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong:?}");
        assert_eq!(message(&reply), WRONG_PHRASE);
    }
    assert_eq!(assert_one_signer(&pool, env).await.0, 2);

    let reply = remove(&mut client, env, other.id, &phrase).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let secrets: Vec<SecretSummary> = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(secrets, vec![signer.clone()]);
    let gone: i64 = sqlx::query_scalar("SELECT count(*) FROM api_secrets WHERE id = $1")
        .bind(other.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(gone, 0);
    // Twice: it is gone.
    assert_eq!(
        remove(&mut client, env, other.id, &phrase).await.status,
        StatusCode::NOT_FOUND
    );

    // The audit trail: who, what, which (masked), from where.
    type AuditRow = (String, String, String, Option<String>, Option<String>);
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT action, actor_email, secret_masked, ip, user_agent FROM audit_events ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "api_secret.created",
            "api_secret.created",
            "api_secret.removed"
        ]
    );
    let removed = &rows[2];
    assert_eq!(removed.1, "ada@example.com");
    assert_eq!(removed.2, other.masked);
    assert_eq!(removed.3.as_deref(), Some("203.0.113.7"));
    assert_eq!(removed.4.as_deref(), Some("portal-tests"));
}

#[sqlx::test]
async fn switches_and_removals_race_without_breaking_the_signer_rule(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    for _ in 0..3 {
        created(&mut client, env).await;
    }
    for round in 0..12 {
        let secrets = list(&mut client, env).await;
        // Every request of the round at once: make each secret the signer, and remove each one.
        let mut tasks = tokio::task::JoinSet::new();
        for secret in &secrets {
            let (mut a, mut b) = (client.clone(), client.clone());
            let (id, phrase) = (secret.id, removal_phrase(&secret.masked));
            tasks.spawn(async move { switch(&mut a, env, id).await });
            tasks.spawn(async move { remove(&mut b, env, id, &phrase).await });
        }
        while let Some(reply) = tasks.join_next().await {
            let reply = reply.unwrap();
            assert!(
                matches!(reply.status.as_u16(), 200 | 404 | 409),
                "round {round}: {} {}",
                reply.status,
                reply.body
            );
        }
        let (count, signer) = assert_one_signer(&pool, env).await;
        assert!(count >= 1 && signer.is_some(), "round {round}");
        while list(&mut client, env).await.len() < 3 {
            created(&mut client, env).await;
        }
    }
}

#[sqlx::test]
async fn the_database_itself_keeps_the_rules(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let (_, other_env) = TestApp::new(pool.clone()).customer("bob@example.com").await;
    let signer = created(&mut client, env).await.secret;

    let fails = |sql: &'static str, args: Vec<Uuid>| {
        let pool = pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            let mut query = sqlx::query(sql);
            for arg in args {
                query = query.bind(arg);
            }
            let statement = query.execute(&mut *tx).await;
            let result = match statement {
                Ok(_) => tx.commit().await.map(|_| ()),
                Err(e) => Err(e),
            };
            assert!(result.is_err(), "{sql} was accepted");
        }
    };
    // The signer cannot be deleted, nor unset while secrets remain, nor be another's secret.
    fails("DELETE FROM api_secrets WHERE id = $1", vec![signer.id]).await;
    fails(
        "UPDATE environments SET webhook_signer_id = NULL WHERE id = $1",
        vec![env],
    )
    .await;
    fails(
        "UPDATE environments SET webhook_signer_id = $2 WHERE id = $1",
        vec![other_env, signer.id],
    )
    .await;
    // A secret inserted without a signer for its environment is refused at commit.
    fails(
        "INSERT INTO api_secrets (environment_id, slot, masked, key_id, nonce, ciphertext)
         VALUES ($1, 1, 'csk_…test', 'k', '\\x000000000000000000000000', '\\x00')",
        vec![other_env],
    )
    .await;
    // No 4th secret, whatever the application does: slots are 1 to 3 and unique.
    for slot in ["2", "3"] {
        sqlx::query(&format!(
            "INSERT INTO api_secrets (environment_id, slot, masked, key_id, nonce, ciphertext)
             VALUES ($1, {slot}, 'csk_…test', 'k', '\\x000000000000000000000000', '\\x00')"
        ))
        .bind(env)
        .execute(&pool)
        .await
        .unwrap();
    }
    for slot in ["1", "4", "0"] {
        let sql = format!(
            "INSERT INTO api_secrets (environment_id, slot, masked, key_id, nonce, ciphertext)
             VALUES ($1, {slot}, 'csk_…test', 'k', '\\x000000000000000000000000', '\\x00')"
        );
        let result = sqlx::query(&sql).bind(env).execute(&pool).await;
        assert!(result.is_err(), "slot {slot} accepted");
    }
    assert_eq!(assert_one_signer(&pool, env).await, (3, Some(signer.id)));
}

#[sqlx::test]
async fn the_audit_trail_is_append_only(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    created(&mut client, env).await;
    for sql in [
        "UPDATE audit_events SET actor_email = 'someone@else'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let error = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    let events = count(&pool, "SELECT count(*) FROM audit_events").await;
    assert_eq!(events, 1);
}

#[sqlx::test]
async fn secrets_sealed_under_an_old_master_key_open_after_rotation(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let old = created(&mut client, env).await;

    // Rotation: a new key first, the old one kept after it.
    let rotated_keys = format!(
        "test-2:{}\n{}",
        "0".repeat(62) + "2a",
        crate::helpers::TEST_KEYS
    );
    let mut state = crate::helpers::state(pool.clone());
    state.make_mut().keyring = Arc::new(Keyring::parse(&rotated_keys).unwrap());
    let keyring = state.keyring.clone();
    let mut rotated = Client::with_state(state);
    rotated.cookie = client.cookie.clone();
    let new = created(&mut rotated, env).await;

    let key_ids: Vec<String> =
        sqlx::query_scalar("SELECT key_id FROM api_secrets ORDER BY created_at, slot")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(key_ids, ["test-1", "test-2"]);
    for secret in [&old, &new] {
        let opened = portal::secrets::db::reveal(&pool, &keyring, env, secret.secret.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(opened.as_slice(), secret.value.as_bytes());
    }
    // The old key alone cannot open the new secret.
    let old_only = Keyring::parse(crate::helpers::TEST_KEYS).unwrap();
    assert!(
        portal::secrets::db::reveal(&pool, &old_only, env, new.secret.id)
            .await
            .is_err()
    );
}

/// Each instance caches an environment's page for a moment (under load, a view then costs no
/// query), drops it as soon as anyone changes what it shows, on whichever instance, and never
/// shows it to another organization.
#[sqlx::test]
async fn the_page_is_cached_until_anyone_changes_what_it_shows(pool: PgPool) {
    use portal::platform::{changes, environment_cache::EnvironmentCache};
    use std::time::Duration;

    let mut state = crate::helpers::state(pool.clone());
    // Long enough that only a change, never the clock, drops an entry during this test.
    state.make_mut().pages = Arc::new(EnvironmentCache::new(Duration::from_secs(600)));
    let pages = state.pages.clone();
    tokio::spawn(changes::listen(pool.clone(), vec![pages.clone()]));
    let following = || {
        let following = pages.is_following();
        async move { following }
    };
    crate::helpers::eventually("the instance follows changes", following).await;
    let app = TestApp::from(state);
    let (mut client, env, secrets) = app.customer_with_secrets(1).await;
    let tab = format!("/environments/{env}/api-secrets");
    let view = |client: &Client| {
        let (mut client, tab) = (client.clone(), tab.clone());
        async move {
            let reply = client.get(&tab).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            reply.body
        }
    };
    assert!(view(&client).await.contains(&secrets[0].secret.masked));

    // Cached: with the secrets locked against every read, the page still answers. A test
    // database's connections come and go under the whole suite's load, and a listener that had
    // to connect again drops what was cached: then the page is read again and locked again.
    let mut cached = None;
    for _ in 0..20 {
        crate::helpers::eventually("the instance follows changes", following).await;
        view(&client).await;
        let mut lock = pool.begin().await.unwrap();
        sqlx::query("LOCK TABLE api_secrets IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *lock)
            .await
            .unwrap();
        let page = tokio::time::timeout(Duration::from_secs(2), view(&client)).await;
        lock.rollback().await.unwrap();
        if let Ok(page) = page {
            cached = Some(page);
            break;
        }
    }
    let page = cached.expect("the page waited for the locked table every time");
    assert!(page.contains(&secrets[0].secret.masked));

    // Another organization's member asking for it gets "not found", cached or not.
    let (stranger, _) = app.customer("eve@example.com").await;
    let reply = stranger.clone().get(&tab).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // This instance's own action shows at once.
    let second = created(&mut client, env).await;
    assert!(view(&client).await.contains(&second.secret.masked));

    // Another instance's changes (here, straight in the database) show as soon as they commit.
    let label = "UPDATE api_secrets SET label = 'Nightly builds' WHERE id = $1";
    let removal = "DELETE FROM api_secrets WHERE id = $1";
    for (change, id, text, shown) in [
        (label, second.secret.id, "Nightly builds", true),
        (
            removal,
            second.secret.id,
            second.secret.masked.as_str(),
            false,
        ),
    ] {
        sqlx::query(change).bind(id).execute(&pool).await.unwrap();
        crate::helpers::eventually(change, || async {
            view(&client).await.contains(text) == shown
        })
        .await;
    }
}
