//! Who uses each API secret, and how much: every verified request is counted in memory (per
//! secret, per hour, per caller), and about once a second one statement writes all of it: the
//! "Last used" dates (`GREATEST`, so that instances never move a date backwards), the hourly
//! counts and the callers (both added to what other instances wrote). The database's load does
//! not grow with the request rate, and memory is bounded: at most [`MAX_CALLERS`] distinct
//! callers per secret between two writes, the rest counted as "other".

use std::{
    borrow::Cow,
    collections::HashMap,
    net::IpAddr,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::http::{HeaderMap, header::USER_AGENT};
use sqlx::PgPool;
use uuid::Uuid;

/// How often marks are written unless `PORTAL_USAGE_FLUSH_MS` says otherwise.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Distinct callers remembered per secret between two writes.
pub const MAX_CALLERS: usize = 100;
/// A user agent is kept to this many bytes (it is the caller's text, shown in the portal).
pub const MAX_USER_AGENT_BYTES: usize = 256;
const HOUR_MS: i64 = 3_600_000;

/// Who made a verified request: its client's address (none if unknown) and user agent.
pub struct Caller<'a> {
    pub address: Option<IpAddr>,
    pub user_agent: Cow<'a, str>,
}

impl<'a> Caller<'a> {
    /// The user agent as sent, if printable ASCII and short (no copy); otherwise its printable
    /// characters, cut to [`MAX_USER_AGENT_BYTES`].
    pub fn new(address: Option<IpAddr>, headers: &'a HeaderMap) -> Caller<'a> {
        let raw = headers.get(USER_AGENT).map_or(&b""[..], |v| v.as_bytes());
        let user_agent = match std::str::from_utf8(raw) {
            Ok(text)
                if text.len() <= MAX_USER_AGENT_BYTES
                    && text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') =>
            {
                Cow::Borrowed(text)
            }
            _ => {
                let mut text = String::new();
                for c in String::from_utf8_lossy(raw)
                    .chars()
                    .filter(|c| printable(*c))
                {
                    if text.len() + c.len_utf8() > MAX_USER_AGENT_BYTES {
                        break;
                    }
                    text.push(c);
                }
                Cow::Owned(text)
            }
        };
        Caller {
            address,
            user_agent,
        }
    }
}

/// Not a control character, nor an invisible one that changes how text around it reads
/// (zero-width, bidirectional overrides and isolates, the byte-order mark).
fn printable(c: char) -> bool {
    !c.is_control()
        && !matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
        )
}

/// Counting happens on every accepted request: each thread counts into its own shard, so the
/// request threads never contend for one lock (the write merges the shards).
const SHARDS: usize = 8;

/// A shard on cache lines of its own: unpadded, two threads' shards share a line, and each lock
/// taken moves that line between their cores (false sharing). 128 bytes: a pair of lines, which
/// x86 prefetches together.
#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<HashMap<Uuid, Tally>>);

#[derive(Default)]
pub struct Usage {
    shards: [Shard; SHARDS],
    /// Statements written so far (for benchmarks and tests).
    statements: AtomicU64,
}

/// This thread's shard.
fn shard_index() -> usize {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static SHARD: usize = (NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS as u64) as usize;
    }
    SHARD.with(|shard| *shard)
}

/// What one secret did since the last write.
#[derive(Default)]
struct Tally {
    /// The latest use (ms since the epoch).
    last_ms: Option<i64>,
    /// (hour since the epoch, requests, requests from callers not in `callers`), oldest first.
    hours: Vec<(i64, i64, i64)>,
    /// Address → user agent → counts; at most [`MAX_CALLERS`] pairs in all.
    callers: HashMap<IpAddr, HashMap<Box<str>, Seen>>,
    caller_count: usize,
}

#[derive(Clone, Copy)]
struct Seen {
    first_ms: i64,
    last_ms: i64,
    requests: i64,
}

impl Tally {
    fn mark(&mut self, at_ms: i64) {
        self.last_ms = Some(self.last_ms.map_or(at_ms, |last| last.max(at_ms)));
    }

