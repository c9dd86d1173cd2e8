//! Teams: invitations (single use, for one address, expiring, revocable, stored hashed), joining
//! with a new or an existing account, several organizations per person, and member changes that
//! take effect on the member's very next request.

use axum::http::StatusCode;
use portal::accounts::roles::ONLY_OWNERS_MANAGE_OWNERS;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{
    Client, PASSWORD, TestApp, count, create, created, environment_id, invitation_link,
};

fn sha256(text: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).to_vec()
}

fn token_of(link: &str) -> &str {
    link.split_once("token=").unwrap().1
}

async fn user_id(pool: &PgPool, email: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn actions(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT action || ' ' || member_email || ' ' || member_role FROM audit_events
          WHERE member_email IS NOT NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Where a signed-in client's home leads (its current organization's first environment).
async fn home(client: &mut Client) -> Uuid {
    let reply = client.get("/").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    environment_id(reply.location())
}

async fn change_role(client: &mut Client, user: Uuid, role: &str) -> crate::helpers::Reply {
    client
        .post_form(
            "/rpc/change_role",
            &[("user_id", &user.to_string()), ("role", role)],
        )
        .await
}

async fn remove_member(client: &mut Client, user: Uuid) -> crate::helpers::Reply {
    client
        .post_form("/rpc/remove_member", &[("user_id", &user.to_string())])
        .await
}

#[sqlx::test]
async fn an_invitation_link_is_shown_once_stored_hashed_and_works_once(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, env) = app.customer("ada@example.com").await;

    let invited = owner.invite("  Bob@Example.com ", "developer").await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    assert_eq!(invited.headers["cache-control"], "no-store");
    let link = invitation_link(&invited.body).unwrap_or_else(|| panic!("{}", invited.body));
    let token = token_of(&link).to_owned();
    assert!(token.starts_with("inv_") && token.len() == 47, "{token}");
    assert!(invited.body.contains("You will not see it again."));

    // Kept as its hash only; never shown again, nor written to the audit trail.
    let (hash, email): (Vec<u8>, String) =
        sqlx::query_as("SELECT token_hash, email FROM invitations")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(hash, sha256(&token));
    assert_eq!(email, "bob@example.com");
    let members_page = owner.get("/members").await;
    assert!(members_page.body.contains("bob@example.com"));
    assert!(!members_page.body.contains(&token));
    let trail: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE audit_events::text LIKE '%' || $1 || '%'",
    )
    .bind(&token)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(trail, 0);

    // Bob opens it: the token leaves the address bar for the session; the page offers to join.
    let mut bob = app.client();
    let opened = bob.open_invitation(&link).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.location(), "/join");
    let join = bob.get("/join").await;
    assert_eq!(join.status, StatusCode::OK);
    assert!(join.body.contains("as a developer"), "{}", join.body);
    assert!(join.body.contains("Create account and join"));
    assert!(!join.body.contains(&token));

    // A short password changes nothing; a good one creates the account and joins.
    let short = bob
        .post_form("/join/sign-up", &[("password", "short")])
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("at least 12 characters"));
    let joined = bob
        .post_form("/join/sign-up", &[("password", PASSWORD)])
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert_eq!(home(&mut bob).await, env);
    assert_eq!(create(&mut bob, env, "").await.status, StatusCode::OK);

    // Used: the link is no longer valid, for anyone.
    let mut eve = app.client();
    let again = eve.open_invitation(&link).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.body.contains("This invitation link is not valid"));
    for bad in [
        "",
        "inv_",
        "inv_!!",
        &format!("{token}x"),
        &token.to_lowercase(),
    ] {
        let reply = eve
            .get(&format!(
                "/invitations/accept?token={}",
                portal::accounts::percent_encode(bad)
            ))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{bad}");
    }
    // Nothing to join without an opened invitation.
    let nothing = eve
        .post_form("/join/sign-up", &[("password", PASSWORD)])
        .await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);

    assert_eq!(
        actions(&pool).await,
        [
            "invitation.created bob@example.com developer",
            "member.joined bob@example.com developer"
        ]
    );
}

