//! Webhooks' SQL: actions lock the environment's row like the API secrets' actions do (one
//! transaction each), and events are written to the outbox in the transaction of the change
//! they describe, so an event exists if and only if its change was committed.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{Delivery, MAX_WEBHOOKS, NewWebhook, Webhook, WebhookWithLog, WebhooksTab};
use crate::{
    audit::{self, By, Origin, Subject},
    secrets::Moment,
};

/// How many deliveries a webhook's log shows.
pub const LOG_LENGTH: i64 = 50;
/// How long a delivered or failed delivery is kept (pending ones are kept until they finish).
pub const RETENTION: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 60 * 60);
/// The most rows one pruning statement deletes (a short transaction; the janitor repeats it).
pub const PRUNE_BATCH: i64 = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no such environment or webhook")]
    NotFound,
    #[error("the environment has no webhook signer")]
    NoSigner,
    #[error("the environment has the most webhooks it can have")]
    LimitReached,
    #[error(transparent)]
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
    status: String,
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
    let mut deliveries = sqlx::query_as!(
        DeliveryRow,
        r#"SELECT d.id, d.webhook_id, d.event, d.status, d.attempts, d.last_status_code, d.last_error,
                  d.next_attempt_at AS "next_attempt_at: Time",
                  (d.attempt_started_at IS NOT NULL AND d.next_attempt_at > clock_timestamp())
                      AS "attempt_in_progress!",
                  d.created_at AS "created_at: Time"
             FROM webhooks w
             CROSS JOIN LATERAL (
                 SELECT * FROM webhook_deliveries
                  WHERE webhook_id = w.id ORDER BY created_at DESC LIMIT $2) d
            WHERE w.environment_id = $1
            ORDER BY d.created_at DESC"#,
        environment_id,
        LOG_LENGTH
    )
    .fetch_all(pool)
    .await?;
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
        environment: crate::environments::Environment {
            id: environment.id,
            name: environment.name,
        },
        has_signer: environment.has_signer,
        webhooks,
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
    let rows = sqlx::query_as!(
        DeliveryRow,
        r#"SELECT id, webhook_id, event, status, attempts, last_status_code, last_error,
                  next_attempt_at AS "next_attempt_at: Time",
                  (attempt_started_at IS NOT NULL AND next_attempt_at > clock_timestamp())
                      AS "attempt_in_progress!",
                  created_at AS "created_at: Time"
             FROM webhook_deliveries WHERE webhook_id = $1
            ORDER BY created_at DESC LIMIT $2"#,
        webhook_id,
        LOG_LENGTH
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(rows.into_iter().map(Delivery::from).collect()))
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
         VALUES ($1, $2, 'ping', $3, now())",
        environment_id,
        row.id,
        serde_json::json!({ "webhook_id": row.id })
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        environment.organization_id,
        environment_id,
        by,
        origin,
        "webhook.added",
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
        environment_id,
        by,
        origin,
        "webhook.removed",
        Subject::Webhook {
            id: webhook_id,
            url: &url,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Queues `event` for every webhook of the environment that subscribed to it, in the caller's
/// transaction.
pub async fn enqueue(
    tx: &mut Transaction<'_, Postgres>,
    environment_id: Uuid,
    event: &str,
    payload: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO webhook_deliveries (environment_id, webhook_id, event, payload, next_attempt_at)
         SELECT environment_id, id, $2, $3, now() FROM webhooks
          WHERE environment_id = $1 AND $2 = ANY (events)",
        environment_id,
        event,
        payload
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A delivery a worker claimed: its attempt number and what to send where.
#[derive(Debug)]
pub struct Claimed {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub event: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub url: String,
    pub max_retries: i32,
    pub retry_interval_minutes: i32,
}

/// Claims up to `limit` due deliveries (rows other workers hold are skipped) and moves each a
/// `lease` ahead: if this worker dies mid-attempt, another retries it when the lease ends.
///
/// An organization has at most `per_organization` attempts in flight, across all instances
/// (claims take turns under an advisory lock, so the count they see is exact): one customer's
/// backlog to a receiver that hangs cannot take every slot, and the others' deliveries go on.
pub async fn claim(
    pool: &PgPool,
    limit: i64,
    per_organization: i64,
    lease: std::time::Duration,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let mut tx = pool.begin().await?;
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended('webhook delivery claims', 0))")
        .fetch_one(&mut *tx)
        .await?;
    let claimed = sqlx::query_as!(
        Claimed,
        r#"WITH RECURSIVE
           -- The environments with pending deliveries, one index probe each.
           waiting (environment_id) AS (
               (SELECT environment_id FROM webhook_deliveries
                 WHERE status = 'pending' ORDER BY environment_id LIMIT 1)
               UNION ALL
               SELECT (SELECT d.environment_id FROM webhook_deliveries d
                        WHERE d.status = 'pending' AND d.environment_id > w.environment_id
                        ORDER BY d.environment_id LIMIT 1)
                 FROM waiting w WHERE w.environment_id IS NOT NULL),
           in_flight AS (
               SELECT e.organization_id, count(*) AS n
                 FROM webhook_deliveries d JOIN environments e ON e.id = d.environment_id
                WHERE d.attempt_started_at IS NOT NULL AND d.next_attempt_at > clock_timestamp()
                GROUP BY e.organization_id),
           candidates AS (
               SELECT c.id, c.next_attempt_at, e.organization_id
                 FROM waiting w
                 JOIN environments e ON e.id = w.environment_id
                 CROSS JOIN LATERAL (
                     SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
                      WHERE d.environment_id = w.environment_id AND d.status = 'pending'
                        AND d.next_attempt_at <= clock_timestamp()
                      ORDER BY d.next_attempt_at LIMIT $3) c),
           ranked AS (
               SELECT c.id, c.next_attempt_at,
                      row_number() OVER (PARTITION BY c.organization_id ORDER BY c.next_attempt_at)
                        + coalesce(f.n, 0) AS slot
                 FROM candidates c LEFT JOIN in_flight f USING (organization_id)),
           due AS (
               SELECT d.id FROM webhook_deliveries d JOIN ranked r ON r.id = d.id
                WHERE r.slot <= $3
                ORDER BY r.next_attempt_at
                LIMIT $1
                  FOR UPDATE OF d SKIP LOCKED)
           UPDATE webhook_deliveries d
              SET attempts = d.attempts + 1,
                  attempt_started_at = clock_timestamp(),
                  next_attempt_at = clock_timestamp() + $2 * interval '1 millisecond'
             FROM due, webhooks w
            WHERE d.id = due.id AND w.id = d.webhook_id
        RETURNING d.id, d.environment_id, d.event, d.payload, d.attempts, w.url, w.max_retries,
                  w.retry_interval_minutes"#,
        limit,
        lease_ms as f64,
        per_organization
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// How an attempt ended.
pub enum Outcome {
    Delivered {
        status_code: i32,
    },
    Retry {
        status_code: Option<i32>,
        error: Option<String>,
        after: std::time::Duration,
    },
    Failed {
        status_code: Option<i32>,
        error: Option<String>,
    },
}

/// Writes an attempt's outcome, unless another worker claimed the delivery since (its lease
/// ended): then that worker's attempt is the one on record.
pub async fn record(
    pool: &PgPool,
    claimed: &Claimed,
    outcome: &Outcome,
) -> Result<bool, sqlx::Error> {
    let (status, code, error, after_ms) = match outcome {
        Outcome::Delivered { status_code } => ("delivered", Some(*status_code), None, None),
        Outcome::Retry {
            status_code,
            error,
            after,
        } => (
            "pending",
            *status_code,
            error.clone(),
            Some(i64::try_from(after.as_millis()).unwrap_or(i64::MAX) as f64),
        ),
        Outcome::Failed { status_code, error } => ("failed", *status_code, error.clone(), None),
    };
    let updated = sqlx::query!(
        "UPDATE webhook_deliveries
            SET status = $3, last_status_code = $4, last_error = $5, attempt_started_at = NULL,
                next_attempt_at = clock_timestamp() + $6 * interval '1 millisecond',
                finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE clock_timestamp() END
          WHERE id = $1 AND attempts = $2",
        claimed.id,
        claimed.attempts,
        status,
        code,
        error,
        after_ms
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// The environment's signer, and the previous one while its grace period lasts.
pub async fn signers(
    pool: &PgPool,
    environment_id: Uuid,
    grace: std::time::Duration,
) -> Result<Option<(Uuid, Option<Uuid>)>, sqlx::Error> {
    let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX) as f64;
    let row = sqlx::query!(
        r#"SELECT webhook_signer_id,
                  CASE WHEN webhook_signer_changed_at + $2 * interval '1 millisecond' > now()
                       THEN previous_webhook_signer_id END AS previous
             FROM environments WHERE id = $1"#,
        environment_id,
        grace_ms
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|r| r.webhook_signer_id.map(|signer| (signer, r.previous))))
}

/// Deletes up to `batch` deliveries that finished more than `older_than` ago; returns how many.
pub async fn prune(
    pool: &PgPool,
    older_than: std::time::Duration,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let older_than_ms = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX) as f64;
    let deleted = sqlx::query!(
        "DELETE FROM webhook_deliveries
          WHERE id IN (SELECT id FROM webhook_deliveries
                        WHERE finished_at < clock_timestamp() - $1 * interval '1 millisecond'
                        LIMIT $2)",
        older_than_ms,
        batch
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(deleted)
}