    fn count(&mut self, at_ms: i64, caller: &Caller<'_>) {
        self.mark(at_ms);
        let known = caller
            .address
            .is_some_and(|address| self.count_caller(address, &caller.user_agent, at_ms));
        let hour = at_ms.div_euclid(HOUR_MS);
        let other = i64::from(!known);
        match self.hours.iter_mut().find(|(h, _, _)| *h == hour) {
            Some((_, requests, others)) => {
                *requests += 1;
                *others += other;
            }
            None => self.hours.push((hour, 1, other)),
        }
    }

    /// Counts the request for its caller; false if that caller is new and the cap is reached.
    fn count_caller(&mut self, address: IpAddr, user_agent: &str, at_ms: i64) -> bool {
        if let Some(seen) = self
            .callers
            .get_mut(&address)
            .and_then(|agents| agents.get_mut(user_agent))
        {
            seen.first_ms = seen.first_ms.min(at_ms);
            seen.last_ms = seen.last_ms.max(at_ms);
            seen.requests += 1;
            return true;
        }
        if self.caller_count >= MAX_CALLERS {
            return false;
        }
        self.caller_count += 1;
        self.callers.entry(address).or_default().insert(
            user_agent.into(),
            Seen {
                first_ms: at_ms,
                last_ms: at_ms,
                requests: 1,
            },
        );
        true
    }

    /// Adds another tally in: another thread's, or one whose write failed (retried with the
    /// next). The cap on callers holds for the sum.
    fn merge(&mut self, other: Tally) {
        if let Some(at) = other.last_ms {
            self.mark(at);
        }
        for (hour, requests, others) in other.hours {
            match self.hours.iter_mut().find(|(h, _, _)| *h == hour) {
                Some((_, r, o)) => {
                    *r += requests;
                    *o += others;
                }
                None => self.hours.push((hour, requests, others)),
            }
        }
        for (address, agents) in other.callers {
            for (agent, seen) in agents {
                let mine = self.callers.entry(address).or_default();
                match mine.get_mut(&agent) {
                    Some(m) => {
                        m.first_ms = m.first_ms.min(seen.first_ms);
                        m.last_ms = m.last_ms.max(seen.last_ms);
                        m.requests += seen.requests;
                    }
                    None if self.caller_count < MAX_CALLERS => {
                        self.caller_count += 1;
                        mine.insert(agent, seen);
                    }
                    // Beyond the cap (writes failed meanwhile): counted as other.
                    None => {
                        let hour = seen.last_ms.div_euclid(HOUR_MS);
                        if let Some((_, _, o)) = self.hours.iter_mut().find(|(h, _, _)| *h == hour)
                        {
                            *o += seen.requests;
                        }
                    }
                }
            }
        }
    }
}

/// A batch as columns, for `unnest`.
#[derive(Default)]
struct Columns {
    used_ids: Vec<Uuid>,
    used_at: Vec<i64>,
    hour_ids: Vec<Uuid>,
    hours: Vec<i64>,
    hour_requests: Vec<i64>,
    hour_others: Vec<i64>,
    caller_ids: Vec<Uuid>,
    addresses: Vec<String>,
    agents: Vec<String>,
    first_seen: Vec<i64>,
    last_seen: Vec<i64>,
    caller_requests: Vec<i64>,
}

impl Columns {
    /// The tallies of the `live` secrets (those not removed meanwhile).
    fn of(batch: &HashMap<Uuid, Tally>, live: &[Uuid]) -> Columns {
        let mut columns = Columns::default();
        for id in live {
            let Some(tally) = batch.get(id) else {
                continue;
            };
            if let Some(at) = tally.last_ms {
                columns.used_ids.push(*id);
                columns.used_at.push(at);
            }
            for (hour, requests, others) in &tally.hours {
                columns.hour_ids.push(*id);
                columns.hours.push(*hour);
                columns.hour_requests.push(*requests);
                columns.hour_others.push(*others);
            }
            for (address, agents) in &tally.callers {
                for (agent, seen) in agents {
                    columns.caller_ids.push(*id);
                    columns.addresses.push(address.to_string());
                    columns.agents.push(agent.to_string());
                    columns.first_seen.push(seen.first_ms);
                    columns.last_seen.push(seen.last_ms);
                    columns.caller_requests.push(seen.requests);
                }
            }
        }
        columns
    }
}

