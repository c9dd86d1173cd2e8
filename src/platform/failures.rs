//! Refused signed requests, kept so that customers can see why ("Failed requests"): recorded in
//! memory and written about once a second in one statement, like usage.
//!
//! Anyone can send a refused request for any environment id, so recording is bounded: at most
//! [`PER_ENVIRONMENT_PER_MINUTE`] per environment id, for at most [`MAX_TRACKED`] ids a minute
//! (environments known to have secrets always get theirs), at most [`MAX_PENDING`] waiting, and
//! the write keeps only those of environments that exist. Each id has its own allowance, so junk
//! sent to made-up ids never uses up a real environment's. A flood costs one map lookup per
//! request (skipped when another request holds the lock) and grows nothing.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use sqlx::PgPool;
use uuid::Uuid;

/// Refusals recorded per environment id per minute, per instance.
pub const PER_ENVIRONMENT_PER_MINUTE: u32 = 20;
/// Distinct ids not known to have secrets that get an allowance in a minute.
pub const MAX_TRACKED: usize = 10_000;
/// Refusals waiting to be written, at most (while the database is away).
const MAX_PENDING: usize = 5_000;
/// A path is kept to this many bytes, and a method to this many.
pub const MAX_PATH_BYTES: usize = 512;
pub const MAX_METHOD_BYTES: usize = 16;

/// One refused request: no query, no body, no signature.
pub struct Failure {
    pub environment_id: Uuid,
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub address: Option<IpAddr>,
    pub user_agent: String,
    /// The refusal's code (`bad_signature`, …).
    pub reason: &'static str,
    /// For a stale or future timestamp: the request's timestamp minus the server's clock.
    pub skew_ms: Option<i64>,
}

#[derive(Default)]
pub struct Failures {
    inner: Mutex<Inner>,
    statements: AtomicU64,
}

#[derive(Default)]
struct Inner {
    minute: i64,
    per_environment: HashMap<Uuid, u32>,
    pending: Vec<Failure>,
}

impl Failures {
    /// Records the refusal `failure` describes, if within the bounds (`known`: the environment
    /// is known to have secrets). `failure` runs only then: a refusal beyond them allocates
    /// nothing. Skipped when another request is recording (a refusal may be dropped; a request
    /// never waits for this).
    pub fn record(
        &self,
        environment_id: Uuid,
        known: bool,
        now_ms: i64,
        failure: impl FnOnce() -> Failure,
    ) {
        let Ok(mut inner) = self.inner.try_lock() else {
            return;
        };
        let minute = now_ms.div_euclid(60_000);
        if inner.minute != minute {
            inner.minute = minute;
            inner.per_environment.clear();
        }
        if inner.pending.len() >= MAX_PENDING
            || (!known
                && inner.per_environment.len() >= MAX_TRACKED
                && !inner.per_environment.contains_key(&environment_id))
        {
            return;
        }
        let count = inner.per_environment.entry(environment_id).or_default();
        *count += 1;
        if *count <= PER_ENVIRONMENT_PER_MINUTE {
            inner.pending.push(failure());
        }
    }

