//! Everything the server process writes, at every level of every module, while secrets are
//! created, listed, refused and removed, an invitation is made, opened, refused and accepted, and
//! two-factor authentication is set up and used: no secret's value, invitation token, password,
//! two-factor key or code is ever in it. The server's own binary, with its own log setup, over
//! real HTTP: what an operator's log collector would receive.

use axum::http::StatusCode;
use portal::secrets::removal_phrase;
use sqlx::PgPool;

use crate::{
    helpers::{
        PASSWORD, code_at, create, created, environment_id, invitation_link, list, now, remove,
        turn_on_with_key,
    },
    process::{Server, database_url},
};

#[sqlx::test]
async fn secrets_tokens_passwords_and_two_factor_codes_never_reach_the_logs(pool: PgPool) {
    let server = Server::start(&database_url(&pool), &[("RUST_LOG", "trace")]).await;
    let mut client = server.client();
    let signed_up = client.sign_up("ada@example.com", "Acme").await;
    assert_eq!(
        signed_up.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_up.body
    );
    let env = environment_id(signed_up.location());
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
    let link = invitation_link(&invited.body).unwrap();
    let token = link.split_once("token=").unwrap().1.to_owned();
    let mut bob = server.client();
    bob.open_invitation(&format!("{link}x")).await;
    bob.open_invitation(&link).await;
    bob.post_form("/join/sign-up", &[("password", "short")])
        .await;
    let joined = bob
        .post_form("/join/sign-up", &[("password", PASSWORD)])
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    bob.open_invitation(&link).await;
    // Passwords typed to confirm a dangerous action, right or wrong.
    let guess = "my wrong guess 4711";
    for password in [guess, PASSWORD] {
        client
            .post_form("/rpc/confirm_password", &[("password", password)])
            .await;
    }

    // Two-factor authentication: its key, codes and recovery codes, right and wrong.
    let (key, seed, codes) = turn_on_with_key(&mut client).await;
    client.post_form("/sign-out", &[]).await;
    client.sign_in("ada@example.com", PASSWORD).await;
    let wrong_code = if code_at(&seed, now()) == "424242" {
        "242424"
    } else {
        "424242"
    };
    for code in [wrong_code, codes[0].as_str()] {
        client
            .post_form("/sign-in/two-factor", &[("code", code)])
            .await;
    }
    let signed_in = client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::OK,
        "the recovery code signed in"
    );

    let logs = server.log();
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
    for password in [guess, PASSWORD] {
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
