//! "Not found" in the shared map for every local name and id, so that the NSS module answers
//! them without the socket: `id root` or `initgroups` for a system user never waits behind
//! anyone else's requests (glibc asks every module of the `group` line for initgroups, after
//! `files` too).

use super::publish::Subject;
use super::state::Answers;
use ldaprs_common::protocol::Response;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long the records live; they are published again at half of it, after a map clear, and
/// whenever the local files change.
pub const LOCAL_TTL: Duration = Duration::from_secs(3600);

/// At most this many local names and ids are published (a huge /etc/passwd must not fill the
/// map; the rest are still answered "not found" by the daemon).
const MAX_LOCAL_RECORDS: usize = 20_000;

impl Answers {
    /// Publishes "not found" for the local users (names, uids, their initgroups), the local
    /// groups (names, gids) and the ignore lists.
    pub fn publish_local_names(&self) {
        let Some(p) = &self.publisher else {
            return;
        };
        // The generation before publishing: a map clear during it makes the set count as stale.
        let generation = p.generation();
        let policy = self.dir.local();
        let db = policy.db();
        let nf = Response::NotFound;
        let mut n = 0usize;
        let mut budget = || {
            n += 1;
            n <= MAX_LOCAL_RECORDS
        };
        for name in db.users.keys().chain(policy.ignore_users()) {
            if !budget() {
                break;
            }
            p.publish(Subject::UserName(name), &nf, LOCAL_TTL);
            p.publish(Subject::GroupsOf(name), &nf, LOCAL_TTL);
        }
        for uid in db.uids.iter().take(MAX_LOCAL_RECORDS) {
            p.publish(Subject::UserUid(*uid), &nf, LOCAL_TTL);
        }
        for name in db
            .groups
            .keys()
            .chain(policy.ignore_groups())
            .take(MAX_LOCAL_RECORDS)
        {
            p.publish(Subject::GroupName(name), &nf, LOCAL_TTL);
        }
        for gid in db.gids.iter().take(MAX_LOCAL_RECORDS) {
            p.publish(Subject::GroupGid(*gid), &nf, LOCAL_TTL);
        }
        self.local_published
            .store(generation.wrapping_add(1), Ordering::Relaxed);
        *self
            .local_published_at
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(self.clock.now());
    }

    /// Publishes the local names again when the map was cleared since, or half their TTL went.
    pub fn keep_local_names_fresh(&self) {
        let Some(p) = &self.publisher else {
            return;
        };
        let cleared =
            self.local_published.load(Ordering::Relaxed) != p.generation().wrapping_add(1);
        let at = *self
            .local_published_at
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let stale =
            at.is_none_or(|t| self.clock.now().saturating_duration_since(t) >= LOCAL_TTL / 2);
        if cleared || stale {
            self.publish_local_names();
        }
    }
}
