//! Reading the audit trail: one organization's events, newest first, filtered, a page at a time
//! by cursor (the event id: each page is an index range scan, however deep).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{API_ACTOR, AuditChoices, AuditEntry, AuditFilter, AuditPage, PAGE_SIZE};
use crate::{accounts::roles::Role, audit::AuditAction, platform::now_ms};

/// Up to `limit` events matching `filter`, older than `before` when given, newest first.
pub async fn entries(
    pool: &PgPool,
    organization_id: Uuid,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let api = filter.actor.as_deref() == Some(API_ACTOR);
    let email = filter.actor.as_deref().filter(|_| !api);
    let rows = sqlx::query!(
        r#"SELECT e.id, e.occurred_at AS "occurred_at: DateTime<Utc>", e.action, e.actor_email,
                  signer.secret_masked AS "signer_masked?", e.secret_masked, e.webhook_url,
                  e.member_email, e.member_role AS "member_role: Role",
                  e.member_previous_role AS "member_previous_role: Role", env.name AS "environment?",
                  e.ip, e.user_agent
             FROM audit_events e
             LEFT JOIN environments env ON env.id = e.environment_id
             LEFT JOIN LATERAL (
                  SELECT c.secret_masked FROM audit_events c
                   WHERE c.secret_id = e.actor_secret_id AND c.action = 'api_secret.created'
                   LIMIT 1) signer ON e.actor_secret_id IS NOT NULL
            WHERE e.organization_id = $1
              AND ($2::uuid IS NULL OR e.environment_id = $2)
              AND ($3::text IS NULL OR e.actor_email = $3)
              AND (NOT $4 OR e.actor_secret_id IS NOT NULL)
              AND ($5::text IS NULL OR e.action = $5)
              AND ($6::bigint IS NULL OR e.id < $6)
            ORDER BY e.id DESC
            LIMIT $7"#,
        organization_id,
        filter.environment,
        email,
        api,
        filter.action.map(AuditAction::name),
        before,
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            // Every stored action is one of ours (the database's CHECK); skip any other.
            let action = AuditAction::parse(&row.action)?;
            let actor = match (row.actor_email, row.signer_masked) {
                (Some(email), _) => email,
                (None, Some(masked)) => format!("REST API, signed with {masked}"),
                (None, None) => "REST API".to_owned(),
            };
            let subject = match (row.secret_masked, row.webhook_url, row.member_email) {
                (Some(masked), _, _) => masked,
                (_, Some(url), _) => url,
                (_, _, Some(email)) => match (row.member_previous_role, row.member_role) {
                    (Some(before), Some(role)) => {
                        format!("{email} ({} → {})", before.name(), role.name())
                    }
                    (None, Some(role)) => format!("{email} ({})", role.name()),
                    _ => email,
                },
                _ => String::new(),
            };
            Some(AuditEntry {
                id: row.id,
                at: row.occurred_at.into(),
                actor,
                action,
                subject,
                environment: row.environment,
                ip: row.ip,
                user_agent: row.user_agent,
            })
        })
        .collect())
}

pub async fn page(
    pool: &PgPool,
    organization_id: Uuid,
    filter: AuditFilter,
    before: Option<i64>,
) -> Result<AuditPage, sqlx::Error> {
    let mut entries = entries(pool, organization_id, &filter, before, PAGE_SIZE + 1).await?;
    let older = if entries.len() as i64 > PAGE_SIZE {
        entries.truncate(PAGE_SIZE as usize);
        entries.last().map(|entry| entry.id)
    } else {
        None
    };
    let environments = sqlx::query!(
        "SELECT id, name FROM environments WHERE organization_id = $1 ORDER BY created_at, name",
        organization_id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, row.name))
    .collect();
    let actors = sqlx::query_scalar!(
        r#"SELECT DISTINCT actor_email AS "actor_email!" FROM audit_events
            WHERE organization_id = $1 AND actor_email IS NOT NULL
            ORDER BY 1 LIMIT 500"#,
        organization_id
    )
    .fetch_all(pool)
    .await?;
    Ok(AuditPage {
        filter,
        choices: AuditChoices {
            environments,
            actors,
        },
        entries,
        older,
        now_ms: now_ms(),
    })
}
