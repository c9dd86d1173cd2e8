//! The Audit log tab: every member reads their organization's trail (and only theirs), newest
//! first, filtered, paged by cursor without gaps or repeats, and exported as CSV that no
//! spreadsheet runs as a formula.

use axum::http::StatusCode;
use portal::{
    audit::AuditAction,
    audit_log::{AuditPage, PAGE_SIZE},
};
use sqlx::PgPool;

use crate::helpers::{Client, TestApp, created, signed_call, switch};

async fn page(client: &mut Client, fields: &[(&str, &str)]) -> AuditPage {
    let reply = client.post_form("/rpc/list_audit_events", fields).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

fn actions(page: &AuditPage) -> Vec<AuditAction> {
    page.entries.iter().map(|entry| entry.action).collect()
}

#[sqlx::test]
async fn every_action_is_in_the_log_newest_first_and_filters_narrow_it(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, env) = app.customer("ada@example.com").await;
    let first = created(&mut owner, env).await;
    let second = created(&mut owner, env).await;
    assert_eq!(
        switch(&mut owner, env, second.secret.id).await.status,
        StatusCode::OK
    );
    let mut viewer = app.teammate(&mut owner, "vic@example.com", "viewer").await;
    let hook = signed_call(
        &owner,
        &first.value,
        "POST",
        &format!("/api/v1/environments/{env}/webhooks"),
        r#"{"url":"http://127.0.0.1:9/hook","events":["ping"]}"#,
    )
    .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);

    // Every member, viewers included, reads the whole trail, newest first.
    let all = page(&mut viewer, &[]).await;
    assert_eq!(
        actions(&all),
        [
            AuditAction::WebhookAdded,
            AuditAction::MemberJoined,
            AuditAction::InvitationCreated,
            AuditAction::WebhookSignerChanged,
            AuditAction::ApiSecretCreated,
            AuditAction::ApiSecretCreated,
        ]
    );
    assert_eq!(all.older, None);
    let hook_entry = &all.entries[0];
    assert_eq!(
        hook_entry.actor,
        format!("REST API, signed with {}", first.secret.masked)
    );
    assert_eq!(hook_entry.environment.as_deref(), Some("Production"));
    assert_eq!(all.entries[1].subject, "vic@example.com (viewer)");
    assert_eq!(all.entries[1].environment, None);
    assert_eq!(
        all.entries[5].subject, first.secret.masked,
        "secrets by masked form only"
    );
    assert!(
        all.entries
            .iter()
            .all(|e| !e.subject.contains(&first.value))
    );
    assert_eq!(all.entries[5].ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(all.choices.actors, ["ada@example.com", "vic@example.com"]);

    // Filters: by action, by actor (a member, or the REST API), by environment.
    let created_only = page(&mut viewer, &[("action", "api_secret.created")]).await;
    assert_eq!(created_only.entries.len(), 2);
    let by_vic = page(&mut viewer, &[("actor", "VIC@example.com")]).await;
    assert_eq!(actions(&by_vic), [AuditAction::MemberJoined]);
    let by_api = page(&mut viewer, &[("actor", "api")]).await;
    assert_eq!(actions(&by_api), [AuditAction::WebhookAdded]);
    let in_env = page(&mut viewer, &[("environment", &env.to_string())]).await;
    assert_eq!(in_env.entries.len(), 4);
    for bad in [
        ("environment", "not-an-id"),
        ("action", "secret.stolen"),
        ("before", "x"),
    ] {
        let reply = viewer.post_form("/rpc/list_audit_events", &[bad]).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }

    // Another organization's members see none of it, whatever they ask for.
    let (mut other, _) = app.customer("olga@example.com").await;
    assert!(page(&mut other, &[]).await.entries.is_empty());
    let theirs = page(&mut other, &[("environment", &env.to_string())]).await;
    assert!(theirs.entries.is_empty());

    // The page itself, rendered on the server.
    let html = viewer.get("/audit-log?action=member.joined").await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(html.body.contains("Joined the organization"));
    assert!(!html.body.contains("Created an API secret</td>"));
}

