//! Step-up ("sudo mode"): the role table's dangerous actions need the person's password within
//! the last 10 minutes (a sign-in counts), the server enforces it, and the pages ask for it.
//! Generated from the table, like the role tests: every action, with and without a recent
//! confirmation.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use portal::{
    accounts::{roles::Action, step_up::WRONG_PASSWORD},
    error::AppError,
};
use sqlx::PgPool;

use crate::{
    helpers::{Client, PASSWORD, Reply, TestApp, count, created},
    roles::{attempt, snapshot},
};

const ASKED: &str = "Confirm your password to continue.";

/// Whether a server function (its JSON error) or a form (its page) answered that the action
/// needs a confirmation first.
pub fn asked(reply: &Reply) -> bool {
    reply.status == StatusCode::FORBIDDEN
        && (serde_json::from_str::<AppError>(&reply.body).ok()
            == Some(AppError::ConfirmationNeeded)
            || reply.body.contains(ASKED))
}

/// Moves `email`'s sessions' last confirmation `seconds` into the past, as time would.
pub async fn confirmed_ago(pool: &PgPool, email: &str, seconds: i32) {
    sqlx::query(
        "UPDATE user_sessions SET confirmed_at = now() - make_interval(secs => $2)
          WHERE user_id = (SELECT id FROM users WHERE email = $1)",
    )
    .bind(email)
    .bind(f64::from(seconds))
    .execute(pool)
    .await
    .unwrap();
}

async fn confirm(client: &mut Client, password: &str) -> Reply {
    client
        .post_form("/rpc/confirm_password", &[("password", password)])
        .await
}

#[sqlx::test]
async fn dangerous_actions_need_a_recent_confirmation_and_the_others_do_not(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    for action in Action::ALL {
        let tag = format!("{action:?}").to_lowercase();
        let email = format!("owner-{tag}@example.com");
        let (mut owner, env) = app.customer(&email).await;
        created(&mut owner, env).await;
        let second = created(&mut owner, env).await.secret;
        confirmed_ago(&pool, &email, 11 * 60).await;
        let before = snapshot(&pool, env).await;

        let reply = attempt(&mut owner, action, env, &second, &tag).await;
        if !action.needs_confirmation() {
            assert_eq!(reply.status, StatusCode::OK, "{tag}: {}", reply.body);
            continue;
        }
        assert!(asked(&reply), "{tag}: {} {}", reply.status, reply.body);
        assert_eq!(
            snapshot(&pool, env).await,
            before,
            "{tag}: refused, but changed"
        );

        // A wrong password confirms nothing, whatever it holds (markup, the right one with a
        // megabyte after it), and is never echoed; a body past the limit is not even read.
        for hostile in [
            "<script>alert(1)</script>".to_owned(),
            format!("{PASSWORD}{}", "x".repeat(1024 * 1024)),
        ] {
            let wrong = confirm(&mut owner, &hostile).await;
            assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{tag}");
            assert!(!wrong.body.contains("<script>"), "{tag}");
        }
        let unread = confirm(&mut owner, &"x".repeat(3 * 1024 * 1024)).await;
        assert_eq!(
            unread.status,
            StatusCode::BAD_REQUEST,
            "{tag}: {}",
            unread.body
        );
        let wrong = confirm(&mut owner, "not the password at all").await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{tag}");
        assert!(wrong.body.contains(WRONG_PASSWORD), "{tag}: {}", wrong.body);
        let reply = attempt(&mut owner, action, env, &second, &tag).await;
        assert!(asked(&reply), "{tag}: {} {}", reply.status, reply.body);
        assert_eq!(
            snapshot(&pool, env).await,
            before,
            "{tag}: refused, but changed"
        );

        // The right one does, and the action goes through.
        let right = confirm(&mut owner, PASSWORD).await;
        assert_eq!(right.status, StatusCode::OK, "{tag}: {}", right.body);
        let reply = attempt(&mut owner, action, env, &second, &tag).await;
        assert_eq!(reply.status, StatusCode::OK, "{tag}: {}", reply.body);
        assert_ne!(
            snapshot(&pool, env).await,
            before,
            "{tag}: allowed, but unchanged"
        );
    }
}

