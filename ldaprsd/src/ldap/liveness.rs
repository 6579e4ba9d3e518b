//! What offline mode asks of a block: whether all its URIs are down, when one last answered,
//! when the next probe is due, and bringing that probe forward when a lookup needs it.

use super::block::ServerBlock;
use std::time::{Duration, Instant};

/// A lookup while offline brings the probes forward at most this often.
pub const DEMAND_PROBE_GAP: Duration = Duration::from_secs(1);

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

    /// A request reached the daemon while offline: the next probe of each dead URI is due now
    /// (run by the probe loop within 250 ms, or at once for a lookup that waits for it: see
    /// `answers/offline.rs`), at most once every [`DEMAND_PROBE_GAP`]. Without it a server
    /// back after a restart was found only by the scheduled probe, up to 30 s (+10 %) later,
    /// and every lookup the persistent cache could not answer failed meanwhile (bench/fleet:
    /// 100 hosts, slapd restarted). The lookups of many hosts come at their own random times,
    /// so their reconnects spread as they do. Returns whether the probes were brought forward.
    pub fn probe_soon(&self) -> bool {
        let now = self.clock.now();
        {
            let mut last = self.demand_probe.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| now.saturating_duration_since(t) < DEMAND_PROBE_GAP) {
                return false;
            }
            *last = Some(now);
        }
        for s in self.slots().iter() {
            if let Some(d) = s.state().dead.as_mut() {
                d.retry_at = d.retry_at.min(now);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use std::sync::{Arc, Mutex};

    struct StepClock(Mutex<Instant>);

    impl Clock for StepClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap_or_else(|p| p.into_inner())
        }
        fn unix_now(&self) -> i64 {
            0
        }
    }

    impl StepClock {
        fn advance(&self, d: Duration) {
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) += d;
        }
    }

    fn retry_at(b: &ServerBlock) -> Option<Instant> {
        b.next_probe()
    }

    /// A dead URI's probe comes forward to now on a lookup, not again within the gap (the
    /// probe that failed meanwhile set its own next time), again after it; a live URI is not
    /// touched.
    #[test]
    fn a_lookup_while_offline_brings_the_probe_forward_at_most_every_gap() {
        let src = "[[servers]]\nname = \"t\"\nuri = [\"ldap://127.0.0.1:9\"]\nbase = \"dc=x\"\n";
        let cfg = ldaprs_common::config::parse("t.toml", src).unwrap_or_else(|e| panic!("{e}"));
        let clock = Arc::new(StepClock(Mutex::new(Instant::now())));
        let b = ServerBlock::new(cfg.servers[0].clone(), None)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_clock(clock.clone());
        let id = b.order()[0];
        assert_eq!(retry_at(&b), None);
        b.mark_dead(id, "test");
        let t0 = clock.now();
        let scheduled = retry_at(&b).unwrap_or_else(|| panic!("no probe scheduled"));
        assert!(
            scheduled >= t0 + Duration::from_secs(9),
            "{:?}",
            scheduled - t0
        );
        assert!(b.all_down());
        clock.advance(Duration::from_millis(100));
        assert!(b.probe_soon());
        assert_eq!(retry_at(&b), Some(clock.now()));
        // A probe failed and scheduled the next one 20 s on; a lookup within the gap leaves it.
        let later = clock.now() + Duration::from_secs(20);
        for s in b.slots().iter() {
            if let Some(d) = s.state().dead.as_mut() {
                d.retry_at = later;
            }
        }
        clock.advance(DEMAND_PROBE_GAP - Duration::from_millis(100));
        assert!(!b.probe_soon());
        assert_eq!(retry_at(&b), Some(later));
        clock.advance(Duration::from_millis(100));
        assert!(b.probe_soon());
        assert_eq!(retry_at(&b), Some(clock.now()));
        assert!(b.all_down(), "bringing a probe forward is not the probe");
    }
}
