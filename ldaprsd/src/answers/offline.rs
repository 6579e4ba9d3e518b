//! Offline mode: while no URI of any server block answers, lookups are answered from the
//! persistent cache (`stored.rs`), past their TTL, up to `[offline] max_age`, and never wait
//! for a server. At start the stored answers go into the shared map (and are fetched again in
//! the background), so that the NSS fast path answers at once after a reboot. One log line at
//! each change between online and offline; `ldaprsctl status` shows which.

use super::key::Key;
use super::publish::Subject;
use super::state::Answers;
use super::stored::Stored;
use crate::clock::{age, age_within, utc};
use crate::{debug, info, warn};
use ldaprs_common::protocol::{ErrorCode, Response};
use std::sync::Arc;
use std::time::Duration;

/// Restored answers stay in the shared map this long (then the module asks the daemon, which
/// answers from memory and fetches them again), whatever `[cache] entry_ttl` says: a
/// restored entry may be days old.
pub const RESTORED_MAP_TTL: Duration = Duration::from_secs(60);
/// How long a lookup the persistent cache cannot answer waits, offline, for a probe made for
/// it: a refused connection fails at once, a server that came back answers within a few
/// milliseconds, a silent one is left to the background probe.
const INLINE_PROBE: Duration = Duration::from_millis(100);
/// The persistent file is rewritten at most this often (and at a stop or reload).
const SAVE_EVERY: Duration = Duration::from_secs(5);

impl Answers {
    pub fn stored(&self) -> &Arc<Stored> {
        &self.stored
    }

    /// Whether every URI of every block is down now; logs the change when it is one.
    pub fn is_offline(&self) -> bool {
        let blocks = self.dir.blocks();
        let down = !blocks.is_empty() && blocks.iter().all(|b| b.all_down());
        let mut st = self.offline.lock().unwrap_or_else(|p| p.into_inner());
        match (down, st.since) {
            (true, None) => {
                st.since = Some((self.clock.now(), self.clock.unix_now()));
                let served = match self.stored.enabled() {
                    true => "lookups are answered from the persistent cache",
                    false => "the persistent cache is off, so only cached answers are given",
                };
                warn!("offline: no URI of any server block answers; {served} until a server answers again (probed at least every 30 s)");
            }
            (false, Some((since, _))) => {
                st.since = None;
                let secs = self.clock.now().saturating_duration_since(since).as_secs();
                info!("online: a server answers again after {secs} s offline");
            }
            _ => {}
        }
        down
    }

    /// Offline, and a request needs the directory: the next probe of each dead URI is due
    /// now (`ServerBlock::probe_soon`: at most every second), so that a server back after a
    /// restart is found by the first lookups that need it, not up to 30 s later. Returns
    /// whether any probe was brought forward.
    pub fn probe_soon(&self) -> bool {
        let mut any = false;
        for b in self.dir.blocks() {
            if b.probe_soon() {
                debug!(
                    "offline: a request needs the directory; server {} is probed now",
                    b.name()
                );
                any = true;
            }
        }
        any
    }

    /// Offline, and `key` was asked: whether a server answers again. A key the persistent
    /// cache holds is answered from it at once (the probes come forward in the background);
    /// one it does not hold, which would be answered "unavailable", waits up to
    /// [`INLINE_PROBE`] for a probe made for it (at most one a second), so that the first
    /// lookup after a server restart is answered by the server.
    pub(super) async fn back_online(&self, id: u64, key: &Key) -> bool {
        let stored = self.stored.answer(key, self.clock.unix_now()).is_some();
        if !self.probe_soon() || stored {
            return false;
        }
        if tokio::time::timeout(INLINE_PROBE, self.dir.probe_dead())
            .await
            .is_err()
        {
            debug!(
                "req={id} {key:?}: offline: no server answered within {} ms; probed on in the background",
                INLINE_PROBE.as_millis()
            );
        }
        !self.is_offline()
    }

