//! The module's results, written into glibc's out-parameters: `struct passwd` and
//! `struct group` with their strings in the caller's buffer (layout by
//! `ldaprs_common::nss_pack`), and the growable gid array of `initgroups_dyn` (what goes in it
//! decided by `ldaprs_common::nss::merge_gids`). Offsets become pointers here, at the boundary.

use ldaprs_common::nss::{merge_gids, too_small, GidArray, NssStatus, Outcome, OK, UNAVAIL};
use ldaprs_common::nss_pack::{self, TooSmall};
use ldaprs_common::protocol::{GroupRef, PasswdRef};
use libc::{c_char, c_long, gid_t, size_t};

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

/// # Safety
/// `result` points to a `struct passwd`, `buf` to `len` writable bytes.
pub(crate) unsafe fn fill_passwd(
    p: &PasswdRef<'_>,
    result: *mut libc::passwd,
    buf: *mut c_char,
    len: size_t,
) -> Outcome {
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
pub(crate) unsafe fn fill_group(
    g: &GroupRef<'_>,
    result: *mut libc::group,
    buf: *mut c_char,
    len: size_t,
) -> Outcome {
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

/// Adds `gids` (minus `skip` and duplicates) to glibc's growable array, honouring `limit`:
/// reads the array once, lets [`merge_gids`] decide, then reallocates at most once and writes.
/// glibc's contract (nss_files' initgroups): `*start` entries are used out of `*size`; grow with
/// realloc; with `limit > 0` never exceed it.
///
/// # Safety
/// `start`, `size`, `groupsp` are valid; `*groupsp` is NULL or a malloc'ed array of `*size`.
pub(crate) unsafe fn add_gids(
    gids: &[u32],
    skip: gid_t,
    start: *mut c_long,
    size: *mut c_long,
    groupsp: *mut *mut gid_t,
    limit: c_long,
) -> Outcome {
    // SAFETY: valid per the contract.
    let (used0, cap0, mut arr) = unsafe { (*start, *size, *groupsp) };
    let used = usize::try_from(used0).unwrap_or(0);
    let present: &[gid_t] = if arr.is_null() || used == 0 {
        &[]
    } else {
        // SAFETY: the first `*start` entries of the array are initialised (glibc's contract);
        // the slice is not used after the realloc below.
        unsafe { std::slice::from_raw_parts(arr, used) }
    };
    let array = GidArray {
        present,
        used,
        size: usize::try_from(cap0).unwrap_or(0),
        allocated: !arr.is_null(),
        limit: usize::try_from(limit).unwrap_or(0),
    };
    let merge = merge_gids(&array, gids, skip);
    if let Some(n) = merge.grow_to {
        let bytes = n.saturating_mul(std::mem::size_of::<gid_t>());
        // SAFETY: arr is NULL or from malloc (glibc's contract); realloc handles both.
        let grown = unsafe { libc::realloc(arr.cast::<libc::c_void>(), bytes) }.cast::<gid_t>();
        if grown.is_null() {
            return (NssStatus::Unavail, libc::ENOMEM);
        }
        arr = grown;
        // SAFETY: valid pointers per the contract.
        unsafe {
            *groupsp = grown;
            *size = c_long::try_from(n).unwrap_or(c_long::MAX);
        }
    }
    if !merge.append.is_empty() {
        // SAFETY: `used + append.len()` never exceeds the array's size (merge_gids), and the
        // array is not NULL (allocated above when it was).
        unsafe {
            std::ptr::copy_nonoverlapping(merge.append.as_ptr(), arr.add(used), merge.append.len());
            *start = c_long::try_from(used + merge.append.len()).unwrap_or(c_long::MAX);
        }
    }
    OK
}