#[sqlx::test]
async fn invitations_expire_can_be_revoked_and_are_replaced_by_a_new_one(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, _) = app.customer("ada@example.com").await;
    let link = |reply: crate::helpers::Reply| invitation_link(&reply.body).unwrap();

    // Expired: not valid.
    let expired = link(owner.invite("old@example.com", "viewer").await);
    sqlx::query("UPDATE invitations SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        app.client().open_invitation(&expired).await.status,
        StatusCode::NOT_FOUND
    );

    // Inviting again replaces the open invitation: the first link stops working.
    let first = link(owner.invite("bob@example.com", "viewer").await);
    let second = link(owner.invite("bob@example.com", "developer").await);
    assert_eq!(
        app.client().open_invitation(&first).await.status,
        StatusCode::NOT_FOUND
    );

    // Revoked (after Bob opened it, before he joined): refused at the join.
    let mut bob = app.client();
    assert_eq!(
        bob.open_invitation(&second).await.status,
        StatusCode::SEE_OTHER
    );
    let id: Uuid = sqlx::query_scalar(
        "SELECT id FROM invitations WHERE email = 'bob@example.com' AND revoked_at IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let revoked = owner
        .post_form("/rpc/revoke_invitation", &[("id", &id.to_string())])
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let join = bob
        .post_form("/join/sign-up", &[("password", PASSWORD)])
        .await;
    assert_eq!(join.status, StatusCode::NOT_FOUND);
    let users = count(&pool, "SELECT count(*) FROM users").await;
    assert_eq!(users, 1, "no account was created");

    // A member cannot be invited again; a hostile address is refused; neither changes anything.
    let before = count(&pool, "SELECT count(*) FROM invitations").await;
    let member = owner.invite("ada@example.com", "viewer").await;
    assert_eq!(member.status, StatusCode::CONFLICT);
    assert!(member.body.contains("already a member"));
    let hostile = owner.invite("<script>alert(1)</script>@x", "viewer").await;
    assert_eq!(hostile.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!hostile.body.contains("<script>alert(1)"));
    let role = owner.invite("carol@example.com", "root").await;
    assert_eq!(role.status, StatusCode::UNPROCESSABLE_ENTITY);
    let after = count(&pool, "SELECT count(*) FROM invitations").await;
    assert_eq!(after, before);

    // At most 50 open invitations.
    sqlx::query(
        "INSERT INTO invitations (organization_id, email, role, token_hash, expires_at)
         SELECT organization_id, 'x' || n || '@example.com', 'viewer', sha256(n::text::bytea),
                now() + interval '1 day'
           FROM memberships, generate_series(1, 50) n",
    )
    .execute(&pool)
    .await
    .unwrap();
    let full = owner.invite("one-more@example.com", "viewer").await;
    assert_eq!(full.status, StatusCode::CONFLICT);
    assert!(full.body.contains("50 pending invitations"));
    // Also for an address whose earlier invitation expired (replacing it frees nothing).
    let again = owner.invite("old@example.com", "viewer").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[sqlx::test]
async fn someone_with_an_account_joins_by_signing_in_and_switches_organizations(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, acme) = app.customer("ada@example.com").await;
    let (mut carol, own) = app.customer("carol@example.com").await;

    // Not signed in here: the join page asks for her password, and checks it.
    let link = invitation_link(&owner.invite("carol@example.com", "viewer").await.body).unwrap();
    let mut browser = app.client();
    browser.open_invitation(&link).await;
    let join = browser.get("/join").await;
    assert!(join.body.contains("Sign in and join"), "{}", join.body);
    let wrong = browser
        .post_form("/join/sign-in", &[("password", "not her password")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("The password is not right."));
    let joined = browser
        .post_form("/join/sign-in", &[("password", PASSWORD)])
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert_eq!(
        home(&mut browser).await,
        acme,
        "she now acts for the inviting organization"
    );
    // Her sign-in is in the trail of the organization she joined, too.
    let signed_in: Vec<String> = sqlx::query_scalar(
        "SELECT o.name FROM audit_events a JOIN organizations o ON o.id = a.organization_id
          WHERE a.action = 'member.signed_in' AND a.member_email = 'carol@example.com'
          ORDER BY o.name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        signed_in,
        ["Org of ada@example.com", "Org of carol@example.com"]
    );

    // The header offers both organizations; switching changes where she acts.
    let page = browser.get("/members").await;
    assert!(page.body.contains("organization-switcher"), "{}", page.body);
    let own_org: Uuid =
        sqlx::query_scalar("SELECT organization_id FROM environments WHERE id = $1")
            .bind(own)
            .fetch_one(&pool)
            .await
            .unwrap();
    let switched = browser
        .post_form("/organizations/switch", &[("id", &own_org.to_string())])
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(home(&mut browser).await, own);
    // Not to an organization she does not belong to.
    let mut stranger = app.customer("mallory@example.com").await.0;
    let refused = stranger
        .post_form("/organizations/switch", &[("id", &own_org.to_string())])
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let cross_site = browser
        .post_form_from(
            "/organizations/switch",
            &[("id", &own_org.to_string())],
            "cross-site",
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);

    // Signed in already (her other session): one click, and only for her own address.
    let link = invitation_link(&owner.invite("dave@example.com", "viewer").await.body).unwrap();
    carol.open_invitation(&link).await;
    let not_hers = carol.post_form("/join/accept", &[]).await;
    assert_eq!(not_hers.status, StatusCode::FORBIDDEN);
    assert!(
        not_hers
            .body
            .contains("This invitation is for dave@example.com")
    );
    let (mut dave, _) = app.customer("dave@example.com").await;
    dave.open_invitation(&link).await;
    assert!(
        dave.get("/join")
            .await
            .body
            .contains("Join Org of ada@example.com")
    );
    let accepted = dave.post_form("/join/accept", &[]).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert_eq!(home(&mut dave).await, acme);
}

#[sqlx::test]
async fn removal_and_demotion_take_effect_on_the_members_next_request(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, env) = app.customer("ada@example.com").await;
    created(&mut owner, env).await;
    let mut bob = app
        .teammate(&mut owner, "bob@example.com", "developer")
        .await;
    let bob_id = user_id(&pool, "bob@example.com").await;
    assert_eq!(create(&mut bob, env, "").await.status, StatusCode::OK);

    // Demoted: his open session's next action is refused.
    assert_eq!(
        change_role(&mut owner, bob_id, "viewer").await.status,
        StatusCode::OK
    );
    let refused = create(&mut bob, env, "").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Removed: his next request finds his session ended.
    assert_eq!(
        remove_member(&mut owner, bob_id).await.status,
        StatusCode::OK
    );
    let page = bob.get(&format!("/environments/{env}/api-secrets")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/sign-in"));
    assert_eq!(
        create(&mut bob, env, "").await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = bob.sign_in("bob@example.com", PASSWORD).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    assert!(again.body.contains("no longer belongs to any organization"));

    let log = owner
        .post_form(
            "/rpc/list_audit_events",
            &[("action", "member.role_changed")],
        )
        .await;
    assert!(
        log.body.contains("bob@example.com (developer → viewer)"),
        "{}",
        log.body
    );
    assert_eq!(
        actions(&pool).await[2..],
        [
            "member.role_changed bob@example.com viewer",
            "member.removed bob@example.com viewer"
        ]
    );
}

#[sqlx::test]
async fn admins_manage_developers_and_viewers_and_only_owners_manage_admins_and_owners(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone());
    let (mut owner, _) = app.customer("ada@example.com").await;
    let mut admin = app.teammate(&mut owner, "adam@example.com", "admin").await;
    app.teammate(&mut owner, "dev@example.com", "developer")
        .await;
    let ada = user_id(&pool, "ada@example.com").await;
    let adam = user_id(&pool, "adam@example.com").await;
    let dev = user_id(&pool, "dev@example.com").await;
    let refused = |reply: crate::helpers::Reply| {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        assert!(
            reply.body.contains(ONLY_OWNERS_MANAGE_OWNERS),
            "{}",
            reply.body
        );
    };

    // The admin: developers and viewers, yes.
    assert_eq!(
        admin.invite("v@example.com", "viewer").await.status,
        StatusCode::OK
    );
    assert_eq!(
        change_role(&mut admin, dev, "viewer").await.status,
        StatusCode::OK
    );
    assert_eq!(
        change_role(&mut admin, dev, "developer").await.status,
        StatusCode::OK
    );
    // Admins and owners, no: not to invite, promote, demote, remove, or revoke.
    refused(admin.invite("a2@example.com", "admin").await);
    refused(change_role(&mut admin, dev, "admin").await);
    refused(change_role(&mut admin, ada, "viewer").await);
    refused(change_role(&mut admin, adam, "developer").await);
    refused(remove_member(&mut admin, ada).await);
    owner.invite("o2@example.com", "owner").await;
    let owner_invitation: Uuid =
        sqlx::query_scalar("SELECT id FROM invitations WHERE email = 'o2@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    refused(
        admin
            .post_form(
                "/rpc/revoke_invitation",
                &[("id", &owner_invitation.to_string())],
            )
            .await,
    );
    // Nor by inviting the same address again (which replaces an invitation).
    refused(admin.invite("o2@example.com", "viewer").await);
    let still_open: bool = sqlx::query_scalar(
        "SELECT revoked_at IS NULL AND role = 'owner' FROM invitations WHERE id = $1",
    )
    .bind(owner_invitation)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(still_open, "the owner's invitation is untouched");
    // Developers and viewers manage nobody, by any of the actions.
    let mut developer = app
        .teammate(&mut owner, "dave@example.com", "developer")
        .await;
    let owner_invitation_id = owner_invitation.to_string();
    for reply in [
        change_role(&mut developer, dev, "viewer").await,
        remove_member(&mut developer, dev).await,
        developer
            .post_form("/rpc/revoke_invitation", &[("id", &owner_invitation_id)])
            .await,
        developer.invite("x@example.com", "viewer").await,
    ] {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        assert!(
            reply
                .body
                .contains("Only admins and owners can manage members.")
        );
    }
    assert_eq!(remove_member(&mut admin, dev).await.status, StatusCode::OK);

    // The only owner cannot demote or remove themself; the database says why.
    let alone = change_role(&mut owner, ada, "admin").await;
    assert_eq!(alone.status, StatusCode::CONFLICT);
    assert!(alone.body.contains("at least one owner"), "{}", alone.body);
    assert_eq!(
        remove_member(&mut owner, ada).await.status,
        StatusCode::CONFLICT
    );

    // Another organization's members are not found.
    let (mut other, _) = app.customer("olga@example.com").await;
    assert_eq!(
        change_role(&mut other, adam, "viewer").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        remove_member(&mut other, adam).await.status,
        StatusCode::NOT_FOUND
    );

    let roles: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id
          ORDER BY u.email",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let roles: Vec<(&str, &str)> = roles
        .iter()
        .map(|(e, r)| (e.as_str(), r.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("ada@example.com", "owner"),
            ("adam@example.com", "admin"),
            ("dave@example.com", "developer"),
            ("olga@example.com", "owner")
        ]
    );
}

/// Someone in two organizations, removed from the one their session acts for, is signed out
/// there (not moved to the other); signing in again starts in the one they still belong to.
/// An invitation carries its sender's authority and goes with it: a removed admin's link to a
/// second address of theirs lets no one in, and an owner made an admin keeps only the
/// invitations an admin may send.
#[sqlx::test]
async fn invitations_go_when_their_sender_may_no_longer_send_them(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, _) = app.customer("ada@example.com").await;
    let mut eve = app.teammate(&mut owner, "eve@example.com", "admin").await;
    let mut carl = app.teammate(&mut owner, "carl@example.com", "owner").await;
    let link = |reply: crate::helpers::Reply| invitation_link(&reply.body).unwrap();
    let back_door = link(eve.invite("eve.alt@example.com", "developer").await);
    let admin = link(carl.invite("dan@example.com", "admin").await);
    let developer = link(carl.invite("fay@example.com", "developer").await);
    let before = count(&pool, "SELECT max(id) FROM audit_events").await;

    let eve_id = user_id(&pool, "eve@example.com").await;
    assert_eq!(
        remove_member(&mut owner, eve_id).await.status,
        StatusCode::OK
    );
    let carl_id = user_id(&pool, "carl@example.com").await;
    assert_eq!(
        change_role(&mut owner, carl_id, "admin").await.status,
        StatusCode::OK
    );

    for gone in [&back_door, &admin] {
        let opened = app.client().open_invitation(gone).await;
        assert_eq!(opened.status, StatusCode::NOT_FOUND, "{gone}");
    }
    let mut fay = app.client();
    assert_eq!(fay.open_invitation(&developer).await.location(), "/join");
    let joined = fay
        .post_form("/join/sign-up", &[("password", PASSWORD)])
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);

    // The trail says who withdrew them, with the removal and the role change.
    let trail: Vec<String> = sqlx::query_scalar(
        "SELECT action || ' ' || member_email FROM audit_events WHERE id > $1 ORDER BY id",
    )
    .bind(before)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        trail,
        [
            "member.removed eve@example.com",
            "invitation.revoked eve.alt@example.com",
            "member.role_changed carl@example.com",
            "invitation.revoked dan@example.com",
            "member.joined fay@example.com",
        ]
    );
}