    pub fn statements_written(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Writes the recorded refusals of existing environments in one statement (kept for the
    /// next try if it fails).
    pub async fn flush(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let batch = std::mem::take(&mut self.lock().pending);
        if batch.is_empty() {
            return Ok(());
        }
        let column = |f: fn(&Failure) -> String| batch.iter().map(f).collect::<Vec<_>>();
        let ids: Vec<Uuid> = batch.iter().map(|f| f.environment_id).collect();
        let at: Vec<i64> = batch.iter().map(|f| f.at_ms).collect();
        let skews: Vec<Option<i64>> = batch.iter().map(|f| f.skew_ms).collect();
        let addresses: Vec<Option<String>> = batch
            .iter()
            .map(|f| f.address.map(|a| a.to_string()))
            .collect();
        // Each touched environment keeps its latest [`KEPT`] (and this batch's).
        let result = sqlx::query!(
            "WITH new AS (
                 INSERT INTO api_request_failures
                        (environment_id, at, method, path, address, user_agent, reason, skew_ms)
                 SELECT f.id, to_timestamp(f.at_ms / 1000.0), f.method, f.path, f.address::inet,
                        f.agent, f.reason, f.skew_ms
                   FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::text[],
                               $6::text[], $7::text[], $8::int8[]) WITH ORDINALITY
                        AS f(id, at_ms, method, path, address, agent, reason, skew_ms, n)
                  WHERE EXISTS (SELECT 1 FROM environments e WHERE e.id = f.id)
                  ORDER BY f.n
              RETURNING environment_id
             )
             DELETE FROM api_request_failures f
              USING (SELECT DISTINCT environment_id FROM new) t
              WHERE f.environment_id = t.environment_id
                AND f.id < (SELECT l.id FROM api_request_failures l
                             WHERE l.environment_id = t.environment_id
                             ORDER BY l.id DESC OFFSET $9::int8 - 1 LIMIT 1)",
            &ids,
            &at,
            &column(|f| f.method.clone()),
            &column(|f| f.path.clone()),
            &addresses as &[Option<String>],
            &column(|f| f.user_agent.clone()),
            &column(|f| f.reason.to_owned()),
            &skews as &[Option<i64>],
            KEPT,
        )
        .execute(pool)
        .await;
        match result {
            Ok(_) => {
                self.statements.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                let mut inner = self.lock();
                let room = MAX_PENDING.saturating_sub(inner.pending.len());
                inner.pending.extend(batch.into_iter().take(room));
                Err(e)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Deletes refusals older than [`KEPT_DAYS`] (each write keeps the latest [`KEPT`]).
pub async fn prune(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM api_request_failures WHERE at < now() - make_interval(days => $1)",
        KEPT_DAYS
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Refusals kept per environment.
pub const KEPT: i64 = 200;
/// And for at most this many days.
pub const KEPT_DAYS: i32 = 30;

/// `text` cut to at most `max` bytes (on a character boundary).
pub fn bounded(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(environment_id: Uuid) -> Failure {
        Failure {
            environment_id,
            at_ms: 0,
            method: "GET".into(),
            path: "/".into(),
            address: None,
            user_agent: String::new(),
            reason: "bad_signature",
            skew_ms: None,
        }
    }

    #[test]
    fn recording_is_bounded_per_environment_id() {
        let failures = Failures::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..100 {
            failures.record(a, true, 60_000, || failure(a));
            failures.record(b, false, 60_000, || failure(b));
        }
        let per = PER_ENVIRONMENT_PER_MINUTE as usize;
        assert_eq!(failures.lock().pending.len(), 2 * per);
        // Made-up ids get an allowance each, up to a bound, and never take a known one's.
        for i in 0..2 * MAX_TRACKED {
            if i % 1_000 == 0 {
                failures.lock().pending.clear();
            }
            let made_up = Uuid::new_v4();
            failures.record(made_up, false, 60_000, || failure(made_up));
        }
        assert_eq!(failures.lock().per_environment.len(), MAX_TRACKED);
        let c = Uuid::new_v4();
        failures.record(c, true, 60_000, || failure(c));
        assert!(
            failures
                .lock()
                .pending
                .iter()
                .any(|f| f.environment_id == c)
        );
        // A new minute, a new allowance.
        failures.lock().pending.clear();
        failures.record(a, true, 120_000, || failure(a));
        assert_eq!(failures.lock().pending.len(), 1);
    }

    #[test]
    fn paths_are_cut_on_a_character_boundary() {
        assert_eq!(bounded("/a", MAX_PATH_BYTES), "/a");
        let long = format!("/{}", "é".repeat(600));
        let cut = bounded(&long, MAX_PATH_BYTES);
        assert!(cut.len() <= MAX_PATH_BYTES && cut.len() >= MAX_PATH_BYTES - 1);
    }
}