/// A confirmation is this session's only, for 10 minutes; a role that may not act is told so
/// (never asked for a password it could not use).
#[sqlx::test]
async fn a_confirmation_lasts_ten_minutes_in_its_own_session(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut laptop, env) = app.customer("ada@example.com").await;
    created(&mut laptop, env).await;
    let second = created(&mut laptop, env).await.secret;
    let mut phone = app.client();
    assert_eq!(
        phone.sign_in("ada@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let switch = Action::SwitchWebhookSigner;

    confirmed_ago(&pool, "ada@example.com", 10 * 60 - 20).await;
    let reply = attempt(&mut laptop, switch, env, &second, "a").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    confirmed_ago(&pool, "ada@example.com", 10 * 60 + 20).await;
    let reply = attempt(&mut laptop, switch, env, &second, "b").await;
    assert!(asked(&reply), "{}", reply.body);

    assert_eq!(confirm(&mut laptop, PASSWORD).await.status, StatusCode::OK);
    let reply = attempt(&mut laptop, switch, env, &second, "c").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = attempt(&mut phone, switch, env, &second, "d").await;
    assert!(asked(&reply), "the other session: {}", reply.body);

    let mut viewer = app
        .teammate(&mut laptop, "viewer@example.com", "viewer")
        .await;
    confirmed_ago(&pool, "viewer@example.com", 11 * 60).await;
    let reply = attempt(&mut viewer, Action::RemoveSecret, env, &second, "e").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply.body.contains(Action::RemoveSecret.refusal()),
        "{}",
        reply.body
    );
}

/// Guessing the password through the confirmation is the sign-in's throttle: five wrong tries,
/// then even the right password waits, and signing in does too. Each try is in the trail.
#[sqlx::test]
async fn wrong_confirmations_are_throttled_like_sign_ins(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut stolen, _env) = app.customer("ada@example.com").await;
    confirmed_ago(&pool, "ada@example.com", 11 * 60).await;
    for _ in 0..5 {
        let wrong = confirm(&mut stolen, "a guess at the password").await;
        assert_eq!(
            wrong.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            wrong.body
        );
    }
    let right = confirm(&mut stolen, PASSWORD).await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        right.body
    );
    assert!(
        right.body.contains("Too many wrong attempts. Try again in"),
        "{}",
        right.body
    );
    let mut elsewhere = app.client();
    elsewhere.ip = [198, 51, 100, 9].into();
    let sign_in = elsewhere.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(sign_in.status, StatusCode::TOO_MANY_REQUESTS);
    let failures = count(
        &pool,
        "SELECT count(*) FROM audit_events WHERE action = 'member.sign_in_failed'",
    )
    .await;
    assert_eq!(failures, 5);
}

/// A form post from the browser without JavaScript: HTML accepted, back to `referer` after.
async fn browser_post(client: &mut Client, uri: &str, body: &str, referer: &str) -> Reply {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("http://portal.test{referer}"))
        .header("sec-fetch-site", "same-origin");
    client.send(request, Body::from(body.to_owned())).await
}

/// The pages ask inline, without JavaScript: the Members tab shows "Confirm it's you" with its
/// controls waiting for it (a plain form that comes back to the page), the API secrets tab a
/// password field in its form. Nothing of the kind once confirmed.
#[sqlx::test]
async fn the_pages_ask_for_the_password_inline(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, env) = app.customer("ada@example.com").await;
    let tab = format!("/environments/{env}/api-secrets");
    let fresh = owner.get("/members").await;
    assert!(!fresh.body.contains("Confirm password"));
    assert!(!owner.get(&tab).await.body.contains("create-password"));

    confirmed_ago(&pool, "ada@example.com", 11 * 60).await;
    let members = owner.get("/members").await;
    assert!(
        members.body.contains("Confirm password"),
        "{}",
        members.body
    );
    assert!(
        members
            .body
            .contains(r#"aria-describedby="confirm-access-why""#),
        "the Invite button says why it waits"
    );
    assert!(
        owner
            .get(&tab)
            .await
            .body
            .contains(r#"id="create-password""#)
    );

    // Inviting (a plain form) is refused with the reason, on the page that asks.
    let invited = owner.invite("bob@example.com", "developer").await;
    assert_eq!(invited.status, StatusCode::FORBIDDEN);
    assert!(invited.body.contains(ASKED), "{}", invited.body);
    assert!(invited.body.contains("Confirm password"));

    let wrong = browser_post(
        &mut owner,
        "/rpc/confirm_password",
        "password=nope-nope-nope",
        "/members",
    )
    .await;
    assert!(wrong.status.is_redirection(), "{}", wrong.status);
    let shown = owner.get(wrong.location()).await;
    assert!(shown.body.contains(WRONG_PASSWORD), "{}", shown.body);

    let body = format!("password={}", portal::accounts::percent_encode(PASSWORD));
    let right = browser_post(&mut owner, "/rpc/confirm_password", &body, "/members").await;
    assert!(right.status.is_redirection(), "{}", right.status);
    assert_eq!(right.location(), "http://portal.test/members");
    let members = owner.get("/members").await;
    assert!(!members.body.contains("Confirm password"));
    let invited = owner.invite("bob@example.com", "developer").await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
}
