//! The enumeration walks (`setpwent`/`getpwent_r`/`endpwent` and the group ones), written once
//! for both record types.

use crate::nss::floor::Floor;
use crate::nss::record::{Enumerable, Groups, Users};
use crate::nss::sources::Sources;
use crate::nss::status::{NssStatus, Outcome, NOT_FOUND, UNAVAIL};
use crate::protocol::PayloadCursor;
use std::marker::PhantomData;
use std::sync::{Mutex, MutexGuard};

/// State of a `setpwent`/`getpwent_r`/`endpwent` walk (or the group one): the daemon's whole
/// answer, undecoded, and a cursor into it.
struct State {
    payload: Option<Vec<u8>>,
    cursor: Option<PayloadCursor>,
    /// The id floor, read once per walk (a map lookup per entry would cost an open(2) per
    /// entry when there is no map).
    floor: Floor,
}

/// One walk. glibc serialises these calls per process under its own lock; the Mutex only makes
/// the static sound. A std Mutex is a futex, not a thread or a thread-local.
pub struct Walk<R> {
    state: Mutex<State>,
    _record: PhantomData<fn() -> R>,
}

/// The `getpwent_r` walk of this process.
pub static USERS: Walk<Users> = Walk::new();
/// The `getgrent_r` walk of this process.
pub static GROUPS: Walk<Groups> = Walk::new();

impl<R: Enumerable> Walk<R> {
    pub const fn new() -> Walk<R> {
        Walk {
            state: Mutex::new(State {
                payload: None,
                cursor: None,
                floor: Floor {
                    min_uid: 1,
                    min_gid: 1,
                },
            }),
            _record: PhantomData,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `setXXent`/`endXXent`: forget the list; the next step fetches it again.
    pub fn reset(&self) {
        let mut w = self.lock();
        w.payload = None;
        w.cursor = None;
    }

    /// `getXXent_r`: fetch the list on first use, then hand out entries through `fill`; an
    /// entry that does not fit (ERANGE) is handed out again on the next call. The end of the
    /// list is `NOT_FOUND`; no list (daemon down, recursion guard, bad answer) is `UNAVAIL`.
    pub fn step<S: Sources + ?Sized>(
        &self,
        src: &S,
        fill: impl FnOnce(&R::Entry<'_>) -> Outcome,
    ) -> Outcome {
        let mut w = self.lock();
        if w.payload.is_none() {
            let Ok(payload) = src.ask_raw(&R::all()) else {
                return UNAVAIL;
            };
            let Some(cursor) = PayloadCursor::new(&payload, R::GROUPS) else {
                return UNAVAIL;
            };
            w.payload = Some(payload);
            w.cursor = Some(cursor);
            w.floor = Floor::of(src.map().as_ref());
        }
        let floor = w.floor;
        let (r, next) = {
            let (Some(payload), Some(mut cursor)) = (w.payload.as_deref(), w.cursor) else {
                return UNAVAIL;
            };
            // Entries below the floor are stepped over, never handed out.
            loop {
                let Some((entry, next)) = R::entry(&cursor, payload) else {
                    return NOT_FOUND;
                };
                match R::bounded(entry, floor) {
                    Some(e) => break (fill(&e), next),
                    None => cursor = next,
                }
            }
        };
        if r.0 == NssStatus::Success {
            w.cursor = Some(next);
        }
        r
    }
}

impl<R: Enumerable> Default for Walk<R> {
    fn default() -> Self {
        Walk::new()
    }
}
