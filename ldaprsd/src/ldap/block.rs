//! One `[[servers]]` block: its settings, its URIs with their health, and the rules for how
//! passwords may travel to them. Connections, failover, searches and binds are in the sibling
//! files, each an `impl ServerBlock` of its own concern.

use super::error::DirError;
use super::health::{backoff, jitter_unit, DeadInfo, Slot};
use super::tls;
use crate::clock::{Clock, SystemClock};
use crate::{info, warn};
use ldaprs_common::config::seconds;
use ldaprs_common::config::{Effective, Server, TlsMode};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// A `[[servers]]` block: its URIs (with their health) and the settings to reach them.
pub struct ServerBlock {
    pub cfg: Server,
    pub eff: Effective,
    /// The service account's password, wiped when the block is dropped (a reload).
    pub(super) bind_password: Option<Zeroizing<String>>,
    /// The password of `admin_dn` (root's password resets), wiped likewise.
    pub(super) admin_password: Option<Zeroizing<String>>,
    pub(super) tls: Option<Arc<rustls::ClientConfig>>,
    pub(super) connect_timeout: Duration,
    pub(super) op_timeout: Duration,
    pub(super) failover_delay: Duration,
    pub(super) retry_base: Duration,
    pub(super) retry_max: Duration,
    /// The URIs in use: the config's, with each `dns-srv:` entry replaced by its targets
    /// (`discovery.rs` swaps the list; a request works on the list it started with).
    pub(super) slots: std::sync::RwLock<Arc<Vec<Arc<Slot>>>>,
    /// The daemon's Kerberos credential (`[servers.sasl] mech = "GSSAPI"`), shared by the
    /// copies of this block made by detection and reloads of the same block.
    pub(super) krb: Option<Arc<crate::krb::ServiceCreds>>,
    /// The state of the `dns-srv:` entries (`discovery.rs`).
    pub(super) srv: tokio::sync::Mutex<super::srv::SrvState>,
    /// Where "now" comes from for the URIs' health (down since, next probe).
    pub(super) clock: Arc<dyn Clock>,
    /// Entries found through a referral: normalised DN → the URI that holds them.
    pub(super) referred: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// Why the block cannot answer yet: its schema or base is left to detection and no server
    /// has answered the detection. Every operation fails as unreachable until the daemon
    /// replaces the block with a detected one.
    pending: Option<String>,
    /// The pending block's detection failed because no server answered (not because a
    /// server answered something detection could not use).
    pending_unreachable: bool,
    /// What detection found (None: nothing was left to detect, or not yet).
    detected: Option<super::detection::Detection>,
    /// Connections kept for the next user bind (`bind_pool.rs`).
    pub(super) bind_pool: super::bind_pool::BindPool,
    /// When a lookup while offline last brought the probes forward (`liveness.rs`).
    pub(super) demand_probe: std::sync::Mutex<Option<std::time::Instant>>,
}

impl ServerBlock {
    /// The block for `cfg`, with the service bind password read from `bind_password_file`.
    /// The password's buffer is moved into a [`Zeroizing`] (not copied), so it is wiped when
    /// the block is dropped.
    ///
    /// Outside our control: ldap3 takes the password as `&str` and copies it into its own BER
    /// encoding buffers (and rustls into its TLS records) for every bind; those buffers are
    /// freed without being wiped.
    pub fn new(cfg: Server, bind_password: Option<String>) -> Result<ServerBlock, tls::TlsError> {
        let tls = tls::client_config(&cfg)?;
        Ok(ServerBlock::from_parts(
            cfg,
            bind_password.map(Zeroizing::new),
            tls,
        ))
    }

