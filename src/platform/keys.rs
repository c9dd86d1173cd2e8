//! Decrypted API secrets, cached per environment for verifying signatures, each with what the
//! REST API lists of it (so that a listing reads no database either).
//!
//! An entry is dropped (and its keys zeroized) when the environment's secrets change: on this
//! instance at once, on every instance through Postgres `NOTIFY api_secrets_changed` (sent by a
//! trigger on `api_secrets`, at commit). A short TTL is the backstop, and a lost listener
//! connection makes every entry stale (loaded again before it verifies anything).
//!
//! The environment id in a request is the caller's choice, and any caller can send a fresh
//! timestamp with a made-up signature. So ids without secrets are remembered apart from the real
//! keys (a flood of made-up ids cannot evict them), and at most [`MAX_CONCURRENT_LOADS`] loads
//! query the database at once (such a flood cannot take the pool's connections from the portal).
//! A request waits at most [`MAX_LOAD_WAIT`] for its turn (then it is told to retry: 503), and
//! the webhook worker loads through a permit of its own, so such a flood delays no delivery.
//!
//! While the database cannot be reached, nobody can change a secret through it, so the keys
//! cached before keep verifying (for at most [`STALE_IF_UNREACHABLE`] past their TTL): signed
//! calls that need no database go on working through an outage. After a load fails that way,
//! loads wait [`RETRY_LOADS_AFTER`] before trying again, so that requests meanwhile are answered
//! at once (from the cache, or 503) instead of each waiting for the pool. The cost: an instance
//! cut off from a database that others still reach goes on accepting a secret removed
//! meanwhile, for reads, until the bound; anything that writes needs the database anyway.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::PgPool;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::platform::{
    changes::Follower,
    crypto::{Binding, Keyring, OpenError},
};

pub const CHANNEL: &str = "api_secrets_changed";
/// At most this many environments with secrets are cached; beyond, the least recently used
/// one makes room.
const MAX_ENTRIES: usize = 10_000;
/// At most this many ids without secrets (unknown ones included); beyond, the oldest one
/// makes room.
pub const MAX_EMPTY_ENTRIES: usize = 10_000;
/// At most this many requests' cache misses query the database at once; the others wait their
/// turn, for at most [`MAX_LOAD_WAIT`].
pub const MAX_CONCURRENT_LOADS: usize = 4;
/// A load takes a millisecond or two: a request that waited this long is behind a flood.
pub const MAX_LOAD_WAIT: Duration = Duration::from_secs(1);
/// How long past their TTL cached keys still verify while the database cannot be reached.
pub const STALE_IF_UNREACHABLE: Duration = Duration::from_secs(300);
/// After a load found the database unreachable, loads are not tried for this long.
pub const RETRY_LOADS_AFTER: Duration = Duration::from_secs(1);

/// One API secret, decrypted and keyed for HMAC (wiped when dropped).
pub struct SecretKey {
    pub id: Uuid,
    pub key: super::signature::SigningKey,
    /// From this moment (ms since the epoch) on, it verifies nothing ([`i64::MAX`]: never).
    pub expires_ms: i64,
    /// When this instance last passed a use of it on to [`super::usage::Usage`] (ms); the key
    /// used last is the first one a request is checked against.
    pub last_marked_ms: std::sync::atomic::AtomicI64,
    pub listing: Listing,
}

/// What is listed of a secret (never its value), as loaded. Every change to it notifies the
/// cache (migrations: `api_secrets_changed`), its last use only once a minute: see
/// [`SecretKey::last_used_at`].
#[derive(Debug, Clone)]
pub struct Listing {
    pub masked: String,
    pub label: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub webhook_signer: bool,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl SecretKey {
    /// Its last use: the later of the one loaded (other instances' uses, to within the minute
    /// between notices) and this instance's own last (to within 100 ms).
    pub fn last_used_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let marked = self.last_marked_ms.load(Ordering::Relaxed);
        let marked = chrono::DateTime::from_timestamp_millis(marked).filter(|_| marked > 0);
        self.listing.last_used_at.max(marked)
    }
}

pub type Keys = Arc<[SecretKey]>;

