//! The API secrets tab's plain form posts (before the WASM loads, or without JavaScript): the
//! same rules as the server functions, POST-redirect-GET, the new value shown once on the page
//! after the post, to the session that made it, and never in a URL.

use axum::http::StatusCode;
use portal::secrets::{LIMIT_REACHED, SIGNER_CANNOT_BE_REMOVED, WRONG_PHRASE, token};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    helpers::{Client, PASSWORD, Reply, TestApp, count, list, signed_call, text},
    step_up::confirmed_ago,
};

fn tab(env: Uuid) -> String {
    format!("/environments/{env}/api-secrets")
}

async fn create_by_form(client: &mut Client, env: Uuid, label: &str) -> Reply {
    client.post_form(&tab(env), &[("label", label)]).await
}

/// The `Set-Cookie` that carries the tab's notice, as `name=value`.
fn notice_cookie(reply: &Reply) -> String {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("api_secrets_done="))
        .unwrap_or_else(|| panic!("no notice cookie: {:?}", reply.headers))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The value a page shows in its read-only field, if any.
fn shown_value(body: &str) -> Option<String> {
    let from = body.find("value=\"csk_")? + "value=\"".len();
    Some(body[from..from + token::LEN].to_owned())
}

#[sqlx::test]
async fn a_secret_created_by_a_plain_form_is_shown_once_to_its_session(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut client, env) = app.customer("ada@example.com").await;
    let reply = create_by_form(&mut client, env, "CI deploys").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let secrets = list(&mut client, env).await;
    let secret = &secrets[0];
    let next = format!("{}/{}/new", tab(env), secret.id);
    assert_eq!(reply.location(), next);
    assert!(
        !reply.location().contains("CI"),
        "the label stays out of URLs"
    );
    assert_eq!(secret.label, "CI deploys");
    assert!(secret.webhook_signer);

    // Another session of the same person cannot take it; nor can it be taken from another
    // environment's address.
    let mut other = app.client();
    assert_eq!(
        other.sign_in("ada@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let page = other.get(&next).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(shown_value(&page.body), None);
    let elsewhere = format!(
        "/environments/{}/api-secrets/{}/new",
        Uuid::new_v4(),
        secret.id
    );
    assert_eq!(shown_value(&client.get(&elsewhere).await.body), None);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM api_secret_reveals").await,
        1
    );

    let page = client.get(&next).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.headers["cache-control"], "no-store");
    let value = shown_value(&page.body).expect("the value, once");
    assert_eq!(token::mask(&value), secret.masked);
    assert!(text(&page.body).contains("Copy it now and keep it in a safe place."));
    // It is the real secret: it signs a REST call.
    let ping = format!("/api/v1/environments/{env}/ping");
    assert_eq!(
        signed_call(&client, &value, "GET", &ping, "").await.status,
        StatusCode::OK
    );

    // Reloaded (or reached by Back): gone for good.
    let again = client.get(&next).await;
    assert_eq!(shown_value(&again.body), None);
    assert!(
        again.body.contains("cannot be shown again"),
        "{}",
        again.body
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM api_secret_reveals").await,
        0
    );
    let tab_page = client.get(&tab(env)).await;
    assert!(!tab_page.body.contains(&value[4..]));
}

#[sqlx::test]
async fn plain_forms_keep_every_rule_and_say_why_next_to_the_field(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    for label in ["one", "two", "three"] {
        let reply = create_by_form(&mut client, env, label).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    }
    let secrets = list(&mut client, env).await;
    let (signer, second) = (&secrets[0], &secrets[1]);

    // The limit: the tab again, with the reason and what was typed.
    let refused = create_by_form(&mut client, env, "fourth").await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        text(&refused.body).contains(LIMIT_REACHED),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"fourth\""),
        "{}",
        refused.body
    );
    let refused = create_by_form(&mut client, env, "tab\there").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 3);

    // Use with webhooks: back to the tab, which says so once.
    let page = format!("{}/{}", tab(env), second.id);
    let confirm = client.get(&format!("{page}/use-with-webhooks")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(text(&confirm.body).contains(&second.masked));
    let reply = client
        .post_form(&format!("{page}/use-with-webhooks"), &[])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), tab(env));
    let notice = notice_cookie(&reply);
    let mut with_notice = client.clone();
    with_notice.cookie = Some(format!("{}; {notice}", client.cookie.clone().unwrap()));
    let shown = with_notice.get(&tab(env)).await;
    let said = format!("API secret {} is now used with webhooks.", second.masked);
    assert!(text(&shown.body).contains(&said), "{}", shown.body);
    assert!(notice_cookie(&shown).ends_with('='), "the tab clears it");
    assert!(list(&mut client, env).await[1].webhook_signer);

    // Remove: a wrong phrase is refused next to the field, and removes nothing.
    let signer_page = format!("{}/{}/remove", tab(env), signer.id);
    let phrase = portal::secrets::removal_phrase(&signer.masked);
    let wrong = client
        .post_form(&signer_page, &[("phrase", "remove it")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&wrong.body).contains(WRONG_PHRASE), "{}", wrong.body);
    assert!(wrong.body.contains("aria-invalid=\"true\""));
    // The signer cannot be removed, whatever is posted.
    let page_of_second = format!("{}/{}/remove", tab(env), second.id);
    let second_phrase = portal::secrets::removal_phrase(&second.masked);
    let refused = client
        .post_form(&page_of_second, &[("phrase", &second_phrase)])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(text(&refused.body).contains(SIGNER_CANNOT_BE_REMOVED));
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 3);

    // From another site: refused before anything is read.
    let forged = client
        .post_form_from(&signer_page, &[("phrase", &phrase)], "cross-site")
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 3);

    let removed = client.post_form(&signer_page, &[("phrase", &phrase)]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let notice = notice_cookie(&removed);
    assert!(
        notice.ends_with(&signer.masked[signer.masked.len() - 4..]),
        "{notice}"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 2);
    let audited = "SELECT count(*) FROM audit_events WHERE action = 'api_secret.removed'";
    assert_eq!(count(&pool, audited).await, 1);

    // Someone else's environment and secret: not found, nothing changed.
    let (mut mallory, _) = TestApp::new(pool.clone())
        .customer("mallory@example.com")
        .await;
    let theirs = mallory
        .post_form(&page_of_second, &[("phrase", &second_phrase)])
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let theirs = mallory.post_form(&tab(env), &[("label", "planted")]).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 2);
}

