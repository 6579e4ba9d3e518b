//! `libnss_ldaprs.so.2`: the glibc NSS exports of ldaprs and the conversion of their C
//! arguments. Every lookup is answered from the daemon's shared map or by one request to
//! ldaprsd over `/run/ldaprs/socket`; that logic is `ldaprs_common::nss` (lookup, enumeration
//! walks, initgroups merge) and record layout is `ldaprs_common::nss_pack`.
//!
//! Rules (DESIGN.md): no threads, no thread-locals, no runtime; every export runs under
//! [`guard`], which turns a panic into `NSS_STATUS_UNAVAIL`; nothing is ever written to fds 0-2;
//! a missing daemon is `UNAVAIL` at once so `files` keeps working.
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod results;

use ldaprs_common::names::valid_name;
use ldaprs_common::nss::{self, Groups, Initgroups, Key, Live, Outcome, Users, GROUPS, OK};
use ldaprs_common::nss::{PANICKED, UNAVAIL, USERS};
use ldaprs_common::panic_guard;
use libc::{c_char, c_int, c_long, gid_t, size_t, uid_t};
use results::{add_gids, fill_group, fill_passwd};
use std::ffi::CStr;

pub use ldaprs_common::nss::NssStatus;

/// Runs an export body under the shared panic boundary; a panic becomes UNAVAIL with
/// `*errnop = EAGAIN`. The status goes back to glibc, the errno into `*errnop`.
fn guard(errnop: *mut c_int, body: impl FnOnce() -> Outcome) -> NssStatus {
    let (status, err) = panic_guard::guard(PANICKED, body);
    if !errnop.is_null() {
        // SAFETY: glibc passes a valid `int *errnop`; checked for NULL above.
        unsafe { *errnop = err };
    }
    status
}

/// A name argument, or None when it is NULL, not UTF-8 or not a valid name (never sent).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string that outlives the call.
unsafe fn name_arg<'a>(name: *const c_char) -> Option<&'a str> {
    if name.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the NSS contract.
    let s = unsafe { CStr::from_ptr(name) }.to_str().ok()?;
    valid_name(s).then_some(s)
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
            return nss::NOT_FOUND;
        };
        // SAFETY: result/buf/buflen come from glibc.
        nss::lookup::<Users, _>(&Live, Key::Name(name), |p| unsafe {
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
        nss::lookup::<Users, _>(&Live, Key::Id(uid), |p| unsafe {
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
            return nss::NOT_FOUND;
        };
        // SAFETY: result/buf/buflen come from glibc.
        nss::lookup::<Groups, _>(&Live, Key::Name(name), |g| unsafe {
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
        nss::lookup::<Groups, _>(&Live, Key::Id(gid), |g| unsafe {
            fill_group(g, result, buf, buflen)
        })
    })
}

#[no_mangle]
pub extern "C" fn _nss_ldaprs_setpwent(_stayopen: c_int) -> NssStatus {
    guard(std::ptr::null_mut(), || {
        USERS.reset();
        OK
    })
}

#[no_mangle]
pub extern "C" fn _nss_ldaprs_endpwent() -> NssStatus {
    guard(std::ptr::null_mut(), || {
        USERS.reset();
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
        // SAFETY: result/buf/buflen come from glibc.
        USERS.step(&Live, |p| unsafe { fill_passwd(p, result, buf, buflen) })
    })
}

#[no_mangle]
pub extern "C" fn _nss_ldaprs_setgrent(_stayopen: c_int) -> NssStatus {
    guard(std::ptr::null_mut(), || {
        GROUPS.reset();
        OK
    })
}

#[no_mangle]
pub extern "C" fn _nss_ldaprs_endgrent() -> NssStatus {
    guard(std::ptr::null_mut(), || {
        GROUPS.reset();
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
        // SAFETY: result/buf/buflen come from glibc.
        GROUPS.step(&Live, |g| unsafe { fill_group(g, result, buf, buflen) })
    })
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
            return nss::NOT_FOUND;
        };
        // SAFETY: pointers checked above, per glibc's contract.
        nss::lookup::<Initgroups, _>(&Live, name, |gids| unsafe {
            add_gids(gids, skipgroup, start, size, groupsp, limit)
        })
    })
}

#[cfg(test)]
mod tests;
