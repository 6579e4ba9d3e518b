//! One lookup, written once for every record type: from the shared map if it has a fresh
//! answer, else from the daemon.

use crate::nss::floor::Floor;
use crate::nss::record::Record;
use crate::nss::sources::Sources;
use crate::nss::status::{Outcome, NOT_FOUND, UNAVAIL};
use crate::protocol::{decode_response_ref, Response};
use crate::shm::Hit;

/// Looks `key` up and hands the entry to `fill`, which packs it into the caller's buffer.
///
/// The map answers when it holds a fresh record about what was asked, found or "not found"
/// (negative). Anything else (no map, a miss, a record due for refresh, one that does not
/// decode or is about something else) asks the daemon: a found entry goes to `fill`, "not
/// found" is `NOT_FOUND`, and no answer (daemon down, timeout, recursion guard) or an answer of
/// the wrong kind is `UNAVAIL`, so that `files` keeps working.
pub fn lookup<R: Record, S: Sources + ?Sized>(
    src: &S,
    key: R::Key<'_>,
    fill: impl FnOnce(&R::Entry<'_>) -> Outcome,
) -> Outcome {
    let view = src.map();
    let floor = Floor::of(view.as_ref());
    if let Some(view) = view {
        let (name, id) = R::map_key(key);
        match view.lookup(R::KIND, name, id) {
            Hit::Found(payload) => {
                if let Some(entry) = decode_response_ref(&payload)
                    .ok()
                    .and_then(|r| R::from_map(r, key))
                {
                    return within(entry, floor, fill);
                }
            }
            Hit::Negative => return NOT_FOUND,
            Hit::Miss => {}
        }
    }
    match src.ask(&R::request(key)) {
        Ok(Response::NotFound) => NOT_FOUND,
        Ok(resp) => match R::from_daemon(&resp) {
            Some(entry) => within(entry, floor, fill),
            None => UNAVAIL,
        },
        Err(_) => UNAVAIL,
    }
}

/// Hands the entry to `fill` as far as it is above the floor; below it is `NOT_FOUND`.
fn within<R: Record>(
    entry: R::Entry<'_>,
    floor: Floor,
    fill: impl FnOnce(&R::Entry<'_>) -> Outcome,
) -> Outcome {
    match R::bounded(entry, floor) {
        Some(e) => fill(&e),
        None => NOT_FOUND,
    }
}