#[sqlx::test]
async fn a_plain_form_asks_for_the_password_when_the_confirmation_is_old(pool: PgPool) {
    let (client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    confirmed_ago(&pool, "ada@example.com", 3600).await;
    // A fresh instance: its cache has not seen the session confirmed.
    let mut fresh = TestApp::new(pool.clone()).client();
    fresh.cookie = client.cookie.clone();
    let mut client = fresh;
    let asked = create_by_form(&mut client, env, "").await;
    assert_eq!(asked.status, StatusCode::FORBIDDEN);
    assert!(asked.body.contains("name=\"password\""), "{}", asked.body);
    let wrong = client
        .post_form(&tab(env), &[("label", ""), ("password", "not it")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 0);
    let done = client
        .post_form(&tab(env), &[("label", ""), ("password", PASSWORD)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 1);

    // A confirmation page posted with the right password and a wrong phrase: the page that says
    // so asks for no password again, as the password confirmed the session.
    create_by_form(&mut client, env, "").await;
    confirmed_ago(&pool, "ada@example.com", 3600).await;
    let mut fresh = TestApp::new(pool.clone()).client();
    fresh.cookie = client.cookie.clone();
    let mut client = fresh;
    let page = format!("{}/{}/remove", tab(env), list(&mut client, env).await[1].id);
    let asked = client.get(&page).await;
    assert!(asked.body.contains("name=\"password\""), "{}", asked.body);
    let wrong = client
        .post_form(&page, &[("phrase", "remove it"), ("password", PASSWORD)])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&wrong.body).contains(WRONG_PHRASE), "{}", wrong.body);
    assert!(!wrong.body.contains("name=\"password\""), "{}", wrong.body);
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 2);
}

#[sqlx::test]
async fn rotate_and_expiry_work_as_plain_forms_too(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    create_by_form(&mut client, env, "signer").await;
    create_by_form(&mut client, env, "old").await;
    let old = list(&mut client, env).await.remove(1);
    let page = format!("{}/{}", tab(env), old.id);

    // Expiry: a date in the past is refused next to the field; a date ahead is set.
    let refused = client
        .post_form(&format!("{page}/expiry"), &[("expires_on", "2020-01-01")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("aria-invalid=\"true\""),
        "{}",
        refused.body
    );
    let day = (chrono::Utc::now() + chrono::TimeDelta::days(30)).format("%Y-%m-%d");
    let set = client
        .post_form(
            &format!("{page}/expiry"),
            &[("expires_on", &day.to_string())],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    assert!(notice_cookie(&set).starts_with("api_secrets_done=expires."));
    let listed = list(&mut client, env).await;
    assert!(listed[1].expires_at.is_some());

    // Rotate: the replacement's value, once, on the page after the post.
    let rotated = client
        .post_form(&format!("{page}/rotate"), &[("retire_on", "")])
        .await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER, "{}", rotated.body);
    let secrets = list(&mut client, env).await;
    assert_eq!(secrets.len(), 3);
    let new = &secrets[2];
    assert_eq!(
        secrets[1].rotation.as_ref().map(|r| r.replaced_by),
        Some(new.id)
    );
    assert_eq!(rotated.location(), format!("{}/{}/new", tab(env), new.id));
    let shown = client.get(rotated.location()).await;
    let value = shown_value(&shown.body).expect("the new value, once");
    assert_eq!(token::mask(&value), new.masked);
    assert_eq!(
        shown_value(&client.get(rotated.location()).await.body),
        None
    );

    // Rotating it again: refused on its page, nothing created.
    let again = client
        .post_form(&format!("{page}/rotate"), &[("retire_on", "")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(count(&pool, "SELECT count(*) FROM api_secrets").await, 3);
}
