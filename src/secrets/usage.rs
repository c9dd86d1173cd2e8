//! Who uses an API secret, and how much: the numbers behind its row's sparkline, and the
//! callers seen lately. Counted by `platform::usage` on every verified request.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::SecretSummary;
#[cfg(feature = "ssr")]
use crate::{accounts::session::require_member, error::found, platform::state::app_state};
use crate::{environments::Environment, error::AppError, ui::time::Moment};

/// Days of requests in a row's sparkline and in the detail view.
pub const DAYS: usize = 30;
/// Callers are listed if seen within this many days.
pub const CALLER_DAYS: i32 = 7;
/// At most this many callers are listed (most recent first).
pub const MAX_LISTED_CALLERS: i64 = 200;

/// A secret's detail view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretUsage {
    pub environment: Environment,
    pub secret: SecretSummary,
    /// `(day, requests)` for the last [`DAYS`] days (UTC), oldest first; `day` as `2026-12-04`.
    pub days: Vec<(String, i64)>,
    pub callers: Vec<CallerSummary>,
    /// Requests within [`CALLER_DAYS`] days whose caller is not listed: beyond the callers
    /// remembered per write, or with no known address.
    pub other_requests: i64,
    pub now_ms: i64,
}

/// A client address and user agent that made verified requests with the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerSummary {
    pub address: String,
    pub user_agent: String,
    pub first_seen: Moment,
    pub last_seen: Moment,
    pub requests: i64,
}

#[server(prefix = "/rpc", endpoint = "api_secret_usage")]
pub async fn api_secret_usage(
    environment_id: Uuid,
    secret_id: Uuid,
) -> Result<SecretUsage, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    found(db::usage(&state.pool, &member, environment_id, secret_id).await)
}

#[cfg(feature = "ssr")]
mod db {
    use sqlx::PgPool;
    use uuid::Uuid;

    use super::{CALLER_DAYS, CallerSummary, DAYS, MAX_LISTED_CALLERS, SecretUsage};
    use crate::accounts::db::Member;

    /// The secret's usage, or `None` if the member's organization has no such environment or
    /// the environment no such secret.
    pub async fn usage(
        pool: &PgPool,
        member: &Member,
        environment_id: Uuid,
        secret_id: Uuid,
    ) -> Result<Option<SecretUsage>, sqlx::Error> {
        let Some(tab) = crate::secrets::db::tab(pool, member, environment_id).await? else {
            return Ok(None);
        };
        let Some(secret) = tab.secrets.into_iter().find(|s| s.id == secret_id) else {
            return Ok(None);
        };
        let callers = sqlx::query!(
            r#"SELECT host(address) AS "address!", user_agent,
                      first_seen_at AS "first_seen_at: chrono::DateTime<chrono::Utc>",
                      last_seen_at AS "last_seen_at: chrono::DateTime<chrono::Utc>",
                      requests
                 FROM api_secret_callers
                WHERE secret_id = $1 AND last_seen_at > now() - make_interval(days => $2)
                ORDER BY last_seen_at DESC, requests DESC
                LIMIT $3"#,
            secret_id,
            CALLER_DAYS,
            MAX_LISTED_CALLERS
        )
        .fetch_all(pool)
        .await?;
        let other_requests = sqlx::query_scalar!(
            r#"SELECT COALESCE(sum(other_requests), 0)::int8 AS "n!" FROM api_secret_usage
                WHERE secret_id = $1
                  AND hour >= date_trunc('hour', now()) - make_interval(days => $2)"#,
            secret_id,
            CALLER_DAYS
        )
        .fetch_one(pool)
        .await?;
        let today = chrono::DateTime::from_timestamp_millis(tab.now_ms)
            .unwrap_or_default()
            .date_naive();
        let days = (0..DAYS)
            .map(|i| {
                let ago = i64::try_from(DAYS - 1 - i).unwrap_or_default();
                let day = today - chrono::TimeDelta::days(ago);
                let requests = secret.daily_requests.get(i).copied().unwrap_or_default();
                (day.format("%Y-%m-%d").to_string(), requests)
            })
            .collect();
        Ok(Some(SecretUsage {
            environment: tab.environment,
            secret,
            days,
            callers: callers
                .into_iter()
                .map(|row| CallerSummary {
                    address: row.address,
                    user_agent: row.user_agent,
                    first_seen: row.first_seen_at.into(),
                    last_seen: row.last_seen_at.into(),
                    requests: row.requests,
                })
                .collect(),
            other_requests,
            now_ms: tab.now_ms,
        }))
    }
}