impl Usage {
    /// A use that is not a request (a webhook signed with it): "Last used" only.
    pub fn mark(&self, secret_id: Uuid, at_ms: i64) {
        self.lock(shard_index())
            .entry(secret_id)
            .or_default()
            .mark(at_ms);
    }

    /// A request verified with the secret: "Last used", its hour's count and its caller's.
    pub fn count(&self, secret_id: Uuid, at_ms: i64, caller: &Caller<'_>) {
        self.lock(shard_index())
            .entry(secret_id)
            .or_default()
            .count(at_ms, caller);
    }

    pub fn statements_written(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Writes what was counted, in one statement (kept for the next try if it fails). Secrets
    /// removed meanwhile are skipped.
    pub async fn flush(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        // The shards merged: at most [`MAX_CALLERS`] per secret (the rest as other).
        let mut batch: HashMap<Uuid, Tally> = HashMap::new();
        for shard in 0..SHARDS {
            for (id, tally) in std::mem::take(&mut *self.lock(shard)) {
                batch.entry(id).or_default().merge(tally);
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        match Self::write(pool, &batch).await {
            Ok(()) => {
                tracing::debug!(secrets = batch.len(), "wrote API secret usage");
                self.statements.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                let mut pending = self.lock(0);
                for (id, tally) in batch {
                    pending.entry(id).or_default().merge(tally);
                }
                Err(e)
            }
        }
    }

    /// The secrets' rows are locked first, in id order, as the write's `UPDATE` would: instances
    /// writing at once queue instead of deadlocking, a removal waits for the write (not the
    /// other way round), and a secret removed before it is skipped.
    async fn write(pool: &PgPool, batch: &HashMap<Uuid, Tally>) -> Result<(), sqlx::Error> {
        let ids: Vec<Uuid> = batch.keys().copied().collect();
        let mut tx = pool.begin().await?;
        let live = sqlx::query_scalar!(
            "SELECT id FROM api_secrets WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
            &ids
        )
        .fetch_all(&mut *tx)
        .await?;
        let c = Columns::of(batch, &live);
        sqlx::query!(
            "WITH used AS (
                 UPDATE api_secrets s
                    SET last_used_at = GREATEST(s.last_used_at, to_timestamp(u.at_ms / 1000.0))
                   FROM unnest($1::uuid[], $2::int8[]) AS u(id, at_ms)
                  WHERE s.id = u.id
              ), hours AS (
                 INSERT INTO api_secret_usage (secret_id, hour, requests, other_requests)
                 SELECT h.id, to_timestamp(h.hour * 3600), h.requests, h.others
                   FROM unnest($3::uuid[], $4::int8[], $5::int8[], $6::int8[])
                        AS h(id, hour, requests, others)
                     ON CONFLICT (secret_id, hour) DO UPDATE
                    SET requests = api_secret_usage.requests + EXCLUDED.requests,
                        other_requests = api_secret_usage.other_requests + EXCLUDED.other_requests
              )
              INSERT INTO api_secret_callers
                     (secret_id, address, user_agent, first_seen_at, last_seen_at, requests)
              SELECT c.id, c.address::inet, c.agent, to_timestamp(c.first_ms / 1000.0),
                     to_timestamp(c.last_ms / 1000.0), c.requests
                FROM unnest($7::uuid[], $8::text[], $9::text[], $10::int8[], $11::int8[],
                            $12::int8[]) AS c(id, address, agent, first_ms, last_ms, requests)
                  ON CONFLICT (secret_id, address, user_agent) DO UPDATE
                 SET first_seen_at = LEAST(api_secret_callers.first_seen_at, EXCLUDED.first_seen_at),
                     last_seen_at = GREATEST(api_secret_callers.last_seen_at, EXCLUDED.last_seen_at),
                     requests = api_secret_callers.requests + EXCLUDED.requests",
            &c.used_ids,
            &c.used_at,
            &c.hour_ids,
            &c.hours,
            &c.hour_requests,
            &c.hour_others,
            &c.caller_ids,
            &c.addresses,
            &c.agents,
            &c.first_seen,
            &c.last_seen,
            &c.caller_requests,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    fn lock(&self, shard: usize) -> std::sync::MutexGuard<'_, HashMap<Uuid, Tally>> {
        self.shards[shard]
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Callers kept per secret (the most recently seen): one that signs with ever-changing user
/// agents or addresses cannot grow the table without bound.
pub const MAX_STORED_CALLERS: i64 = 1_000;

/// Deletes usage older than `days` (the janitor's retention: 90), and callers beyond the
/// [`MAX_STORED_CALLERS`] most recently seen of each secret.
pub async fn prune(pool: &PgPool, days: i32) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH hours AS (
             DELETE FROM api_secret_usage WHERE hour < now() - make_interval(days => $1)
         ), ranked AS (
             SELECT secret_id, address, user_agent,
                    row_number() OVER (PARTITION BY secret_id ORDER BY last_seen_at DESC) AS n
               FROM api_secret_callers
         )
         DELETE FROM api_secret_callers c
          USING ranked r
          WHERE (c.secret_id, c.address, c.user_agent) = (r.secret_id, r.address, r.user_agent)
            AND (r.n > $2 OR c.last_seen_at < now() - make_interval(days => $1))",
        days,
        MAX_STORED_CALLERS
    )
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(address: &str, agent: &'static str) -> Caller<'static> {
        Caller {
            address: Some(address.parse().unwrap()),
            user_agent: Cow::Borrowed(agent),
        }
    }

    #[test]
    fn callers_beyond_the_cap_are_counted_as_other() {
        let mut tally = Tally::default();
        for i in 0..MAX_CALLERS + 50 {
            tally.count(
                HOUR_MS + 5,
                &caller(&format!("10.0.{}.{}", i / 250, i % 250), "x"),
            );
        }
        // A caller already seen is still counted as itself.
        tally.count(HOUR_MS + 9, &caller("10.0.0.0", "x"));
        assert_eq!(tally.caller_count, MAX_CALLERS);
        assert_eq!(tally.hours, vec![(1, MAX_CALLERS as i64 + 51, 50)]);
        let seen = tally.callers[&"10.0.0.0".parse::<IpAddr>().unwrap()]["x"];
        assert_eq!(
            (seen.first_ms, seen.last_ms, seen.requests),
            (HOUR_MS + 5, HOUR_MS + 9, 2)
        );
        assert_eq!(tally.last_ms, Some(HOUR_MS + 9));
    }

    #[test]
    fn merged_tallies_keep_the_cap_on_callers() {
        let (mut a, mut b) = (Tally::default(), Tally::default());
        for i in 0..80 {
            a.count(HOUR_MS, &caller(&format!("10.1.0.{i}"), "a"));
            b.count(HOUR_MS, &caller(&format!("10.2.0.{i}"), "b"));
        }
        a.merge(b);
        assert_eq!(a.caller_count, MAX_CALLERS);
        assert_eq!(a.hours, vec![(1, 160, 60)]);
    }

    #[test]
    fn user_agents_are_kept_printable_and_short() {
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, "curl/8.5.0".parse().unwrap());
        assert!(matches!(
            Caller::new(None, &headers).user_agent,
            Cow::Borrowed("curl/8.5.0")
        ));
        headers.insert(
            USER_AGENT,
            axum::http::HeaderValue::from_bytes("é\tbot".as_bytes()).unwrap(),
        );
        assert_eq!(Caller::new(None, &headers).user_agent, "ébot");
        headers.insert(
            USER_AGENT,
            axum::http::HeaderValue::from_bytes("ok\u{202E}gnp.exe\u{200B}".as_bytes()).unwrap(),
        );
        assert_eq!(Caller::new(None, &headers).user_agent, "okgnp.exe");
        headers.insert(USER_AGENT, "a".repeat(1000).parse().unwrap());
        assert_eq!(
            Caller::new(None, &headers).user_agent.len(),
            MAX_USER_AGENT_BYTES
        );
        assert_eq!(Caller::new(None, &HeaderMap::new()).user_agent, "");
    }
}
