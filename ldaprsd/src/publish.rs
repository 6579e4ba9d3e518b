//! Publishes cached answers into the shared-memory map that the NSS module reads
//! (`ldaprs_common::shm`). The daemon is the only writer; a Mutex serialises it.
//!
//! On start the daemon takes over an existing map of the right size in place (readers in
//! running processes keep their mapping and simply see it emptied); otherwise it builds a new
//! file, renames it over the path, and marks the old one superseded so readers map again.

use crate::{debug, info, warn};
use ldaprs_common::protocol::{frame_response, Group, Response, HEADER_LEN};
use ldaprs_common::shm::{now_ms, Kind, MapView, MapWriter};
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

/// Maps `len` bytes of `fd` read-write, shared.
fn map_rw(fd: libc::c_int, len: usize) -> Option<*mut u8> {
    // SAFETY: mmap of a file we opened; the result is checked.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p.cast::<u8>())
}

fn open_rw(path: &str, create: bool) -> Option<libc::c_int> {
    let c = CString::new(path).ok()?;
    let flags = libc::O_RDWR
        | libc::O_CLOEXEC
        | libc::O_NOFOLLOW
        | if create {
            libc::O_CREAT | libc::O_EXCL
        } else {
            0
        };
    // SAFETY: open with a NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), flags, 0o644 as libc::c_uint) };
    (fd >= 0).then_some(fd)
}

fn file_len(fd: libc::c_int) -> Option<usize> {
    // SAFETY: stat is plain old data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat into our stat buffer.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    usize::try_from(st.st_size).ok()
}

fn close(fd: libc::c_int) {
    // SAFETY: closing an fd we opened.
    unsafe { libc::close(fd) };
}

impl Publisher {
    /// Opens or creates the map at `path` with `len` bytes.
    pub fn open(path: &str, len: usize) -> Option<Publisher> {
        let len = len.max(64 * 1024) & !4095;
        let buckets = ((len / 256).next_power_of_two() as u32).clamp(1024, 1 << 20);
        // Reuse in place when possible.
        if let Some(fd) = open_rw(path, false) {
            if file_len(fd) == Some(len) {
                let base = map_rw(fd, len);
                close(fd);
                if let Some(base) = base {
                    // SAFETY: a fresh RW mapping of len bytes, page aligned; only we write it.
                    if let Some(w) = unsafe { MapWriter::reuse(base, len) } {
                        info!("shared-memory cache {path}: reusing ({} MiB)", len >> 20);
                        return Some(Publisher {
                            writer: Mutex::new(w),
                            path: path.to_string(),
                        });
                    }
                    // SAFETY: unmapping what we just mapped.
                    unsafe { libc::munmap(base.cast(), len) };
                }
            } else {
                close(fd);
            }
        }
        // Build a new file beside it and rename it over the path.
        let tmp = format!("{path}.new.{}", std::process::id());
        let _ = std::fs::remove_file(&tmp);
        let fd = open_rw(&tmp, true)?;
        // SAFETY: ftruncate on our new file.
        if unsafe { libc::ftruncate(fd, len as libc::off_t) } != 0 {
            close(fd);
            let _ = std::fs::remove_file(&tmp);
            return None;
        }
        let base = map_rw(fd, len);
        close(fd);
        let base = base?;
        // SAFETY: a fresh RW mapping of len bytes, page aligned; only we write it.
        let w = unsafe { MapWriter::create(base, len, buckets) }?;
        // Tell readers of the old file (if any) to map again.
        if let Some(fd) = open_rw(path, false) {
            if let Some(old_len) = file_len(fd) {
                if let Some(old) = map_rw(fd, old_len) {
                    // SAFETY: mapping of old_len bytes of the old file.
                    let view = unsafe { MapView::new(old, old_len) };
                    if view.valid() {
                        // SAFETY: as above; a valid map of ours: mark it superseded.
                        if let Some(ow) = unsafe { MapWriter::reuse(old, old_len) } {
                            ow.mark_superseded();
                        }
                    }
                    // SAFETY: unmapping what we mapped.
                    unsafe { libc::munmap(old.cast(), old_len) };
                }
            }
            close(fd);
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
