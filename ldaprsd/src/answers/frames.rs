//! Encoded answer frames. Enumerations (a megabyte for 10,000 users) are encoded once and
//! served from `frames` until the cached answer changes.

use super::key::Key;
use super::state::Answers;
use ldaprs_common::protocol::{frame_response, Request, Response};
use std::future::Future;
use std::sync::Arc;

impl Answers {
    /// The encoded frame of an enumeration, if one is cached and fresh.
    pub fn cached_frame(&self, req: &Request) -> Option<Arc<Vec<u8>>> {
        let k = enumeration_key(req)?;
        self.check_local_files();
        let (f, due) = self.frames.get_fresh(&k, self.clock.now())?;
        if due {
            self.request_refresh(&k);
        }
        Some(f)
    }

    /// Encodes the answer to `req` that `work` produces; an enumeration's frame is the one
    /// `remember` stored, not encoded twice.
    pub async fn frame_of(
        &self,
        key: Option<Key>,
        work: impl Future<Output = Response>,
    ) -> Arc<Vec<u8>> {
        let resp = work.await;
        if let (Some(k), Response::Users(_) | Response::Groups(_)) = (&key, &resp) {
            if let Some(f) = self.frames.get(k, self.clock.now()) {
                // Every record of the enumeration is freed here: give the memory back.
                drop(resp);
                super::lookup::release_memory();
                return f;
            }
        }
        Arc::new(frame_response(&resp))
    }
}

/// The cache key of an enumeration request (the only answers kept encoded).
pub fn enumeration_key(req: &Request) -> Option<Key> {
    match req {
        Request::AllUsers => Some(Key::AllUsers),
        Request::AllGroups => Some(Key::AllGroups),
        _ => None,
    }
}
