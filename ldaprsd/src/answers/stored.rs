//! The persistent copy of what was looked up (`[offline] dir`/`answers.db`): users, groups
//! and each user's group list, with the time the directory last gave each one. Written in the
//! background when something changed (`save`), read once at start (`open`), consulted while
//! no server answers (`offline.rs`). A user or group the directory says no longer exists is
//! dropped from it; a file that is not trusted is set aside and the daemon starts empty.

use super::key::Key;
use crate::clock::age_within;
use crate::persist::codec::Truncated;
use crate::persist::{PersistDir, ReadError};
use crate::{info, warn};
use ldaprs_common::config::OfflineSection;
use ldaprs_common::protocol::{Group, Passwd, Response};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

mod held;
mod records;
use held::Held;

pub const FILE: &str = "answers.db";
const KIND: &[u8; 4] = b"ANSW";
/// Version 1: users, groups, group lists, each with the Unix time it was last answered.
pub const VERSION: u32 = 1;

pub use records::{Records, Stamped, StoredGroup};

/// The persistent answers: the records in memory, and the directory they are saved in.
pub struct Stored {
    dir: Option<PersistDir>,
    /// Seconds a record may be answered offline.
    max_age: i64,
    records: Mutex<Held>,
    dirty: AtomicBool,
    /// One writer at a time (the background save, a stop, a reload).
    writing: Mutex<()>,
    /// Replaced by an instance for other settings: never writes again.
    retired: AtomicBool,
}

impl Stored {
    /// No persistent cache (`[offline] max_age = 0`, or the directory is unusable).
    pub fn disabled() -> Stored {
        Stored {
            dir: None,
            max_age: 0,
            records: Mutex::new(Held::default()),
            dirty: AtomicBool::new(false),
            writing: Mutex::new(()),
            retired: AtomicBool::new(false),
        }
    }

    /// Opens `[offline] dir` and reads `answers.db`: a file that is not trusted is set aside
    /// with one warning, and the daemon starts with nothing stored.
    pub fn open(cfg: &OfflineSection, settings: &[u8]) -> Stored {
        if cfg.max_age == 0 {
            info!("persistent cache off ([offline] max_age = 0)");
            return Stored::disabled();
        }
        let dir = match PersistDir::open(&cfg.dir) {
            Ok((d, note)) => {
                if let Some(n) = note {
                    warn!("persistent cache: {n}");
                }
                d
            }
            Err(e) => {
                warn!("persistent cache off: {e}");
                return Stored::disabled();
            }
        };
        let mut records = load(&dir);
        if records.settings != settings {
            if !records.users.is_empty() || !records.groups.is_empty() {
                info!("persistent cache: written under other [nss] or [[servers]] settings; not used, started afresh");
            }
            records = Records {
                settings: settings.to_vec(),
                ..Records::default()
            };
        }
        Stored {
            dir: Some(dir),
            max_age: i64::try_from(cfg.max_age).unwrap_or(i64::MAX),
            records: Mutex::new(Held::new(records)),
            dirty: AtomicBool::new(false),
            writing: Mutex::new(()),
            retired: AtomicBool::new(false),
        }
    }

    /// Seconds a record may be answered offline (`[offline] max_age`).
    pub fn max_age(&self) -> i64 {
        self.max_age
    }

    pub fn enabled(&self) -> bool {
        self.dir.is_some()
    }

