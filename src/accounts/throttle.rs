//! Sign-in and sign-up throttling. After too many failed sign-ins for one account or from one
//! address within the window, or too many sign-ups from one address, further attempts are
//! refused (429, Retry-After) before any password is hashed or checked. Attempts are rows in
//! Postgres, so every server instance sees the same counts, and an attempt is counted before its
//! password is checked.

use std::net::IpAddr;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::Email;
use crate::platform::interval;

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const MAX_FAILURES_PER_ACCOUNT: i32 = 5;
pub const MAX_FAILURES_PER_IP: i32 = 20;
/// Sign-ups are counted per address over an hour (the limit is a setting:
/// `PORTAL_SIGN_UPS_PER_HOUR`).
pub const SIGN_UP_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Refused until this long from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub std::time::Duration);

impl RetryAfter {
    /// `what` happened, and when to try again: "Too many failed sign-ins. Try again in 15
    /// minutes."
    pub fn message(self, what: &str) -> String {
        let minutes = self.0.as_secs().div_ceil(60);
        let plural = if minutes == 1 { "" } else { "s" };
        format!("{what} Try again in {minutes} minute{plural}.")
    }

    /// The `Retry-After` header's value: whole seconds, at least one.
    pub fn header(self) -> axum::http::HeaderValue {
        self.0.as_secs().max(1).into()
    }
}

/// Whether an attempt may go on to its password. A reserved sign-in attempt is counted before
/// its password is checked: it stays as a failure unless the sign-in succeeds (then
/// [`clear_account`] removes it with the account's other failures, or [`release`] only it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    Throttled(RetryAfter),
}

/// Counts an attempt for this account and address, or refuses it when either has failed
/// too often lately. Check and count are one step under a lock per account and per address, so
/// concurrent guesses are counted one after the other: each sees the ones before it, and no
/// more than the limit are ever let through to a password check.
pub async fn reserve(
    pool: &sqlx::PgPool,
    email: &Email,
    ip: IpAddr,
) -> Result<Reservation, sqlx::Error> {
    let address = address_key(ip);
    let mut tx = pool.begin().await?;
    // Always the account's lock first, then the address's: no two attempts wait on each other
    // in a cycle. Held until commit.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('sign-in account ' || $1, 0)),
                pg_advisory_xact_lock(hashtextextended('sign-in address ' || $2, 0))",
        email.as_str(),
        address,
    )
    .fetch_one(&mut *tx)
    .await?;
    // For each key, the failure whose expiry frees a slot: the N-th most recent one.
    let row = sqlx::query!(
        r#"SELECT
             (SELECT failed_at FROM sign_in_failures
               WHERE email = $1 AND failed_at > now() - $3::interval
               ORDER BY failed_at DESC OFFSET $4 - 1 LIMIT 1)
               AS "account_blocker: DateTime<Utc>",
             (SELECT failed_at FROM sign_in_failures
               WHERE ip = $2 AND failed_at > now() - $3::interval
               ORDER BY failed_at DESC OFFSET $5 - 1 LIMIT 1)
               AS "ip_blocker: DateTime<Utc>""#,
        email.as_str(),
        address,
        interval(WINDOW),
        MAX_FAILURES_PER_ACCOUNT,
        MAX_FAILURES_PER_IP,
    )
    .fetch_one(&mut *tx)
    .await?;
    if let Some(wait) = retry_after([row.account_blocker, row.ip_blocker], WINDOW) {
        return Ok(Reservation::Throttled(wait));
    }
    sqlx::query!(
        "INSERT INTO sign_in_failures (email, ip) VALUES ($1, $2)",
        email.as_str(),
        address,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Reservation::Reserved)
}

/// Counts a sign-up attempt from this address, or refuses it when `limit` attempts
/// were made from it within the hour. Under the address's lock, like [`reserve`]: concurrent
/// sign-ups are counted one after the other. Every attempt counts (a taken address too): each
/// one costs a password hash.
pub async fn reserve_sign_up(
    pool: &sqlx::PgPool,
    ip: IpAddr,
    limit: i32,
) -> Result<Reservation, sqlx::Error> {
    let address = address_key(ip);
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('sign-up address ' || $1, 0))",
        address,
    )
    .fetch_one(&mut *tx)
    .await?;
    let blocker = sqlx::query_scalar!(
        r#"SELECT attempted_at AS "attempted_at: DateTime<Utc>" FROM sign_up_attempts
            WHERE ip = $1 AND attempted_at > now() - $2::interval
            ORDER BY attempted_at DESC OFFSET $3 - 1 LIMIT 1"#,
        address,
        interval(SIGN_UP_WINDOW),
        limit.max(1),
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(wait) = retry_after([blocker], SIGN_UP_WINDOW) {
        return Ok(Reservation::Throttled(wait));
    }
    sqlx::query!("INSERT INTO sign_up_attempts (ip) VALUES ($1)", address)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Reservation::Reserved)
}

/// How long until the latest of these attempts leaves the window (at least a second), if any.
fn retry_after(
    blockers: impl IntoIterator<Item = Option<DateTime<Utc>>>,
    window: Duration,
) -> Option<RetryAfter> {
    let until = blockers.into_iter().flatten().max()? + window;
    Some(RetryAfter(
        (until - Utc::now())
            .to_std()
            .unwrap_or_default()
            .max(std::time::Duration::from_secs(1)),
    ))
}

/// What an address is counted as: an IPv4 address, or an IPv6 client's /64 (one subscriber's
/// network: a client can pick any of its 2^64 addresses).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let network = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{network}/64")
            }
        },
    }
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

/// Takes back one attempt counted for this account and address (the latest): for a right
/// password that must not clear the account's other failures, as [`clear_account`] would.
pub async fn release(
    db: impl PgExecutor<'_>,
    email: &Email,
    ip: IpAddr,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM sign_in_failures WHERE id = (
           SELECT id FROM sign_in_failures WHERE email = $1 AND ip = $2 ORDER BY id DESC LIMIT 1)",
        email.as_str(),
        address_key(ip),
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Deletes failures and sign-up attempts that no longer count.
pub async fn prune(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM sign_in_failures WHERE failed_at < now() - $1::interval",
        interval(WINDOW)
    )
    .execute(pool)
    .await?;
    sqlx::query!(
        "DELETE FROM sign_up_attempts WHERE attempted_at < now() - $1::interval",
        interval(SIGN_UP_WINDOW)
    )
    .execute(pool)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:1:2:3"), key("2001:db8:1:2::9"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }
}
