//! The role table (`portal::accounts::roles`) against the real server: for every role and every
//! action, a member with that role (invited, as teammates are) tries it through the portal's
//! own server functions and forms. What the
//! table allows works; what it refuses is answered 403 with the table's reason, and changes
//! nothing. Generated from the table, so a change to it is tested as it is made.

use axum::http::StatusCode;
use portal::{
    accounts::roles::{Action, Role},
    secrets::{SecretSummary, removal_phrase},
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{
    Client, Reply, TestApp, create, created, list, remove, rotate, set_expiry, switch,
};

/// What the organization looks like, for telling whether an attempt changed it.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    secrets: i64,
    /// Secrets with an expiry date.
    expiring: i64,
    signer: Option<Uuid>,
    webhooks: i64,
    environments: i64,
    invitations: i64,
    require_two_factor: bool,
}

pub async fn snapshot(pool: &PgPool, env: Uuid) -> Snapshot {
    let (secrets, expiring, signer, webhooks, environments, invitations, require_two_factor) =
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM api_secrets WHERE environment_id = e.id),
                (SELECT count(*) FROM api_secrets
                  WHERE environment_id = e.id AND expires_at IS NOT NULL),
                e.webhook_signer_id,
                (SELECT count(*) FROM webhooks WHERE environment_id = e.id),
                (SELECT count(*) FROM environments WHERE organization_id = e.organization_id),
                (SELECT count(*) FROM invitations WHERE organization_id = e.organization_id),
                o.require_two_factor
           FROM environments e JOIN organizations o ON o.id = e.organization_id WHERE e.id = $1",
        )
        .bind(env)
        .fetch_one(pool)
        .await
        .unwrap();
    Snapshot {
        secrets,
        expiring,
        signer,
        webhooks,
        environments,
        invitations,
        require_two_factor,
    }
}

/// Tries `action` as the tab or page would, in the environment `env` whose second secret (not
/// the signer) is `second`; `tag` keeps names apart.
pub async fn attempt(
    client: &mut Client,
    action: Action,
    env: Uuid,
    second: &SecretSummary,
    tag: &str,
) -> Reply {
    match action {
        Action::View => {
            client
                .post_form(
                    "/rpc/list_api_secrets",
                    &[("environment_id", &env.to_string())],
                )
                .await
        }
        Action::CreateSecret => create(client, env, "").await,
        Action::ManageWebhooks => {
            client
                .post_form(
                    "/rpc/add_webhook",
                    &[
                        ("environment_id", &env.to_string()),
                        ("url", "http://127.0.0.1:9/hook"),
                        ("event_ping", "on"),
                        ("max_retries", "0"),
                        ("retry_interval_minutes", "1"),
                    ],
                )
                .await
        }
        Action::SwitchWebhookSigner => switch(client, env, second.id).await,
        Action::RotateSecret => rotate(client, env, second.id, "").await,
        Action::RemoveSecret => {
            let phrase = removal_phrase(&second.masked);
            remove(client, env, second.id, &phrase).await
        }
        Action::ExpireSecret => {
            let in_a_month = chrono::Utc::now() + chrono::TimeDelta::days(30);
            let day = in_a_month.format("%Y-%m-%d").to_string();
            set_expiry(client, env, second.id, &day).await
        }
        Action::ManageEnvironments => {
            client
                .post_form("/rpc/create_environment", &[("name", "Staging")])
                .await
        }
        Action::ManageMembers => {
            client
                .invite(&format!("new-{tag}@example.com"), "viewer")
                .await
        }
        Action::RequireTwoFactor => {
            client
                .post_form("/rpc/require_two_factor", &[("required", "true")])
                .await
        }
    }
}

