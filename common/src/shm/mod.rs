//! The shared-memory fast path: ldaprsd publishes cached passwd, group and initgroups answers
//! in a memory-mapped file (`/run/ldaprs/cache.map`) that the NSS module reads without a
//! socket round trip (SSSD's memcache and nscd's shared database are the anchors).
//!
//! Safety of the reader, which runs inside every process:
//! - **Concurrent writer**: a seqlock. The writer makes `seq` odd, writes, makes it even; the
//!   reader copies what it needs, then checks that `seq` did not move (else retries, a few
//!   times, then asks the socket). Reads of shared bytes are volatile; decisions are made only
//!   on the private copy.
//! - **Corrupt file**: every offset is bounds- and alignment-checked; a chain only walks to
//!   strictly smaller offsets (so it ends) and at most [`MAX_CHAIN`] steps; every record
//!   carries a checksum; the decoded record must carry the name or id that was asked. Anything
//!   odd is a miss, and a miss means "ask the socket".
//! - **Truncated or foreign file**: the header must carry our magic, version and a length that
//!   matches the file's size at map time. (The daemon never truncates the live file: it reuses
//!   it in place, or replaces it by rename and marks the old one superseded.)
//! - **Staleness**: each record has an expiry (CLOCK_MONOTONIC, milliseconds, shared by all
//!   processes of the boot); an expired record is not served. Past its `refresh` time the
//!   module asks the socket instead, so the daemon sees entries in use and refreshes them.
//!
//! The pieces: [`layout`] (header, record format, hashes, checksum), [`reader`] (the
//! bounds-checked view and the seqlock read), [`writer`] (the daemon's side) and [`open`] (the
//! one routine that opens and checks the file, for both sides).

pub mod layout;
pub mod open;
pub mod reader;
pub mod writer;

#[cfg(test)]
mod tests;

pub use layout::{now_ms, Kind, MAGIC, MAP_PATH, MAP_PATH_C, MAX_CHAIN, MAX_RECORD, VERSION};
pub use open::{map_path_for_socket, Access, MappedFile, OpenError, MAX_MAP_LEN, MIN_MAP_LEN};
pub use reader::{Hit, MapView};
pub use writer::{MapWriter, WriteError};
