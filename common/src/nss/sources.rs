//! Where the NSS module's answers come from: the shared map and the daemon's socket. A trait,
//! so that the lookup and the enumeration are tested with a map in a buffer and a scripted
//! daemon.

use crate::client::{self, CallOptions, ClientError};
use crate::nss::current_map;
use crate::protocol::{Request, Response};
use crate::shm::MapView;
use crate::DEFAULT_SOCKET;
use std::ffi::CStr;

/// The two sources of an answer.
pub trait Sources {
    /// The shared map, if one is mapped and valid.
    fn map(&self) -> Option<MapView>;
    /// One request to the daemon, decoded.
    fn ask(&self, req: &Request) -> Result<Response, ClientError>;
    /// One request to the daemon, undecoded (enumerations are walked in place).
    fn ask_raw(&self, req: &Request) -> Result<Vec<u8>, ClientError>;
}

/// The real sources: this process's mapping of `/run/ldaprs/cache.map` and ldaprsd's socket,
/// one connection per call (`client`: fork-safe, bounded, CLOEXEC, never on fds 0-2).
pub struct Live;

impl Sources for Live {
    fn map(&self) -> Option<MapView> {
        current_map::current()
    }

    fn ask(&self, req: &Request) -> Result<Response, ClientError> {
        if recursion_guard() {
            return Err(refused());
        }
        client::call(DEFAULT_SOCKET, req, CallOptions::NSS)
    }

    fn ask_raw(&self, req: &Request) -> Result<Vec<u8>, ClientError> {
        if recursion_guard() {
            return Err(refused());
        }
        client::call_raw(DEFAULT_SOCKET, req, CallOptions::NSS)
    }
}

fn refused() -> ClientError {
    ClientError::Unavailable(std::io::Error::from(std::io::ErrorKind::Other))
}

/// True inside ldaprsd itself or a process systemd runs on behalf of its unit: answering
/// would mean asking the daemon about itself (a deadlock until the timeout). ldaprsd sets
/// `LDAPRS_NSS_DISABLE=1` in its own environment; systemd sets `SYSTEMD_ACTIVATION_UNIT` for
/// lookups it makes for a unit (systemd PR #9504). Either can only make us answer UNAVAIL.
pub fn recursion_guard() -> bool {
    let get = |name: &CStr| {
        // SAFETY: getenv with a NUL-terminated name; the result is only compared, not kept.
        let v = unsafe { libc::getenv(name.as_ptr()) };
        // SAFETY: a non-NULL getenv result is a NUL-terminated string.
        (!v.is_null()).then(|| unsafe { CStr::from_ptr(v) }.to_bytes().to_vec())
    };
    get(c"LDAPRS_NSS_DISABLE").is_some_and(|v| v == b"1")
        || get(c"SYSTEMD_ACTIVATION_UNIT").is_some_and(|v| v == b"ldaprsd.service")
}
