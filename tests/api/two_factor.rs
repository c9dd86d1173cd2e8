//! Two-factor authentication against the real server: set up from the Security page's forms,
//! codes computed here as an authenticator app would (RFC 6238 over ring's HMAC-SHA1, not the
//! server's TOTP crate), sign-in's second step, each code and recovery code once, the throttle,
//! step-up by code, and an organization that requires it.

use axum::http::{StatusCode, header};
use portal::accounts::{
    step_up::WRONG_CODE as WRONG_STEP_UP_CODE, two_factor::handlers::WRONG_CODE,
};
use sqlx::PgPool;

use crate::{
    helpers::{
        Client, PASSWORD, Reply, TestApp, base32, code_at, count, created, manual_key, now,
        recovery_codes, turn_on,
    },
    step_up::{asked, confirmed_ago},
};

async fn enable(client: &mut Client, code: &str) -> Reply {
    client
        .post_form("/security/two-factor/enable", &[("code", code)])
        .await
}

async fn second_step(client: &mut Client, code: &str) -> Reply {
    client
        .post_form("/sign-in/two-factor", &[("code", code)])
        .await
}

/// Signs out, and in with the password: the second step waits.
async fn password_step(client: &mut Client, email: &str) {
    client.post_form("/sign-out", &[]).await;
    let reply = client.sign_in(email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), "/sign-in/two-factor");
}

#[sqlx::test]
async fn two_factor_is_set_up_with_a_code_and_then_asked_at_every_sign_in(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut client, env) = app.customer("ada@example.com").await;
    let page = client.get("/security").await;
    assert!(page.body.contains("Set up two-factor authentication"));

    // The set-up's answer is the only one that shows the key; the database holds it sealed.
    let setup = client.post_form("/security/two-factor/setup", &[]).await;
    let key = manual_key(&setup.body).unwrap();
    let seed = base32(&key);
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT ciphertext FROM two_factor")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!sealed.windows(seed.len()).any(|w| w == seed.as_slice()));
    let again = client.get("/security").await;
    assert!(!again.body.contains(&key), "the key is shown once");
    assert!(again.body.contains("finish setting up"));

    // A wrong code turns nothing on; the right one does, with recovery codes shown once.
    let right = code_at(&seed, now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let refused = enable(&mut client, wrong).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(WRONG_CODE), "{}", refused.body);
    let on = enable(&mut client, &right).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let codes = recovery_codes(&on.body);
    assert_eq!(codes.len(), 10);
    let page = client.get("/security").await;
    assert!(
        page.body.contains("10 recovery codes left"),
        "{}",
        page.body
    );
    assert!(codes.iter().all(|code| !page.body.contains(code.as_str())));
    let stored: i64 = count(&pool, "SELECT count(*) FROM recovery_codes").await;
    assert_eq!(stored, 10);
    let again = enable(&mut client, &code_at(&seed, now() + 30)).await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "on already: no new codes"
    );

    // Signing in: the password alone signs nobody in.
    password_step(&mut client, "ada@example.com").await;
    let tab = client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert!(
        tab.location().starts_with("/sign-in?next="),
        "{}",
        tab.location()
    );
    let form = client.get("/sign-in/two-factor").await;
    assert!(form.body.contains("Authentication code"), "{}", form.body);
    // The code that turned it on was used: never again. The next step's is accepted.
    let replayed = second_step(&mut client, &right).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    assert!(replayed.body.contains(WRONG_CODE), "{}", replayed.body);
    let next = code_at(&seed, now() + 30);
    let signed_in = second_step(&mut client, &next).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let tab = client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert_eq!(tab.status, StatusCode::OK);

    // Again: that code is spent too; a recovery code (typed loosely) works, once.
    password_step(&mut client, "ada@example.com").await;
    assert_eq!(
        second_step(&mut client, &next).await.status,
        StatusCode::UNAUTHORIZED
    );
    let loose = codes[3].to_uppercase().replace('-', " ");
    let recovered = second_step(&mut client, &loose).await;
    assert_eq!(
        recovered.status,
        StatusCode::SEE_OTHER,
        "{}",
        recovered.body
    );
    password_step(&mut client, "ada@example.com").await;
    let spent = second_step(&mut client, &codes[3]).await;
    assert_eq!(spent.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        second_step(&mut client, &codes[4]).await.status,
        StatusCode::SEE_OTHER
    );
    let page = client.get("/security").await;
    assert!(page.body.contains("8 recovery codes left"), "{}", page.body);

    // The trail says so.
    let trail = |action: &'static str| {
        let pool = pool.clone();
        async move {
            let sql = format!("SELECT count(*) FROM audit_events WHERE action = '{action}'");
            count(&pool, &sql).await
        }
    };
    assert_eq!(trail("member.two_factor_enabled").await, 1);
    assert_eq!(trail("member.recovery_code_used").await, 2);
    assert!(trail("member.two_factor_failed").await >= 4);
}

