//! Webhooks hear that a secret expires: `api_secret.expiring` 7 days and 1 day before, and
//! `api_secret.expired` once it has. The janitor of every instance looks each minute; a notice is
//! queued in the same transaction that counts it as sent (`api_secrets.expiry_notices`), under
//! the row's lock, so each goes out once whichever instance finds it first. (The secret itself
//! stops verifying at the exact moment, on every instance, without waiting for this.)

use serde_json::json;
use sqlx::PgPool;

use super::EXPIRY_WARNING_DAYS;
use crate::{events::Event, platform::outbox};

/// Rows one transaction handles; the janitor repeats while there are more.
const BATCH: i64 = 100;

/// Queues the notices due at `now` (the server's clock; tests pass another); how many.
pub async fn announce(
    pool: &PgPool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, sqlx::Error> {
    let mut queued = 0;
    loop {
        let mut tx = pool.begin().await?;
        // Notices sent so far: 1 = "in 7 days", 2 = "in 1 day", 3 = "expired". A secret given a
        // date 3 days ahead hears "in 7 days" (with its date), then "in 1 day", then "expired".
        let due = sqlx::query!(
            r#"WITH due AS (
                   SELECT s.id, n.stage
                     FROM api_secrets s,
                          LATERAL (SELECT CASE WHEN s.expires_at <= $1 THEN 3
                                               WHEN s.expires_at <= $1 + interval '1 day' THEN 2
                                               ELSE 1 END AS stage) n
                    WHERE s.expires_at <= $1 + make_interval(days => $2::int)
                      AND s.expiry_notices < 3
                      AND s.expiry_notices < n.stage
                    ORDER BY s.expires_at
                    LIMIT $3
                      FOR NO KEY UPDATE OF s SKIP LOCKED)
               UPDATE api_secrets s SET expiry_notices = due.stage
                 FROM due
                WHERE s.id = due.id AND due.stage > s.expiry_notices
            RETURNING s.id, s.environment_id, s.masked, s.label, due.stage AS "stage!",
                      s.expires_at AS "expires_at!: chrono::DateTime<chrono::Utc>""#,
            now as _,
            EXPIRY_WARNING_DAYS as i32,
            BATCH
        )
        .fetch_all(&mut *tx)
        .await?;
        for secret in &due {
            let (event, payload) = if secret.stage == 3 {
                (
                    Event::ApiSecretExpired,
                    json!({ "id": secret.id, "masked": secret.masked, "label": secret.label,
                            "expired_at": secret.expires_at }),
                )
            } else {
                (
                    Event::ApiSecretExpiring,
                    json!({ "id": secret.id, "masked": secret.masked, "label": secret.label,
                            "expires_at": secret.expires_at,
                            "within_days": if secret.stage == 2 { 1 } else { EXPIRY_WARNING_DAYS } }),
                )
            };
            outbox::enqueue(&mut tx, secret.environment_id, event, payload).await?;
        }
        tx.commit().await?;
        queued += due.len() as u64;
        if (due.len() as i64) < BATCH {
            return Ok(queued);
        }
    }
}
