//! A block's `dns-srv:` entries in use: resolved before the first request, again after the
//! records' TTL, and again (at most every [`RETRY_FLOOR`]) when every URI failed. The block's
//! URI list is the config's with each `dns-srv:` entry replaced by its targets; a target that
//! stays keeps its connection and its health.

use super::block::ServerBlock;
use super::health::{jitter_unit, Slot};
use super::srv::{discover, query_names, srv_domain};
use crate::{info, warn};
use ldaprs_common::config::{Schema, TlsMode};
use std::sync::Arc;
use std::time::Duration;

/// The shortest time between two resolutions (a TTL of 0, or every target down).
pub const RETRY_FLOOR: Duration = Duration::from_secs(5);
/// The longest a list is kept without asking again, whatever the TTL says.
const TTL_CAP: Duration = Duration::from_secs(86_400);
/// How long a failed resolution waits before the next try (the last good list stays in use).
const FAILED_RETRY: Duration = Duration::from_secs(30);

impl ServerBlock {
    /// Does this block discover its servers through DNS?
    pub fn discovers(&self) -> bool {
        self.cfg.uris().iter().any(|u| srv_domain(u).is_some())
    }

    /// Resolves the `dns-srv:` entries when due (or with `now_please`, after every URI
    /// failed, at most every [`RETRY_FLOOR`]). One resolution at a time; a request that finds
    /// one running goes on with the current list, unless there is no list yet.
    pub(super) async fn refresh_srv(&self, now_please: bool) {
        if !self.discovers() {
            return;
        }
        let mut st = if self.slots().is_empty() {
            self.srv.lock().await
        } else {
            match self.srv.try_lock() {
                Ok(g) => g,
                Err(_) => return,
            }
        };
        let now = self.clock.now();
        let floor_ok = st.last_resolve.is_none_or(|t| now >= t + RETRY_FLOOR);
        let due = st.next.is_none_or(|t| now >= t) || (now_please && floor_ok);
        if !due {
            return;
        }
        st.last_resolve = Some(now);
        let mut uris = Vec::new();
        let mut hold = TTL_CAP;
        for entry in self.cfg.uris() {
            let Some(domain) = srv_domain(&entry) else {
                uris.push(entry);
                continue;
            };
            let names = query_names(
                domain,
                self.cfg.schema == Schema::Ad,
                self.cfg.tls.mode == TlsMode::Ldaps,
                self.cfg.tls.mode == TlsMode::Starttls,
            );
            let allowed = &self.cfg.referral_hosts;
            match discover(&names, domain, allowed, self.op_timeout, jitter_unit).await {
                Ok(d) => {
                    let old = st.found.get(domain);
                    if old.map(|o| &o.skipped) != Some(&d.skipped) {
                        for s in &d.skipped {
                            warn!("server {}: {entry}: {s}", self.cfg.name);
                        }
                    }
                    let old = old.map(|o| o.uris.clone());
                    if old.as_ref() != Some(&d.uris) {
                        info!(
                            "server {}: {entry} resolved to {} (TTL {}s)",
                            self.cfg.name,
                            d.uris.join(", "),
                            d.ttl.as_secs()
                        );
                    }
                    hold = hold.min(d.ttl.max(RETRY_FLOOR));
                    uris.extend(d.uris.iter().cloned());
                    st.failed.remove(domain);
                    st.found.insert(domain.to_string(), d);
                }
                Err(e) => {
                    let kept = st
                        .found
                        .get(domain)
                        .map(|d| d.uris.clone())
                        .unwrap_or_default();
                    warn!(
                        "server {}: {entry}: {e}; {}",
                        self.cfg.name,
                        if kept.is_empty() {
                            "no server known yet, asking again in 30s".to_string()
                        } else {
                            format!("still using the last answer ({})", kept.join(", "))
                        }
                    );
                    hold = hold.min(FAILED_RETRY);
                    uris.extend(kept);
                    st.failed.insert(domain.to_string(), e);
                }
            }
        }
        st.next = Some(now + hold);
        self.replace_slots(uris);
    }

    /// Makes `uris` the block's URI list; a URI already there keeps its slot (connection,
    /// health), a URI gone is dropped with its connection.
    pub(super) fn replace_slots(&self, uris: Vec<String>) {
        let old = self.slots();
        let mut new: Vec<Arc<Slot>> = Vec::with_capacity(uris.len());
        for u in uris {
            if new.iter().any(|s| s.uri == u) {
                continue;
            }
            let slot = old
                .iter()
                .find(|s| s.uri == u)
                .cloned()
                .unwrap_or_else(|| Arc::new(Slot::discovered(u)));
            new.push(slot);
        }
        *self.slots.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
    }

    /// Why a block with discovery has no URI, for the failover's error.
    pub(super) fn srv_failures(&self) -> Vec<String> {
        match self.srv.try_lock() {
            Ok(st) => st
                .failed
                .iter()
                .map(|(d, e)| format!("dns-srv:{d}: {e}"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// For `ldaprsctl server test`: each `dns-srv:` entry, what it resolved to (in order) or
    /// why it did not. Resolves first when due.
    pub async fn srv_report(&self) -> Vec<(String, Vec<String>)> {
        self.refresh_srv(false).await;
        let st = self.srv.lock().await;
        let mut out = Vec::new();
        for entry in self.cfg.uris() {
            let Some(domain) = srv_domain(&entry) else {
                continue;
            };
            let mut lines = Vec::new();
            if let Some(e) = st.failed.get(domain) {
                lines.push(format!("FAILED: {e}"));
            }
            if let Some(d) = st.found.get(domain) {
                lines.push(format!("TTL {}s", d.ttl.as_secs()));
                lines.extend(d.lines.iter().cloned());
            }
            out.push((entry, lines));
        }
        out
    }
}
