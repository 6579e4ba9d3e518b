//! One `[[servers]]` block: its settings, its URIs with their health, and the rules for how
//! passwords may travel to them. Connections, failover, searches and binds are in the sibling
//! files, each an `impl ServerBlock` of its own concern.

use super::health::{backoff, jitter_unit, DeadInfo, Slot, SlotState};
use super::tls;
use crate::clock::{Clock, SystemClock};
use crate::{info, warn};
use ldaprs_common::config::seconds;
use ldaprs_common::config::{Effective, Server, TlsMode};
use std::sync::Arc;
use std::time::Duration;

/// A `[[servers]]` block: its URIs (with their health) and the settings to reach them.
pub struct ServerBlock {
    pub cfg: Server,
    pub eff: Effective,
    pub(super) bind_password: Option<String>,
    /// The password of `admin_dn` (root's password resets).
    pub(super) admin_password: Option<String>,
    pub(super) tls: Option<Arc<rustls::ClientConfig>>,
    pub(super) connect_timeout: Duration,
    pub(super) op_timeout: Duration,
    pub(super) failover_delay: Duration,
    pub(super) retry_base: Duration,
    pub(super) retry_max: Duration,
    pub(super) slots: Vec<Slot>,
    /// Where "now" comes from for the URIs' health (down since, next probe).
    pub(super) clock: Arc<dyn Clock>,
}

impl ServerBlock {
    pub fn new(cfg: Server, bind_password: Option<String>) -> Result<ServerBlock, tls::TlsError> {
        let tls = tls::client_config(&cfg)?;
        let slots = cfg
            .uris()
            .into_iter()
            .map(|uri| Slot {
                uri,
                state: std::sync::Mutex::new(SlotState::default()),
                connecting: tokio::sync::Mutex::new(()),
            })
            .collect();
        Ok(ServerBlock {
            eff: cfg.effective(),
            connect_timeout: seconds(cfg.connect_timeout),
            op_timeout: seconds(cfg.timeout),
            failover_delay: seconds(cfg.failover_delay),
            retry_base: seconds(cfg.retry_dead_after),
            retry_max: seconds(cfg.retry_dead_max),
            cfg,
            bind_password,
            admin_password: None,
            tls,
            slots,
            clock: Arc::new(SystemClock),
        })
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// Takes "now" from `clock` (tests) instead of the system's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> ServerBlock {
        self.clock = clock;
        self
    }

    /// Sets the password of `admin_dn` (read from `admin_password_file`).
    pub fn with_admin_password(mut self, pw: Option<String>) -> ServerBlock {
        self.admin_password = pw;
        self
    }

    /// `admin_dn` and its password, when both are configured.
    pub fn admin(&self) -> Option<(&str, &str)> {
        Some((
            self.cfg.admin_dn.as_deref()?,
            self.admin_password.as_deref()?,
        ))
    }

    /// May a user's password go over this URI? Only over TLS or a local socket, unless the
    /// admin allowed clear text.
    pub fn password_transport_ok(&self, uri: &str) -> bool {
        uri.starts_with("ldaps://")
            || uri.starts_with("ldapi://")
            || (uri.starts_with("ldap://") && self.cfg.tls.mode == TlsMode::Starttls)
            || self.cfg.allow_cleartext_passwords
    }

    /// Lines for the start-up log about how passwords travel.
    pub fn transport_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.slots {
            let plain = s.uri.starts_with("ldap://") && self.cfg.tls.mode != TlsMode::Starttls;
            if plain && self.cfg.allow_cleartext_passwords {
                out.push(format!("server {}: {} is plain LDAP and allow_cleartext_passwords = true: USER PASSWORDS ARE SENT IN CLEAR TEXT", self.cfg.name, s.uri));
            } else if plain {
                out.push(format!("server {}: {} is plain LDAP: user passwords will not be sent there, so logins through it fail (use ldaps://, [servers.tls] mode = \"starttls\", ldapi://, or allow_cleartext_passwords = true)", self.cfg.name, s.uri));
            }
        }
        out
    }

    /// URIs in the order to try them: the healthy ones in config order, then the dead ones.
    pub(super) fn order(&self) -> Vec<usize> {
        let (mut alive, mut dead): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        for (i, s) in self.slots.iter().enumerate() {
            if s.state().dead.is_some() {
                dead.push(i);
            } else {
                alive.push(i);
            }
        }
        alive.extend(dead);
        alive
    }

    pub(super) fn mark_dead(&self, i: usize, reason: &str) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let mut st = slot.state();
        st.conn = None;
        if st.dead.is_none() {
            let now = self.clock.now();
            let wait = backoff(self.retry_base, self.retry_max, 1, jitter_unit());
            warn!("server {}: {} marked down ({reason}); requests go to the other URIs, next probe in {:.1}s", self.cfg.name, slot.uri, wait.as_secs_f64());
            st.dead = Some(DeadInfo {
                since: now,
                retry_at: now + wait,
                failures: 1,
                reason: reason.to_string(),
            });
        }
    }

    pub(super) fn mark_alive(&self, i: usize) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let mut st = slot.state();
        if let Some(d) = st.dead.take() {
            info!(
                "server {}: {} is back after {:.1}s",
                self.cfg.name,
                slot.uri,
                self.clock
                    .now()
                    .saturating_duration_since(d.since)
                    .as_secs_f64()
            );
        }
    }

    /// One line per URI for `ldaprsctl status`.
    pub fn status(&self) -> Vec<(String, String)> {
        self.slots
            .iter()
            .map(|s| {
                let st = s.state();
                let v = match &st.dead {
                    None if st.conn.is_some() => "up (connected)".to_string(),
                    None => "up (not connected yet)".to_string(),
                    Some(d) => format!(
                        "DOWN for {:.0}s ({}); next probe in {:.1}s",
                        self.clock
                            .now()
                            .saturating_duration_since(d.since)
                            .as_secs_f64(),
                        d.reason,
                        d.retry_at
                            .saturating_duration_since(self.clock.now())
                            .as_secs_f64()
                    ),
                };
                (format!("server {} {}", self.cfg.name, s.uri), v)
            })
            .collect()
    }
}
