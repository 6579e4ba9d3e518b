//! The logic of the NSS module (`libnss_ldaprs.so.2`), kept out of the cdylib so that it is
//! unit-tested without glibc: the statuses ([`status`]), where answers come from ([`sources`],
//! [`current_map`]), the record types ([`record`]), the lookup "shared map first, then the
//! daemon" ([`mod@lookup`]), the enumeration walks ([`walk`]) and the initgroups merge
//! ([`initgroups`]). The module itself only converts C arguments and results.
//!
//! Rules (DESIGN.md): no threads, no thread-locals, no runtime; nothing is ever written to fds
//! 0-2; a missing daemon is `UNAVAIL` at once so `files` keeps working.

pub mod current_map;
pub mod floor;
pub mod initgroups;
pub mod lookup;
pub mod record;
pub mod sources;
pub mod status;
pub mod walk;

#[cfg(test)]
mod tests;

pub use initgroups::{merge_gids, GidArray, GidMerge};
pub use lookup::lookup;
pub use record::{Enumerable, Groups, Initgroups, Key, Record, Users};
pub use sources::{recursion_guard, Live, Sources};
pub use status::{
    too_small, NssStatus, Outcome, ERANGE, MAX_BUFFER, NOT_FOUND, OK, PANICKED, UNAVAIL,
};
pub use walk::{Walk, GROUPS, USERS};
