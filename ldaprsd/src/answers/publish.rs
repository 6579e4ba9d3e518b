//! Publishes cached answers into the shared-memory map that the NSS module reads
//! (`ldaprs_common::shm`). The daemon is the only writer; a Mutex serialises it.
//!
//! On start the daemon takes over an existing map of the right size in place (readers in
//! running processes keep their mapping and simply see it emptied); otherwise it builds a new
//! file, renames it over the path, and marks the old one superseded so readers map again.

use crate::{debug, info, warn};
use ldaprs_common::protocol::{frame_response, Group, Response, HEADER_LEN};
use ldaprs_common::shm::{now_ms, Access, Kind, MapWriter, MappedFile};
use std::ffi::CString;
use std::sync::Mutex;
use std::time::Duration;

pub struct Publisher {
    writer: Mutex<MapWriter>,
    path: String,
}

/// What a cache entry answers, for the map.
pub enum Subject<'a> {
    UserName(&'a str),
    UserUid(u32),
    GroupName(&'a str),
    GroupGid(u32),
    GroupsOf(&'a str),
}

fn payload(resp: &Response) -> Vec<u8> {
    frame_response(resp)
        .get(HEADER_LEN..)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

impl Publisher {
    /// Opens or creates the map at `path` with `len` bytes.
    pub fn open(path: &str, len: usize) -> Option<Publisher> {
        let len = len.max(64 * 1024) & !4095;
        let buckets = ((len / 256).next_power_of_two() as u32).clamp(1024, 1 << 20);
        let cpath = CString::new(path).ok()?;
        // Reuse in place when possible (same checks as the NSS module's, in shm::open).
        if let Ok(m) = MappedFile::open(&cpath, Access::ReadWrite) {
            if m.len() == len {
                if let Ok(w) = m.into_writer() {
                    info!("shared-memory cache {path}: reusing ({} MiB)", len >> 20);
                    return Some(Publisher {
                        writer: Mutex::new(w),
                        path: path.to_string(),
                    });
                }
            }
        }
        // Build a new file beside it and rename it over the path.
        let tmp = format!("{path}.new.{}", std::process::id());
        let _ = std::fs::remove_file(&tmp);
        let ctmp = CString::new(tmp.as_str()).ok()?;
        let w = match MappedFile::create(&ctmp, len).and_then(|m| m.format(buckets)) {
            Ok(w) => w,
            Err(e) => {
                warn!("shared-memory cache: cannot create {tmp}: {e:?}");
                let _ = std::fs::remove_file(&tmp);
                return None;
            }
        };
        // Tell readers of the old file (if any) to map again.
        if let Ok(old) = MappedFile::open(&cpath, Access::ReadWrite) {
            let _ = old.supersede();
        }
        if let Err(e) = std::fs::rename(&tmp, path) {
            warn!("shared-memory cache: cannot rename {tmp} to {path}: {e}");
            let _ = std::fs::remove_file(&tmp);
            return None;
        }
        info!(
            "shared-memory cache {path}: created ({} MiB, {buckets} buckets)",
            len >> 20
        );
        Some(Publisher {
            writer: Mutex::new(w),
            path: path.to_string(),
        })
    }

    /// Writes `[nss] min_uid` and `min_gid` into the map's header: the module re-applies them
    /// to every answer.
    pub fn set_limits(&self, min_uid: u32, min_gid: u32) {
        self.writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set_limits(min_uid, min_gid);
    }

    /// Counts the map's clears (a new value: every record is gone).
    pub fn generation(&self) -> u64 {
        self.writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .view()
            .generation()
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn times(ttl: Duration) -> (u64, u64) {
        let now = now_ms();
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        (now.saturating_add(ms / 4 * 3), now.saturating_add(ms))
    }

    /// Publishes one answer (found or not found) for `ttl`.
    pub fn publish(&self, subject: Subject<'_>, resp: &Response, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let (refresh, expires) = Self::times(ttl);
        let w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let r = match (subject, resp) {
            (Subject::UserName(_) | Subject::UserUid(_), Response::User(p)) => w.insert(
                Kind::Passwd,
                Some(&p.name),
                Some(p.uid),
                false,
                &payload(resp),
                refresh,
                expires,
            ),
            (Subject::UserName(n), Response::NotFound) => {
                w.insert(Kind::Passwd, Some(n), None, true, &[], refresh, expires)
            }
            (Subject::UserUid(u), Response::NotFound) => {
                w.insert(Kind::Passwd, None, Some(u), true, &[], refresh, expires)
            }
            (Subject::GroupName(_) | Subject::GroupGid(_), Response::Group(g)) => w.insert(
                Kind::Group,
                Some(&g.name),
                Some(g.gid),
                false,
                &payload(resp),
                refresh,
                expires,
            ),
            (Subject::GroupName(n), Response::NotFound) => {
                w.insert(Kind::Group, Some(n), None, true, &[], refresh, expires)
            }
            (Subject::GroupGid(g), Response::NotFound) => {
                w.insert(Kind::Group, None, Some(g), true, &[], refresh, expires)
            }
            (Subject::GroupsOf(n), Response::Groups(gs)) => {
                let gids = Response::Gids(gs.iter().map(|g: &Group| g.gid).collect());
                w.insert(
                    Kind::Initgroups,
                    Some(n),
                    None,
                    false,
                    &payload(&gids),
                    refresh,
                    expires,
                )
            }
            (Subject::GroupsOf(n), Response::NotFound) => {
                w.insert(Kind::Initgroups, Some(n), None, true, &[], refresh, expires)
            }
            _ => Ok(()),
        };
        if let Err(e) = r {
            debug!("shared-memory cache: record not stored: {e:?}");
        }
    }

    /// Publishes one user of an enumeration (encoded without copying the entry).
    pub fn publish_user(&self, p: &ldaprs_common::protocol::Passwd, ttl: Duration) {
        let (refresh, expires) = Self::times(ttl);
        let payload = ldaprs_common::protocol::user_payload(p);
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = w.insert(
            Kind::Passwd,
            Some(&p.name),
            Some(p.uid),
            false,
            &payload,
            refresh,
            expires,
        );
    }

    /// Publishes one group of an enumeration.
    pub fn publish_group(&self, g: &Group, ttl: Duration) {
        let (refresh, expires) = Self::times(ttl);
        let payload = ldaprs_common::protocol::group_payload(g);
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = w.insert(
            Kind::Group,
            Some(&g.name),
            Some(g.gid),
            false,
            &payload,
            refresh,
            expires,
        );
    }

    /// What the map holds for a lookup (for `ldaprsctl user show`).
    pub fn describe(&self, kind: Kind, name: Option<&str>, id: Option<u32>) -> String {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        match w.view().lookup(kind, name, id) {
            ldaprs_common::shm::Hit::Found(p) => {
                format!("fresh record ({} bytes) in {}", p.len(), self.path)
            }
            ldaprs_common::shm::Hit::Negative => {
                format!("fresh \"not found\" record in {}", self.path)
            }
            ldaprs_common::shm::Hit::Miss => format!("no fresh record in {}", self.path),
        }
    }

    pub fn clear(&self) {
        self.writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reset();
    }
}
