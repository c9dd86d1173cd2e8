//! The ground every server-side feature stands on, and that imports none of them: the app state
//! and its configuration, the master keys and the signing scheme, the cache of decrypted API
//! secrets, the environments' pages cached for a moment, "last used" marks, the outbox of
//! webhook events, client addresses and the pages' script policy. (Shared with the browser, and
//! as low: `crate::error` and `crate::ui`.)

pub mod changes;
pub mod client;
pub mod config;
pub mod crypto;
pub mod csp;
pub mod environment_cache;
pub mod failures;
pub mod keys;
pub mod outbox;
pub mod refusal;
pub mod signature;
pub mod signed_in;
pub mod state;
pub mod usage;

/// Milliseconds since the Unix epoch, straight from the system clock (no calendar arithmetic on
/// the hot path).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// A duration as SQL takes it (`$1::interval`), in whole microseconds: every duration the
/// portal binds goes through here, so none is converted by hand.
pub fn interval(duration: std::time::Duration) -> sqlx::postgres::types::PgInterval {
    sqlx::postgres::types::PgInterval {
        months: 0,
        days: 0,
        microseconds: i64::try_from(duration.as_micros()).unwrap_or(i64::MAX),
    }
}
