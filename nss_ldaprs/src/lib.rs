//! `libnss_ldaprs.so.2`: the glibc NSS exports of ldaprs and the conversion of their C
//! arguments. Every lookup is one request to ldaprsd over `/run/ldaprs/socket` (see
//! `ldaprs_common::client`); record layout lives in `ldaprs_common::nss_pack`.
//!
//! Rules (DESIGN.md): no threads, no thread-locals, no runtime; every export runs under
//! [`guard`], which turns a panic into `NSS_STATUS_UNAVAIL`; nothing is ever written to fds 0-2;
//! a missing daemon is `UNAVAIL` at once so `files` keeps working.
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use ldaprs_common::client::{self, CallOptions, ClientError};
use ldaprs_common::names::valid_name;
use ldaprs_common::nss_pack::{self, TooSmall};
use ldaprs_common::protocol::{
    decode_response_ref, GroupRef, PasswdRef, PayloadCursor, Request, Response, ResponseRef,
};
use ldaprs_common::shm::{Hit, Kind, MapView};
use ldaprs_common::DEFAULT_SOCKET;
use libc::{c_char, c_int, c_long, gid_t, size_t, uid_t};
use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, Once};

/// `enum nss_status` from glibc's `<nss.h>`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NssStatus {
    TryAgain = -2,
    Unavail = -1,
    NotFound = 0,
    Success = 1,
}

/// A buffer this large that still cannot hold the record means the record is absurd: stop
/// glibc's doubling loop instead of letting it grow until OOM (security.md NSS-07).
const MAX_BUFFER: usize = 64 * 1024 * 1024;

static QUIET_PANICS: Once = Once::new();

/// Runs an export body; a panic becomes UNAVAIL. The panic hook of this module's own std is
/// replaced by a silent one first, so that a panic never prints on the host's stderr.
fn guard(errnop: *mut c_int, body: impl FnOnce() -> (NssStatus, c_int)) -> NssStatus {
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let (status, err) =
        catch_unwind(AssertUnwindSafe(body)).unwrap_or((NssStatus::Unavail, libc::EAGAIN));
    if !errnop.is_null() {
        // SAFETY: glibc passes a valid `int *errnop`; checked for NULL above.
        unsafe { *errnop = err };
    }
    status
}

const OK: (NssStatus, c_int) = (NssStatus::Success, 0);
const NOT_FOUND: (NssStatus, c_int) = (NssStatus::NotFound, libc::ENOENT);
const UNAVAIL: (NssStatus, c_int) = (NssStatus::Unavail, libc::ENOENT);
const ERANGE: (NssStatus, c_int) = (NssStatus::TryAgain, libc::ERANGE);

/// True inside ldaprsd itself or a process systemd runs on behalf of its unit: answering
/// would mean asking the daemon about itself (a deadlock until the timeout). ldaprsd sets
/// `LDAPRS_NSS_DISABLE=1` in its own environment; systemd sets `SYSTEMD_ACTIVATION_UNIT` for
/// lookups it makes for a unit (systemd PR #9504). Either can only make us answer UNAVAIL.
fn recursion_guard() -> bool {
    let get = |name: &CStr| {
        // SAFETY: getenv with a NUL-terminated name; the result is only compared, not kept.
        let v = unsafe { libc::getenv(name.as_ptr()) };
        // SAFETY: a non-NULL getenv result is a NUL-terminated string.
        (!v.is_null()).then(|| unsafe { CStr::from_ptr(v) }.to_bytes().to_vec())
    };
    get(c"LDAPRS_NSS_DISABLE").is_some_and(|v| v == b"1")
        || get(c"SYSTEMD_ACTIVATION_UNIT").is_some_and(|v| v == b"ldaprsd.service")
}

fn ask(req: &Request) -> Result<Response, ClientError> {
    if recursion_guard() {
        return Err(ClientError::Unavailable(std::io::Error::from(
            std::io::ErrorKind::Other,
        )));
    }
    client::call(DEFAULT_SOCKET, req, CallOptions::NSS)
}

/// A name argument, or None when it is NULL, not UTF-8 or not a valid name (never sent).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
unsafe fn name_arg(name: *const c_char) -> Option<String> {
    if name.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the NSS contract.
    let s = unsafe { CStr::from_ptr(name) }.to_str().ok()?;
    valid_name(s).then(|| s.to_string())
}

