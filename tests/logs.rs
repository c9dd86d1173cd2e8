//! Everything the server logs, captured by the process-wide subscriber. A test binary of its own:
//! a thread-local subscriber (`set_default`) races with other tests' threads over tracing's
//! per-callsite interest cache, and then sees nothing.
#![cfg(feature = "ssr")]

#[path = "api/helpers.rs"]
mod common;

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use common::{create, created, list, remove};
use portal::secrets::removal_phrase;
use sqlx::PgPool;

/// Everything the server logs (every level, every module) while secrets are created, listed,
/// refused and removed, an invitation is made, opened, refused and accepted, and two-factor
/// authentication is set up and used: no secret's value, invitation token, password, two-factor
/// key or code is ever in it.
#[sqlx::test]
async fn secrets_tokens_passwords_and_two_factor_codes_never_reach_the_logs(pool: PgPool) {
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let app = common::TestApp::new(pool.clone());
    let (mut client, env) = app.customer("ada@example.com").await;
    let mut values = Vec::new();
    for _ in 0..3 {
        values.push(created(&mut client, env).await);
    }
    assert_eq!(
        create(&mut client, env, "").await.status,
        StatusCode::CONFLICT
    );
    list(&mut client, env).await;
    let last = &values[2].secret;
    remove(&mut client, env, last.id, "wrong").await;
    remove(&mut client, env, last.id, &removal_phrase(&last.masked)).await;
    client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    let invited = client.invite("bob@example.com", "developer").await;
    let link = common::invitation_link(&invited.body).unwrap();
    let token = link.split_once("token=").unwrap().1.to_owned();
    let mut bob = app.client();
    bob.open_invitation(&format!("{link}x")).await;
    bob.open_invitation(&link).await;
    bob.post_form("/join/sign-up", &[("password", "short")])
        .await;
    bob.post_form("/join/sign-up", &[("password", common::PASSWORD)])
        .await;
    bob.open_invitation(&link).await;
    // Passwords typed to confirm a dangerous action, right or wrong.
    let guess = "my wrong guess 4711";
    for password in [guess, common::PASSWORD] {
        client
            .post_form("/rpc/confirm_password", &[("password", password)])
            .await;
    }

    // Two-factor authentication: its key, codes and recovery codes, right and wrong.
    let (key, seed, codes) = common::turn_on_with_key(&mut client).await;
    client.post_form("/sign-out", &[]).await;
    client.sign_in("ada@example.com", common::PASSWORD).await;
    let wrong_code = if common::code_at(&seed, common::now()) == "424242" {
        "242424"
    } else {
        "424242"
    };
    for code in [wrong_code, codes[0].as_str()] {
        client
            .post_form("/sign-in/two-factor", &[("code", code)])
            .await;
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("/rpc/create_api_secret"), "the capture works");
    for created in &values {
        assert!(
            !logs.contains(&created.value[4..20]),
            "a value reached the logs"
        );
    }
    assert!(logs.contains("/invitations/accept"), "the capture works");
    assert!(!logs.contains(&token[4..20]), "a token reached the logs");
    assert!(logs.contains("/rpc/confirm_password"), "the capture works");
    for password in [guess, common::PASSWORD] {
        assert!(!logs.contains(password), "a password reached the logs");
    }
    assert!(logs.contains("/sign-in/two-factor"), "the capture works");
    let key_digits = key.replace(' ', "");
    assert!(
        !logs.contains(&key_digits[..16]) && !logs.contains(&key[..14]),
        "a two-factor key reached the logs"
    );
    for code in codes.iter().map(String::as_str).chain([wrong_code]) {
        assert!(!logs.contains(code), "a code reached the logs");
    }
}