    /// `ldaprsctl status`: `online`, or `offline since <time> (last contact <time>, next
    /// probe in <s>)`.
    pub fn offline_status(&self) -> (String, String) {
        let offline = self.is_offline();
        let since = self.offline.lock().unwrap_or_else(|p| p.into_inner()).since;
        let (now, unix) = (self.clock.now(), self.clock.unix_now());
        let value = match (offline, since) {
            (true, Some((_, t))) => {
                let blocks = self.dir.blocks();
                let last = blocks.iter().filter_map(|b| b.last_answer()).max();
                let last = match last {
                    Some(i) => {
                        let ago = now.saturating_duration_since(i).as_secs();
                        utc(unix.saturating_sub(i64::try_from(ago).unwrap_or(0)))
                    }
                    None => "never since the start".into(),
                };
                let next = blocks.iter().filter_map(|b| b.next_probe()).min();
                let next = next.map_or(0.0, |n| n.saturating_duration_since(now).as_secs_f64());
                format!(
                    "offline since {} (last contact {last}, next probe in {next:.0} s)",
                    utc(t)
                )
            }
            _ => "online".into(),
        };
        ("directory".into(), value)
    }

    /// Whether the current id limits still allow a restored answer (the config may have
    /// changed since it was stored).
    fn allowed_now(&self, r: &Response) -> bool {
        let lim = self.dir.limits();
        let local = self.dir.local().db();
        let user_ok = |p: &ldaprs_common::protocol::Passwd| {
            p.uid >= lim.min_uid && lim.primary_gid_ok(p.gid, local.has_gid(p.gid)).is_ok()
        };
        match r {
            Response::User(p) => user_ok(p),
            Response::Group(g) => g.gid >= lim.min_gid,
            _ => true,
        }
    }

    /// The answer from the persistent cache while offline, or "unavailable" (never "not
    /// found": the directory was not asked).
    pub(super) fn offline_answer(&self, id: u64, key: &Key) -> Response {
        let found = self
            .stored
            .answer(key, self.clock.unix_now())
            .filter(|(r, _)| self.allowed_now(r));
        match found {
            Some((r, age)) => {
                debug!("req={id} {key:?}: offline: from the persistent cache ({age} s old)");
                match r {
                    Response::Users(v) => Response::Users(
                        v.into_iter()
                            .filter(|p| self.allowed_now(&Response::User(p.clone())))
                            .collect(),
                    ),
                    Response::Groups(v) if matches!(key, Key::AllGroups) => Response::Groups(
                        v.into_iter()
                            .filter(|g| g.gid >= self.dir.limits().min_gid)
                            .collect(),
                    ),
                    other => other,
                }
            }
            None => {
                debug!("req={id} {key:?}: offline, and not in the persistent cache (or older than [offline] max_age): unavailable");
                Response::Error {
                    code: ErrorCode::Unavailable,
                    message: "offline: no directory server answers, and the persistent cache has no answer".into(),
                }
            }
        }
    }

    /// At start: the stored answers into the shared map (for [`RESTORED_MAP_TTL`]), so that
    /// the NSS fast path answers at once after a reboot, and their keys queued to be fetched
    /// again as soon as the refresher runs (online, the map holds fresh answers within
    /// moments; offline, the refresher skips them). Not into the memory cache: a request that
    /// reaches the daemon asks the directory, and falls back to the stored copy offline.
    pub fn restore(&self) {
        let snap = self.stored.snapshot();
        let unix = self.clock.unix_now();
        let mut keys = Vec::new();
        let users = snap.users.keys().map(|n| (Key::UserName(n.clone()), n));
        let groups = snap.groups.keys().map(|n| (Key::GroupName(n.clone()), n));
        let lists = snap.groups_of.keys().map(|n| (Key::GroupsOf(n.clone()), n));
        for (key, name) in users.chain(groups).chain(lists) {
            let Some((r, _)) = self.stored.answer(&key, unix) else {
                continue;
            };
            if !self.allowed_now(&r) {
                continue;
            }
            if let Some(p) = &self.publisher {
                let subject = match &key {
                    Key::UserName(_) => Subject::UserName(name),
                    Key::GroupName(_) => Subject::GroupName(name),
                    _ => Subject::GroupsOf(name),
                };
                p.publish(subject, &r, RESTORED_MAP_TTL);
            }
            keys.push(key);
        }
        if !keys.is_empty() {
            info!(
                "persistent cache: {} answers restored into the shared map; fetching them again in the background",
                keys.len()
            );
        }
        *self.restored.lock().unwrap_or_else(|p| p.into_inner()) = keys;
    }

