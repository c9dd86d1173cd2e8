//! Sign-in throttling: after too many failed sign-ins for one account or from one IP address
//! within the window, further attempts are refused (429, Retry-After) before any password is
//! checked. Failures are rows in Postgres, so every server instance sees the same counts.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgExecutor;

use super::Email;

pub const WINDOW: Duration = Duration::minutes(15);
pub const MAX_FAILURES_PER_ACCOUNT: i32 = 5;
pub const MAX_FAILURES_PER_IP: i32 = 20;

/// Refused until this long from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub std::time::Duration);

/// `Err(RetryAfter)` when this account or this address has failed too often lately.
pub async fn check(
    db: impl PgExecutor<'_>,
    email: &Email,
    ip: IpAddr,
) -> Result<Result<(), RetryAfter>, sqlx::Error> {
    let window_secs = WINDOW.num_seconds() as f64;
    let ip = ip.to_string();
    // For each key, the failure whose expiry frees a slot: the N-th most recent one.
    let row = sqlx::query!(
        r#"SELECT
             (SELECT failed_at FROM sign_in_failures
               WHERE email = $1 AND failed_at > now() - make_interval(secs => $3)
               ORDER BY failed_at DESC OFFSET $4 - 1 LIMIT 1)
               AS "account_blocker: DateTime<Utc>",
             (SELECT failed_at FROM sign_in_failures
               WHERE ip = $2 AND failed_at > now() - make_interval(secs => $3)
               ORDER BY failed_at DESC OFFSET $5 - 1 LIMIT 1)
               AS "ip_blocker: DateTime<Utc>""#,
        email.as_str(),
        ip,
        window_secs,
        MAX_FAILURES_PER_ACCOUNT,
        MAX_FAILURES_PER_IP,
    )
    .fetch_one(db)
    .await?;
    let until = [row.account_blocker, row.ip_blocker]
        .into_iter()
        .flatten()
        .map(|failed_at: DateTime<Utc>| failed_at + WINDOW)
        .max();
    Ok(match until {
        Some(until) => Err(RetryAfter(
            (until - Utc::now())
                .to_std()
                .unwrap_or_default()
                .max(std::time::Duration::from_secs(1)),
        )),
        None => Ok(()),
    })
}

pub async fn record_failure(
    db: impl PgExecutor<'_>,
    email: &Email,
    ip: IpAddr,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO sign_in_failures (email, ip) VALUES ($1, $2)",
        email.as_str(),
        ip.to_string()
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// A successful sign-in clears the account's failures (not the address's).
pub async fn clear_account(db: impl PgExecutor<'_>, email: &Email) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM sign_in_failures WHERE email = $1",
        email.as_str()
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Deletes failures that no longer count.
pub async fn prune(db: impl PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM sign_in_failures WHERE failed_at < now() - make_interval(secs => $1)",
        WINDOW.num_seconds() as f64
    )
    .execute(db)
    .await
    .map(|_| ())
}
