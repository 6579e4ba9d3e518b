//! `pam_ldaprs.so`: the six `pam_sm_*` exports, the conversation, and nothing else. The
//! decisions are in `ldaprs_common::pam_flow`, tested there with a scripted host; the host side
//! over libpam (items, conversation, syslog) is [`host`].
//!
//! Every export runs under [`guard`] (a panic becomes `PAM_SYSTEM_ERR`), logs go to syslog
//! through `pam_syslog` (facility authpriv), and nothing is written to fds 0-2.
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod host;
mod sys;

use host::{RealHost, SocketDaemon};
use ldaprs_common::pam_flow::{self, ChangePhase, Daemon, Options, PamCode, PamHost};
use ldaprs_common::panic_guard;
use libc::{c_char, c_int};
use std::ffi::CStr;
use sys::PamHandle;

/// Runs an export body under the shared panic boundary; a panic becomes `PAM_SYSTEM_ERR` and
/// prints nothing.
fn guard(body: impl FnOnce() -> c_int) -> c_int {
    panic_guard::guard(sys::PAM_SYSTEM_ERR, body)
}

/// Module arguments as strings (non-UTF-8 arguments are kept lossily and reported unknown).
///
/// # Safety
/// `argv` holds `argc` NUL-terminated strings (libpam's contract).
unsafe fn args(argc: c_int, argv: *const *const c_char) -> Vec<String> {
    let n = usize::try_from(argc).unwrap_or(0);
    if argv.is_null() {
        return Vec::new();
    }
    (0..n)
        .filter_map(|i| {
            // SAFETY: i < argc, argv has argc entries.
            let p = unsafe { *argv.add(i) };
            // SAFETY: non-NULL entries are C strings.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        })
        .collect()
}

/// Shared body of the exports that ask the daemon.
///
/// # Safety
/// libpam's contract for `pam_sm_*` arguments.
unsafe fn run(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
    f: impl FnOnce(&mut dyn PamHost, &mut dyn Daemon, &Options) -> PamCode,
) -> c_int {
    if pamh.is_null() {
        return sys::PAM_SYSTEM_ERR;
    }
    // SAFETY: per this function's contract.
    let a = unsafe { args(argc, argv) };
    let opts = Options::parse(a.iter().map(String::as_str));
    let mut host = RealHost {
        pamh,
        silent: flags & sys::PAM_SILENT != 0,
        debug: opts.debug,
    };
    f(&mut host, &mut SocketDaemon, &opts) as c_int
}

/// # Safety
/// Called by libpam with its handle and the module arguments.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: arguments from libpam.
    guard(|| unsafe { run(pamh, flags, argc, argv, pam_flow::authenticate) })
}

/// # Safety
/// Called by libpam with its handle and the module arguments.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_acct_mgmt(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: arguments from libpam.
    guard(|| unsafe { run(pamh, flags, argc, argv, pam_flow::account) })
}

/// Credentials are the directory's business; nothing to set on the host.
#[no_mangle]
pub extern "C" fn pam_sm_setcred(
    _pamh: *mut PamHandle,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    guard(|| sys::PAM_SUCCESS)
}

#[no_mangle]
pub extern "C" fn pam_sm_open_session(
    _pamh: *mut PamHandle,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    guard(|| sys::PAM_SUCCESS)
}

#[no_mangle]
pub extern "C" fn pam_sm_close_session(
    _pamh: *mut PamHandle,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    guard(|| sys::PAM_SUCCESS)
}

/// Password change through the daemon (LDAP Password Modify, RFC 3062); libpam calls this
/// twice, with `PAM_PRELIM_CHECK` and then `PAM_UPDATE_AUTHTOK`.
///
/// # Safety
/// Called by libpam with its handle and the module arguments.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_chauthtok(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    guard(|| {
        let expired = flags & sys::PAM_CHANGE_EXPIRED_AUTHTOK != 0;
        let phase = match (
            flags & sys::PAM_PRELIM_CHECK != 0,
            flags & sys::PAM_UPDATE_AUTHTOK != 0,
        ) {
            (true, _) => ChangePhase::Prelim,
            (false, true) => ChangePhase::Update,
            // libpam always sets one of the two; anything else is a caller bug.
            (false, false) => return sys::PAM_SYSTEM_ERR,
        };
        let f = |h: &mut dyn PamHost, d: &mut dyn Daemon, o: &Options| {
            pam_flow::chauthtok(h, d, o, phase, expired)
        };
        // SAFETY: arguments from libpam.
        unsafe { run(pamh, flags, argc, argv, f) }
    })
}

#[cfg(test)]
mod tests;