#[sqlx::test]
async fn every_role_may_do_exactly_what_the_table_says(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    for role in Role::ALL {
        for action in Action::ALL {
            let tag = format!("{}-{action:?}", role.name()).to_lowercase();
            // An owner's organization with two secrets: the first signs webhooks.
            let (mut owner, env) = app.customer(&format!("owner-{tag}@example.com")).await;
            created(&mut owner, env).await;
            let second = created(&mut owner, env).await.secret;
            let mut client = app
                .teammate(&mut owner, &format!("{tag}@example.com"), role.name())
                .await;
            let before = snapshot(&pool, env).await;

            let reply = match action {
                Action::View => {
                    assert_eq!(list(&mut client, env).await.len(), 2, "{tag}");
                    continue;
                }
                action => attempt(&mut client, action, env, &second, &tag).await,
            };
            let after = snapshot(&pool, env).await;
            if role.may(action) {
                assert_eq!(reply.status, StatusCode::OK, "{tag}: {}", reply.body);
                assert_ne!(after, before, "{tag}: allowed, but nothing changed");
            } else {
                assert_eq!(reply.status, StatusCode::FORBIDDEN, "{tag}: {}", reply.body);
                assert!(
                    reply.body.contains(action.refusal()),
                    "{tag}: {}",
                    reply.body
                );
                assert_eq!(after, before, "{tag}: refused, but something changed");
            }
        }
    }
}

/// The pages say why a control is not the viewer's to use (and the owner sees no such note):
/// the server renders the same table the server functions enforce.
#[sqlx::test]
async fn the_pages_say_why_a_control_is_not_a_members_to_use(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, env) = app.customer("owner@example.com").await;
    created(&mut owner, env).await;
    created(&mut owner, env).await;
    let mut viewer = app
        .teammate(&mut owner, "viewer@example.com", "viewer")
        .await;
    let pages = [
        (
            format!("/environments/{env}/api-secrets"),
            vec![
                Action::CreateSecret,
                Action::SwitchWebhookSigner,
                Action::RotateSecret,
                Action::RemoveSecret,
                Action::ExpireSecret,
            ],
        ),
        (
            format!("/environments/{env}/webhooks"),
            vec![Action::ManageWebhooks],
        ),
        ("/environments".to_owned(), vec![Action::ManageEnvironments]),
        ("/members".to_owned(), vec![Action::ManageMembers]),
    ];
    for (page, actions) in pages {
        let seen = viewer.get(&page).await;
        assert_eq!(seen.status, StatusCode::OK, "{page}");
        let mine = owner.get(&page).await;
        for action in actions {
            assert!(
                seen.body.contains(action.refusal()),
                "{page}: {action:?}: {}",
                &seen.body[seen.body.find("create-secret").unwrap_or(0)..]
                    [..3000.min(seen.body.len() - seen.body.find("create-secret").unwrap_or(0))]
            );
            assert!(!mine.body.contains(action.refusal()), "{page}: {action:?}");
        }
    }
}

/// An organization keeps at least one owner, in the database: the last owner can be neither
/// demoted nor removed, and two owners demoting each other at the same moment leave one owner.
/// Deleting the organization itself takes its memberships with it.
#[sqlx::test]
async fn an_organization_always_keeps_an_owner(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut ada, env) = app.customer("ada@example.com").await;
    let owners = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM memberships m JOIN environments e USING (organization_id)
              WHERE e.id = $1 AND m.role = 'owner'",
        )
        .bind(env)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let set_role = |email: &'static str, role: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "UPDATE memberships SET role = $2
                  WHERE user_id = (SELECT id FROM users WHERE email = $1)",
            )
            .bind(email)
            .bind(role)
            .execute(&pool)
            .await
        }
    };
    let refused = |result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>| {
        let error = result.unwrap_err();
        let database = error.as_database_error().unwrap();
        assert_eq!(database.constraint(), Some("memberships_keep_an_owner"));
    };

    // The only owner.
    refused(set_role("ada@example.com", "admin").await);
    refused(sqlx::query("DELETE FROM memberships").execute(&pool).await);
    assert_eq!(owners(pool.clone()).await, 1);

    // A second owner; then each demotes the other, at once, many times over.
    app.teammate(&mut ada, "bob@example.com", "owner").await;
    for _ in 0..20 {
        assert_eq!(owners(pool.clone()).await, 2);
        let (a, b) = tokio::join!(
            set_role("ada@example.com", "admin"),
            set_role("bob@example.com", "admin")
        );
        assert_eq!(
            [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
            1,
            "exactly one demotion went through"
        );
        assert_eq!(owners(pool.clone()).await, 1);
        set_role("ada@example.com", "owner").await.unwrap();
        set_role("bob@example.com", "owner").await.unwrap();
    }

    // Deleting the organization takes its owners with it.
    sqlx::query("DELETE FROM organizations WHERE id = (SELECT organization_id FROM environments WHERE id = $1)")
        .bind(env)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(owners(pool.clone()).await, 0);
}