#[sqlx::test]
async fn pages_follow_the_cursor_without_gaps_or_repeats(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, env) = app.customer("ada@example.com").await;
    created(&mut owner, env).await;
    // 129 more events, as if over months.
    sqlx::query(
        "INSERT INTO audit_events (organization_id, environment_id, actor_user_id, actor_email,
                                   action, secret_id, secret_masked)
         SELECT e.organization_id, e.id, u.id, u.email, 'api_secret.created', gen_random_uuid(),
                'csk_…' || lpad(n::text, 4, '0')
           FROM environments e, users u, generate_series(1, 129) n
          WHERE e.id = $1",
    )
    .bind(env)
    .execute(&pool)
    .await
    .unwrap();

    let mut seen = Vec::new();
    let mut before: Option<i64> = None;
    let mut pages = 0;
    loop {
        let cursor = before.map(|id| id.to_string()).unwrap_or_default();
        let page = page(&mut owner, &[("before", &cursor)]).await;
        assert!(page.entries.len() as i64 <= PAGE_SIZE);
        seen.extend(page.entries.iter().map(|entry| entry.id));
        pages += 1;
        match page.older {
            Some(id) => before = Some(id),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 130);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
}

#[sqlx::test]
async fn the_log_exports_as_csv_with_the_filters_and_never_as_formulas(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (mut owner, env) = app.customer("ada@example.com").await;
    let secret = created(&mut owner, env).await;
    assert_eq!(
        owner.invite("=1+1@example.com", "viewer").await.status,
        StatusCode::OK
    );

    let csv = owner.get("/audit-log.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "time,actor,action,description,subject,environment,ip,user_agent"
    );
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(
        lines[1].contains(
            r#","invitation.created","Invited someone","'=1+1@example.com (viewer)","","#
        ),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(&format!(
        r#","api_secret.created","Created an API secret","{}","Production","#,
        secret.secret.masked
    )));
    assert!(!csv.body.contains(&secret.value));

    // Compressed (as browsers ask for it), the stream ends cleanly too.
    let compressed = owner
        .send(
            axum::http::Request::get("/audit-log.csv").header("accept-encoding", "br"),
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(compressed.status, StatusCode::OK);
    assert_eq!(compressed.headers["content-encoding"], "br");
    assert!(!compressed.body.is_empty());

    // A failed sign-in's user agent is anyone's to choose: quoted, it stays one cell.
    let mut attacker = app.client();
    attacker
        .send(
            axum::http::Request::post("/sign-in")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("user-agent", "Mozilla;=HYPERLINK(\"http://evil.example\")"),
            axum::body::Body::from("email=ada%40example.com&password=guessing123456"),
        )
        .await;
    let csv = owner
        .get("/audit-log.csv?action=member.sign_in_failed")
        .await;
    assert!(
        csv.body
            .contains(r#""Mozilla;=HYPERLINK(""http://evil.example"")""#),
        "{}",
        csv.body
    );

    // More than one batch (1,000 rows): every event once, the header once.
    sqlx::query(
        "INSERT INTO audit_events (organization_id, environment_id, actor_user_id, actor_email,
                                   action, secret_id, secret_masked)
         SELECT e.organization_id, e.id, u.id, u.email, 'api_secret.created', gen_random_uuid(),
                'csk_…' || lpad(n::text, 4, '0')
           FROM environments e, users u, generate_series(1, 2500) n
          WHERE e.id = $1 AND u.email = 'ada@example.com'",
    )
    .bind(env)
    .execute(&pool)
    .await
    .unwrap();
    let big = owner.get("/audit-log.csv?action=api_secret.created").await;
    let rows: Vec<&str> = big.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 1 + 2501);
    assert_eq!(rows.iter().filter(|r| r.starts_with("time,")).count(), 1);
    let mut masked: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r.split("\",\"").nth(4).unwrap())
        .collect();
    masked.sort_unstable();
    masked.dedup();
    assert_eq!(masked.len(), 2501, "no event twice");

    let filtered = owner.get("/audit-log.csv?action=webhook.added").await;
    assert_eq!(
        filtered
            .body
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .count(),
        1,
        "the header only"
    );
    let bad = owner.get("/audit-log.csv?action=nope").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Signed out: no export.
    let mut stranger = app.client();
    let refused = stranger.get("/audit-log.csv").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
}

/// The database's list of actions and the code's are the same list.
#[sqlx::test]
async fn the_databases_actions_are_the_codes(pool: PgPool) {
    let definition: String = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint
          WHERE conname = 'audit_events_action_known'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut stored: Vec<&str> = definition.split('\'').skip(1).step_by(2).collect();
    stored.sort_unstable();
    let mut ours: Vec<&str> = AuditAction::ALL.iter().map(|a| a.name()).collect();
    ours.sort_unstable();
    assert_eq!(stored, ours);
}
