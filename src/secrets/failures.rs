//! "Failed requests": an environment's latest refused signed requests (recorded by
//! `platform::failures`), with the reason in words, for the tab and the REST API.

use serde::{Deserialize, Serialize};

use crate::ui::time::Moment;

/// One refused request, as the customer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRequest {
    pub at: Moment,
    pub method: String,
    /// Without the query.
    pub path: String,
    pub address: Option<String>,
    pub user_agent: String,
    /// The refusal's code, as the REST answer had it (`stale_timestamp`, …).
    pub reason: String,
    /// What it means, and for a timestamp out of the window by how much.
    pub explanation: String,
}

/// An environment's failed requests, newest first, and the server's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRequests {
    pub requests: Vec<FailedRequest>,
    pub now: Moment,
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;
    use uuid::Uuid;

    use super::{FailedRequest, FailedRequests};
    use crate::platform::{failures::KEPT, refusal::Refusal};

    /// A refused request as recorded (also read as JSON: see `secrets::db::page`).
    #[derive(Debug, sqlx::FromRow, serde::Deserialize)]
    pub struct Refused {
        at: chrono::DateTime<chrono::Utc>,
        method: String,
        path: String,
        address: Option<String>,
        user_agent: String,
        reason: String,
        skew_ms: Option<i64>,
    }

    /// The environment's latest refusals (at most [`KEPT`]), newest first. The caller checked
    /// that the environment is the reader's.
    pub async fn latest(
        pool: &PgPool,
        environment_id: Uuid,
    ) -> Result<FailedRequests, sqlx::Error> {
        let refused = sqlx::query_as!(
            Refused,
            r#"SELECT at AS "at: chrono::DateTime<chrono::Utc>", method, path,
                      host(address) AS address, user_agent, reason, skew_ms
                 FROM api_request_failures WHERE environment_id = $1
                ORDER BY id DESC LIMIT $2"#,
            environment_id,
            KEPT
        )
        .fetch_all(pool)
        .await?;
        Ok(requests(refused, chrono::Utc::now()))
    }

    /// The refusals as the customer sees them, at `now` (the server's clock).
    pub fn requests(refused: Vec<Refused>, now: chrono::DateTime<chrono::Utc>) -> FailedRequests {
        let requests = refused
            .into_iter()
            .map(|row| FailedRequest {
                explanation: explain(&row.reason, row.skew_ms, row.at),
                at: row.at.into(),
                method: row.method,
                path: row.path,
                address: row.address,
                user_agent: row.user_agent,
                reason: row.reason,
            })
            .collect();
        FailedRequests {
            requests,
            now: now.into(),
        }
    }

    /// The refusal's message; for a timestamp outside the window, by how much, against our clock
    /// at that moment (`at`).
    fn explain(reason: &str, skew_ms: Option<i64>, at: chrono::DateTime<chrono::Utc>) -> String {
        let message = match Refusal::of_code(reason) {
            Some(refusal) => refusal.message(),
            None => reason,
        };
        match skew_ms {
            Some(skew) => {
                let seconds = skew.abs() / 1000;
                let side = if skew < 0 { "behind" } else { "ahead of" };
                format!(
                    "{message} It was {seconds} s {side} our clock ({}).",
                    at.format("%Y-%m-%d %H:%M:%S UTC")
                )
            }
            None => message.to_owned(),
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn a_skew_is_told_in_seconds_against_our_clock() {
            let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
                .unwrap()
                .to_utc();
            let text = super::explain("stale_timestamp", Some(-312_400), now);
            assert!(
                text.ends_with("It was 312 s behind our clock (2026-12-04 10:00:00 UTC)."),
                "{text}"
            );
            assert_eq!(
                super::explain("bad_signature", None, now),
                crate::platform::refusal::Refusal::BadSignature.message()
            );
        }
    }
}
