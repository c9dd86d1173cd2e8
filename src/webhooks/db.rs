//! Webhooks' SQL: actions lock the environment's row like the API secrets' actions do (one
//! transaction each), and events are written to the outbox in the transaction of the change
//! they describe, so an event exists if and only if its change was committed.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{
    Delivery, DeliveryStatus, MAX_WEBHOOKS, NewWebhook, Webhook, WebhookWithLog, WebhooksTab,
};
use crate::{
    accounts::roles::Role,
    audit::{self, AuditAction, By, Origin, Subject},
    environments::Environment,
    events::Event,
    ui::time::Moment,
};

/// How many deliveries a webhook's log shows.
pub const LOG_LENGTH: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no such environment or webhook")]
    NotFound,
    #[error("the environment has no webhook signer")]
    NoSigner,
    #[error("the environment has the most webhooks it can have")]
    LimitReached,
    #[error("a database query failed")]
    Database(#[from] sqlx::Error),
}

type Time = chrono::DateTime<chrono::Utc>;

struct WebhookRow {
    id: Uuid,
    url: String,
    events: Vec<String>,
    max_retries: i32,
    retry_interval_minutes: i32,
    created_at: Time,
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Self {
        Webhook {
            id: row.id,
            url: row.url,
            events: row.events,
            max_retries: row.max_retries,
            retry_interval_minutes: row.retry_interval_minutes,
            created_at: row.created_at.into(),
        }
    }
}

struct DeliveryRow {
    id: Uuid,
    webhook_id: Uuid,
    event: String,
    status: DeliveryStatus,
    attempts: i32,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    next_attempt_at: Option<Time>,
    attempt_in_progress: bool,
    created_at: Time,
}

impl From<DeliveryRow> for Delivery {
    fn from(row: DeliveryRow) -> Self {
        Delivery {
            id: row.id,
            event: row.event,
            status: row.status,
            attempts: row.attempts,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            next_attempt_at: row.next_attempt_at.map(Moment::from),
            attempt_in_progress: row.attempt_in_progress,
            created_at: row.created_at.into(),
        }
    }
}

/// The environment's webhooks with their latest deliveries, or `None` if the organization has
/// no such environment.
pub async fn tab(
    pool: &PgPool,
    organization_id: Uuid,
    role: Role,
    environment_id: Uuid,
) -> Result<Option<WebhooksTab>, sqlx::Error> {
    let environment = sqlx::query!(
        r#"SELECT id, name, webhook_signer_id IS NOT NULL AS "has_signer!",
                  now() AS "now!: Time"
             FROM environments WHERE id = $1 AND organization_id = $2"#,
        environment_id,
        organization_id
    )
    .fetch_optional(pool)
    .await?;
    let Some(environment) = environment else {
        return Ok(None);
    };
    let webhooks = list(pool, environment_id).await?;
    let ids: Vec<Uuid> = webhooks.iter().map(|webhook| webhook.id).collect();
    let mut deliveries = latest_deliveries(pool, &ids).await?;
    let webhooks = webhooks
        .into_iter()
        .map(|webhook| {
            let (mine, rest) = deliveries
                .drain(..)
                .partition(|d: &DeliveryRow| d.webhook_id == webhook.id);
            deliveries = rest;
            WebhookWithLog {
                webhook,
                deliveries: mine.into_iter().map(Delivery::from).collect(),
            }
        })
        .collect();
    Ok(Some(WebhooksTab {
        environment: Environment {
            id: environment.id,
            name: environment.name,
        },
        has_signer: environment.has_signer,
        webhooks,
        role,
        now_ms: environment.now.timestamp_millis(),
    }))
}

/// The environment's webhooks, oldest first.
pub async fn list(
    db: impl sqlx::PgExecutor<'_>,
    environment_id: Uuid,
) -> Result<Vec<Webhook>, sqlx::Error> {
    let rows = sqlx::query_as!(
        WebhookRow,
        r#"SELECT id, url, events, max_retries, retry_interval_minutes,
                  created_at AS "created_at: Time"
             FROM webhooks WHERE environment_id = $1 ORDER BY created_at, id"#,
        environment_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Webhook::from).collect())
}

/// A webhook's latest deliveries, newest first (`None`: no such webhook in the environment, or
/// not in the organization when one is given).
pub async fn deliveries(
    pool: &PgPool,
    organization_id: Option<Uuid>,
    environment_id: Uuid,
    webhook_id: Uuid,
) -> Result<Option<Vec<Delivery>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let exists = sqlx::query_scalar!(
        "SELECT 1 AS one FROM webhooks w JOIN environments e ON e.id = w.environment_id
          WHERE w.id = $1 AND w.environment_id = $2
            AND ($3::uuid IS NULL OR e.organization_id = $3)",
        webhook_id,
        environment_id,
        organization_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let rows = latest_deliveries(&mut *tx, &[webhook_id]).await?;
    tx.commit().await?;
    Ok(Some(rows.into_iter().map(Delivery::from).collect()))
}