/// The caller's buffer as a slice, or None if it is NULL.
///
/// # Safety
/// `buf` points to `len` writable bytes.
unsafe fn buffer<'a>(buf: *mut c_char, len: size_t) -> Option<&'a mut [u8]> {
    if buf.is_null() {
        return None;
    }
    // SAFETY: glibc hands us `len` writable bytes at `buf`.
    Some(unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) })
}

fn too_small(len: usize) -> (NssStatus, c_int) {
    if len >= MAX_BUFFER {
        NOT_FOUND
    } else {
        ERANGE
    }
}

/// # Safety
/// `result` points to a `struct passwd`, `buf` to `len` writable bytes.
unsafe fn fill_passwd(
    p: &PasswdRef<'_>,
    result: *mut libc::passwd,
    buf: *mut c_char,
    len: size_t,
) -> (NssStatus, c_int) {
    if result.is_null() {
        return UNAVAIL;
    }
    // SAFETY: per this function's contract.
    let Some(slice) = (unsafe { buffer(buf, len) }) else {
        return UNAVAIL;
    };
    match nss_pack::pack_passwd(slice, p) {
        Err(TooSmall) => too_small(len),
        Ok(l) => {
            let at = |off: usize| buf.wrapping_add(off);
            // SAFETY: result is a valid, non-NULL struct passwd; the offsets are inside buf.
            unsafe {
                (*result).pw_name = at(l.name);
                (*result).pw_passwd = at(l.passwd);
                (*result).pw_uid = p.uid;
                (*result).pw_gid = p.gid;
                (*result).pw_gecos = at(l.gecos);
                (*result).pw_dir = at(l.dir);
                (*result).pw_shell = at(l.shell);
            }
            OK
        }
    }
}

/// # Safety
/// `result` points to a `struct group`, `buf` to `len` writable bytes.
unsafe fn fill_group(
    g: &GroupRef<'_>,
    result: *mut libc::group,
    buf: *mut c_char,
    len: size_t,
) -> (NssStatus, c_int) {
    if result.is_null() {
        return UNAVAIL;
    }
    // SAFETY: per this function's contract.
    let Some(slice) = (unsafe { buffer(buf, len) }) else {
        return UNAVAIL;
    };
    match nss_pack::pack_group(slice, buf as usize, g) {
        Err(TooSmall) => too_small(len),
        Ok(l) => {
            // SAFETY: result is a valid struct group; offsets are inside buf and the member
            // array offset is pointer-aligned (pack_group aligns it against `buf`'s address).
            unsafe {
                (*result).gr_name = buf.wrapping_add(l.name);
                (*result).gr_passwd = buf.wrapping_add(l.passwd);
                (*result).gr_gid = g.gid;
                (*result).gr_mem = buf.wrapping_add(l.members).cast::<*mut c_char>();
            }
            OK
        }
    }
}

/// A mapping of the daemon's shared-memory cache, leaked on purpose: another thread may be
/// reading it at any time, so it is never unmapped (a superseded map costs its address space
/// until the process exits; the daemon supersedes a map only when its size changes).
struct Mapped {
    view: MapView,
}

static MAP: AtomicPtr<Mapped> = AtomicPtr::new(std::ptr::null_mut());

/// Maps `/run/ldaprs/cache.map` read-only, if it is there and valid.
fn open_map() -> Option<MapView> {
    // SAFETY: open with a constant NUL-terminated path; the fd is closed below.
    let fd = unsafe {
        libc::open(
            c"/run/ldaprs/cache.map".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: stat is plain old data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on our fd into our buffer.
    let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
    let len = usize::try_from(st.st_size).unwrap_or(0);
    // Only a root-owned regular file of sane size (the daemon runs as root or its own user,
    // which owns /run/ldaprs; others cannot write there).
    let sane = ok
        && (st.st_mode & libc::S_IFMT) == libc::S_IFREG
        && (st.st_mode & 0o022) == 0
        && (8192..=(4usize << 30)).contains(&len);
    let base = if sane {
        // SAFETY: read-only shared mapping of our fd; checked against MAP_FAILED.
        unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd,
                0,
            )
        }
    } else {
        libc::MAP_FAILED
    };
    // SAFETY: closing the fd we opened; the mapping stays valid.
    unsafe { libc::close(fd) };
    if base == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: base is a page-aligned mapping of len readable bytes that we never unmap once
    // published.
    let view = unsafe { MapView::new(base.cast::<u8>(), len) };
    if !view.valid() {
        // SAFETY: nobody else has seen this mapping.
        unsafe { libc::munmap(base, len) };
        return None;
    }
    Some(view)
}

