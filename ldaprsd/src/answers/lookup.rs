//! A lookup, answered: local names first, then the cache, then the directory; the answer
//! remembered (and published to the shared map) for its TTL.

use super::key::Key;
use super::publish::Subject;
use super::state::{Answers, NEGATIVE_QUOTA};
use crate::debug;
use crate::ldap::DirError;
use crate::warn;
use ldaprs_common::names::valid_name;
use ldaprs_common::protocol::{ErrorCode, Response};
use std::sync::Arc;

/// An enumeration parses every entry of the directory (tens of megabytes for 100,000 users)
/// and frees it again; glibc keeps freed memory for reuse unless asked to give it back.
pub(super) fn release_memory() {
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
}

/// The answer itself: taken when nothing else holds it (an enumeration is never cached
/// whole), copied otherwise.
pub fn owned(r: Arc<Response>) -> Response {
    Arc::try_unwrap(r).unwrap_or_else(|shared| (*shared).clone())
}

pub(super) fn unavailable(e: &DirError) -> Response {
    Response::Error {
        code: ErrorCode::Unavailable,
        message: e.to_string(),
    }
}

impl Answers {
    pub(super) fn cached(&self, key: &Key) -> Option<Arc<Response>> {
        let (r, due) = self.cache.get_fresh(key, self.clock.now())?;
        // "Not found" is never refreshed ahead: it just expires (a short TTL), and a refresh
        // would publish answers that were kept out of the map by a caller's quota.
        if due && !matches!(*r, Response::NotFound) {
            self.request_refresh(key);
        }
        Some(r)
    }

    /// Keeps an answer (memory cache, persistent store, shared map) and hands it back shared:
    /// the cache and the caller hold the same copy (a 5,000-member group is not copied).
    pub(super) fn remember(&self, key: Key, resp: Response) -> Arc<Response> {
        let ttl = match resp {
            Response::NotFound => self.negative_ttl,
            Response::Error { .. } => return Arc::new(resp),
            _ => self.entry_ttl,
        };
        self.stored.record(&key, &resp, self.clock.unix_now());
        if let Some(p) = &self.publisher {
            match (&key, &resp) {
                (Key::UserName(n), r) => p.publish(Subject::UserName(n), r, ttl),
                (Key::UserUid(u), r) => p.publish(Subject::UserUid(*u), r, ttl),
                (Key::GroupName(n), r) => p.publish(Subject::GroupName(n), r, ttl),
                (Key::GroupGid(g), r) => p.publish(Subject::GroupGid(*g), r, ttl),
                (Key::GroupsOf(n), r) => p.publish(Subject::GroupsOf(n), r, ttl),
                // Enumerations are published entry by entry as they arrive (`frames.rs`).
                (Key::AllUsers | Key::AllGroups, _) => {}
            }
        }
        let shared = Arc::new(resp);
        self.cache.put(key, shared.clone(), ttl, self.clock.now());
        shared
    }

    /// Whether the local files (or the ignore lists) own this question. Checked before the
    /// cache, so that a user added to `/etc/passwd` stops being answered from the directory
    /// at once.
    fn shadowed_by_local(&self, key: &Key) -> bool {
        self.check_local_files();
        let policy = self.dir.local();
        let local = policy.db();
        match key {
            Key::UserName(n) | Key::GroupsOf(n) => policy.user(&local, n),
            Key::UserUid(u) => local.has_uid(*u),
            Key::GroupName(n) => policy.group(&local, n, u32::MAX),
            Key::GroupGid(g) => local.has_gid(*g),
            Key::AllUsers | Key::AllGroups => false,
        }
    }

    /// Drops from a cached enumeration what the local files now own.
    pub(super) fn without_local(&self, resp: Response) -> Response {
        let policy = self.dir.local();
        let local = policy.db();
        match resp {
            Response::Users(v) => Response::Users(
                v.into_iter()
                    .filter(|p| !policy.user(&local, &p.name) && !local.has_uid(p.uid))
                    .collect(),
            ),
            Response::Groups(v) => Response::Groups(
                v.into_iter()
                    .filter(|g| !policy.group(&local, &g.name, g.gid))
                    .collect(),
            ),
            other => other,
        }
    }

    /// A lookup the daemon makes for itself (or for root).
    pub async fn lookup(&self, id: u64, key: Key) -> Arc<Response> {
        self.lookup_as(id, key, None).await
    }