#[sqlx::test]
async fn a_second_step_without_a_password_step_signs_nobody_in(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut ada, _) = app.customer("ada@example.com").await;
    let (seed, _) = turn_on(&mut ada).await;
    let mut stranger = app.client();
    let reply = second_step(&mut stranger, &code_at(&seed, now() + 30)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/sign-in");
    assert!(
        stranger
            .get("/security")
            .await
            .location()
            .starts_with("/sign-in")
    );
    let page = stranger.get("/sign-in/two-factor").await;
    assert!(
        page.body.contains("Your sign-in has expired"),
        "{}",
        page.body
    );
}

#[sqlx::test]
async fn wrong_codes_are_throttled_and_the_right_password_does_not_reset_the_count(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut ada, _) = app.customer("ada@example.com").await;
    let (seed, _) = turn_on(&mut ada).await;
    let mut thief = app.client();
    thief.ip = [198, 51, 100, 9].into();
    // Each password step and each code counts until a code is right: 5 per account.
    for _ in 0..2 {
        thief.sign_in("ada@example.com", PASSWORD).await;
        let wrong = second_step(&mut thief, "<script>1</script>").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
        assert!(!wrong.body.contains("<script>1"));
    }
    password_step(&mut thief, "ada@example.com").await;
    let wrong = second_step(&mut thief, "123456").await;
    assert_eq!(
        wrong.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        wrong.body
    );
    // The limit is reached: the password step itself and the right code are refused.
    let throttled = thief.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let right = second_step(&mut thief, &code_at(&seed, now() + 30)).await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        right.body
    );
    assert!(right.headers.contains_key(header::RETRY_AFTER));
}

/// A password step-up (by a session that passed the second factor) counts no failure, and takes
/// back none counted before it: a stolen session and password cannot reset the count of wrong
/// codes to guess more.
#[sqlx::test]
async fn a_password_step_up_neither_counts_nor_clears_wrong_codes(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut ada, env) = app.customer("ada@example.com").await;
    turn_on(&mut ada).await;
    let mut thief = app.client();
    thief.ip = [198, 51, 100, 9].into();
    password_step(&mut thief, "ada@example.com").await;
    let wrong = second_step(&mut thief, "123456").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    let failures = "SELECT count(*) FROM sign_in_failures WHERE email = 'ada@example.com'";
    assert_eq!(count(&pool, failures).await, 2);
    for _ in 0..3 {
        let confirmed = ada
            .post_form("/rpc/confirm_password", &[("password", PASSWORD)])
            .await;
        assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
        assert_eq!(count(&pool, failures).await, 2);
    }
    created(&mut ada, env).await;
}

