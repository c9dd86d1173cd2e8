//! The delivery queue's SQL: claims of due deliveries (fair between organizations), the outcome
//! of each attempt, the signers' keys, and the pruning of finished deliveries. Events enter the
//! queue through the outbox (`crate::platform::outbox`).

use sqlx::PgPool;
use uuid::Uuid;

use crate::{platform::interval, webhooks::DeliveryStatus};

/// How long a delivered or failed delivery is kept (pending ones are kept until they finish).
pub const RETENTION: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 60 * 60);
/// The most rows one pruning statement deletes (a short transaction; the janitor repeats it).
pub const PRUNE_BATCH: i64 = 5_000;

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
                  next_attempt_at = clock_timestamp() + $2::interval
             FROM due, webhooks w
            WHERE d.id = due.id AND w.id = d.webhook_id
        RETURNING d.id, d.environment_id, d.event, d.payload, d.attempts, w.url, w.max_retries,
                  w.retry_interval_minutes"#,
        limit,
        interval(lease),
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
    let (status, code, error, after) = match outcome {
        Outcome::Delivered { status_code } => {
            (DeliveryStatus::Delivered, Some(*status_code), None, None)
        }
        Outcome::Retry {
            status_code,
            error,
            after,
        } => (
            DeliveryStatus::Pending,
            *status_code,
            error.clone(),
            Some(interval(*after)),
        ),
        Outcome::Failed { status_code, error } => {
            (DeliveryStatus::Failed, *status_code, error.clone(), None)
        }
    };
    let updated = sqlx::query!(
        "UPDATE webhook_deliveries
            SET status = $3, last_status_code = $4, last_error = $5, attempt_started_at = NULL,
                next_attempt_at = clock_timestamp() + $6::interval,
                finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE clock_timestamp() END
          WHERE id = $1 AND attempts = $2",
        claimed.id,
        claimed.attempts,
        status.name(),
        code,
        error,
        after
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
    let row = sqlx::query!(
        r#"SELECT webhook_signer_id,
                  CASE WHEN webhook_signer_changed_at + $2::interval > now()
                       THEN previous_webhook_signer_id END AS previous
             FROM environments WHERE id = $1"#,
        environment_id,
        interval(grace)
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
    let deleted = sqlx::query!(
        "DELETE FROM webhook_deliveries
          WHERE id IN (SELECT id FROM webhook_deliveries
                        WHERE finished_at < clock_timestamp() - $1::interval
                        LIMIT $2)",
        interval(older_than),
        batch
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(deleted)
}
