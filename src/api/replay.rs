//! Replay protection for signed requests that change something (POST, PUT, PATCH, DELETE): an
//! accepted signature is remembered in Postgres until its timestamp leaves the tolerance window,
//! so every instance refuses a second copy. Reads (GET, HEAD) are not recorded: repeating one
//! changes nothing, and recording them would put a write on the hot path.
//!
//! A signature covers the whole request, timestamp included, so it names the request: two
//! requests with the same signature are the same request (or an HMAC-SHA256 collision).

use std::time::Duration;

use axum::http::Method;
use sqlx::PgPool;

/// Whether requests with this method are accepted at most once.
pub fn applies_to(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Records `signature`, signed at `timestamp_ms`; false if it was recorded before (a replay).
pub async fn accept_once(
    pool: &PgPool,
    signature: &[u8; 32],
    timestamp_ms: i64,
    tolerance: Duration,
) -> Result<bool, sqlx::Error> {
    // Remembered for as long as the timestamp is inside the window (future ones included), and
    // a minute more: the instances' clocks and the database's may differ by a little.
    let kept = tolerance.saturating_add(Duration::from_secs(60));
    let expires_ms =
        timestamp_ms.saturating_add(i64::try_from(kept.as_millis()).unwrap_or(i64::MAX));
    let inserted = sqlx::query!(
        "INSERT INTO accepted_signatures (signature, expires_at)
         VALUES ($1, to_timestamp($2::float8 / 1000))
         ON CONFLICT (signature) DO NOTHING",
        &signature[..],
        expires_ms as f64,
    )
    .execute(pool)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Forgets signatures whose timestamps are outside the window (they are refused as stale).
pub async fn prune(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM accepted_signatures WHERE expires_at < now()")
        .execute(pool)
        .await
        .map(|_| ())
}