#[sqlx::test]
async fn step_up_takes_a_code_once_and_changes_need_it(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut ada, env) = app.customer("ada@example.com").await;
    let (seed, codes) = turn_on(&mut ada).await;
    confirmed_ago(&pool, "ada@example.com", 11 * 60).await;

    // A new set-up waits for a confirmation; new recovery codes and turning it off want a code
    // (or a recovery code) in their own form: the password (or nothing) is not one.
    let setup = ada.post_form("/security/two-factor/setup", &[]).await;
    assert!(asked(&setup), "{} {}", setup.status, setup.body);
    for form in ["disable", "recovery-codes"] {
        for typed in ["", PASSWORD] {
            let reply = ada
                .post_form(&format!("/security/two-factor/{form}"), &[("code", typed)])
                .await;
            assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{form}");
            assert!(reply.body.contains(WRONG_CODE), "{form}: {}", reply.body);
        }
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM two_factor").await, 1);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM recovery_codes").await,
        10
    );

    // Step-up takes a code, once.
    let code = code_at(&seed, now() + 30);
    let confirm = |code: String| {
        let mut ada = ada.clone();
        async move {
            ada.post_form("/rpc/confirm_password", &[("password", &code)])
                .await
        }
    };
    assert_eq!(confirm(code.clone()).await.status, StatusCode::OK);
    let replayed = confirm(code).await;
    assert_eq!(replayed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(replayed.body.contains(WRONG_STEP_UP_CODE));
    created(&mut ada, env).await;

    // New recovery codes (with a recovery code): the old ones stop working.
    let renewed = ada
        .post_form(
            "/security/two-factor/recovery-codes",
            &[("code", &codes[0])],
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let new_codes = recovery_codes(&renewed.body);
    assert_eq!(new_codes.len(), 10);
    let stale = ada
        .post_form("/security/two-factor/disable", &[("code", &codes[1])])
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);

    let off = ada
        .post_form("/security/two-factor/disable", &[("code", &new_codes[0])])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert_eq!(count(&pool, "SELECT count(*) FROM two_factor").await, 0);
    assert_eq!(count(&pool, "SELECT count(*) FROM recovery_codes").await, 0);
    let plain = ada.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(plain.location(), "/", "no second step once off");
}

/// Turning it off while an owner's "require it" is under way waits for that change, and is then
/// refused: it cannot slip between the owner's check and commit.
#[sqlx::test]
async fn it_cannot_be_turned_off_while_an_organization_starts_to_require_it(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut ada, _) = app.customer("ada@example.com").await;
    let (seed, _) = turn_on(&mut ada).await;
    let mut requiring = pool.begin().await.unwrap();
    sqlx::query("UPDATE organizations SET require_two_factor = true")
        .execute(&mut *requiring)
        .await
        .unwrap();
    let code = code_at(&seed, now() + 30);
    let disable = tokio::spawn(async move {
        ada.post_form("/security/two-factor/disable", &[("code", &code)])
            .await
    });
    // Until the request waits for the owner's change (or, were it not to, is done).
    let waiting = "SELECT count(*) FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock'";
    for _ in 0..200 {
        if disable.is_finished() || count(&pool, waiting).await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    requiring.commit().await.unwrap();
    let reply = disable.await.unwrap();
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.body.contains("requires two-factor authentication"));
    assert_eq!(count(&pool, "SELECT count(*) FROM two_factor").await, 1);
}

