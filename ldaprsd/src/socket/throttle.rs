//! Password guessing through the socket costs time per uid, not per request: the logins and
//! password changes of one non-root uid are answered one at a time, and each failure holds
//! that uid's turn for [`FAILURE_DELAY`] (unix_chkpwd's brake). Two hundred parallel guesses
//! from one uid take 400 s, not 2 s; other uids, and root (sshd, login, su), never wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