    /// A lookup asked by `asker` (a non-root uid; None: root or the daemon itself), whose
    /// "not found" answers count against its quota in the shared map.
    pub async fn lookup_as(&self, id: u64, key: Key, asker: Option<u32>) -> Arc<Response> {
        if matches!(key, Key::AllUsers | Key::AllGroups) {
            // Kept and fetched as frames only (`frames.rs`).
            return Arc::new(self.enumeration_answer(id, key).await);
        }
        if self.shadowed_by_local(&key) {
            debug!("req={id} {key:?}: a local (or ignored) name or id: not asked to the directory");
            return Arc::new(Response::NotFound);
        }
        if let Some(r) = self.cached(&key) {
            debug!("req={id} {key:?}: from cache");
            return r;
        }
        if self.is_offline() && !self.back_online(id, &key).await {
            return Arc::new(self.offline_answer(id, &key));
        }
        let t0 = std::time::Instant::now();
        let resp = self.fetch_as(&key, asker).await;
        if crate::log::enabled(ldaprs_common::config::LogLevel::Debug) {
            debug!(
                "req={id} {key:?}: directory answered in {} µs",
                t0.elapsed().as_micros()
            );
        }
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                warn!("req={id} {key:?}: {e}");
                // The servers just stopped answering: the persistent cache answers if it can.
                if matches!(e, DirError::Unreachable(_) | DirError::Interrupted(_))
                    && self.is_offline()
                {
                    return Arc::new(self.offline_answer(id, &key));
                }
                unavailable(&e)
            }
        };
        debug!(
            "req={id} {key:?}: {}",
            match &resp {
                Response::NotFound => "not found".to_string(),
                Response::Error { .. } => "unavailable".to_string(),
                Response::Users(v) => format!("{} users", v.len()),
                Response::Groups(v) => format!("{} groups", v.len()),
                _ => "found".to_string(),
            }
        );
        if matches!(resp, Response::NotFound) && !asker.is_none_or(|u| self.negative_allowed(u)) {
            // Over its quota: answered, and cached in memory, but not put into the map.
            debug!(
                "req={id} {key:?}: negative-answer quota of uid {asker:?} reached; not published"
            );
            let resp = Arc::new(resp);
            self.cache
                .put(key, resp.clone(), self.negative_ttl, self.clock.now());
            return resp;
        }
        self.remember(key, resp)
    }

    /// Counts one more published "not found" for `uid`; false once it is over its quota.
    fn negative_allowed(&self, uid: u32) -> bool {
        let now = self.clock.now();
        let window = self.negative_ttl.max(std::time::Duration::from_secs(60));
        let mut q = self.negatives.lock().unwrap_or_else(|p| p.into_inner());
        if q.window_start
            .is_none_or(|t| now.saturating_duration_since(t) >= window)
        {
            q.window_start = Some(now);
            q.per_uid.clear();
        }
        let n = q.per_uid.entry(uid).or_insert(0);
        *n += 1;
        *n <= NEGATIVE_QUOTA
    }

    /// Asks the directory (no cache).
    pub(super) async fn fetch(&self, key: &Key) -> Result<Response, DirError> {
        self.fetch_as(key, None).await
    }

    /// As [`Self::fetch`], for a caller whose negative answers count against its quota.
    pub(super) async fn fetch_as(
        &self,
        key: &Key,
        asker: Option<u32>,
    ) -> Result<Response, DirError> {
        let r = match key {
            Key::UserName(n) => self
                .dir
                .user_by_name(n)
                .await
                .map(|o| o.map(Response::User)),
            Key::UserUid(u) => self
                .dir
                .user_by_uid(*u)
                .await
                .map(|o| o.map(Response::User)),
            Key::GroupName(n) => self
                .dir
                .group_by_name(n)
                .await
                .map(|o| o.map(Response::Group)),
            Key::GroupGid(g) => self
                .dir
                .group_by_gid(*g)
                .await
                .map(|o| o.map(Response::Group)),
            // The one way an enumeration is asked for: written into its frame (`frames.rs`).
            Key::AllUsers | Key::AllGroups => self.fetch_enumeration(key).await.map(Some),
            Key::GroupsOf(n) => Box::pin(self.groups_of(n, asker))
                .await
                .map(|o| o.map(Response::Groups)),
        };
        r.map(|o| o.unwrap_or(Response::NotFound))
    }

    /// The user's supplementary groups, or None if the user does not exist. Local (and
    /// ignored) users are never looked up: initgroups for root or a system user costs no LDAP
    /// search.
    async fn groups_of(
        &self,
        name: &str,
        asker: Option<u32>,
    ) -> Result<Option<Vec<ldaprs_common::protocol::Group>>, DirError> {
        if !valid_name(name) || self.dir.is_local_user(name) {
            return Ok(None);
        }
        // The user must exist (and pass the id limits) before we say anything about it. With
        // membership by names only, the group search does not wait for that answer: both go
        // out at once and the groups are dropped if the user does not exist.
        if self.dir.groups_by_name_only().await {
            let user = Box::pin(self.lookup_as(0, Key::UserName(name.to_string()), asker));
            let (user, groups) =
                futures_util::future::join(user, self.dir.groups_of_named_user(name)).await;
            return match &*user {
                Response::User(_) => groups.map(Some),
                Response::Error { message, .. } => Err(DirError::Unreachable(message.clone())),
                _ => Ok(None),
            };
        }
        match &*Box::pin(self.lookup_as(0, Key::UserName(name.to_string()), asker)).await {
            Response::User(_) => {}
            Response::NotFound => return Ok(None),
            Response::Error { message, .. } => return Err(DirError::Unreachable(message.clone())),
            _ => return Ok(None),
        };
        self.dir.groups_of_user(name).await.map(Some)
    }

    /// The name of the group with this gid (the primary group), if the directory has one.
    pub async fn primary_group_name(&self, gid: u32) -> Result<Option<String>, DirError> {
        match &*self.lookup(0, Key::GroupGid(gid)).await {
            Response::Group(g) => Ok(Some(g.name.clone())),
            Response::Error { message, .. } => Err(DirError::Unreachable(message.clone())),
            _ => Ok(None),
        }
    }

    /// Caches a user record learnt from a bind.
    pub fn remember_user(&self, name: &str, p: &ldaprs_common::protocol::Passwd) {
        self.remember(Key::UserName(name.to_string()), Response::User(p.clone()));
    }

    /// Forgets what is cached about one user (after a password change).
    pub fn forget_user(&self, name: &str) {
        self.cache.remove(&Key::UserName(name.to_string()));
        self.cache.remove(&Key::GroupsOf(name.to_string()));
        self.ssh_keys.remove(&name.to_string());
    }
}
