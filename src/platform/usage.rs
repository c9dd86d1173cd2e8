//! "Last used": marks from verified requests are coalesced in memory and written about once a
//! second, one UPDATE statement for all the secrets used since the last write, with
//! `GREATEST(last_used_at, …)` so that instances never move a date backwards.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sqlx::PgPool;
use uuid::Uuid;

/// How often marks are written unless `PORTAL_USAGE_FLUSH_MS` says otherwise.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Usage {
    /// Secret id → the latest use, in milliseconds since the epoch.
    pending: Mutex<HashMap<Uuid, i64>>,
    /// Rows written so far (for benchmarks and tests).
    written: AtomicU64,
}

impl Usage {
    pub fn mark(&self, secret_id: Uuid, at_ms: i64) {
        let mut pending = self.lock();
        let latest = pending.entry(secret_id).or_insert(at_ms);
        *latest = (*latest).max(at_ms);
    }

    pub fn rows_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Writes the pending marks (kept for the next try if the write fails).
    pub async fn flush(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let batch = std::mem::take(&mut *self.lock());
        if batch.is_empty() {
            return Ok(());
        }
        let (ids, times): (Vec<Uuid>, Vec<i64>) = batch.iter().map(|(id, at)| (*id, *at)).unzip();
        let result = sqlx::query!(
            "UPDATE api_secrets s
                SET last_used_at = GREATEST(s.last_used_at, to_timestamp(u.at_ms / 1000.0))
               FROM unnest($1::uuid[], $2::int8[]) AS u(id, at_ms)
              WHERE s.id = u.id",
            &ids,
            &times
        )
        .execute(pool)
        .await;
        match result {
            Ok(done) => {
                tracing::debug!(rows = done.rows_affected(), "wrote last-used dates");
                self.written
                    .fetch_add(done.rows_affected(), Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                for (id, at) in batch {
                    self.mark(id, at);
                }
                Err(e)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, i64>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Flushes every `interval` (normally [`FLUSH_INTERVAL`]) until the pool closes (the server
/// flushes once more after its last request on shutdown).
pub async fn run(usage: std::sync::Arc<Usage>, pool: PgPool, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = usage.flush(&pool).await {
            tracing::warn!(error = %e, "writing last-used dates failed; will retry");
        }
    }
}