#[sqlx::test]
async fn removal_ends_the_session_that_acts_for_that_organization(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut ada, acme) = app.customer("ada@example.com").await;
    let (mut bob, own) = app.customer("bob@example.com").await;
    let link = invitation_link(&ada.invite("bob@example.com", "developer").await.body).unwrap();
    bob.open_invitation(&link).await;
    assert_eq!(
        bob.post_form("/join/accept", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(home(&mut bob).await, acme);

    let bob_id = user_id(&pool, "bob@example.com").await;
    assert_eq!(remove_member(&mut ada, bob_id).await.status, StatusCode::OK);
    let next = bob.get("/").await;
    assert!(
        next.location().starts_with("/sign-in"),
        "{}",
        next.location()
    );
    let mut again = app.client();
    assert_eq!(
        again.sign_in("bob@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(home(&mut again).await, own);

    // Signing in again in the same browser ends the session it had (no ghost on the list).
    assert_eq!(
        again.sign_in("bob@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM user_sessions WHERE user_id = $1")
        .bind(bob_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sessions, 1);
}

/// Accepting and revoking one invitation at the same moment: one of them wins, cleanly (both
/// take the organization's lock first, so they never deadlock), many times over.
#[sqlx::test]
async fn accepting_and_revoking_at_once_never_deadlock(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, _) = app.customer("ada@example.com").await;
    for round in 0..10 {
        let email = format!("p{round}@example.com");
        let (mut person, _) = app.customer(&email).await;
        let link = invitation_link(&owner.invite(&email, "viewer").await.body).unwrap();
        person.open_invitation(&link).await;
        let id: Uuid = sqlx::query_scalar("SELECT id FROM invitations WHERE email = $1")
            .bind(&email)
            .fetch_one(&pool)
            .await
            .unwrap();
        let mut revoker = owner.clone();
        let id_text = id.to_string();
        let fields = [("id", id_text.as_str())];
        let (accepted, revoked) = tokio::join!(
            person.post_form("/join/accept", &[]),
            revoker.post_form("/rpc/revoke_invitation", &fields)
        );
        let joined = accepted.status == StatusCode::SEE_OTHER;
        let closed = revoked.status == StatusCode::OK;
        assert!(
            joined != closed,
            "{round}: {} / {}",
            accepted.status,
            revoked.status
        );
        assert!(
            [StatusCode::SEE_OTHER, StatusCode::NOT_FOUND].contains(&accepted.status),
            "{}",
            accepted.body
        );
        assert!(
            [StatusCode::OK, StatusCode::NOT_FOUND].contains(&revoked.status),
            "{}",
            revoked.body
        );
    }
}
