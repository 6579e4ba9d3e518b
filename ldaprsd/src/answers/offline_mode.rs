//! Where offline mode stands (kept in `Answers`, changed by `offline.rs`).

use std::time::Instant;

/// Where offline mode stands.
#[derive(Default)]
pub struct Offline {
    /// Since when every URI of every block is down (monotonic, Unix seconds).
    pub(super) since: Option<(Instant, i64)>,
    pub(super) last_save: Option<Instant>,
}
