//! Password guessing through the socket costs time per uid, not per request: the logins and
//! password changes of one non-root uid are answered one at a time, and each failure holds
//! that uid's turn for [`FAILURE_DELAY`] (unix_chkpwd's brake). Two hundred parallel guesses
//! from one uid take 400 s, not 2 s; other uids, and root (sshd, login, su), never wait.
//!
//! Questions any uid may ask about any user, and that cost directory searches (the SSH keys
//! of a user, for sshd's `AuthorizedKeysCommand` run as `nobody`), are metered per uid by a
//! token bucket ([`RateLimit`]): a burst, then a steady rate; beyond it the answer is refused
//! at once (no connection is held waiting).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Delay after a failed authentication or password change of a non-root caller.
pub const FAILURE_DELAY: Duration = Duration::from_secs(2);

/// One turn per non-root uid.
#[derive(Default)]
pub struct Throttle {
    turns: Mutex<HashMap<u32, Arc<tokio::sync::Mutex<()>>>>,
}

impl Throttle {
    /// Waits for `uid`'s turn; the turn is held until the guard is dropped.
    pub async fn turn(&self, uid: u32) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
            // Forget the uids nobody is waiting for (the map stays as small as the callers).
            turns.retain(|_, m| Arc::strong_count(m) > 1);
            turns.entry(uid).or_default().clone()
        };
        m.lock_owned().await
    }
}

/// A token bucket per uid: `burst` requests at once, then `per_sec` a second.
pub struct RateLimit {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<u32, (f64, Instant)>>,
}

/// The SSH keys command: 30 users' keys at once, then 10 a second, per uid. Cached answers
/// are not metered, so this bounds only the directory work one uid causes (sshd asks as
/// `nobody` for every login; 10 new users a second is a busy bastion).
pub const SSH_KEYS_BURST: u32 = 30;
pub const SSH_KEYS_PER_SEC: u32 = 10;

impl RateLimit {
    pub fn new(burst: u32, per_sec: u32) -> RateLimit {
        RateLimit {
            burst: f64::from(burst),
            per_sec: f64::from(per_sec),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `uid`'s bucket at `now`; false when the bucket is empty.
    pub fn allow(&self, uid: u32, now: Instant) -> bool {
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let refill = |(tokens, at): (f64, Instant)| {
            let dt = now.saturating_duration_since(at).as_secs_f64();
            (tokens + dt * self.per_sec).min(self.burst)
        };
        if b.len() > 1024 {
            // A full bucket is the same as none: the map stays as small as the busy callers.
            b.retain(|_, slot| refill(*slot) < self.burst);
        }
        let tokens = b.get(&uid).map_or(self.burst, |slot| refill(*slot));
        let allowed = tokens >= 1.0;
        b.insert(uid, (if allowed { tokens - 1.0 } else { tokens }, now));
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_gets_its_burst_then_its_rate_and_others_are_not_affected() {
        let r = RateLimit::new(3, 2);
        let t0 = Instant::now();
        assert!((0..3).all(|_| r.allow(65534, t0)));
        assert!(!r.allow(65534, t0));
        assert!(r.allow(1000, t0), "another uid has its own bucket");
        // Half a second later: one token (2 a second).
        let t1 = t0 + Duration::from_millis(500);
        assert!(r.allow(65534, t1));
        assert!(!r.allow(65534, t1));
        // Long idle: back to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| r.allow(65534, t2)).count(), 3);
    }

    #[test]
    fn one_uid_waits_for_its_own_turn_only() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let t = Throttle::default();
            let held = t.turn(1000).await;
            // Another uid goes at once.
            let other = tokio::time::timeout(Duration::from_millis(50), t.turn(1001)).await;
            assert!(other.is_ok());
            // The same uid waits while the turn is held.
            let same = tokio::time::timeout(Duration::from_millis(50), t.turn(1000)).await;
            assert!(same.is_err());
            drop(held);
            let again = tokio::time::timeout(Duration::from_millis(50), t.turn(1000)).await;
            assert!(again.is_ok());
        });
    }
}
