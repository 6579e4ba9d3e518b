//! Connections kept for user binds. A login used to open a connection (TCP, and TLS for
//! ldaps:// or StartTLS), bind, confirm the identity and unbind; a rebind on a connection kept
//! from an earlier login skips the connect and the handshake. A kept connection is used for
//! nothing but the next user bind (which replaces whatever identity it had), is at most
//! [`IDLE_MAX`] old (below the idle timeouts servers use), and is only taken when its URI
//! answered within the bind's proof-of-life window, so the rules of `bind.rs` are unchanged:
//! a password goes to one URI, over a connection that was just shown to answer.

use ldap3::Ldap;
use std::time::{Duration, Instant};

/// Connections kept per URI.
const PER_URI: usize = 4;
/// How long a connection may wait for the next login.
const IDLE_MAX: Duration = Duration::from_secs(20);

/// The kept connections of a block, by URI (referral targets included).
#[derive(Default)]
pub struct BindPool {
    idle: std::sync::Mutex<Vec<(String, Ldap, Instant)>>,
}

impl BindPool {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Ldap, Instant)>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops every kept connection (a URI marked down, a reload).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// A kept connection to `uri`, newest first, with how long it waited; closed or stale
    /// ones are dropped.
    pub(super) fn take(&self, uri: &str, now: Instant) -> Option<(Ldap, Duration)> {
        let mut idle = self.lock();
        idle.retain_mut(|(_, l, t)| !l.is_closed() && now.saturating_duration_since(*t) < IDLE_MAX);
        let at = idle.iter().rposition(|(u, _, _)| u == uri)?;
        let (_, l, t) = idle.remove(at);
        Some((l, now.saturating_duration_since(t)))
    }

    /// Keeps `ldap` for the next user bind to `uri`; gives it back when it cannot be kept
    /// (enough kept already) so that the caller unbinds it.
    pub(super) fn keep(&self, uri: &str, mut ldap: Ldap, now: Instant) -> Option<Ldap> {
        if ldap.is_closed() {
            return None;
        }
        let mut idle = self.lock();
        if idle.iter().filter(|(u, _, _)| u == uri).count() >= PER_URI {
            return Some(ldap);
        }
        idle.push((uri.to_string(), ldap, now));
        None
    }
}
