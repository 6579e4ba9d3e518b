//! What an NSS call answers glibc: the status and the errno that goes with it.

use libc::c_int;

/// `enum nss_status` from glibc's `<nss.h>`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NssStatus {
    TryAgain = -2,
    Unavail = -1,
    NotFound = 0,
    Success = 1,
}

/// A status and the value for `*errnop`.
pub type Outcome = (NssStatus, c_int);

pub const OK: Outcome = (NssStatus::Success, 0);
pub const NOT_FOUND: Outcome = (NssStatus::NotFound, libc::ENOENT);
pub const UNAVAIL: Outcome = (NssStatus::Unavail, libc::ENOENT);
/// The record does not fit the caller's buffer: glibc grows the buffer and calls again
/// (glibc manual, "NSS Module Function Internals").
pub const ERANGE: Outcome = (NssStatus::TryAgain, libc::ERANGE);
/// What a panic stopped at the export boundary answers.
pub const PANICKED: Outcome = (NssStatus::Unavail, libc::EAGAIN);

/// A buffer this large that still cannot hold the record means the record is absurd: stop
/// glibc's doubling loop instead of letting it grow until OOM (security.md NSS-07).
pub const MAX_BUFFER: usize = 64 * 1024 * 1024;

/// The answer when a record does not fit a buffer of `len` bytes.
pub fn too_small(len: usize) -> Outcome {
    if len >= MAX_BUFFER {
        NOT_FOUND
    } else {
        ERANGE
    }
}