    /// The restored keys, once (for the refresher).
    pub(super) fn take_restored(&self) -> Vec<Key> {
        std::mem::take(&mut *self.restored.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Background tick: writes the persistent file when something changed, at most every
    /// [`SAVE_EVERY`], off the request thread.
    pub fn save_stored_soon(&self) {
        let now = self.clock.now();
        {
            let mut st = self.offline.lock().unwrap_or_else(|p| p.into_inner());
            if st
                .last_save
                .is_some_and(|t| now.saturating_duration_since(t) < SAVE_EVERY)
            {
                return;
            }
            st.last_save = Some(now);
        }
        // The body is taken when the write runs, under its lock (see `Stored::save`).
        if self.stored.is_dirty() {
            let stored = self.stored.clone();
            tokio::task::spawn_blocking(move || stored.save());
        }
    }

    /// `ldaprsctl cache show USER`: what the persistent cache holds about the user.
    pub fn describe_stored(&self, user: &str) -> Vec<(String, String)> {
        let now = self.clock.unix_now();
        let when = |t: i64| format!("{} ago ({})", age(now - t), utc(t));
        let (entry, groups) = self.stored.user_facts(user);
        let max = self.stored.max_age();
        let usable = |t: i64| {
            match age_within(now, t, max) {
            Some(a) => format!("answered offline for {} more", age(max - a)),
            None => "older than [offline] max_age (or stored in the future: the clock went back): not answered offline".into(),
        }
        };
        let mut out = vec![(
            "persistent cache".to_string(),
            match self.stored.dir() {
                Some(d) => d.file(super::stored::FILE).display().to_string(),
                None => "off".to_string(),
            },
        )];
        out.push((
            "entry".into(),
            match entry {
                Some((p, t)) => format!(
                    "{}:{}:{} stored {}; {}",
                    p.name,
                    p.uid,
                    p.gid,
                    when(t),
                    usable(t)
                ),
                None => "not stored".into(),
            },
        ));
        out.push((
            "groups".into(),
            match groups {
                Some((g, t)) => format!("{} gids stored {}; {}", g.len(), when(t), usable(t)),
                None => "not stored".into(),
            },
        ));
        if let Some(p) = &self.publisher {
            out.push((
                "shared map".into(),
                p.describe(ldaprs_common::shm::Kind::Passwd, Some(user), None),
            ));
        }
        out.push(self.offline_status());
        out
    }

    /// `ldaprsctl cache forget USER`: the user out of memory, the persistent cache and the
    /// shared map (cleared whole: its records cannot be removed one by one; what is in
    /// memory is answered through the socket until it is published again).
    pub fn forget_everywhere(&self, user: &str) -> bool {
        let uid = self.stored.user_facts(user).0.map(|(p, _)| p.uid);
        let had = self.stored.forget_user(user);
        self.forget_user(user);
        if let Some(u) = uid {
            self.cache.remove(&Key::UserUid(u));
        }
        if let Some(p) = &self.publisher {
            p.clear();
        }
        let stored = self.stored.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(h) => drop(h.spawn_blocking(move || stored.save())),
            Err(_) => stored.save(),
        }
        had
    }
}
