//! What offline mode asks of a block: whether all its URIs are down, when one last answered,
//! when the next probe is due.

use super::block::ServerBlock;
use std::time::Instant;

impl ServerBlock {
    /// Whether no URI of the block answers (offline mode needs all blocks so): every URI is
    /// marked down and none of them answered with a refusal of our service bind, or the
    /// block is waiting for a detection no server has answered.
    pub fn all_down(&self) -> bool {
        if self.pending().is_some() {
            return self.pending_unreachable();
        }
        let slots = self.slots();
        !slots.is_empty()
            && slots.iter().all(|s| {
                let st = s.state();
                st.dead.is_some() && !st.refused
            })
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