pub struct KeyCache {
    entries: RwLock<Entries>,
    /// Requests' loads.
    loads: Semaphore,
    /// The webhook worker's loads (one at a time, apart from requests').
    delivery_loads: Semaphore,
    /// Bumped by every invalidation: a load that started before one is not cached.
    generation: AtomicU64,
    ttl: Duration,
    /// Until when loads are not tried (the last one found the database unreachable).
    unreachable_until: std::sync::Mutex<Option<Instant>>,
}

#[derive(Default)]
struct Entries {
    /// Environments with at least one secret.
    keys: HashMap<Uuid, (Keys, Instant)>,
    /// Ids with no secret: environments without one yet, and ids that name no environment.
    empty: HashMap<Uuid, (Keys, Instant)>,
    /// Entries loaded before this moment are stale (changes may have been missed), but may
    /// still serve while the database cannot be reached.
    stale_before: Option<Instant>,
}

/// When an entry was last of use: its keys' last verification (kept by the hot path anyway,
/// see [`SecretKey::last_marked_ms`]), else its load. Eviction goes by this, so a full cache
/// drops the entry nobody has used for longest, never everyone's.
fn last_use(keys: &Keys, loaded: Instant, now: Instant, now_ms: i64) -> i64 {
    let loaded_ms = now_ms
        .saturating_sub(i64::try_from(now.duration_since(loaded).as_millis()).unwrap_or(i64::MAX));
    keys.iter()
        .map(|key| key.last_marked_ms.load(Ordering::Relaxed))
        .fold(loaded_ms, i64::max)
}

impl Entries {
    /// The cached keys (none for an id without secrets), if still fresh.
    fn fresh(&self, environment_id: &Uuid, ttl: Duration) -> Option<&Keys> {
        let (keys, loaded) = self.entry(environment_id)?;
        let current = self.stale_before.is_none_or(|before| *loaded >= before);
        (current && loaded.elapsed() < ttl).then_some(keys)
    }

    /// The cached keys, fresh or not, if loaded less than `max_age` ago.
    fn within(&self, environment_id: &Uuid, max_age: Duration) -> Option<&Keys> {
        let (keys, loaded) = self.entry(environment_id)?;
        (loaded.elapsed() < max_age).then_some(keys)
    }

    fn entry(&self, environment_id: &Uuid) -> Option<&(Keys, Instant)> {
        self.keys
            .get(environment_id)
            .or_else(|| self.empty.get(environment_id))
    }

    fn insert(&mut self, environment_id: Uuid, keys: Keys, max_keys: usize, max_empty: usize) {
        let (map, other, max) = if keys.is_empty() {
            (&mut self.empty, &mut self.keys, max_empty)
        } else {
            (&mut self.keys, &mut self.empty, max_keys)
        };
        other.remove(&environment_id);
        if map.len() >= max && !map.contains_key(&environment_id) {
            // A scan, on a miss with a full cache only: cheaper than ordering every hit.
            let (now, now_ms) = (Instant::now(), super::now_ms());
            let victim = map
                .iter()
                .min_by_key(|(_, (keys, loaded))| last_use(keys, *loaded, now, now_ms))
                .map(|(id, _)| *id);
            if let Some(victim) = victim {
                map.remove(&victim);
            }
        }
        map.insert(environment_id, (keys, Instant::now()));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a database query failed")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Every load permit stayed taken for [`MAX_LOAD_WAIT`].
    #[error("too many API secret loads under way")]
    Busy,
    /// A load found the database unreachable a moment ago, and nothing is cached.
    #[error("the database was unreachable a moment ago")]
    Unreachable,
}

impl KeyCache {
    pub fn new(ttl: Duration) -> KeyCache {
        KeyCache {
            entries: RwLock::default(),
            loads: Semaphore::new(MAX_CONCURRENT_LOADS),
            delivery_loads: Semaphore::new(1),
            generation: AtomicU64::new(0),
            ttl,
            unreachable_until: std::sync::Mutex::new(None),
        }
    }

