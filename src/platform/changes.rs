//! One connection per instance listens for the changes other instances make (Postgres `NOTIFY`,
//! sent by triggers at commit) and hands each to the cache that follows its channel.
//!
//! Notifications sent while the connection is down are lost: a cache is told when it stops and
//! starts following, and treats what it holds as unconfirmed then.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::PgPool;

/// A cache kept in step with the database by notifications.
pub trait Follower: Send + Sync {
    /// The channel its triggers notify.
    fn channel(&self) -> &'static str;
    /// Something changed; `payload` says what (a trigger's choice).
    fn changed(&self, payload: &str);
    /// Notifications are followed from now on (`true`), or may be missed (`false`).
    fn following(&self, yes: bool);
}

/// What a cache built on [`Followed`] holds: each entry has its end of life.
pub trait Expires {
    fn until(&self) -> Instant;
}

/// The entries of a cache that follows notifications. Each change counts one generation, which a
/// reader takes before loading: what was read before a change is not stored after it. While
/// notifications may be missed, nothing is stored and nothing stored is used.
pub struct Followed<K, E> {
    entries: Mutex<HashMap<K, E>>,
    generation: AtomicU64,
    following: AtomicBool,
}

impl<K, E> Default for Followed<K, E> {
    fn default() -> Self {
        Followed {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            following: AtomicBool::new(false),
        }
    }
}

impl<K: Eq + Hash, E: Expires> Followed<K, E> {
    /// `read` of `key`'s entry, if it is still valid and notifications are followed.
    pub fn read<T>(&self, key: &K, read: impl FnOnce(&E) -> Option<T>) -> Option<T> {
        if !self.is_following() {
            return None;
        }
        let entries = self.lock();
        let entry = entries.get(key)?;
        if Instant::now() >= entry.until() {
            return None;
        }
        read(entry)
    }

    /// Where the changes stand: taken before loading what is stored.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether notifications are followed (else nothing is cached).
    pub fn is_following(&self) -> bool {
        self.following.load(Ordering::Acquire)
    }

    /// Stores `entry`, read when the changes stood at `generation`, unless something changed
    /// since. Holding `max` entries already, the map drops the expired ones, then all.
    pub fn insert(&self, key: K, entry: E, generation: u64, max: usize) {
        self.update(generation, |entries| {
            if entries.len() >= max {
                let now = Instant::now();
                entries.retain(|_, entry| entry.until() > now);
                if entries.len() >= max {
                    entries.clear();
                }
            }
            entries.insert(key, entry);
        });
    }

    /// Changes the entries with what was read when the changes stood at `generation`, unless
    /// something changed since.
    pub fn update(&self, generation: u64, update: impl FnOnce(&mut HashMap<K, E>)) {
        if !self.is_following() {
            return;
        }
        let mut entries = self.lock();
        // Checked under the lock that a change takes too: none slips in between.
        if self.generation() == generation {
            update(&mut entries);
        }
    }

    /// Something changed: `forget` drops the entries it affects.
    pub fn change(&self, forget: impl FnOnce(&mut HashMap<K, E>)) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        forget(&mut entries);
    }

    /// Notifications are followed from now on (`true`), or may be missed (`false`): either
    /// way, nothing held before is used.
    pub fn follow(&self, yes: bool) {
        self.change(HashMap::clear);
        self.following.store(yes, Ordering::Release);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, E>> {
        // A panic elsewhere while holding it leaves plain data behind: still usable.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Follows the channels until the pool closes (the server is shutting down), reconnecting a
/// second after the connection is lost.
pub async fn listen(pool: PgPool, followers: Vec<Arc<dyn Follower>>) {
    // However this task ends (the pool closed, a panic, dropped), no cache trusts it after.
    let _unfollow = Unfollow(&followers);
    let channels: Vec<&str> = followers.iter().map(|f| f.channel()).collect();
    let each = |yes: bool| followers.iter().for_each(|f| f.following(yes));
    while !pool.is_closed() {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                // A lost connection is said at once (not after connecting again, while caches
                // would still trust what they hold): it is replaced from scratch below.
                listener.eager_reconnect(false);
                if let Err(e) = listener.listen_all(channels.iter().copied()).await {
                    tracing::warn!(error = %e, "cannot LISTEN for changes");
                } else {
                    each(true);
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(notification)) => {
                                let channel = notification.channel();
                                followers
                                    .iter()
                                    .filter(|f| f.channel() == channel)
                                    .for_each(|f| f.changed(notification.payload()));
                            }
                            Ok(None) => {
                                tracing::warn!("the change listener lost its connection");
                                break;
                            }
                            Err(_) if pool.is_closed() => return,
                            Err(e) => {
                                tracing::warn!(error = %e, "the change listener failed");
                                break;
                            }
                        }
                    }
                }
            }
            Err(_) if pool.is_closed() => return,
            Err(e) => tracing::warn!(error = %e, "cannot connect the change listener"),
        }
        each(false);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Tells every follower that notifications may be missed from now on, when dropped.
struct Unfollow<'a>(&'a [Arc<dyn Follower>]);

impl Drop for Unfollow<'_> {
    fn drop(&mut self) {
        self.0.iter().for_each(|f| f.following(false));
    }
}
