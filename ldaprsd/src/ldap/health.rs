//! The health of each URI: its open service connection, or why and until when it is avoided,
//! and the jittered backoff of the probes that bring it back.

use std::time::{Duration, Instant};

/// Where a URI stands: its open service connection, or why and until when it is avoided.
#[derive(Default)]
pub(super) struct SlotState {
    pub(super) conn: Option<ldap3::Ldap>,
    pub(super) dead: Option<DeadInfo>,
    /// When an operation on this URI last got an answer (proof of life before a password is
    /// sent there without a probe; see `bind.rs`).
    pub(super) last_answer: Option<Instant>,
    /// When the service connection's Kerberos context ends (GSSAPI binds): the connection is
    /// replaced shortly before, not used until it breaks.
    pub(super) conn_until: Option<Instant>,
    /// The server answered but refused our service bind (a wrong or locked service account,
    /// a refused SASL bind): it is reachable, so its being marked down never makes the
    /// daemon offline (an attacker who locks the service account must not turn cached logins
    /// on). Cleared by the next service bind that succeeds.
    pub(super) refused: bool,
}

/// A URI that failed: requests prefer the others until a background probe finds it healthy.
#[derive(Clone, Debug)]
pub struct DeadInfo {
    pub since: Instant,
    pub retry_at: Instant,
    pub failures: u32,
    pub reason: String,
}

/// One URI of a block. Requests name it by `id`, never by its place in the list: discovery
/// may swap the list while a request runs, and a mark (down, alive, answered) must land on
/// the URI that earned it.
pub(super) struct Slot {
    /// Stable for the slot's life: its place in the config list for configured URIs, a
    /// process-wide number from [`DISCOVERED_IDS`] for discovered ones.
    pub(super) id: usize,
    pub(super) uri: String,
    pub(super) state: std::sync::Mutex<SlotState>,
    /// Serialises connection set-up so that a burst of requests opens one connection.
    pub(super) connecting: tokio::sync::Mutex<()>,
}

/// Ids of discovered slots: far above any configured list's places, never reused.
static DISCOVERED_IDS: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(1 << 20);

impl Slot {
    pub(super) fn new(id: usize, uri: String) -> Slot {
        Slot {
            id,
            uri,
            state: std::sync::Mutex::new(SlotState::default()),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    /// A slot for a URI that discovery found.
    pub(super) fn discovered(uri: String) -> Slot {
        let id = DISCOVERED_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Slot::new(id, uri)
    }

    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// While every URI of every block is down (offline), probes back off to at most this:
/// the daemon is back online within 30 s of a server answering again.
pub const OFFLINE_PROBE_MAX: Duration = Duration::from_secs(30);

/// Backoff before probing a dead URI again: `base · 2^(failures-1)`, capped at `max`, times a
/// jitter factor in [0.9, 1.1] from `unit` (a number in [0, 1)), so that many hosts that lost
/// the same server do not probe it in lockstep.
pub fn backoff(base: Duration, max: Duration, failures: u32, unit: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let raw = base.saturating_mul(1u32 << exp).min(max);
    raw.mul_f64(0.9 + 0.2 * unit.clamp(0.0, 1.0))
}

/// A cheap pseudo-random number in [0, 1) (jitter only; nothing secret depends on it).
pub fn jitter_unit() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut x = u64::from(nanos) ^ 0x9e37_79b9_7f4a_7c15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x % 1_000_000) as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let b = Duration::from_secs(10);
        let m = Duration::from_secs(300);
        assert_eq!(backoff(b, m, 1, 0.5), Duration::from_secs(10));
        assert_eq!(backoff(b, m, 2, 0.5), Duration::from_secs(20));
        assert_eq!(backoff(b, m, 3, 0.5), Duration::from_secs(40));
        assert_eq!(backoff(b, m, 10, 0.5), Duration::from_secs(300));
        assert_eq!(backoff(b, m, 1, 0.0), Duration::from_secs(9));
        assert_eq!(backoff(b, m, 1, 1.0), Duration::from_secs(11));
        assert_eq!(backoff(b, m, u32::MAX, 0.5), Duration::from_secs(300));
        let u = jitter_unit();
        assert!((0.0..1.0).contains(&u));
    }
}