/// The latest [`LOG_LENGTH`] deliveries of each of these webhooks, newest first: the one query
/// behind the tab's logs and one webhook's log.
async fn latest_deliveries(
    db: impl sqlx::PgExecutor<'_>,
    webhook_ids: &[Uuid],
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as!(
        DeliveryRow,
        r#"SELECT d.id AS "id!", d.webhook_id AS "webhook_id!", d.event AS "event!",
                  d.status AS "status!: DeliveryStatus", d.attempts AS "attempts!",
                  d.last_status_code AS "last_status_code?", d.last_error AS "last_error?",
                  d.next_attempt_at AS "next_attempt_at?: Time",
                  (d.attempt_started_at IS NOT NULL AND d.next_attempt_at > clock_timestamp())
                      AS "attempt_in_progress!",
                  d.created_at AS "created_at!: Time"
             FROM unnest($1::uuid[]) AS w (id)
             CROSS JOIN LATERAL (
                 SELECT * FROM webhook_deliveries
                  WHERE webhook_id = w.id ORDER BY created_at DESC LIMIT $2) d
            ORDER BY d.created_at DESC"#,
        webhook_ids,
        LOG_LENGTH
    )
    .fetch_all(db)
    .await
}

struct Locked {
    organization_id: Uuid,
    has_signer: bool,
}

/// Locks the environment (scoped to the organization when a member acts; a signed REST
/// request proved its environment already).
async fn lock_environment(
    tx: &mut Transaction<'_, Postgres>,
    by: By<'_>,
    environment_id: Uuid,
) -> Result<Locked, ActionError> {
    sqlx::query_as!(
        Locked,
        r#"SELECT organization_id, webhook_signer_id IS NOT NULL AS "has_signer!" FROM environments
            WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2) FOR UPDATE"#,
        environment_id,
        by.organization_id()
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ActionError::NotFound)
}

/// Adds a webhook (the URL was checked by the caller) and queues its `ping`.
pub async fn create(
    pool: &PgPool,
    by: By<'_>,
    origin: &Origin,
    environment_id: Uuid,
    new: &NewWebhook,
) -> Result<Webhook, ActionError> {
    let mut tx = pool.begin().await?;
    let environment = lock_environment(&mut tx, by, environment_id).await?;
    if !environment.has_signer {
        return Err(ActionError::NoSigner);
    }
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM webhooks WHERE environment_id = $1"#,
        environment_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if count >= MAX_WEBHOOKS {
        return Err(ActionError::LimitReached);
    }
    let row = sqlx::query_as!(
        WebhookRow,
        r#"INSERT INTO webhooks (environment_id, url, events, max_retries, retry_interval_minutes)
           VALUES ($1, $2, $3, $4, $5)
           RETURNING id, url, events, max_retries, retry_interval_minutes,
                     created_at AS "created_at: Time""#,
        environment_id,
        new.url,
        &new.events,
        new.max_retries,
        new.retry_interval_minutes
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO webhook_deliveries (environment_id, webhook_id, event, payload, next_attempt_at)
         VALUES ($1, $2, $3, $4, now())",
        environment_id,
        row.id,
        Event::Ping.name(),
        serde_json::json!({ "webhook_id": row.id })
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        environment.organization_id,
        Some(environment_id),
        by,
        origin,
        AuditAction::WebhookAdded,
        Subject::Webhook {
            id: row.id,
            url: &row.url,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row.into())
}

/// Deletes a webhook and its delivery log; pending deliveries are not sent.
pub async fn delete(
    pool: &PgPool,
    by: By<'_>,
    origin: &Origin,
    environment_id: Uuid,
    webhook_id: Uuid,
) -> Result<(), ActionError> {
    let mut tx = pool.begin().await?;
    let environment = lock_environment(&mut tx, by, environment_id).await?;
    let url = sqlx::query_scalar!(
        "DELETE FROM webhooks WHERE id = $1 AND environment_id = $2 RETURNING url",
        webhook_id,
        environment_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ActionError::NotFound)?;
    audit::record(
        &mut tx,
        environment.organization_id,
        Some(environment_id),
        by,
        origin,
        AuditAction::WebhookRemoved,
        Subject::Webhook {
            id: webhook_id,
            url: &url,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
