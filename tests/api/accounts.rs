//! Accounts against the real Postgres and the real router: sign-up, sign-in, sessions,
//! throttling, CSRF and tenant isolation.

use crate::helpers::{Client, PASSWORD, environment_id};
use axum::http::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn sign_up_creates_the_owner_the_organization_and_production(pool: PgPool) {
    let mut client = Client::new(pool.clone());
    let reply = client.sign_up("  Ada@Example.com ", "Acme").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let env = environment_id(reply.location());

    let (email, hash, role, org, env_name): (String, String, String, String, String) =
        sqlx::query_as(
            "SELECT u.email, u.password_hash, m.role, o.name, e.name
               FROM users u JOIN memberships m ON m.user_id = u.id
               JOIN organizations o ON o.id = m.organization_id
               JOIN environments e ON e.organization_id = o.id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(email, "ada@example.com");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
    assert_eq!(
        (role.as_str(), org.as_str(), env_name.as_str()),
        ("owner", "Acme", "Production")
    );

    // Signed in: the cookie is HttpOnly and SameSite=Lax, and the tab opens.
    let set_cookie = reply.headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("portal_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    let page = client
        .get(&format!("/environments/{env}/api-secrets"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Production") && page.body.contains("Acme"));
    assert!(
        page.body
            .contains("This environment has no API secrets yet.")
    );
}

#[sqlx::test]
async fn over_https_the_cookie_is_secure_and_host_prefixed(pool: PgPool) {
    let mut state = crate::helpers::state(pool);
    state.make_mut().secure_cookies = true;
    let mut client = Client::with_state(state);
    let reply = client.sign_up("ada@example.com", "Acme").await;
    let set_cookie = reply.headers["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.starts_with("__Host-portal_session="),
        "{set_cookie}"
    );
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"));
}

#[sqlx::test]
async fn bad_sign_up_input_is_refused_and_changes_nothing(pool: PgPool) {
    let mut client = Client::new(pool.clone());
    let short = client
        .post_form(
            "/sign-up",
            &[
                ("email", "a@example.com"),
                ("password", "short"),
                ("organization_name", "Acme"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("at least 12 characters"));
    // What was typed comes back, the password never does.
    assert!(short.body.contains("a@example.com") && short.body.contains("Acme"));
    let long = "x".repeat(1025);
    let too_long = client
        .post_form(
            "/sign-up",
            &[
                ("email", "a@example.com"),
                ("password", &long),
                ("organization_name", "Acme"),
            ],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!too_long.body.contains(&long));
    let no_org = client
        .post_form(
            "/sign-up",
            &[
                ("email", "a@example.com"),
                ("password", PASSWORD),
                ("organization_name", " "),
            ],
        )
        .await;
    assert_eq!(no_org.status, StatusCode::UNPROCESSABLE_ENTITY);
    for table in ["users", "organizations", "environments", "memberships"] {
        assert_eq!(count(&pool, table).await, 0, "{table}");
    }
    assert!(client.cookie.is_none());
}

#[sqlx::test]
async fn a_taken_email_is_refused_in_one_transaction(pool: PgPool) {
    Client::new(pool.clone())
        .sign_up("ada@example.com", "Acme")
        .await;
    let reply = Client::new(pool.clone())
        .sign_up("ADA@example.com", "Other")
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.body.contains("already exists"));
    assert_eq!(count(&pool, "organizations").await, 1);
    assert_eq!(count(&pool, "environments").await, 1);
}

#[sqlx::test]
async fn sign_in_rotates_the_session_id_and_goes_back_where_the_visitor_was(pool: PgPool) {
    Client::new(pool.clone())
        .sign_up("ada@example.com", "Acme")
        .await;
    let mut client = Client::new(pool.clone());

    // Visitors without a session are sent to sign in, and remember where they were going.
    let gate = client.get("/environments").await;
    assert_eq!(gate.status, StatusCode::SEE_OTHER);
    assert_eq!(gate.location(), "/sign-in?next=/environments");

    // An attacker plants a session id (session fixation)…
    client.cookie = Some("portal_session=planted-by-attacker".into());
    let reply = client
        .post_form(
            "/sign-in?next=/environments",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), "/environments");
    // …which is not the one the signed-in session gets.
    let cookie = client.cookie.clone().unwrap();
    assert_ne!(cookie, "portal_session=planted-by-attacker");
    assert_eq!(count(&pool, "tower_sessions.session").await, 2); // sign-up's and this one
    assert_eq!(client.get("/environments").await.status, StatusCode::OK);

    // `next` never leaves the site.
    let mut other = Client::new(pool.clone());
    let reply = other
        .post_form(
            "/sign-in?next=//evil.example/",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(reply.location(), "/");
}

#[sqlx::test]
async fn sign_in_failures_do_not_reveal_whether_the_email_is_registered(pool: PgPool) {
    Client::new(pool.clone())
        .sign_up("ada@example.com", "Acme")
        .await;
    let mut client = Client::new(pool.clone());
    let wrong_password = client.sign_in("ada@example.com", "not the password").await;
    let unknown = client
        .sign_in("nobody@example.com", "not the password")
        .await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let message = "The email address or password is not right.";
    assert!(wrong_password.body.contains(message) && unknown.body.contains(message));
    assert!(client.cookie.is_none());
}

#[sqlx::test]
async fn repeated_failures_are_throttled_per_account_and_per_address(pool: PgPool) {
    Client::new(pool.clone())
        .sign_up("ada@example.com", "Acme")
        .await;
    let mut client = Client::new(pool.clone());
    for _ in 0..5 {
        let reply = client.sign_in("ada@example.com", "wrong password!").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password is refused, before it is checked.
    let reply = client.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert!(reply.body.contains("Too many failed sign-ins"));
    assert!(client.cookie.is_none());
    // From another address, for this account: still refused (the account is the key).
    let mut elsewhere = Client::new(pool.clone());
    elsewhere.ip = [198, 51, 100, 9].into();
    assert_eq!(
        elsewhere.sign_in("ada@example.com", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Per address: 20 failures over many accounts block that address, for any account.
    let mut spray = Client::new(pool.clone());
    spray.ip = [192, 0, 2, 1].into();
    Client::new(pool.clone())
        .sign_up("bob@example.com", "Bobco")
        .await;
    for n in 0..20 {
        let reply = spray
            .sign_in(&format!("user{n}@example.com"), "wrong password!")
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        spray.sign_in("bob@example.com", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let mut bob = Client::new(pool.clone());
    assert_eq!(
        bob.sign_in("bob@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

/// Guesses sent all at once are counted one after the other, before any password is checked:
/// of 60 concurrent wrong passwords for one account (from 60 addresses), 5 are checked.
#[sqlx::test]
async fn concurrent_guesses_are_counted_before_any_password_is_checked(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    Client::with_state(state.clone())
        .sign_up("ada@example.com", "Acme")
        .await;
    let guesses = (0..60u8).map(|n| {
        let mut client = Client::with_state(state.clone());
        client.ip = [198, 18, 0, n].into();
        tokio::spawn(async move {
            client
                .sign_in("ada@example.com", "wrong password!")
                .await
                .status
        })
    });
    let mut checked = 0;
    for guess in guesses.collect::<Vec<_>>() {
        match guess.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(checked, 5, "at most the limit is checked");
    assert_eq!(count(&pool, "sign_in_failures").await, 5);
}

/// Sign-ups are throttled per address before any password is hashed: of 12 concurrent
/// sign-ups from one address with a limit of 4, 4 create an account and the others get 429
/// with Retry-After, nothing created; a taken email counts too (it cost a hash), an IPv6
/// client is counted per /64, and other addresses are not affected.
#[sqlx::test]
async fn sign_ups_are_throttled_per_address_before_any_hash(pool: PgPool) {
    let mut state = crate::helpers::state(pool.clone());
    state.make_mut().sign_ups_per_hour = 4;
    let attempts = (0..12u8).map(|n| {
        let mut client = Client::with_state(state.clone());
        client.ip = [198, 51, 100, 9].into();
        tokio::spawn(async move {
            let reply = client
                .sign_up(&format!("user{n}@example.com"), "Acme")
                .await;
            (reply.status, reply.headers, reply.body)
        })
    });
    let mut created = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        let (status, headers, body) = attempt.await.unwrap();
        match status {
            StatusCode::SEE_OTHER => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((3000..=3600).contains(&wait), "{wait}");
                assert!(
                    body.contains("Too many sign-ups from your network."),
                    "{body}"
                );
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(created, 4, "at most the limit is signed up");
    assert_eq!(count(&pool, "users").await, 4);
    assert_eq!(count(&pool, "organizations").await, 4);

    // Another address signs up; an IPv6 /64 is one address whichever host in it asks.
    let mut other = Client::with_state(state.clone());
    other.ip = [198, 51, 100, 10].into();
    assert_eq!(
        other.sign_up("eve@example.com", "Eveco").await.status,
        StatusCode::SEE_OTHER
    );
    let mut ipv6 = Vec::new();
    for host in 1..=5u16 {
        let mut client = Client::with_state(state.clone());
        client.ip = std::net::Ipv6Addr::new(0x2001, 0xdb8, 7, 7, host, 0, 0, 1).into();
        // The same (taken) email each time: refused as taken, but each attempt counts.
        ipv6.push(client.sign_up("eve@example.com", "Eveco").await.status);
    }
    assert_eq!(
        ipv6,
        [StatusCode::CONFLICT; 4]
            .into_iter()
            .chain([StatusCode::TOO_MANY_REQUESTS])
            .collect::<Vec<_>>()
    );
}

/// Behind our own proxy (`PORTAL_TRUSTED_PROXIES`), the address it forwards is the client's:
/// one client's failures do not lock out the others behind the same proxy. From anyone else,
/// `X-Forwarded-For` is the sender's fiction and changes nothing.
#[sqlx::test]
async fn forwarded_addresses_count_only_from_trusted_proxies(pool: PgPool) {
    async fn sign_in_via(
        client: &mut Client,
        forwarded_for: &str,
        email: &str,
        password: &str,
    ) -> StatusCode {
        let request = axum::http::Request::post("/sign-in")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .header("x-forwarded-for", forwarded_for);
        let body = format!("email={email}&password={}", password.replace(' ', "+"));
        client
            .send(request, axum::body::Body::from(body))
            .await
            .status
    }
    Client::new(pool.clone())
        .sign_up("bob@example.com", "Bobco")
        .await;
    let mut behind_proxy = crate::helpers::state(pool.clone());
    // The test client's own address is the proxy.
    behind_proxy.make_mut().trusted_proxies =
        portal::platform::client::TrustedProxies::parse("203.0.113.7/32").unwrap();
    let mut proxy = Client::with_state(behind_proxy);
    for n in 0..20 {
        let status = sign_in_via(
            &mut proxy,
            "198.51.100.1",
            &format!("u{n}@example.com"),
            "wrong password!",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        sign_in_via(&mut proxy, "198.51.100.1", "bob@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sign_in_via(&mut proxy, "198.51.100.2", "bob@example.com", PASSWORD).await,
        StatusCode::SEE_OTHER
    );

    // Not a proxy of ours: a new forwarded address per guess does not escape the count.
    let mut spoofer = Client::new(pool.clone());
    spoofer.ip = [192, 0, 2, 50].into();
    for n in 0..20 {
        let status = sign_in_via(
            &mut spoofer,
            &format!("198.51.100.{}", 100 + n),
            &format!("v{n}@example.com"),
            "wrong password!",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        sign_in_via(&mut spoofer, "198.51.100.200", "bob@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A client that hangs up does not take its hash's memory bound with it: however many sign-ups
/// are abandoned, no more hashes run at once than there are permits.
#[sqlx::test]
async fn abandoned_sign_ups_never_run_more_hashes_than_the_permits(pool: PgPool) {
    let state = crate::helpers::state(pool);
    let watcher = tokio::spawn(async {
        let mut most = 0;
        for _ in 0..4000 {
            most = most.max(portal::accounts::password::running());
            tokio::time::sleep(std::time::Duration::from_micros(500)).await;
        }
        most
    });
    let mut abandoned = Vec::new();
    for n in 0..40 {
        let mut client = Client::with_state(state.clone());
        abandoned.push(tokio::spawn(async move {
            // Hangs up after 20 ms, long before its hash (tens of ms, after a queue) is done.
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(20),
                client.sign_up(&format!("user{n}@example.com"), "Acme"),
            )
            .await;
        }));
    }
    for sign_up in abandoned {
        sign_up.await.unwrap();
    }
    let most = watcher.await.unwrap();
    assert!((1..=4).contains(&most), "{most} hashes ran at once");
}

/// An organization has at most 20 environments, however many are created at once.
#[sqlx::test]
async fn environments_are_capped_per_organization_under_concurrency(pool: PgPool) {
    let mut client = Client::new(pool.clone());
    client.sign_up("ada@example.com", "Acme").await;
    let creations = (0..30).map(|n| {
        let mut client = client.clone();
        tokio::spawn(async move {
            client
                .post_form("/rpc/create_environment", &[("name", &format!("Env {n}"))])
                .await
        })
    });
    let mut refused = 0;
    for creation in creations.collect::<Vec<_>>() {
        let reply = creation.await.unwrap();
        match reply.status {
            StatusCode::OK => {}
            StatusCode::CONFLICT => {
                assert!(
                    reply.body.contains("at most 20 environments"),
                    "{}",
                    reply.body
                );
                refused += 1;
            }
            other => panic!("{other}: {}", reply.body),
        }
    }
    assert_eq!(refused, 11, "Production and 19 more");
    assert_eq!(count(&pool, "environments").await, 20);
}

#[sqlx::test]
async fn sign_out_deletes_the_session_on_the_server(pool: PgPool) {
    let mut client = Client::new(pool.clone());
    client.sign_up("ada@example.com", "Acme").await;
    let stolen = client.cookie.clone().unwrap();
    assert_eq!(count(&pool, "tower_sessions.session").await, 1);
    let reply = client.post_form("/sign-out", &[]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/sign-in");
    assert_eq!(count(&pool, "tower_sessions.session").await, 0);
    // A copy of the old cookie is worth nothing now.
    let mut thief = Client::new(pool.clone());
    thief.cookie = Some(stolen);
    assert_eq!(
        thief.get("/environments").await.status,
        StatusCode::SEE_OTHER
    );
}

#[sqlx::test]
async fn a_session_ends_12_hours_after_sign_in_however_active(pool: PgPool) {
    let mut client = Client::new(pool.clone());
    client.sign_up("ada@example.com", "Acme").await;
    assert_eq!(client.get("/environments").await.status, StatusCode::OK);
    // Age the sign-in by rewriting the stored session record's timestamp.
    let store = portal::accounts::session::store(pool.clone());
    let id: String = sqlx::query_scalar("SELECT id FROM tower_sessions.session")
        .fetch_one(&pool)
        .await
        .unwrap();
    use tower_sessions::SessionStore;
    let session_id: tower_sessions::session::Id = id.parse().unwrap();
    let mut record = store.load(&session_id).await.unwrap().unwrap();
    let signed_in = record.data.get_mut("signed_in").unwrap();
    signed_in["at"] =
        serde_json::json!((chrono::Utc::now() - chrono::Duration::hours(13)).to_rfc3339());
    store.save(&record).await.unwrap();

    let reply = client.get("/environments").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.location().starts_with("/sign-in"));
}

/// Each instance caches who a session is signed in as (a page view then reads neither the
/// session nor the member), and drops that the moment anything it was read from changes, on
/// whichever instance.
#[sqlx::test]
async fn who_is_signed_in_is_cached_until_anything_it_was_read_from_changes(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    tokio::spawn(portal::platform::changes::listen(
        pool.clone(),
        vec![state.signed_in.clone()],
    ));
    let cache = state.signed_in.clone();
    crate::helpers::eventually("the instance follows changes", || {
        let following = cache.is_following();
        async move { following }
    })
    .await;
    let mut client = Client::with_state(state);
    client.sign_up("ada@example.com", "Acme").await;
    assert_eq!(client.get("/environments").await.status, StatusCode::OK);

    // Cached: the session's last use pushed back past the idle limit (a change no trigger
    // announces) does not reach this instance's pages yet.
    let seen = |at: &'static str| sqlx::query(at).execute(&pool);
    seen("UPDATE user_sessions SET last_seen_at = now() - interval '3 hours'")
        .await
        .unwrap();
    assert_eq!(client.get("/environments").await.status, StatusCode::OK);
    seen("UPDATE user_sessions SET last_seen_at = now()")
        .await
        .unwrap();

    // Another instance changes her account, then her organization: seen here at once.
    let shell = |client: &mut Client| {
        let mut client = client.clone();
        async move {
            let shell = client.post_form("/rpc/get_shell", &[]).await;
            assert_eq!(shell.status, StatusCode::OK, "{}", shell.body);
            shell.body
        }
    };
    assert!(shell(&mut client).await.contains("ada@example.com"));
    for (change, seen) in [
        (
            "UPDATE users SET email = 'ada@lovelace.example'",
            "ada@lovelace.example",
        ),
        (
            "UPDATE organizations SET name = 'Analytical Engines'",
            "Analytical Engines",
        ),
        (
            "INSERT INTO environments (organization_id, name) SELECT id, 'Staging' FROM organizations",
            "Staging",
        ),
    ] {
        sqlx::query(change).execute(&pool).await.unwrap();
        crate::helpers::eventually(seen, || {
            let body = shell(&mut client);
            async move { body.await.contains(seen) }
        })
        .await;
    }

    // The environments kept with her say which tabs are hers: the new one opens, others not.
    let staging: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM environments WHERE name = 'Staging'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let tab = client
        .get(&format!("/environments/{staging}/api-secrets"))
        .await;
    assert_eq!(tab.status, StatusCode::OK);
    assert!(tab.body.contains("Staging"));
    let elsewhere = uuid::Uuid::new_v4();
    let tab = client
        .post_form(
            "/rpc/list_api_secrets",
            &[("environment_id", &elsewhere.to_string())],
        )
        .await;
    assert_eq!(tab.status, StatusCode::NOT_FOUND, "{}", tab.body);

    // Her session ended from the Sessions page on another instance: signed out here too.
    sqlx::query("DELETE FROM user_sessions")
        .execute(&pool)
        .await
        .unwrap();
    crate::helpers::eventually("the ended session is seen", || {
        let mut client = client.clone();
        async move { client.get("/environments").await.status == StatusCode::SEE_OTHER }
    })
    .await;
    assert!(
        client
            .get("/environments")
            .await
            .location()
            .starts_with("/sign-in")
    );
}

/// Two hours without use end a session; use keeps it (past two hours since sign-in, and with
/// nothing written to the session record on a page view).
#[sqlx::test]
async fn a_session_ends_after_2_hours_without_use_and_lives_while_used(pool: PgPool) {
    let mut client = Client::new(pool.clone());
    client.sign_up("ada@example.com", "Acme").await;
    let written = || async {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>(
            "SELECT expiry_date FROM tower_sessions.session",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let age = |minutes: i32| {
        sqlx::query("UPDATE user_sessions SET last_seen_at = now() - make_interval(mins => $1)")
            .bind(minutes)
            .execute(&pool)
    };
    let before = written().await;
    // Last used 1 h 59 min ago (3 hours after sign-in, say): still signed in, and seen now.
    age(119).await.unwrap();
    assert_eq!(client.get("/environments").await.status, StatusCode::OK);
    assert_eq!(client.get("/environments").await.status, StatusCode::OK);
    assert_eq!(
        written().await,
        before,
        "a page view rewrote the session record"
    );
    let seen: bool =
        sqlx::query_scalar("SELECT last_seen_at > now() - interval '1 minute' FROM user_sessions")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(seen, "the view was not noted as use");

    age(121).await.unwrap();
    let reply = client.get("/environments").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.location().starts_with("/sign-in"));
    assert_eq!(count(&pool, "user_sessions").await, 0);
}

#[sqlx::test]
async fn cross_site_posts_are_refused_before_they_do_anything(pool: PgPool) {
    Client::new(pool.clone())
        .sign_up("ada@example.com", "Acme")
        .await;
    let mut client = Client::new(pool.clone());
    let fields = [
        ("email", "ada@example.com"),
        ("password", "wrong password!"),
    ];
    for site in ["cross-site", "same-site"] {
        let reply = client.post_form_from("/sign-in", &fields, site).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{site}");
    }
    assert_eq!(count(&pool, "sign_in_failures").await, 0);

    // A signed-in victim's browser, driven by another site, against a server function.
    let mut victim = Client::new(pool.clone());
    victim.sign_in("ada@example.com", PASSWORD).await;
    let reply = victim
        .post_form_from("/rpc/create_environment", &[("name", "Evil")], "cross-site")
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&pool, "environments").await, 1);
    // The same call from the portal itself works.
    let reply = victim
        .post_form("/rpc/create_environment", &[("name", "Staging")])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(count(&pool, "environments").await, 2);
}

#[sqlx::test]
async fn environments_can_be_created_and_renamed_with_clear_errors(pool: PgPool) {
    let mut client = Client::new(pool.clone());
    let production = environment_id(client.sign_up("ada@example.com", "Acme").await.location());
    let reply = client
        .post_form("/rpc/create_environment", &[("name", " Staging ")])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("\"name\":\"Staging\""));
    let duplicate = client
        .post_form("/rpc/create_environment", &[("name", "Staging")])
        .await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.body.contains("already exists"));
    let empty = client
        .post_form("/rpc/create_environment", &[("name", "  ")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);

    let id = production.to_string();
    let renamed = client
        .post_form("/rpc/rename_environment", &[("id", &id), ("name", "Live")])
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM environments ORDER BY name")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(names, ["Live", "Staging"]);

    // Signed out, the server functions refuse.
    let mut anonymous = Client::new(pool.clone());
    let reply = anonymous
        .post_form("/rpc/create_environment", &[("name", "X")])
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn another_organizations_ids_behave_exactly_like_ids_that_do_not_exist(pool: PgPool) {
    let mut ada = Client::new(pool.clone());
    let adas = environment_id(ada.sign_up("ada@example.com", "Acme").await.location());
    let mut bob = Client::new(pool.clone());
    bob.sign_up("bob@example.com", "Bobco").await;
    let nobodys = Uuid::new_v4();

    // Pages.
    let theirs = bob.get(&format!("/environments/{adas}/api-secrets")).await;
    let missing = bob
        .get(&format!("/environments/{nobodys}/api-secrets"))
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(without_nonce(&theirs.body), without_nonce(&missing.body));
    assert!(!theirs.body.contains("Acme"));

    // Server functions, replayed with the other customer's id.
    let (adas_id, nobodys_id) = (adas.to_string(), nobodys.to_string());
    for (endpoint, name) in [
        ("/rpc/get_environment", None),
        ("/rpc/rename_environment", Some("Hijacked")),
    ] {
        let a = bob.post_form(endpoint, &fields(&adas_id, name)).await;
        let b = bob.post_form(endpoint, &fields(&nobodys_id, name)).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{endpoint}: {}", a.body);
        assert_eq!((a.status, &a.body), (b.status, &b.body), "{endpoint}");
    }
    let name: String = sqlx::query_scalar("SELECT name FROM environments WHERE id = $1")
        .bind(adas)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "Production");

    // The switcher too.
    assert_eq!(
        bob.get(&format!("/environments/switch?id={adas}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Bob's shell lists only Bob's environments.
    let shell = bob.post_form("/rpc/get_shell", &[]).await;
    assert!(shell.body.contains("Bobco") && !shell.body.contains(&adas.to_string()));
}

fn fields<'a>(id: &'a str, name: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![("id", id)];
    fields.extend(name.map(|name| ("name", name)));
    fields
}

/// The page with its per-response script nonce blanked out.
fn without_nonce(body: &str) -> String {
    let start = body.find("nonce=\"").expect("pages carry a nonce") + 7;
    let nonce = &body[start..start + body[start..].find('"').unwrap()];
    body.replace(nonce, "NONCE")
}