    pub fn dir(&self) -> Option<&PersistDir> {
        self.dir.as_ref()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of everything stored (start-up: into the memory cache and the shared map).
    pub fn snapshot(&self) -> Records {
        self.lock().rec.clone()
    }

    /// Keeps what the directory just answered (`now`: Unix seconds); a "not found" drops
    /// what was kept about that name or id.
    pub fn record(&self, key: &Key, resp: &Response, now: i64) {
        if !self.enabled() {
            return;
        }
        let mut h = self.lock();
        match (key, resp) {
            (Key::UserName(_) | Key::UserUid(_), Response::User(p)) => h.put_user(p, now),
            (Key::GroupName(_) | Key::GroupGid(_), Response::Group(g)) => h.put_group(g, now),
            // The groups of an initgroups answer carry no members: only their gids are kept.
            (Key::GroupsOf(n), Response::Groups(gs)) => {
                let gids = gs.iter().map(|g| g.gid).collect();
                h.rec.groups_of.insert(n.clone(), (gids, now));
            }
            (Key::UserName(n) | Key::GroupsOf(n), Response::NotFound) => {
                h.drop_user(n);
                h.rec.groups_of.remove(n);
            }
            (Key::UserUid(u), Response::NotFound) => h.drop_uid(*u),
            (Key::GroupName(n), Response::NotFound) => h.drop_group(n),
            (Key::GroupGid(g), Response::NotFound) => h.drop_gid(*g),
            _ => return,
        }
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// The stored answer to `key` if it is at most `[offline] max_age` old at `now`, with its
    /// age in seconds. Enumerations answer with everything stored.
    pub fn answer(&self, key: &Key, now: i64) -> Option<(Response, i64)> {
        let h = self.lock();
        let r = &h.rec;
        // Stored "in the future" (the clock went back): expired, not fresh.
        let fresh = |t: i64| age_within(now, t, self.max_age);
        match key {
            Key::UserName(n) => r
                .users
                .get(n)
                .and_then(|(p, t)| Some((Response::User(p.clone()), fresh(*t)?))),
            Key::UserUid(u) => only(
                h.uids.names(*u).iter().filter_map(|n| r.users.get(n)),
                "uid",
                *u,
            )
            .and_then(|(p, t)| Some((Response::User(p.clone()), fresh(*t)?))),
            Key::GroupName(n) => r
                .groups
                .get(n)
                .and_then(|(g, t)| Some((Response::Group(g.group()), fresh(*t)?))),
            Key::GroupGid(g) => only(
                h.gids.names(*g).iter().filter_map(|n| r.groups.get(n)),
                "gid",
                *g,
            )
            .and_then(|(x, t)| Some((Response::Group(x.group()), fresh(*t)?))),
            Key::GroupsOf(n) => {
                let (gids, t) = r.groups_of.get(n)?;
                let age = fresh(*t)?;
                // Only the gids of this answer are used (initgroups, the map's record).
                let gs = gids
                    .iter()
                    .map(|g| Group {
                        name: h.gids.names(*g).first().cloned().unwrap_or_default(),
                        gid: *g,
                        members: Vec::new(),
                    })
                    .collect();
                Some((Response::Groups(gs), age))
            }
            Key::AllUsers => Some((
                Response::Users(
                    r.users
                        .values()
                        .filter(|(_, t)| fresh(*t).is_some())
                        .map(|(p, _)| p.clone())
                        .collect(),
                ),
                0,
            )),
            Key::AllGroups => Some((
                Response::Groups(
                    r.groups
                        .values()
                        .filter(|(_, t)| fresh(*t).is_some())
                        .map(|(g, _)| g.group())
                        .collect(),
                ),
                0,
            )),
        }
    }

    /// The body to write when something changed since the last save (and marks it saved).
    pub fn take_changes(&self) -> Option<Vec<u8>> {
        if !self.enabled() || !self.dirty.swap(false, Ordering::Relaxed) {
            return None;
        }
        Some(self.lock().rec.encode())
    }

    /// Whether something changed since the last save.
    pub fn is_dirty(&self) -> bool {
        self.enabled() && self.dirty.load(Ordering::Relaxed)
    }

    /// Writes the records now if something changed (the background tick, a stop). The body
    /// is taken under the writing lock: a save that started before a `cache flush` or `cache
    /// forget` either finishes before it or writes what is left after it, never the old
    /// records over it. A failure is logged and retried at the next change.
    pub fn save(&self) {
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if self.retired.load(Ordering::Relaxed) {
            return;
        }
        let (Some(d), Some(body)) = (&self.dir, self.take_changes()) else {
            return;
        };
        if let Err(e) = d.write(FILE, KIND, VERSION, &body) {
            warn!("persistent cache: {e}");
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    /// Replaced by an instance opened for other settings: a write under way finishes, and
    /// none follows (the file belongs to the new instance).
    pub fn retire(&self) {
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        self.retired.store(true, Ordering::Relaxed);
    }

    /// Forgets one user: its entry and group list (memory and disk at the next save).
    pub fn forget_user(&self, name: &str) -> bool {
        let mut h = self.lock();
        let had = h.drop_user(name) | h.rec.groups_of.remove(name).is_some();
        self.dirty.store(true, Ordering::Relaxed);
        had
    }

    /// Forgets everything, in memory and on disk.
    pub fn flush(&self) {
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        self.lock().clear();
        self.dirty.store(false, Ordering::Relaxed);
        if let Some(d) = &self.dir {
            if let Err(e) = d.remove(FILE) {
                warn!("persistent cache: {e}");
            }
        }
    }

    /// How many users, groups and group lists are kept.
    pub fn counts(&self) -> (usize, usize, usize) {
        let r = &self.lock().rec;
        (r.users.len(), r.groups.len(), r.groups_of.len())
    }

    /// The stored entry of a user and its Unix time, and its group list's.
    pub fn user_facts(&self, name: &str) -> (Option<Stamped<Passwd>>, Option<Stamped<Vec<u32>>>) {
        let r = &self.lock().rec;
        (r.users.get(name).cloned(), r.groups_of.get(name).cloned())
    }
}

/// The one record with an id; several (a file of an older build, written before an id moved
/// to another name) answer nothing, as the directory's own duplicates do (`users.rs`).
fn only<T>(mut found: impl Iterator<Item = T>, what: &str, id: u32) -> Option<T> {
    let first = found.next()?;
    if found.next().is_some() {
        warn!("persistent cache: {what} {id} is claimed by several stored records: not answered offline");
        return None;
    }
    Some(first)
}

/// Reads the records file, setting aside one that cannot be trusted.
fn load(dir: &PersistDir) -> Records {
    let path = dir.file(FILE).display().to_string();
    let body = match dir.read(FILE, KIND, VERSION) {
        Ok(None) => {
            info!("persistent cache {path}: none yet");
            return Records::default();
        }
        Ok(Some(b)) => b,
        Err(e) => {
            let moved = match e {
                ReadError::Io(_) => "left in place".to_string(),
                _ => format!("set aside as {}", dir.set_aside(FILE)),
            };
            warn!("persistent cache {path} {e}: not used, {moved}; starting with an empty cache");
            return Records::default();
        }
    };
    match Records::decode(&body) {
        Ok(r) => {
            info!(
                "persistent cache {path}: {} users, {} groups, {} group lists loaded ({} bytes)",
                r.users.len(),
                r.groups.len(),
                r.groups_of.len(),
                body.len()
            );
            r
        }
        Err(Truncated) => {
            let moved = dir.set_aside(FILE);
            warn!("persistent cache {path} corrupt: its records do not decode (checksum right: written by another build?): not used, set aside as {moved}; starting with an empty cache");
            Records::default()
        }
    }
}

#[cfg(test)]
mod tests;
