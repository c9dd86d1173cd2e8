//! The Sessions page: a person sees where they are signed in and ends any session but the one
//! they use (or all others); an ended session is signed out on its next request. Sign-ins,
//! failed sign-ins, sign-outs and ended sessions are in each of the person's organizations'
//! audit trails.

use axum::http::StatusCode;
use portal::accounts::sessions::SessionsTab;
use sqlx::PgPool;

use crate::helpers::{Client, PASSWORD, TestApp, count, create};

async fn sessions(client: &mut Client) -> SessionsTab {
    let reply = client.post_form("/rpc/list_sessions", &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

async fn signed_in(app: &TestApp, email: &str) -> Client {
    let mut client = app.client();
    let reply = client.sign_in(email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    client
}

#[sqlx::test]
async fn sessions_are_listed_and_ended_from_another_one(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut laptop, env) = app.customer("ada@example.com").await;
    let mut phone = signed_in(&app, "ada@example.com").await;

    let listed = sessions(&mut laptop).await;
    assert_eq!(listed.sessions.len(), 2);
    assert_eq!(listed.sessions.iter().filter(|s| s.current).count(), 1);
    assert!(
        listed
            .sessions
            .iter()
            .all(|s| s.ip.as_deref() == Some("203.0.113.7"))
    );
    assert!(listed.sessions.iter().all(|s| s.browser == "portal-tests"));
    let phone_id = listed.sessions.iter().find(|s| !s.current).unwrap().id;
    let laptop_id = listed.sessions.iter().find(|s| s.current).unwrap().id;

    // Not the one in use (that is signing out), not someone else's.
    let own = laptop
        .post_form("/rpc/end_session", &[("id", &laptop_id.to_string())])
        .await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (mut mallory, _) = app.customer("mallory@example.com").await;
    let theirs = mallory
        .post_form("/rpc/end_session", &[("id", &phone_id.to_string())])
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(create(&mut phone, env, "").await.status, StatusCode::OK);

    // Ended from the laptop: the phone's next request is signed out.
    let ended = laptop
        .post_form("/rpc/end_session", &[("id", &phone_id.to_string())])
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(
        create(&mut phone, env, "").await.status,
        StatusCode::UNAUTHORIZED
    );
    let page = phone.get(&format!("/environments/{env}/api-secrets")).await;
    assert!(page.location().starts_with("/sign-in"));
    assert_eq!(sessions(&mut laptop).await.sessions.len(), 1);

    // All others at once.
    let mut tablet = signed_in(&app, "ada@example.com").await;
    let mut desktop = signed_in(&app, "ada@example.com").await;
    assert_eq!(sessions(&mut laptop).await.sessions.len(), 3);
    let all = laptop.post_form("/rpc/end_other_sessions", &[]).await;
    assert_eq!(all.status, StatusCode::OK);
    for other in [&mut tablet, &mut desktop] {
        assert_eq!(
            create(other, env, "").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(sessions(&mut laptop).await.sessions.len(), 1);
    assert_eq!(create(&mut laptop, env, "").await.status, StatusCode::OK);

    // The page, rendered on the server.
    let html = laptop.get("/sessions").await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(html.body.contains("This session"));
    assert!(html.body.contains("End all other sessions"));
}

#[sqlx::test]
async fn last_seen_is_written_at_most_once_a_minute_and_old_sessions_are_pruned(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut client, env) = app.customer("ada@example.com").await;
    let last_seen = || async {
        sqlx::query_scalar::<_, f64>(
            "SELECT extract(epoch FROM now() - last_seen_at)::float8 FROM user_sessions",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let set_last_seen = |ago: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query(&format!(
                "UPDATE user_sessions SET last_seen_at = now() - interval '{ago}'"
            ))
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    set_last_seen("30 seconds").await;
    client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert!(
        last_seen().await >= 29.0,
        "seen 30 s ago: not written again"
    );
    set_last_seen("2 minutes").await;
    client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert!(last_seen().await < 5.0, "seen 2 minutes ago: written");

    set_last_seen("3 hours").await;
    assert_eq!(portal::accounts::session::prune(&pool).await.unwrap(), 1);
    let page = client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert!(page.location().starts_with("/sign-in"));
}

#[sqlx::test]
async fn sign_ins_failures_and_sign_outs_are_in_each_organizations_trail(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut ada, _) = app.customer("ada@example.com").await;
    let (mut bob, _) = app.customer("bob@example.com").await;
    // Ada also belongs to Bob's organization.
    let invited = bob.invite("ada@example.com", "viewer").await;
    let link = crate::helpers::invitation_link(&invited.body).unwrap();
    ada.open_invitation(&link).await;
    assert_eq!(
        ada.post_form("/join/accept", &[]).await.status,
        StatusCode::SEE_OTHER
    );

    let mut other = app.client();
    let wrong = other.sign_in("ada@example.com", "not her password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let mut session = signed_in(&app, "ada@example.com").await;
    let out = session.post_form("/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    // Unknown addresses leave no trace anywhere (and cost the same).
    app.client()
        .sign_in("nobody@example.com", "whatever it is")
        .await;

    let trail: Vec<(String, String)> = sqlx::query_as(
        "SELECT o.name, a.action FROM audit_events a JOIN organizations o ON o.id = a.organization_id
          WHERE a.member_email = 'ada@example.com' AND a.action LIKE 'member.%'
            AND a.action <> 'member.joined'
          ORDER BY a.id, o.name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let trail: Vec<(&str, &str)> = trail
        .iter()
        .map(|(o, a)| (o.as_str(), a.as_str()))
        .collect();
    let both = |action| {
        [
            ("Org of ada@example.com", action),
            ("Org of bob@example.com", action),
        ]
    };
    let expected: Vec<(&str, &str)> = [
        both("member.sign_in_failed"),
        both("member.signed_in"),
        both("member.signed_out"),
    ]
    .concat();
    assert_eq!(trail, expected);
    let strangers = count(
        &pool,
        "SELECT count(*) FROM audit_events WHERE actor_email = 'nobody@example.com'",
    )
    .await;
    assert_eq!(strangers, 0);
}