/// The current map, mapping it (again) when needed.
fn map() -> Option<MapView> {
    let cur = MAP.load(Ordering::Acquire);
    if !cur.is_null() {
        // SAFETY: published pointers come from Box::into_raw and are never freed.
        let v = unsafe { (*cur).view };
        if !v.superseded() {
            return Some(v);
        }
    }
    let v = open_map()?;
    let fresh = Box::into_raw(Box::new(Mapped { view: v }));
    match MAP.compare_exchange(cur, fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Some(v),
        Err(other) => {
            // Another thread published first: use theirs, drop ours (never seen by others).
            // SAFETY: `fresh` came from Box::into_raw above and was not published.
            let mine = unsafe { Box::from_raw(fresh) };
            let _ = mine;
            // SAFETY: as in open_map; our mapping was not published.
            unsafe { libc::munmap(v_base(&v), v_len(&v)) };
            // SAFETY: published pointers are never freed.
            (!other.is_null()).then(|| unsafe { (*other).view })
        }
    }
}

fn v_base(v: &MapView) -> *mut libc::c_void {
    v.base().cast_mut().cast()
}

fn v_len(v: &MapView) -> usize {
    v.len()
}

type Outcome = (NssStatus, c_int);

/// One user: from the shared map if it has a fresh answer, else from the daemon; `fill` packs
/// it into the caller's buffer.
fn one_user(req: Request, fill: &dyn Fn(&PasswdRef<'_>) -> Outcome) -> Outcome {
    let (name, id) = match &req {
        Request::UserByName(n) => (Some(n.as_str()), None),
        Request::UserByUid(u) => (None, Some(*u)),
        _ => (None, None),
    };
    if let Some(view) = map() {
        match view.lookup(Kind::Passwd, name, id) {
            Hit::Found(payload) => {
                // The record must be about what was asked (the checksum guards the rest).
                if let Ok(ResponseRef::User(p)) = decode_response_ref(&payload) {
                    if name.is_none_or(|n| n == p.name) && id.is_none_or(|u| u == p.uid) {
                        return fill(&p);
                    }
                }
            }
            Hit::Negative => return NOT_FOUND,
            Hit::Miss => {}
        }
    }
    match ask(&req) {
        Ok(Response::User(p)) => fill(&p.borrowed()),
        Ok(Response::NotFound) => NOT_FOUND,
        _ => UNAVAIL,
    }
}

/// One group, as [`one_user`].
fn one_group(req: Request, fill: &dyn Fn(&GroupRef<'_>) -> Outcome) -> Outcome {
    let (name, id) = match &req {
        Request::GroupByName(n) => (Some(n.as_str()), None),
        Request::GroupByGid(g) => (None, Some(*g)),
        _ => (None, None),
    };
    if let Some(view) = map() {
        match view.lookup(Kind::Group, name, id) {
            Hit::Found(payload) => {
                if let Ok(ResponseRef::Group(g)) = decode_response_ref(&payload) {
                    if name.is_none_or(|n| n == g.name) && id.is_none_or(|i| i == g.gid) {
                        return fill(&g);
                    }
                }
            }
            Hit::Negative => return NOT_FOUND,
            Hit::Miss => {}
        }
    }
    match ask(&req) {
        Ok(Response::Group(g)) => fill(&g.borrowed()),
        Ok(Response::NotFound) => NOT_FOUND,
        _ => UNAVAIL,
    }
}

/// # Safety
/// glibc's NSS contract for `getpwnam_r`.
#[no_mangle]
pub unsafe extern "C" fn _nss_ldaprs_getpwnam_r(
    name: *const c_char,
    result: *mut libc::passwd,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> NssStatus {
    guard(errnop, || {
        // SAFETY: name is the caller's C string.
        let Some(name) = (unsafe { name_arg(name) }) else {
            return NOT_FOUND;
        };
        // SAFETY: result/buf/buflen come from glibc.
        one_user(Request::UserByName(name), &|p| unsafe {
            fill_passwd(p, result, buf, buflen)
        })
    })
}

/// # Safety
/// glibc's NSS contract for `getpwuid_r`.
#[no_mangle]
pub unsafe extern "C" fn _nss_ldaprs_getpwuid_r(
    uid: uid_t,
    result: *mut libc::passwd,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> NssStatus {
    guard(errnop, || {
        // SAFETY: result/buf/buflen come from glibc.
        one_user(Request::UserByUid(uid), &|p| unsafe {
            fill_passwd(p, result, buf, buflen)
        })
    })
}

/// # Safety
/// glibc's NSS contract for `getgrnam_r`.
#[no_mangle]
pub unsafe extern "C" fn _nss_ldaprs_getgrnam_r(
    name: *const c_char,
    result: *mut libc::group,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> NssStatus {
    guard(errnop, || {
        // SAFETY: name is the caller's C string.
        let Some(name) = (unsafe { name_arg(name) }) else {
            return NOT_FOUND;
        };
        // SAFETY: result/buf/buflen come from glibc.
        one_group(Request::GroupByName(name), &|g| unsafe {
            fill_group(g, result, buf, buflen)
        })
    })
}

/// # Safety
/// glibc's NSS contract for `getgrgid_r`.
#[no_mangle]
pub unsafe extern "C" fn _nss_ldaprs_getgrgid_r(
    gid: gid_t,
    result: *mut libc::group,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> NssStatus {
    guard(errnop, || {
        // SAFETY: result/buf/buflen come from glibc.
        one_group(Request::GroupByGid(gid), &|g| unsafe {
            fill_group(g, result, buf, buflen)
        })
    })
}

/// State of a `setpwent`/`getpwent_r`/`endpwent` walk: the daemon's whole answer, undecoded,
/// and a cursor into it. glibc serialises these calls per process under its own lock; the
/// Mutex only makes the static sound. A std Mutex is a futex, not a thread or a thread-local.
struct Walk {
    payload: Option<Vec<u8>>,
    cursor: Option<PayloadCursor>,
}

static USERS: Mutex<Walk> = Mutex::new(Walk {
    payload: None,
    cursor: None,
});
static GROUPS: Mutex<Walk> = Mutex::new(Walk {
    payload: None,
    cursor: None,
});

fn reset(walk: &Mutex<Walk>) {
    let mut w = walk.lock().unwrap_or_else(|p| p.into_inner());
    w.payload = None;
    w.cursor = None;
}

/// One step of a walk: fetch the list on first use, then hand out entries; an entry that does
/// not fit (ERANGE) is handed out again on the next call.
fn step(
    walk: &Mutex<Walk>,
    req: Request,
    groups: bool,
    fill: impl FnOnce(&[u8], PayloadCursor) -> Option<(Outcome, PayloadCursor)>,
) -> Outcome {
    let mut w = walk.lock().unwrap_or_else(|p| p.into_inner());
    if w.payload.is_none() {
        if recursion_guard() {
            return UNAVAIL;
        }
        let Ok(payload) = client::call_raw(DEFAULT_SOCKET, &req, CallOptions::NSS) else {
            return UNAVAIL;
        };
        let Some(cursor) = PayloadCursor::new(&payload, groups) else {
            return UNAVAIL;
        };
        w.payload = Some(payload);
        w.cursor = Some(cursor);
    }
    let (Some(payload), Some(cursor)) = (w.payload.as_deref(), w.cursor) else {
        return UNAVAIL;
    };
    let Some((r, next)) = fill(payload, cursor) else {
        return NOT_FOUND;
    };
    if r.0 == NssStatus::Success {
        w.cursor = Some(next);
    }
    r
}

#[no_mangle]
pub extern "C" fn _nss_ldaprs_setpwent(_stayopen: c_int) -> NssStatus {
    guard(std::ptr::null_mut(), || {
        reset(&USERS);
        OK
    })
}

#[no_mangle]
pub extern "C" fn _nss_ldaprs_endpwent() -> NssStatus {
    guard(std::ptr::null_mut(), || {
        reset(&USERS);
        OK
    })
}

/// # Safety
/// glibc's NSS contract for `getpwent_r`.
#[no_mangle]
pub unsafe extern "C" fn _nss_ldaprs_getpwent_r(
    result: *mut libc::passwd,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> NssStatus {
    guard(errnop, || {
        step(&USERS, Request::AllUsers, false, |payload, cursor| {
            let (p, next) = cursor.user(payload)?;
            // SAFETY: result/buf/buflen come from glibc.
            Some((unsafe { fill_passwd(&p, result, buf, buflen) }, next))
        })
    })
}

#[no_mangle]
pub extern "C" fn _nss_ldaprs_setgrent(_stayopen: c_int) -> NssStatus {
    guard(std::ptr::null_mut(), || {
        reset(&GROUPS);
        OK
    })
}

#[no_mangle]
pub extern "C" fn _nss_ldaprs_endgrent() -> NssStatus {
    guard(std::ptr::null_mut(), || {
        reset(&GROUPS);
        OK
    })
}

/// # Safety
/// glibc's NSS contract for `getgrent_r`.
#[no_mangle]
pub unsafe extern "C" fn _nss_ldaprs_getgrent_r(
    result: *mut libc::group,
    buf: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> NssStatus {
    guard(errnop, || {
        step(&GROUPS, Request::AllGroups, true, |payload, cursor| {
            let (g, next) = cursor.group(payload)?;
            // SAFETY: result/buf/buflen come from glibc.
            Some((unsafe { fill_group(&g, result, buf, buflen) }, next))
        })
    })
}

/// Adds `gids` (minus `skip` and duplicates) to glibc's growable array, honouring `limit`.
/// glibc's contract (nss_files' initgroups): `*start` entries are used out of `*size`; grow with
/// realloc; with `limit > 0` never exceed it.
///
/// # Safety
/// `start`, `size`, `groupsp` are valid; `*groupsp` is NULL or a malloc'ed array of `*size`.
unsafe fn add_gids(
    gids: &[u32],
    skip: gid_t,
    start: *mut c_long,
    size: *mut c_long,
    groupsp: *mut *mut gid_t,
    limit: c_long,
) -> (NssStatus, c_int) {
    // The daemon's list has no duplicates; only the entries glibc (or an earlier module)
    // already put in the array need checking, so this stays linear for users in 300 groups.
    // SAFETY: valid per the contract.
    let initial = usize::try_from(unsafe { *start }).unwrap_or(0);
    // Grow once to what is needed (within `limit`) instead of doubling step by step.
    // SAFETY: valid per the contract.
    let (used0, cap0, arr0) = unsafe { (*start, *size, *groupsp) };
    let want = used0.saturating_add(c_long::try_from(gids.len()).unwrap_or(c_long::MAX));
    let want = if limit > 0 { want.min(limit) } else { want };
    if want > cap0 || arr0.is_null() {
        let bytes = usize::try_from(want.max(1))
            .unwrap_or(0)
            .saturating_mul(std::mem::size_of::<gid_t>());
        // SAFETY: arr0 is NULL or from malloc (glibc's contract); realloc handles both.
        let grown = unsafe { libc::realloc(arr0.cast::<libc::c_void>(), bytes) }.cast::<gid_t>();
        if grown.is_null() {
            return (NssStatus::Unavail, libc::ENOMEM);
        }
        // SAFETY: valid pointers per the contract.
        unsafe {
            *groupsp = grown;
            *size = want.max(1);
        }
    }
    for &gid in gids {
        if gid == skip {
            continue;
        }
        // SAFETY: valid per the contract.
        let (used, cap, arr) = unsafe { (*start, *size, *groupsp) };
        let used_n = usize::try_from(used).unwrap_or(0);
        if !arr.is_null() {
            // SAFETY: the first `used` (>= initial) entries of the array are initialised.
            let present = unsafe { std::slice::from_raw_parts(arr, initial.min(used_n)) };
            if present.contains(&gid) {
                continue;
            }
        }
        let mut arr = arr;
        if used >= cap || arr.is_null() {
            if limit > 0 && used >= limit {
                return OK; // full: glibc's limit reached
            }
            let mut new_cap = cap.max(1).saturating_mul(2);
            if limit > 0 {
                new_cap = new_cap.min(limit);
            }
            let bytes = usize::try_from(new_cap)
                .unwrap_or(0)
                .saturating_mul(std::mem::size_of::<gid_t>());
            // SAFETY: arr is NULL or from malloc (glibc's contract); realloc handles both.
            let grown = unsafe { libc::realloc(arr.cast::<libc::c_void>(), bytes) }.cast::<gid_t>();
            if grown.is_null() {
                return (NssStatus::Unavail, libc::ENOMEM);
            }
            arr = grown;
            // SAFETY: valid pointers per the contract.
            unsafe {
                *groupsp = grown;
                *size = new_cap;
            }
        }
        // SAFETY: used < *size after growth, so the slot is inside the array.
        unsafe {
            *arr.add(used_n) = gid;
            *start = used + 1;
        }
    }
    OK
}

/// # Safety
/// glibc's NSS contract for `initgroups_dyn`.
#[no_mangle]
pub unsafe extern "C" fn _nss_ldaprs_initgroups_dyn(
    user: *const c_char,
    skipgroup: gid_t,
    start: *mut c_long,
    size: *mut c_long,
    groupsp: *mut *mut gid_t,
    limit: c_long,
    errnop: *mut c_int,
) -> NssStatus {
    guard(errnop, || {
        if start.is_null() || size.is_null() || groupsp.is_null() {
            return UNAVAIL;
        }
        // SAFETY: user is the caller's C string.
        let Some(name) = (unsafe { name_arg(user) }) else {
            return NOT_FOUND;
        };
        if let Some(view) = map() {
            match view.lookup(Kind::Initgroups, Some(&name), None) {
                Hit::Found(payload) => {
                    if let Ok(ResponseRef::Gids(gids)) = decode_response_ref(&payload) {
                        // SAFETY: pointers checked above, per glibc's contract.
                        return unsafe { add_gids(&gids, skipgroup, start, size, groupsp, limit) };
                    }
                }
                Hit::Negative => return NOT_FOUND,
                Hit::Miss => {}
            }
        }
        match ask(&Request::GroupsOfUser(name)) {
            // SAFETY: pointers checked above, per glibc's contract.
            Ok(Response::Gids(gids)) => unsafe {
                add_gids(&gids, skipgroup, start, size, groupsp, limit)
            },
            Ok(Response::NotFound) => NOT_FOUND,
            _ => UNAVAIL,
        }
    })
}

#[cfg(test)]
#[allow(clippy::undocumented_unsafe_blocks)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_unavail_and_set_errno() {
        let mut err = 0;
        let st = guard(&mut err, || {
            let v: Vec<u8> = Vec::new();
            #[allow(clippy::indexing_slicing)]
            let _ = v[1];
            OK
        });
        assert_eq!(st, NssStatus::Unavail);
        assert_eq!(err, libc::EAGAIN);
    }

    #[test]
    fn initgroups_grows_dedups_skips_and_honours_limit() {
        let mut start: c_long = 1;
        let mut size: c_long = 1;
        // SAFETY: test allocation with malloc as glibc would.
        let arr = unsafe { libc::malloc(std::mem::size_of::<gid_t>()) }.cast::<gid_t>();
        unsafe { *arr = 100 };
        let mut groups = arr;
        let st = unsafe {
            add_gids(
                &[100, 5, 6, 7, 8], // unique (the daemon dedupes); 100 is already in the array
                6,
                &mut start,
                &mut size,
                &mut groups,
                0,
            )
        };
        assert_eq!(st.0, NssStatus::Success);
        let got = unsafe { std::slice::from_raw_parts(groups, start as usize) }.to_vec();
        assert_eq!(got, vec![100, 5, 7, 8]);
        assert!(size >= start);
        // limit 2: only one more fits.
        let mut start2: c_long = 1;
        let mut size2: c_long = 1;
        let st = unsafe { add_gids(&[1, 2, 3], 0, &mut start2, &mut size2, &mut groups, 2) };
        assert_eq!(st.0, NssStatus::Success);
        assert_eq!(start2, 2);
        assert_eq!(size2, 2);
        unsafe { libc::free(groups.cast()) };
    }

    #[test]
    fn passwd_erange_then_success() {
        let p = ldaprs_common::protocol::Passwd {
            name: "alice".into(),
            uid: 1,
            gid: 2,
            gecos: "A".into(),
            dir: "/h".into(),
            shell: "/s".into(),
        };
        // SAFETY: zeroed passwd is a valid out-parameter.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut small = [0 as c_char; 4];
        let r = unsafe { fill_passwd(&p.borrowed(), &mut pw, small.as_mut_ptr(), small.len()) };
        assert_eq!(r, ERANGE);
        let mut big = [0 as c_char; 64];
        let r = unsafe { fill_passwd(&p.borrowed(), &mut pw, big.as_mut_ptr(), big.len()) };
        assert_eq!(r, OK);
        let name = unsafe { CStr::from_ptr(pw.pw_name) };
        assert_eq!(name.to_str().unwrap(), "alice");
        assert_eq!(pw.pw_uid, 1);
        let r = unsafe { fill_passwd(&p.borrowed(), &mut pw, std::ptr::null_mut(), 0) };
        assert_eq!(r, UNAVAIL);
    }
}
