//! What offline mode asks of a block: whether all its URIs are down, when one last answered,
//! when the next probe is due.

use super::block::ServerBlock;
use std::time::Instant;

impl ServerBlock {
    /// Whether every URI of the block is marked down (offline mode needs all blocks so).
    pub fn all_down(&self) -> bool {
        {
            let slots = self.slots();
            !slots.is_empty() && slots.iter().all(|s| s.state().dead.is_some())
        }
    }

    /// When an operation on any URI of the block last got an answer.
    pub fn last_answer(&self) -> Option<Instant> {
        self.slots()
            .iter()
            .filter_map(|s| s.state().last_answer)
            .max()
    }

    /// When the next probe of a dead URI is due.
    pub fn next_probe(&self) -> Option<Instant> {
        self.slots()
            .iter()
            .filter_map(|s| s.state().dead.as_ref().map(|d| d.retry_at))
            .min()
    }
}