    fn from_parts(
        cfg: Server,
        bind_password: Option<Zeroizing<String>>,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> ServerBlock {
        // `dns-srv:` entries get their targets before the first request (`discovery.rs`).
        let slots = cfg
            .uris()
            .into_iter()
            .filter(|u| super::srv::srv_domain(u).is_none())
            .enumerate()
            .map(|(id, uri)| Arc::new(Slot::new(id, uri)))
            .collect();
        let krb = crate::krb::service::for_server(&cfg);
        ServerBlock {
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
            slots: std::sync::RwLock::new(Arc::new(slots)),
            srv: tokio::sync::Mutex::new(Default::default()),
            krb,
            clock: Arc::new(SystemClock),
            referred: std::sync::Mutex::new(std::collections::HashMap::new()),
            pending: None,
            pending_unreachable: false,
            detected: None,
            bind_pool: Default::default(),
            demand_probe: std::sync::Mutex::new(None),
        }
    }

    /// The same block (secrets, TLS settings and clock, read at start) for `cfg`, with fresh
    /// URI health. No file is read again: after the switch to `[daemon] user` the root-only
    /// ones could not be.
    fn copy_for(&self, cfg: Server) -> ServerBlock {
        let mut b = ServerBlock::from_parts(cfg, self.bind_password.clone(), self.tls.clone());
        b.admin_password = self.admin_password.clone();
        b.clock = self.clock.clone();
        b.krb = self.krb.clone();
        b
    }

    /// This block, unable to answer until detection succeeds (`why` says what is missing;
    /// `unreachable`: because no server answered).
    pub fn into_pending(mut self, why: String, unreachable: bool) -> ServerBlock {
        self.pending = Some(why);
        self.pending_unreachable = unreachable;
        self
    }

    /// Whether the block is pending because no server answered its detection.
    pub fn pending_unreachable(&self) -> bool {
        self.pending.is_some() && self.pending_unreachable
    }

    /// Why the block cannot answer yet, if it cannot.
    pub fn pending(&self) -> Option<&str> {
        self.pending.as_deref()
    }

    /// What detection found, if the config left anything to it.
    pub fn detection(&self) -> Option<&super::detection::Detection> {
        self.detected.as_ref()
    }

    /// A copy that may talk to the servers, to run detection for a pending block.
    pub fn detector(&self) -> ServerBlock {
        self.copy_for(self.cfg.clone())
    }

    /// The block with what detection found filled in: the presets of the detected schema
    /// under the detected base.
    pub fn detected(&self, d: super::detection::Detection) -> ServerBlock {
        let mut cfg = self.cfg.clone();
        cfg.schema = d.schema;
        cfg.base = d.base.clone();
        let mut b = self.copy_for(cfg);
        b.detected = Some(d);
        b
    }

    /// A fresh copy of a block whose settings stay (a new service after detection).
    pub fn renewed(&self) -> ServerBlock {
        let mut b = self.copy_for(self.cfg.clone());
        b.pending = self.pending.clone();
        b.pending_unreachable = self.pending_unreachable;
        b.detected = self.detected.clone();
        b
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// The URIs in use now (a snapshot: discovery may swap the list meanwhile).
    pub(super) fn slots(&self) -> Arc<Vec<Arc<Slot>>> {
        self.slots.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The URI with slot id `i` ([`Slot::id`]), if the list in use still has it.
    pub(super) fn slot(&self, i: usize) -> Option<Arc<Slot>> {
        self.slots().iter().find(|s| s.id == i).cloned()
    }

    /// The URIs in use, in config order (discovered ones in place of their `dns-srv:` entry).
    pub fn uris(&self) -> Vec<String> {
        self.slots().iter().map(|s| s.uri.clone()).collect()
    }

    /// Takes "now" from `clock` (tests) instead of the system's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> ServerBlock {
        self.clock = clock;
        self
    }

    /// Sets the password of `admin_dn` (read from `admin_password_file`); moved into a
    /// [`Zeroizing`] like the bind password.
    pub fn with_admin_password(mut self, pw: Option<String>) -> ServerBlock {
        self.admin_password = pw.map(Zeroizing::new);
        self
    }

    /// `admin_dn` and its password, when both are configured.
    pub fn admin(&self) -> Option<(&str, &str)> {
        Some((
            self.cfg.admin_dn.as_deref()?,
            self.admin_password.as_ref()?.as_str(),
        ))
    }

    /// The service account and its password, when both are configured.
    pub(super) fn service_account(&self) -> Option<(&str, &str)> {
        Some((
            self.cfg.bind_dn.as_deref()?,
            self.bind_password.as_ref()?.as_str(),
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

    /// The service bind obeys the rule of user passwords: over a URI where a password may not
    /// travel, it is not sent, and the URI fails (the next one is tried) with this error.
    pub(super) fn service_bind_transport(&self, uri: &str) -> Result<(), DirError> {
        match self.service_account() {
            Some((dn, _)) if !self.password_transport_ok(uri) => Err(DirError::Unreachable(format!(
                "{uri}: service bind as {dn} not sent: {uri} is plain LDAP and allow_cleartext_passwords is off, so bind_password_file's password would travel in clear text (use ldaps://, [servers.tls] mode = \"starttls\", ldapi://, or allow_cleartext_passwords = true)"
            ))),
            _ => Ok(()),
        }
    }

    /// Lines for the start-up log (and `ldaprsctl config check`) about how passwords travel:
    /// the user passwords and, with `bind_dn`, the service account's.
    pub fn transport_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let service = self.cfg.bind_dn.is_some();
        // Kerberos logins send no password to the directory; without bind_dn, nothing does.
        if !service && self.cfg.auth.method == ldaprs_common::config::AuthMethod::Krb5 {
            return out;
        }
        for s in self.slots().iter() {
            let plain = s.uri.starts_with("ldap://") && self.cfg.tls.mode != TlsMode::Starttls;
            if plain && self.cfg.allow_cleartext_passwords {
                let who = if service {
                    "USER PASSWORDS AND THE SERVICE BIND PASSWORD (bind_dn) ARE"
                } else {
                    "USER PASSWORDS ARE"
                };
                out.push(format!("server {}: {} is plain LDAP and allow_cleartext_passwords = true: {who} SENT IN CLEAR TEXT", self.cfg.name, s.uri));
            } else if plain {
                out.push(format!("server {}: {} is plain LDAP: user passwords will not be sent there, so logins through it fail (use ldaps://, [servers.tls] mode = \"starttls\", ldapi://, or allow_cleartext_passwords = true)", self.cfg.name, s.uri));
                if service {
                    out.push(format!("server {}: {} is plain LDAP: the service bind (bind_dn) is not sent there either, so the URI is not used at all (same fixes; allow_cleartext_passwords = true sends it in clear text)", self.cfg.name, s.uri));
                }
            }
        }
        out
    }

    /// The slot ids of the URIs in the order to try them: the healthy ones in config order,
    /// then the dead ones.
    pub(super) fn order(&self) -> Vec<usize> {
        let (mut alive, mut dead): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        for s in self.slots().iter() {
            if s.state().dead.is_some() {
                dead.push(s.id);
            } else {
                alive.push(s.id);
            }
        }
        alive.extend(dead);
        alive
    }

    pub(super) fn mark_dead(&self, i: usize, reason: &str) {
        let Some(slot) = self.slot(i) else {
            return;
        };
        let mut st = slot.state();
        st.conn = None;
        self.bind_pool.clear();
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
        let Some(slot) = self.slot(i) else {
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
        let mut out = Vec::new();
        let key = format!("server {} settings", self.cfg.name);
        if let Some(why) = &self.pending {
            out.push((key, format!("NOT SERVING: {why}")));
        } else if let Some(d) = &self.detected {
            out.push((key, format!("detected {}", d.summary())));
        }
        out.extend(self.slots().iter().map(|s| {
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
        }));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block over `uris` with the service account `cn=reader` (when `bind`) and the extra
    /// server keys in `extra`.
    fn block(uris: &str, bind: bool, extra: &str) -> ServerBlock {
        let account = if bind {
            "bind_dn = \"cn=reader,dc=x\"\nbind_password_file = \"/nonexistent/pw\"\n"
        } else {
            ""
        };
        let src =
            format!("[[servers]]\nname = \"t\"\nuri = [{uris}]\nbase = \"dc=x\"\n{account}{extra}");
        let cfg = ldaprs_common::config::parse("t.toml", &src).unwrap();
        let pw = bind.then(|| "s3cret".to_string());
        ServerBlock::new(cfg.servers[0].clone(), pw).unwrap()
    }

    fn dead_uris(b: &ServerBlock) -> Vec<String> {
        b.slots()
            .iter()
            .filter(|s| s.state().dead.is_some())
            .map(|s| s.uri.clone())
            .collect()
    }

    /// Review finding 14: a request names URIs by slot id; after a discovery swap (A gone,
    /// B moved to the front, C new) its marks land on the URI it used, or nowhere.
    #[test]
    fn marks_follow_the_uri_across_a_discovery_swap() {
        let b = block("\"ldap://a:389\", \"ldap://b:389\"", false, "");
        let order = b.order();
        let (id_a, id_b) = (order[0], order[1]);
        b.replace_slots(vec!["ldap://b:389".into(), "ldap://c:389".into()]);
        b.mark_dead(id_b, "test");
        assert_eq!(dead_uris(&b), ["ldap://b:389"]);
        b.mark_dead(id_a, "test: A is gone");
        assert_eq!(dead_uris(&b), ["ldap://b:389"]);
        b.mark_alive(id_b);
        assert!(dead_uris(&b).is_empty());
        let ids = b.order();
        assert_eq!(b.slot(ids[0]).unwrap().uri, "ldap://b:389");
        assert_eq!(b.slot(ids[1]).unwrap().uri, "ldap://c:389");
        assert!(b.slot(id_a).is_none());
    }

    #[test]
    fn service_bind_follows_the_cleartext_rule() {
        let b = block("\"ldap://127.0.0.1:9\"", true, "");
        let e = b.service_bind_transport("ldap://127.0.0.1:9").unwrap_err();
        let DirError::Unreachable(m) = &e else {
            panic!("{e:?}")
        };
        assert!(m.contains("service bind as cn=reader,dc=x not sent"), "{m}");
        assert!(m.contains("allow_cleartext_passwords"), "{m}");
        assert!(!m.contains("s3cret"));
        // TLS, a local socket: sent.
        assert!(b.service_bind_transport("ldaps://h").is_ok());
        assert!(b.service_bind_transport("ldapi://%2Frun%2Fslapd").is_ok());
        // StartTLS, or clear text allowed: sent.
        let b = block(
            "\"ldap://h\"",
            true,
            "[servers.tls]\nmode = \"starttls\"\nverify = false\n",
        );
        assert!(b.service_bind_transport("ldap://h").is_ok());
        let b = block("\"ldap://h\"", true, "allow_cleartext_passwords = true\n");
        assert!(b.service_bind_transport("ldap://h").is_ok());
        // No service account: an anonymous connection, nothing to protect.
        let b = block("\"ldap://h\"", false, "");
        assert!(b.service_bind_transport("ldap://h").is_ok());
    }

    #[test]
    fn transport_warnings_name_the_service_bind() {
        let w = block("\"ldap://h\"", true, "").transport_warnings();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("user passwords will not be sent there"),
            "{w:?}"
        );
        assert!(
            w[1].contains("the service bind (bind_dn) is not sent there either"),
            "{w:?}"
        );
        let w =
            block("\"ldap://h\"", true, "allow_cleartext_passwords = true\n").transport_warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("THE SERVICE BIND PASSWORD (bind_dn) ARE SENT IN CLEAR TEXT"),
            "{w:?}"
        );
        // Without bind_dn the warnings are about user passwords only (as before).
        let w = block("\"ldap://h\"", false, "").transport_warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(!w[0].contains("bind_dn"), "{w:?}");
        let w =
            block("\"ldap://h\"", false, "allow_cleartext_passwords = true\n").transport_warnings();
        assert!(
            w[0].contains(": USER PASSWORDS ARE SENT IN CLEAR TEXT"),
            "{w:?}"
        );
        // Kerberos logins without bind_dn: no password goes to the directory, no warning.
        let b = block("\"ldap://h\"", false, "[servers.auth]\nmethod = \"krb5\"\n");
        assert!(b.transport_warnings().is_empty());
        // StartTLS: no warning.
        let b = block(
            "\"ldap://h\"",
            true,
            "[servers.tls]\nmode = \"starttls\"\nverify = false\n",
        );
        assert!(b.transport_warnings().is_empty());
    }

    /// The daemon's service connection and `ldaprsctl server test` refuse the plain URI
    /// before dialling it (port 9 would otherwise answer "connection refused"); with the
    /// allowance they do dial it.
    #[test]
    fn plain_uri_is_not_dialled_for_the_service_bind() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let b = block("\"ldap://127.0.0.1:9\"", true, "");
            let e = b.conn(0).await.err().unwrap().to_string();
            assert!(
                e.contains("not sent") && e.contains("allow_cleartext_passwords"),
                "{e}"
            );
            let e = b
                .diagnose("ldap://127.0.0.1:9")
                .await
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("not sent") && e.contains("allow_cleartext_passwords"),
                "{e}"
            );
            let b = block(
                "\"ldap://127.0.0.1:9\"",
                true,
                "allow_cleartext_passwords = true\n",
            );
            let e = b.conn(0).await.err().unwrap().to_string();
            assert!(e.contains("connect"), "{e}");
            assert!(!e.contains("not sent"), "{e}");
        });
    }

    #[test]
    fn admin_password_is_lent_from_its_wiping_wrapper() {
        let admin = "admin_dn = \"cn=admin,dc=x\"\nadmin_password_file = \"/nonexistent/a\"\n";
        let b = block("\"ldapi://x\"", false, admin).with_admin_password(Some("adm1n".into()));
        assert_eq!(b.admin(), Some(("cn=admin,dc=x", "adm1n")));
        assert_eq!(block("\"ldapi://x\"", false, admin).admin(), None);
    }
}