    /// The environment's secrets (none for an unknown environment), for a request: `Busy` if
    /// no load permit frees up within [`MAX_LOAD_WAIT`].
    pub async fn keys(
        &self,
        pool: &PgPool,
        keyring: &Keyring,
        environment_id: Uuid,
    ) -> Result<Keys, KeyError> {
        self.keys_through(
            &self.loads,
            Some(MAX_LOAD_WAIT),
            pool,
            keyring,
            environment_id,
        )
        .await
    }

    /// The environment's secrets, for signing a webhook: through the worker's own permit, so
    /// requests' loads never hold up a delivery.
    pub async fn keys_for_delivery(
        &self,
        pool: &PgPool,
        keyring: &Keyring,
        environment_id: Uuid,
    ) -> Result<Keys, KeyError> {
        self.keys_through(&self.delivery_loads, None, pool, keyring, environment_id)
            .await
    }

    /// The cached keys, or loaded once one of `permits` is free (`Busy` if that takes longer
    /// than `wait`, when there is one).
    async fn keys_through(
        &self,
        permits: &Semaphore,
        wait: Option<Duration>,
        pool: &PgPool,
        keyring: &Keyring,
        environment_id: Uuid,
    ) -> Result<Keys, KeyError> {
        if let Some(keys) = self.cached(environment_id) {
            return Ok(keys);
        }
        if self.unreachable_lately() {
            return self.stale(environment_id).ok_or(KeyError::Unreachable);
        }
        let permit = match wait {
            Some(wait) => tokio::time::timeout(wait, permits.acquire())
                .await
                .map_err(|_| KeyError::Busy)?,
            None => permits.acquire().await,
        };
        match self.load(permit, pool, keyring, environment_id).await {
            Err(KeyError::Database(e)) if crate::error::unreachable(&e) => {
                self.set_unreachable_until(Some(Instant::now() + RETRY_LOADS_AFTER));
                self.stale(environment_id).ok_or(KeyError::Database(e))
            }
            Ok(keys) => {
                self.set_unreachable_until(None);
                Ok(keys)
            }
            other => other,
        }
    }

    /// Whether a load found the database unreachable less than [`RETRY_LOADS_AFTER`] ago.
    fn unreachable_lately(&self) -> bool {
        self.unreachable_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some_and(|until| Instant::now() < until)
    }

    fn set_unreachable_until(&self, until: Option<Instant>) {
        *self
            .unreachable_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = until;
    }

    /// What is cached for the environment, stale or not, while it may stand in for a load that
    /// cannot be made.
    fn stale(&self, environment_id: Uuid) -> Option<Keys> {
        let max_age = self.ttl.saturating_add(STALE_IF_UNREACHABLE);
        self.read().within(&environment_id, max_age).cloned()
    }

