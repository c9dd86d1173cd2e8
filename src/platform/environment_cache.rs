//! What an environment's page shows, cached per instance for a moment: under load, a page view
//! then costs no query at all. What is cached is the feature's business (this layer stores it
//! without knowing its type).
//!
//! An entry is dropped as soon as someone changes what it shows, on any instance: the environment's secrets, its webhook signer, its name, a secret's first use and
//! its last use once a minute later (triggers notify [`keys::CHANNEL`] with the environment's id,
//! at commit; this instance's own actions drop theirs at once). What traffic alone moves (usage
//! counts, failed requests, the passing of time) is at most [`TTL`] old, as much as the usage
//! counts lag behind the requests themselves. While notifications may be missed (the listener
//! is reconnecting), nothing is cached and nothing cached is used.

use std::{
    any::Any,
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::{changes::Follower, keys};

/// The longest an entry is used without asking the database again.
pub const TTL: Duration = Duration::from_secs(1);
/// At most this many environments are cached; a full cache drops the expired ones, then all.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    /// Whose environment it is: members of other organizations never get it.
    organization_id: Uuid,
    value: Arc<dyn Any + Send + Sync>,
    until: Instant,
}

pub struct EnvironmentCache {
    ttl: Duration,
    entries: Mutex<HashMap<Uuid, Entry>>,
    /// Counts the changes heard: a page read before one is not stored after it.
    generation: AtomicU64,
    following: AtomicBool,
}

impl Default for EnvironmentCache {
    fn default() -> Self {
        EnvironmentCache::new(TTL)
    }
}

impl EnvironmentCache {
    /// A cache whose entries live `ttl` (tests stretch it).
    pub fn new(ttl: Duration) -> EnvironmentCache {
        EnvironmentCache {
            ttl,
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
            following: AtomicBool::new(false),
        }
    }

    /// What was cached (as a `T`) of environment `environment_id`, if it is still valid and
    /// belongs to `organization_id`.
    pub fn get<T: Clone + 'static>(
        &self,
        environment_id: Uuid,
        organization_id: Uuid,
    ) -> Option<T> {
        if !self.is_following() {
            return None;
        }
        let entries = self.lock();
        let entry = entries.get(&environment_id)?;
        if entry.organization_id != organization_id || Instant::now() >= entry.until {
            return None;
        }
        entry.value.downcast_ref::<T>().cloned()
    }

    /// Where the changes stand: read before loading what [`EnvironmentCache::put`] stores.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether notifications are followed (else nothing is cached).
    pub fn is_following(&self) -> bool {
        self.following.load(Ordering::Acquire)
    }

    /// Caches `value`, read of organization `organization_id`'s environment `environment_id`
    /// when the changes stood at `generation`, unless something changed since.
    pub fn put<T: Send + Sync + 'static>(
        &self,
        environment_id: Uuid,
        organization_id: Uuid,
        value: T,
        generation: u64,
    ) {
        if !self.is_following() {
            return;
        }
        let mut entries = self.lock();
        // Checked under the lock that a change takes too: none slips in between.
        if self.generation() != generation {
            return;
        }
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| entry.until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let entry = Entry {
            organization_id,
            value: Arc::new(value),
            until: now + self.ttl,
        };
        entries.insert(environment_id, entry);
    }

    /// Forgets environment `environment_id`: this instance changed it, and knows at once (the
    /// notification comes at commit).
    pub fn invalidate(&self, environment_id: Uuid) {
        self.changed_for(Some(environment_id));
    }

    /// `None`: every environment.
    fn changed_for(&self, environment_id: Option<Uuid>) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        match environment_id {
            Some(id) => {
                entries.remove(&id);
            }
            None => entries.clear(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        // A panic elsewhere while holding it leaves plain data behind: still usable.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Follower for EnvironmentCache {
    fn channel(&self) -> &'static str {
        keys::CHANNEL
    }

    fn changed(&self, payload: &str) {
        self.changed_for(payload.parse().ok());
    }

    fn following(&self, yes: bool) {
        self.changed_for(None);
        self.following.store(yes, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn following(ttl: Duration) -> EnvironmentCache {
        let cache = EnvironmentCache::new(ttl);
        cache.following(true);
        cache
    }

    #[test]
    fn an_entry_is_for_its_organization_until_its_ttl() {
        let cache = following(Duration::from_millis(50));
        let (env, org) = (Uuid::new_v4(), Uuid::new_v4());
        cache.put(env, org, 7_u32, cache.generation());
        assert_eq!(cache.get::<u32>(env, org), Some(7));
        assert_eq!(cache.get::<u32>(env, Uuid::new_v4()), None);
        assert_eq!(cache.get::<String>(env, org), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get::<u32>(env, org), None);
    }

    #[test]
    fn a_change_drops_its_environment_and_anything_read_before_it() {
        let cache = following(TTL);
        let (env, other, org) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        cache.put(env, org, 1_u32, cache.generation());
        cache.put(other, org, 2_u32, cache.generation());
        let before = cache.generation();
        cache.changed(&env.to_string());
        assert_eq!(cache.get::<u32>(env, org), None);
        assert_eq!(cache.get::<u32>(other, org), Some(2));
        cache.put(env, org, 1_u32, before);
        assert_eq!(cache.get::<u32>(env, org), None, "read before the change");
        cache.changed("not an id");
        assert_eq!(cache.get::<u32>(other, org), None);
    }

    #[test]
    fn nothing_is_cached_while_notifications_may_be_missed() {
        let cache = following(TTL);
        let (env, org) = (Uuid::new_v4(), Uuid::new_v4());
        cache.put(env, org, 1_u32, cache.generation());
        cache.following(false);
        assert_eq!(cache.get::<u32>(env, org), None);
        cache.put(env, org, 1_u32, cache.generation());
        cache.following(true);
        assert_eq!(cache.get::<u32>(env, org), None);
    }
}
