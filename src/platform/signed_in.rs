//! Who each session is signed in as, cached per instance: a page view then costs no session read
//! and no member query. What is cached is the accounts feature's business (this layer stores it
//! without knowing its type; `accounts::session` reads it back as its own).
//!
//! Features may attach what they read for the same session (the shell's lists, say) to its
//! entry: it lives and dies with it.
//!
//! An entry is dropped as soon as anything it was read from changes, on any instance: triggers
//! on the session store, `user_sessions`, `users`, `memberships`, `organizations`, `two_factor`
//! and `environments` notify [`CHANNEL`] at commit (`s:<session id>`, `u:<user id>`,
//! `o:<organization id>`, or `*` for everyone). An entry lives at most [`TTL`] (its reload also notes the session as seen) and
//! never past the deadline its caller gives (the session's absolute limit, the end of a recent
//! confirmation). While notifications may be missed (the listener is reconnecting), nothing is
//! cached and nothing cached is used.

use std::{
    any::Any,
    sync::Arc,
    time::{Duration, Instant},
};

use tower_sessions::session::Id;
use uuid::Uuid;

use super::changes::{Expires, Followed, Follower};

pub const CHANNEL: &str = "portal_accounts_changed";
/// The longest an entry is used without asking the database again.
pub const TTL: Duration = Duration::from_secs(60);
/// At most this many sessions are cached; a full cache drops the expired ones, then everyone.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    user_id: Uuid,
    organization_id: Uuid,
    signed_in: Arc<dyn Any + Send + Sync>,
    /// What features attached, one value per type.
    attached: Vec<Arc<dyn Any + Send + Sync>>,
    until: Instant,
}

impl Expires for Entry {
    fn until(&self) -> Instant {
        self.until
    }
}

#[derive(Default)]
pub struct SignedInCache {
    entries: Followed<Id, Entry>,
}

impl SignedInCache {
    /// Who is signed in with session `id`, if cached (as a `T`) and still valid.
    pub fn get<T: Clone + 'static>(&self, id: Id) -> Option<T> {
        self.entries
            .read(&id, |entry| entry.signed_in.downcast_ref::<T>().cloned())
    }

    /// What a feature attached to session `id`'s entry, if it is still valid.
    pub fn attached<T: Clone + 'static>(&self, id: Id) -> Option<T> {
        self.entries.read(&id, |entry| {
            entry
                .attached
                .iter()
                .find_map(|value| value.downcast_ref::<T>())
                .cloned()
        })
    }

    /// Attaches `value` (read when the changes stood at `generation`) to session `id`'s entry,
    /// if it has one and nothing changed since.
    pub fn attach<T: Send + Sync + 'static>(&self, id: Id, value: T, generation: u64) {
        self.entries.update(generation, |entries| {
            if let Some(entry) = entries.get_mut(&id) {
                entry.attached.retain(|value| !value.is::<T>());
                entry.attached.push(Arc::new(value));
            }
        });
    }

    /// Whether notifications are followed (else nothing is cached).
    pub fn is_following(&self) -> bool {
        self.entries.is_following()
    }

    /// Where the changes stand: read before loading what [`SignedInCache::put`] stores.
    pub fn generation(&self) -> u64 {
        self.entries.generation()
    }

    /// Caches who is signed in with session `id` (user `user_id`, acting for `organization_id`),
    /// read when the changes stood at `generation`, until at most `deadline` (the session's
    /// absolute limit).
    pub fn put<T: Send + Sync + 'static>(
        &self,
        id: Id,
        (user_id, organization_id): (Uuid, Uuid),
        signed_in: T,
        generation: u64,
        deadline: Instant,
    ) {
        let entry = Entry {
            user_id,
            organization_id,
            signed_in: Arc::new(signed_in),
            attached: Vec::new(),
            until: deadline.min(Instant::now() + TTL),
        };
        self.entries.insert(id, entry, generation, MAX_ENTRIES);
    }

    /// Forgets user `user_id`'s sessions: they changed something on this instance, which
    /// knows at once (the notification comes at commit).
    pub fn forget_user(&self, user_id: Uuid) {
        self.changed_for(Change::User(user_id));
    }

    fn changed_for(&self, change: Change) {
        self.entries.change(|entries| match change {
            Change::Session(id) => {
                entries.remove(&id);
            }
            Change::User(user_id) => entries.retain(|_, entry| entry.user_id != user_id),
            Change::Organization(id) => entries.retain(|_, entry| entry.organization_id != id),
            Change::Everyone => entries.clear(),
        });
    }
}

/// What a notification names.
enum Change {
    Session(Id),
    User(Uuid),
    Organization(Uuid),
    Everyone,
}

fn parse(payload: &str) -> Change {
    let parsed = match payload.split_once(':') {
        Some(("s", id)) => id.parse().ok().map(Change::Session),
        Some(("u", id)) => id.parse().ok().map(Change::User),
        Some(("o", id)) => id.parse().ok().map(Change::Organization),
        _ => None,
    };
    parsed.unwrap_or(Change::Everyone)
}

impl Follower for SignedInCache {
    fn channel(&self) -> &'static str {
        CHANNEL
    }

    fn changed(&self, payload: &str) {
        self.changed_for(parse(payload));
    }

    fn following(&self, yes: bool) {
        self.entries.follow(yes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_name_what_changed_and_anything_else_drops_everyone() {
        let id = Id::default();
        assert!(matches!(parse(&format!("s:{id}")), Change::Session(s) if s == id));
        let user = Uuid::new_v4();
        assert!(matches!(parse(&format!("u:{user}")), Change::User(u) if u == user));
        assert!(matches!(parse(&format!("o:{user}")), Change::Organization(o) if o == user));
        for payload in ["*", "", "u:not-a-uuid", "s:", "x:1"] {
            assert!(matches!(parse(payload), Change::Everyone), "{payload}");
        }
    }
}
