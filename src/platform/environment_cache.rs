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
    sync::Arc,
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::{
    changes::{Expires, Followed, Follower},
    keys,
};

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

impl Expires for Entry {
    fn until(&self) -> Instant {
        self.until
    }
}

pub struct EnvironmentCache {
    ttl: Duration,
    entries: Followed<Uuid, Entry>,
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
            entries: Followed::default(),
        }
    }

    /// What was cached (as a `T`) of environment `environment_id`, if it is still valid and
    /// belongs to `organization_id`.
    pub fn get<T: Clone + 'static>(
        &self,
        environment_id: Uuid,
        organization_id: Uuid,
    ) -> Option<T> {
        self.entries.read(&environment_id, |entry| {
            (entry.organization_id == organization_id)
                .then(|| entry.value.downcast_ref::<T>().cloned())
                .flatten()
        })
    }

    /// Where the changes stand: read before loading what [`EnvironmentCache::put`] stores.
    pub fn generation(&self) -> u64 {
        self.entries.generation()
    }

    /// Whether notifications are followed (else nothing is cached).
    pub fn is_following(&self) -> bool {
        self.entries.is_following()
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
        let entry = Entry {
            organization_id,
            value: Arc::new(value),
            until: Instant::now() + self.ttl,
        };
        self.entries
            .insert(environment_id, entry, generation, MAX_ENTRIES);
    }

    /// Forgets environment `environment_id`: this instance changed it, and knows at once (the
    /// notification comes at commit).
    pub fn invalidate(&self, environment_id: Uuid) {
        self.entries.change(|entries| {
            entries.remove(&environment_id);
        });
    }
}

impl Follower for EnvironmentCache {
    fn channel(&self) -> &'static str {
        keys::CHANNEL
    }

    fn changed(&self, payload: &str) {
        match payload.parse() {
            Ok(environment_id) => self.invalidate(environment_id),
            Err(_) => self.entries.change(|entries| entries.clear()),
        }
    }

    fn following(&self, yes: bool) {
        self.entries.follow(yes);
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
