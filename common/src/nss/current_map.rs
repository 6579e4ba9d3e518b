//! This process's mapping of the daemon's shared-memory cache (`shm::MAP_PATH`), mapped on
//! first use and again when the daemon supersedes the file.

use crate::shm::{Access, MapView, MappedFile, MAP_PATH_C};
use std::sync::atomic::{AtomicPtr, Ordering};

/// A mapping of the daemon's shared-memory cache, leaked on purpose: another thread may be
/// reading it at any time, so it is never unmapped (a superseded map costs its address space
/// until the process exits; the daemon supersedes a map only when its size changes).
struct Mapped {
    view: MapView,
}

static MAP: AtomicPtr<Mapped> = AtomicPtr::new(std::ptr::null_mut());

/// The current map, mapping it (again) when needed; None when there is no valid map (then
/// every lookup asks the daemon).
pub fn current() -> Option<MapView> {
    let cur = MAP.load(Ordering::Acquire);
    if !cur.is_null() {
        // SAFETY: published pointers come from Box::into_raw and are never freed.
        let v = unsafe { (*cur).view };
        if !v.superseded() {
            return Some(v);
        }
    }
    // Maps `/run/ldaprs/cache.map` read-only, if it is there and valid (shm::open's checks).
    let file = MappedFile::open(MAP_PATH_C, Access::ReadOnly).ok()?;
    let v = file.view();
    let fresh = Box::into_raw(Box::new(Mapped { view: v }));
    match MAP.compare_exchange(cur, fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            // Published: never unmapped from now on.
            let _ = file.leak();
            Some(v)
        }
        Err(other) => {
            // Another thread published first: use theirs, drop ours (never seen by others).
            // SAFETY: `fresh` came from Box::into_raw above and was not published.
            let mine = unsafe { Box::from_raw(fresh) };
            let _ = mine;
            // Our mapping was not published: dropping `file` unmaps it.
            drop(file);
            // SAFETY: published pointers are never freed.
            (!other.is_null()).then(|| unsafe { (*other).view })
        }
    }
}