#[sqlx::test]
async fn an_organization_that_requires_two_factor_sends_members_without_it_to_set_it_up(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone());
    let (mut owner, env) = app.customer("owner@example.com").await;
    let mut dev = app
        .teammate(&mut owner, "dev@example.com", "developer")
        .await;
    let required = dev
        .post_form("/rpc/require_two_factor", &[("required", "true")])
        .await;
    assert_eq!(required.status, StatusCode::FORBIDDEN);
    let required = owner
        .post_form("/rpc/require_two_factor", &[("required", "true")])
        .await;
    assert_eq!(required.status, StatusCode::OK, "{}", required.body);

    // The developer (and the owner: the rule is everyone's) may open only their Security page.
    let tab = format!("/environments/{env}/api-secrets");
    for client in [&mut dev, &mut owner] {
        let page = client.get(&tab).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/security");
        let create = client
            .post_form(
                "/rpc/create_api_secret",
                &[("environment_id", &env.to_string())],
            )
            .await;
        assert_eq!(create.status, StatusCode::FORBIDDEN);
        assert!(create.body.contains("requires two-factor authentication"));
        let security = client.get("/security").await;
        assert_eq!(security.status, StatusCode::OK);
        assert!(
            security
                .body
                .contains("requires two-factor authentication of its members")
        );
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 0);

    turn_on(&mut dev).await;
    assert_eq!(dev.get(&tab).await.status, StatusCode::OK);
    // While required, it stays on.
    let off = dev
        .post_form("/security/two-factor/disable", &[("code", "")])
        .await;
    assert_eq!(off.status, StatusCode::CONFLICT, "{}", off.body);
    assert_eq!(count(&pool, "SELECT count(*) FROM two_factor").await, 1);
    turn_on(&mut owner).await;
    let members = owner.get("/members").await;
    assert!(members.body.contains("Two-factor"));
    assert!(
        members
            .body
            .contains("Stop requiring two-factor authentication")
    );
    let trail = "SELECT count(*) FROM audit_events WHERE action = 'member.two_factor_required'";
    assert_eq!(count(&pool, trail).await, 1);
}

/// Someone with two-factor authentication whom every organization removed joins again from an
/// invitation: the join page's sign-in asks for the code as well, and both together join.
#[sqlx::test]
async fn joining_by_sign_in_asks_for_the_code_too(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, _) = app.customer("owner@example.com").await;
    let mut bob = app.teammate(&mut owner, "bob@example.com", "viewer").await;
    let (seed, _) = turn_on(&mut bob).await;
    let bob_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'bob@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let removed = owner
        .post_form("/rpc/remove_member", &[("user_id", &bob_id.to_string())])
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);

    let invited = owner.invite("bob@example.com", "developer").await;
    let link = crate::helpers::invitation_link(&invited.body).unwrap();
    let mut bob = app.client();
    bob.open_invitation(&link).await;
    let asked = bob
        .post_form("/join/sign-in", &[("password", PASSWORD)])
        .await;
    assert_eq!(asked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(asked.body.contains("Authentication code"), "{}", asked.body);
    let wrong = bob
        .post_form(
            "/join/sign-in",
            &[("password", PASSWORD), ("code", "000000x")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    let members = "SELECT count(*) FROM memberships WHERE role = 'developer'";
    assert_eq!(count(&pool, members).await, 0);
    let code = code_at(&seed, now() + 30);
    let joined = bob
        .post_form("/join/sign-in", &[("password", PASSWORD), ("code", &code)])
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert_eq!(count(&pool, members).await, 1);
}

/// After a master key rotation, a seed sealed with the old key still checks codes, and is
/// sealed again with the new key as it does (so the old key can go).
#[sqlx::test]
async fn a_seed_moves_to_the_current_master_key_when_used(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut ada, _) = app.customer("ada@example.com").await;
    let (seed, _) = turn_on(&mut ada).await;
    let key_id = "SELECT key_id FROM two_factor";
    let sealed_with = |pool: PgPool| async move {
        sqlx::query_scalar::<_, String>(key_id)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(sealed_with(pool.clone()).await, "test-1");

    let rotated = format!(
        "test-2:{}\n{}",
        "0".repeat(62) + "2a",
        crate::helpers::TEST_KEYS
    );
    let mut state = crate::helpers::state(pool.clone());
    state.make_mut().keyring =
        std::sync::Arc::new(portal::platform::crypto::Keyring::parse(&rotated).unwrap());
    let mut after = Client::with_state(state);
    after.sign_in("ada@example.com", PASSWORD).await;
    let signed_in = second_step(&mut after, &code_at(&seed, now() + 30)).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(sealed_with(pool.clone()).await, "test-2");
}