    /// Loads the keys while `_permit` is held (`Err` only if its semaphore were closed, which
    /// these never are).
    async fn load(
        &self,
        _permit: Result<tokio::sync::SemaphorePermit<'_>, tokio::sync::AcquireError>,
        pool: &PgPool,
        keyring: &Keyring,
        environment_id: Uuid,
    ) -> Result<Keys, KeyError> {
        // Whoever held the permit before may have just loaded these.
        if let Some(keys) = self.cached(environment_id) {
            return Ok(keys);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let rows = sqlx::query!(
            r#"SELECT s.id, s.key_id, s.nonce, s.ciphertext, s.masked, s.label,
                      s.created_at AS "created_at: chrono::DateTime<chrono::Utc>",
                      s.last_used_at AS "last_used_at: chrono::DateTime<chrono::Utc>",
                      (e.webhook_signer_id IS NOT DISTINCT FROM s.id) AS "webhook_signer!",
                      s.expires_at AS "expires_at: chrono::DateTime<chrono::Utc>"
                 FROM api_secrets s JOIN environments e ON e.id = s.environment_id
                WHERE s.environment_id = $1
                ORDER BY s.created_at, s.id"#,
            environment_id
        )
        .fetch_all(pool)
        .await?;
        let keys: Keys = rows
            .into_iter()
            .map(|row| {
                let binding = Binding::ApiSecret {
                    id: row.id,
                    environment_id,
                };
                let key = keyring.open(binding, &row.key_id, &row.nonce, &row.ciphertext)?;
                Ok(SecretKey {
                    id: row.id,
                    // The decrypted bytes are zeroized when `key` drops, right after.
                    key: super::signature::SigningKey::new(&key),
                    expires_ms: row.expires_at.map_or(i64::MAX, |at| at.timestamp_millis()),
                    last_marked_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
                    listing: Listing {
                        masked: row.masked,
                        label: row.label,
                        created_at: row.created_at,
                        last_used_at: row.last_used_at,
                        webhook_signer: row.webhook_signer,
                        expires_at: row.expires_at,
                    },
                })
            })
            .collect::<Result<Vec<_>, OpenError>>()?
            .into();
        let mut entries = self.write();
        if self.generation.load(Ordering::Acquire) == generation {
            entries.insert(environment_id, keys.clone(), MAX_ENTRIES, MAX_EMPTY_ENTRIES);
        }
        Ok(keys)
    }

    fn cached(&self, environment_id: Uuid) -> Option<Keys> {
        self.read().fresh(&environment_id, self.ttl).cloned()
    }

    /// Runs `f` on the environment's keys under the cache's read lock, if they are cached and
    /// fresh (`None` otherwise: load them with [`KeyCache::keys`]).
    pub fn with_cached<R>(
        &self,
        environment_id: Uuid,
        f: impl FnOnce(&[SecretKey]) -> R,
    ) -> Option<R> {
        self.read()
            .fresh(&environment_id, self.ttl)
            .map(|keys| f(keys))
    }

    pub fn invalidate(&self, environment_id: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut entries = self.write();
        entries.keys.remove(&environment_id);
        entries.empty.remove(&environment_id);
    }

    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.write() = Entries::default();
    }

    /// Changes may have been missed (the listener lost its connection): every entry is loaded
    /// again before it verifies anything, unless the database cannot be reached (then it may
    /// stand in, see the module's documentation).
    pub fn expire_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.write().stale_before = Some(Instant::now());
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Changes made by any instance drop the affected entries; while notifications may have been
/// missed (the listener connecting again), every entry is stale.
impl Follower for KeyCache {
    fn channel(&self) -> &'static str {
        CHANNEL
    }

    fn changed(&self, payload: &str) {
        match payload.parse() {
            Ok(environment_id) => self.invalidate(environment_id),
            Err(_) => self.expire_all(),
        }
    }

    fn following(&self, _: bool) {
        self.expire_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(count: usize) -> Keys {
        (0..count)
            .map(|_| SecretKey {
                id: Uuid::new_v4(),
                key: super::super::signature::SigningKey::new(&[7; 32]),
                expires_ms: i64::MAX,
                last_marked_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
                listing: Listing {
                    masked: "csk_…test".into(),
                    label: String::new(),
                    created_at: chrono::Utc::now(),
                    last_used_at: None,
                    webhook_signer: false,
                    expires_at: None,
                },
            })
            .collect::<Vec<_>>()
            .into()
    }

    #[test]
    fn a_full_cache_drops_the_least_recently_used_entry_not_everyone() {
        let mut entries = Entries::default();
        let (a, b, c, d) = (
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
        );
        entries.insert(a, keys(1), 2, 2);
        std::thread::sleep(Duration::from_millis(5));
        entries.insert(b, keys(1), 2, 2);
        std::thread::sleep(Duration::from_millis(5));
        // `a` verifies a request now: `b` is the one nobody has used since.
        entries.keys[&a].0[0]
            .last_marked_ms
            .store(super::super::now_ms(), Ordering::Relaxed);
        entries.insert(c, keys(2), 2, 2);
        assert!(entries.keys.contains_key(&a) && entries.keys.contains_key(&c));
        assert!(!entries.keys.contains_key(&b));
        // Made-up ids fill their own map, oldest out first, and never touch the keys.
        for _ in 0..5 {
            entries.insert(Uuid::new_v4(), keys(0), 2, 2);
        }
        entries.insert(d, keys(0), 2, 2);
        assert_eq!(entries.empty.len(), 2);
        assert!(entries.empty.contains_key(&d));
        assert_eq!(entries.keys.len(), 2);
    }
}
