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
        Client, PASSWORD, Reply, TestApp, base32, between, code_at, count, created, now,
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
    let key = between(&setup.body, "<code class=\"manual-key\">", "</code>").unwrap();
    let seed = base32(key);
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT ciphertext FROM two_factor")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!sealed.windows(seed.len()).any(|w| w == seed.as_slice()));
    let again = client.get("/security").await;
    assert!(!again.body.contains(key), "the key is shown once");
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

#[sqlx::test]
async fn step_up_takes_a_code_once_and_changes_need_it(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut ada, env) = app.customer("ada@example.com").await;
    let (seed, _) = turn_on(&mut ada).await;
    confirmed_ago(&pool, "ada@example.com", 11 * 60).await;

    // Turning it off, new recovery codes and a new set-up all wait for a confirmation.
    for form in ["disable", "recovery-codes", "setup"] {
        let reply = ada
            .post_form(&format!("/security/two-factor/{form}"), &[])
            .await;
        assert!(asked(&reply), "{form}: {} {}", reply.status, reply.body);
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM two_factor").await, 1);
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

    let off = ada.post_form("/security/two-factor/disable", &[]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert_eq!(count(&pool, "SELECT count(*) FROM two_factor").await, 0);
    assert_eq!(count(&pool, "SELECT count(*) FROM recovery_codes").await, 0);
    let plain = ada.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(plain.location(), "/", "no second step once off");
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
    let off = dev.post_form("/security/two-factor/disable", &[]).await;
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
