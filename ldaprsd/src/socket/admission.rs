//! Who gets a connection: each non-root uid at most [`PER_UID`] at once, all non-root uids
//! together at most [`NON_ROOT`], and root its own [`ROOT`] (sshd, login, su and `id root` as
//! root never wait behind other users). Over a cap the connection is closed at once, and the
//! module answers UNAVAIL (so `files` keeps working) instead of queueing.

use crate::peer::Peer;
use crate::warn;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connections one non-root uid may hold at once (a module uses one per call).
pub const PER_UID: usize = 16;
/// Connections all non-root uids together may hold.
pub const NON_ROOT: usize = 512;
/// Connections root may hold.
pub const ROOT: usize = 256;

#[derive(Default)]
struct Counts {
    root: usize,
    non_root: usize,
    per_uid: HashMap<u32, usize>,
    /// When a refusal was last logged, per uid (one line a minute).
    logged: HashMap<u32, Instant>,
}

#[derive(Default)]
pub struct Admission {
    counts: Arc<Mutex<Counts>>,
}

/// A held connection slot; freed on drop.
pub struct Ticket {
    counts: Arc<Mutex<Counts>>,
    uid: u32,
}

impl Admission {
    /// A slot for a connection of `uid`, if it is within the caps.
    pub fn admit(&self, uid: u32) -> Option<Ticket> {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if uid == 0 {
            if c.root >= ROOT {
                return None;
            }
            c.root += 1;
        } else {
            let mine = c.per_uid.get(&uid).copied().unwrap_or(0);
            if mine >= PER_UID || c.non_root >= NON_ROOT {
                return None;
            }
            c.non_root += 1;
            c.per_uid.insert(uid, mine + 1);
        }
        Some(Ticket {
            counts: self.counts.clone(),
            uid,
        })
    }

    /// Logs a refused connection, once a minute per uid.
    pub fn refused(&self, peer: Peer) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let due = c
            .logged
            .get(&peer.uid)
            .is_none_or(|t| now.saturating_duration_since(*t) >= Duration::from_secs(60));
        if due {
            c.logged
                .retain(|_, t| now.saturating_duration_since(*t) < Duration::from_secs(60));
            c.logged.insert(peer.uid, now);
            let held = c.per_uid.get(&peer.uid).copied().unwrap_or(0);
            let why = if peer.uid == 0 {
                format!("root holds {} connections (cap {ROOT})", c.root)
            } else if held >= PER_UID {
                format!("it holds {held} connections (cap {PER_UID} per uid)")
            } else {
                format!(
                    "all non-root callers hold {} connections (cap {NON_ROOT})",
                    c.non_root
                )
            };
            warn!("connection of pid {} uid {} refused: {why}; further refusals for this uid are not logged for a minute", peer.pid, peer.uid);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if self.uid == 0 {
            c.root = c.root.saturating_sub(1);
            return;
        }
        c.non_root = c.non_root.saturating_sub(1);
        let left = c
            .per_uid
            .get(&self.uid)
            .copied()
            .unwrap_or(0)
            .saturating_sub(1);
        if left == 0 {
            c.per_uid.remove(&self.uid);
        } else {
            c.per_uid.insert(self.uid, left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_uid_and_roots_reserve() {
        let a = Admission::default();
        let mine: Vec<Ticket> = (0..PER_UID).map(|_| a.admit(65534).unwrap()).collect();
        assert!(a.admit(65534).is_none(), "over the per-uid cap");
        assert!(a.admit(1000).is_some(), "another uid is not affected");
        assert!(a.admit(0).is_some(), "root is not affected");
        drop(mine);
        assert!(a.admit(65534).is_some(), "slots come back");
        // All non-root uids together.
        let many: Vec<Ticket> = (0..NON_ROOT as u32)
            .filter_map(|i| a.admit(10_000 + i / PER_UID as u32))
            .collect();
        assert!(many.len() >= NON_ROOT - 2);
        assert!(a.admit(99_999).is_none());
        let roots: Vec<Ticket> = (0..ROOT - 1).map(|_| a.admit(0).unwrap()).collect();
        assert_eq!(roots.len(), ROOT - 1);
    }
}
