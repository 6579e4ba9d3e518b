//! One `[[servers]]` block: its connections (a service connection kept open and shared, a new
//! one per user bind), failover across its `uri` list, per-operation deadlines, paged searches,
//! and the conversion of entries into passwd/group records.

use crate::ppolicy::{self, PolicyError, PolicyResponse};
use crate::tls;
use crate::{debug, info, warn};
use futures_util::stream::{FuturesUnordered, StreamExt};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::exop::WhoAmI;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use ldaprs_common::config::seconds;
use ldaprs_common::config::{Effective, Server, TlsMode};
use ldaprs_common::filter;
use ldaprs_common::names::{valid_field, valid_name};
use ldaprs_common::protocol::Passwd;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Why a directory operation produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirError {
    /// No URI of the block answered (refused, timed out, connection lost): fail over, or
    /// answer UNAVAIL / `PAM_AUTHINFO_UNAVAIL`.
    Unreachable(String),
    /// The server answered with an LDAP error (referral, bad filter, ...): fail closed.
    Server(String),
    /// The server's size limit cut the answer short (resultCode 4): never use a partial
    /// answer; enumerations split the search instead.
    SizeLimit(String),
}

impl std::fmt::Display for DirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirError::Unreachable(m) | DirError::Server(m) | DirError::SizeLimit(m) => {
                f.write_str(m)
            }
        }
    }
}

/// Outcome of binding as a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindOutcome {
    Success,
    /// resultCode 49: wrong password (or unknown DN). Never retried on another server.
    InvalidCredentials,
    /// Any other refusal (locked, unwilling to perform, identity mismatch after the bind).
    Refused(String),
}

/// What a user bind produced: the verdict, the user's entry when it was read as the user,
/// and the password policy control the server attached (OpenLDAP ppolicy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindResult {
    pub outcome: BindOutcome,
    pub entry: Option<Entry>,
    pub policy: Option<PolicyResponse>,
}

/// What a password change produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// The bind before the change failed (wrong current password, locked, ...).
    BindFailed(BindResult),
    /// The server answered the Password Modify operation: resultCode, diagnostic text and
    /// its password policy control.
    Answered {
        rc: u32,
        text: String,
        policy: Option<PolicyResponse>,
        shadow_note: Option<String>,
    },
}

/// An entry: its DN and attributes as the server named them (LDAP attribute names are
/// case-insensitive; see [`Entry::values`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<String>)>,
}

impl Entry {
    pub(crate) fn from_search(e: SearchEntry) -> Entry {
        Entry {
            dn: e.dn,
            attrs: e.attrs.into_iter().collect(),
        }
    }

    /// An attribute's values; names compare case-insensitively (an entry has a handful of
    /// attributes, so a scan beats hashing a lower-cased copy of the name).
    pub fn values(&self, attr: &str) -> &[String] {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(attr))
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default()
    }

    pub fn first(&self, attr: &str) -> Option<&str> {
        self.values(attr).first().map(String::as_str)
    }
}

/// Why an entry was not turned into a record (logged at debug level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    Missing(&'static str),
    BadNumber(&'static str),
    BadName(String),
    BelowMinimum(&'static str, u32),
    BadField(&'static str),
    NameMismatch,
}

fn number(e: &Entry, attr: &str, what: &'static str) -> Result<u32, Reject> {
    let v = e.first(attr).ok_or(Reject::Missing(what))?;
    v.trim().parse::<u32>().map_err(|_| Reject::BadNumber(what))
}

/// Limits applied to every answer.
#[derive(Debug, Clone, Copy)]
pub struct IdLimits {
    pub min_uid: u32,
    pub min_gid: u32,
}

/// Turns a user entry into a passwd record, or says why not. With `wanted`, the entry must
/// carry exactly that name (byte for byte: LDAP matched it case-insensitively).
pub fn entry_to_passwd(
    e: &Entry,
    eff: &Effective,
    lim: IdLimits,
    wanted: Option<&str>,
) -> Result<Passwd, Reject> {
    let names = e.values(&eff.attr_name);
    let name = match wanted {
        Some(w) => names
            .iter()
            .find(|n| n.as_str() == w)
            .ok_or(Reject::NameMismatch)?,
        None => names.first().ok_or(Reject::Missing("name"))?,
    };
    if !valid_name(name) {
        return Err(Reject::BadName(name.clone()));
    }
    let uid = number(e, &eff.attr_uid, "uidNumber")?;
    let gid = number(e, &eff.attr_gid, "gidNumber")?;
    if uid < lim.min_uid {
        return Err(Reject::BelowMinimum("uid", uid));
    }
    if gid < lim.min_gid {
        return Err(Reject::BelowMinimum("gid", gid));
    }
    let gecos = e
        .first(&eff.attr_gecos)
        .or_else(|| e.first("cn"))
        .unwrap_or("")
        .to_string();
    let dir = e.first(&eff.attr_home).unwrap_or("").to_string();
    let shell = e.first(&eff.attr_shell).unwrap_or("").to_string();
    for (v, what) in [(&gecos, "gecos"), (&dir, "home"), (&shell, "shell")] {
        if !valid_field(v) {
            return Err(Reject::BadField(what));
        }
    }
    Ok(Passwd {
        name: name.clone(),
        uid,
        gid,
        gecos,
        dir,
        shell,
    })
}

/// The first RDN's attribute type and value of a DN (`uid=alice,ou=people` → (uid, alice)),
/// when the value needs no unescaping.
pub fn first_rdn(dn: &str) -> Option<(&str, &str)> {
    let rdn = dn.split(',').next()?;
    if rdn.contains('+') || rdn.contains('\\') {
        return None;
    }
    let (t, v) = rdn.split_once('=')?;
    Some((t.trim(), v.trim()))
}

/// Whether `dn` is `base` or below it (compared normalised, on RDN boundaries).
pub fn is_under(dn: &str, base: &str) -> bool {
    let (d, b) = (normalize_dn(dn), normalize_dn(base));
    d == b || d.ends_with(&format!(",{b}"))
}

/// Normalises a DN for comparison: no spaces around separators, lower case.
pub fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| {
            rdn.split('=')
                .map(|p| p.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Where a URI stands: its open service connection, or why and until when it is avoided.
#[derive(Default)]
struct SlotState {
    conn: Option<Ldap>,
    dead: Option<DeadInfo>,
}

/// A URI that failed: requests prefer the others until a background probe finds it healthy.
#[derive(Clone, Debug)]
pub struct DeadInfo {
    pub since: Instant,
    pub retry_at: Instant,
    pub failures: u32,
    pub reason: String,
}

struct Slot {
    uri: String,
    state: std::sync::Mutex<SlotState>,
    /// Serialises connection set-up so that a burst of requests opens one connection.
    connecting: Mutex<()>,
}

impl Slot {
    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Backoff before probing a dead URI again: `base · 2^(failures-1)`, capped at `max`, times a
/// jitter factor in [0.9, 1.1] from `unit` (a number in [0, 1)), so that many hosts that lost
/// the same server do not probe it in lockstep.
pub fn backoff(base: Duration, max: Duration, failures: u32, unit: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let raw = base.saturating_mul(1u32 << exp).min(max);
    raw.mul_f64(0.9 + 0.2 * unit.clamp(0.0, 1.0))
}

/// A cheap pseudo-random number in [0, 1) (jitter only; nothing secret depends on it).
fn jitter_unit() -> f64 {
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

/// A `[[servers]]` block: its URIs (with their health) and the settings to reach them.
pub struct ServerBlock {
    pub cfg: Server,
    pub eff: Effective,
    pub limits: IdLimits,
    bind_password: Option<String>,
    /// The password of `admin_dn` (root's password resets).
    admin_password: Option<String>,
    tls: Option<Arc<rustls::ClientConfig>>,
    connect_timeout: Duration,
    op_timeout: Duration,
    failover_delay: Duration,
    retry_base: Duration,
    retry_max: Duration,
    slots: Vec<Slot>,
}

/// The characters a served name can start with (see `names::valid_name`); LDAP matches
/// `uid=a*` case-insensitively, so lower case covers upper case.
const PREFIX_CHARS: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's',
    't', 'u', 'v', 'w', 'x', 'y', 'z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '.', '_',
    '@',
];

/// Entries between two pushes of a paged search's watchdog.
const PROGRESS_BATCH: usize = 256;

/// Bound on the searches one split enumeration may make.
const MAX_SPLIT_SEARCHES: usize = 20_000;

/// The size of a page for searches that may return many entries (slapd's default size limit
/// is 500; RFC 2696).
const PAGE_SIZE: i32 = 400;

fn transport(uri: &str, what: &str, e: &LdapError) -> DirError {
    DirError::Unreachable(format!("{uri}: {what}: {}", explain(&e.to_string())))
}

/// Names of the OIDs an admin cares about in the RootDSE.
fn known_oid(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.113556.1.4.319" => "paged results",
        "1.3.6.1.4.1.4203.1.11.3" => "who am I",
        "1.3.6.1.4.1.4203.1.11.1" => "password modify",
        "1.3.6.1.4.1.1466.20037" => "StartTLS",
        "1.3.6.1.4.1.42.2.27.8.5.1" => "password policy",
        "2.16.840.1.113730.3.4.18" => "proxied authorization",
        "1.2.840.113556.1.4.473" => "server-side sort",
        _ => return None,
    })
}

/// Adds plain words to the TLS verification errors rustls reports.
pub fn explain(err: &str) -> String {
    let hints = [
        (
            "UnknownIssuer",
            "the certificate is not signed by a CA in ca_file (self-signed or another CA)",
        ),
        (
            "NotValidForName",
            "the certificate is not issued for this host name or address",
        ),
        (
            "not valid for name",
            "the certificate is not issued for this host name or address",
        ),
        ("Expired", "the certificate has expired"),
        ("certificate expired", "the certificate has expired"),
        (
            "NotValidYet",
            "the certificate is not valid yet (check the clock)",
        ),
        (
            "CaUsedAsEndEntity",
            "the server presents a CA certificate as its own",
        ),
        ("Revoked", "the certificate is revoked"),
        ("BadSignature", "the certificate's signature is invalid"),
    ];
    if err.contains("invalid peer certificate") {
        if let Some((_, h)) = hints.iter().find(|(k, _)| err.contains(k)) {
            return format!("TLS certificate rejected: {h} ({err})");
        }
        return format!("TLS certificate rejected ({err})");
    }
    if err.contains("StartTLS") || err.contains("1.3.6.1.4.1.1466.20037") {
        return format!("StartTLS failed, not falling back to plain text ({err})");
    }
    err.to_string()
}

/// A connection bound as a user, with the bind's result.
struct BoundConn(Ldap, BindResult);

fn r_of(c: &BoundConn) -> BindResult {
    c.1.clone()
}

type Attempt<'a, T> = Pin<Box<dyn Future<Output = (usize, Result<T, DirError>)> + Send + 'a>>;

impl ServerBlock {
    pub fn new(
        cfg: Server,
        limits: IdLimits,
        bind_password: Option<String>,
    ) -> Result<ServerBlock, tls::TlsError> {
        let tls = tls::client_config(&cfg)?;
        let slots = cfg
            .uris()
            .into_iter()
            .map(|uri| Slot {
                uri,
                state: std::sync::Mutex::new(SlotState::default()),
                connecting: Mutex::new(()),
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
            limits,
            bind_password,
            admin_password: None,
            tls,
            slots,
        })
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
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
    fn order(&self) -> Vec<usize> {
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

    fn mark_dead(&self, i: usize, reason: &str) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let mut st = slot.state();
        st.conn = None;
        if st.dead.is_none() {
            let now = Instant::now();
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

    fn mark_alive(&self, i: usize) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let mut st = slot.state();
        if let Some(d) = st.dead.take() {
            info!(
                "server {}: {} is back after {:.1}s",
                self.cfg.name,
                slot.uri,
                d.since.elapsed().as_secs_f64()
            );
        }
    }

    /// A new, unbound connection to `uri`; TCP and TLS/StartTLS within `connect_timeout`.
    async fn connect(&self, uri: &str) -> Result<Ldap, DirError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(self.connect_timeout);
        if let Some(c) = &self.tls {
            settings = settings.set_config(c.clone());
        }
        if self.cfg.tls.mode == TlsMode::Starttls && uri.starts_with("ldap://") {
            settings = settings.set_starttls(true);
        }
        let work = async {
            // Our own TCP connection, so that it gets TCP_NODELAY: LDAP is request/response
            // with small messages, and Nagle's algorithm only adds latency to it.
            if let Some((host, port)) =
                crate::diagnose::host_port(uri).filter(|_| !uri.starts_with("ldapi://"))
            {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
                    .await
                    .map_err(ldap3::LdapError::from)?;
                let _ = tcp.set_nodelay(true);
                let std = tcp.into_std().map_err(ldap3::LdapError::from)?;
                settings = settings.set_std_stream(ldap3::StdStream::Tcp(std));
            }
            LdapConnAsync::with_settings(settings, uri).await
        };
        let (conn, ldap) = match tokio::time::timeout(self.connect_timeout, work).await {
            Err(_) => {
                return Err(DirError::Unreachable(format!(
                    "{uri}: connect: no answer within {:.1}s",
                    self.connect_timeout.as_secs_f64()
                )))
            }
            Ok(Err(e)) => return Err(transport(uri, "connect", &e)),
            Ok(Ok(x)) => x,
        };
        let u = uri.to_string();
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                debug!("connection to {u} ended: {e}");
            }
        });
        Ok(ldap)
    }

    /// Binds as the service account (or stays anonymous).
    async fn service_bind(&self, ldap: &mut Ldap, uri: &str) -> Result<(), DirError> {
        let (Some(dn), Some(pw)) = (&self.cfg.bind_dn, &self.bind_password) else {
            return Ok(());
        };
        let res = ldap
            .with_timeout(self.op_timeout)
            .simple_bind(dn, pw)
            .await
            .map_err(|e| transport(uri, "service bind", &e))?;
        if res.rc != 0 {
            // A refused service bind is the same on every replica; but another URI may be a
            // differently configured server, so it still counts as this URI failing.
            return Err(DirError::Unreachable(format!(
                "{uri}: service bind as {dn} refused: resultCode {} {}",
                res.rc, res.text
            )));
        }
        Ok(())
    }

    fn open_conn(slot: &Slot) -> Option<Ldap> {
        let mut st = slot.state();
        let l = st.conn.as_mut()?;
        if l.is_closed() {
            st.conn = None;
            return None;
        }
        Some(l.clone())
    }

    /// The open service connection to URI `i`, made (connect + service bind) if needed.
    async fn conn(&self, i: usize) -> Result<(Ldap, String), DirError> {
        let slot = self
            .slots
            .get(i)
            .ok_or_else(|| DirError::Unreachable("no such URI".into()))?;
        if let Some(l) = Self::open_conn(slot) {
            return Ok((l, slot.uri.clone()));
        }
        let _guard = slot.connecting.lock().await;
        if let Some(l) = Self::open_conn(slot) {
            return Ok((l, slot.uri.clone()));
        }
        let mut ldap = self.connect(&slot.uri).await?;
        self.service_bind(&mut ldap, &slot.uri).await?;
        debug!("server {}: connected to {}", self.cfg.name, slot.uri);
        slot.state().conn = Some(ldap.clone());
        Ok((ldap, slot.uri.clone()))
    }

    /// Runs `op` against the URIs in preference order. With `hedge`, a URI that has not
    /// answered within `failover_delay` gets company: the next URI is asked in parallel, the
    /// first answer wins and the silent URI is marked down (later requests do not wait for it;
    /// a background probe brings it back). Without `hedge` (long paged searches) the next URI
    /// is asked only after a failure. An LDAP answer (even an error) is final; only transport
    /// failures and timeouts move on.
    async fn failover<'a, T, F>(&'a self, hedge: bool, op: F) -> Result<T, DirError>
    where
        T: Send + 'a,
        F: Fn(usize) -> Attempt<'a, T>,
    {
        let order = self.order();
        let mut next = 0usize;
        let mut launched: Vec<usize> = Vec::new();
        let mut running = FuturesUnordered::new();
        let mut errors: Vec<String> = Vec::new();
        if let Some(&i) = order.first() {
            running.push(op(i));
            launched.push(i);
            next = 1;
        }
        loop {
            let can_launch = next < order.len();
            let delay = tokio::time::sleep(if hedge {
                self.failover_delay
            } else {
                Duration::from_secs(86_400)
            });
            tokio::select! {
                done = running.next() => {
                    let Some((i, res)) = done else { break };
                    match res {
                        Ok(t) => {
                            self.mark_alive(i);
                            // Those asked earlier than the winner had longer and said nothing.
                            for &j in launched.iter().take_while(|&&j| j != i) {
                                self.mark_dead(j, &format!("no answer within {:.1}s while another URI answered", self.failover_delay.as_secs_f64()));
                            }
                            return Ok(t);
                        }
                        Err(DirError::Unreachable(m)) => {
                            self.mark_dead(i, &m);
                            errors.push(m);
                            if let Some(&j) = order.get(next) {
                                running.push(op(j));
                                launched.push(j);
                                next += 1;
                            } else if running.is_empty() {
                                break;
                            }
                        }
                        Err(other) => return Err(other),
                    }
                }
                _ = delay, if can_launch && hedge => {
                    if let Some(&j) = order.get(next) {
                        running.push(op(j));
                        launched.push(j);
                        next += 1;
                    }
                }
            }
        }
        Err(DirError::Unreachable(format!(
            "server {}: no URI answered: {}",
            self.cfg.name,
            errors.join("; ")
        )))
    }

    #[allow(clippy::too_many_arguments)]
    async fn search_on(
        &self,
        ldap: &mut Ldap,
        uri: &str,
        base: &str,
        scope: Scope,
        f: &str,
        attrs: &[String],
        paged: bool,
        strict: bool,
    ) -> Result<Vec<Entry>, DirError> {
        let attrs: Vec<String> = attrs.to_vec();
        // A continuation reference is a part of the answer held elsewhere; we never chase
        // it, so where completeness matters (group membership for access rules) it is an
        // error.
        let refs_error = |n: usize| {
            DirError::Server(format!("{uri}: search {f} under {base}: {n} referral(s) to other servers, not followed: the answer would be incomplete"))
        };
        if !paged {
            let fut = ldap
                .with_timeout(self.op_timeout)
                .search(base, scope, f, attrs);
            let res = match tokio::time::timeout(self.op_timeout, fut).await {
                Err(_) => {
                    return Err(DirError::Unreachable(format!(
                        "{uri}: search: no answer within {:.1}s",
                        self.op_timeout.as_secs_f64()
                    )))
                }
                Ok(r) => r.map_err(|e| transport(uri, "search", &e))?,
            };
            let ldap3::SearchResult(entries, result) = res;
            let refs = entries.iter().filter(|e| e.is_ref()).count();
            if strict && refs > 0 && result.rc == 0 {
                return Err(refs_error(refs));
            }
            return match result.rc {
                0 => Ok(entries
                    .into_iter()
                    .filter(|e| !e.is_ref() && !e.is_intermediate())
                    .map(|e| Entry::from_search(SearchEntry::construct(e)))
                    .collect()),
                32 => Ok(Vec::new()), // noSuchObject: the base does not exist, so nothing matches
                4 => Err(DirError::SizeLimit(format!(
                    "{uri}: search {f} under {base}: size limit exceeded"
                ))),
                rc => Err(DirError::Server(format!(
                    "{uri}: search {f} under {base}: resultCode {rc} {}",
                    result.text
                ))),
            };
        }
        let adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(PAGE_SIZE)),
        ];
        let op_timeout = self.op_timeout;
        let stalled = || {
            DirError::Unreachable(format!(
                "{uri}: paged search stalled for {:.1}s",
                op_timeout.as_secs_f64()
            ))
        };
        let work = async {
            // One watchdog for the whole stream, pushed forward every PROGRESS_BATCH entries:
            // a timer per entry (ldap3's with_timeout, or tokio::time::timeout around each
            // next()) costs more than the entries themselves on a 10,000-user enumeration.
            let watchdog = tokio::time::sleep(op_timeout);
            tokio::pin!(watchdog);
            let mut stream = tokio::select! {
                s = ldap.streaming_search_with(adapters, base, scope, f, attrs) => s.map_err(|e| transport(uri, "search", &e))?,
                _ = &mut watchdog => return Err(stalled()),
            };
            let mut out = Vec::new();
            loop {
                let item = tokio::select! {
                    r = stream.next() => r.map_err(|e| transport(uri, "search", &e))?,
                    _ = &mut watchdog => return Err(stalled()),
                };
                match item {
                    Some(e) => {
                        out.push(Entry::from_search(SearchEntry::construct(e)));
                        if out.len() % PROGRESS_BATCH == 0 {
                            watchdog
                                .as_mut()
                                .reset(tokio::time::Instant::now() + op_timeout);
                        }
                    }
                    None => break,
                }
            }
            let result = stream.finish().await;
            if strict && result.rc == 0 && !result.refs.is_empty() {
                return Err(refs_error(result.refs.len()));
            }
            match result.rc {
                0 => Ok(out),
                32 => Ok(Vec::new()),
                // ldap3 reports a transport failure inside the stream as rc 80.
                80 => Err(DirError::Unreachable(format!(
                    "{uri}: paged search {f}: {}",
                    result.text
                ))),
                4 => Err(DirError::SizeLimit(format!(
                    "{uri}: paged search {f} under {base}: size limit exceeded"
                ))),
                rc => Err(DirError::Server(format!(
                    "{uri}: paged search {f} under {base}: resultCode {rc} {}",
                    result.text
                ))),
            }
        };
        work.await
    }

    /// Searches under `base`, failing over between URIs (see [`Self::failover`]).
    pub async fn search(
        &self,
        base: &str,
        f: &str,
        attrs: &[String],
        paged: bool,
    ) -> Result<Vec<Entry>, DirError> {
        self.search_ex(base, Scope::Subtree, f, attrs, paged, false)
            .await
    }

    /// Searches where the answer must be complete: continuation references are an error.
    pub async fn search_strict(
        &self,
        base: &str,
        f: &str,
        attrs: &[String],
        paged: bool,
    ) -> Result<Vec<Entry>, DirError> {
        self.search_ex(base, Scope::Subtree, f, attrs, paged, true)
            .await
    }

    /// Reads one entry if it matches `f` (a base-scope search): `Ok(None)` if it does not
    /// match or does not exist.
    pub async fn read_entry(
        &self,
        dn: &str,
        f: &str,
        attrs: &[String],
    ) -> Result<Option<Entry>, DirError> {
        Ok(self
            .search_ex(dn, Scope::Base, f, attrs, false, true)
            .await?
            .into_iter()
            .next())
    }

    async fn search_ex(
        &self,
        base: &str,
        scope: Scope,
        f: &str,
        attrs: &[String],
        paged: bool,
        strict: bool,
    ) -> Result<Vec<Entry>, DirError> {
        self.failover(!paged, |i| -> Attempt<'_, Vec<Entry>> {
            Box::pin(async move {
                let res = match self.conn(i).await {
                    Ok((mut ldap, uri)) => {
                        self.search_on(&mut ldap, &uri, base, scope, f, attrs, paged, strict)
                            .await
                    }
                    Err(e) => Err(e),
                };
                if matches!(res, Err(DirError::Unreachable(_))) {
                    if let Some(s) = self.slots.get(i) {
                        s.state().conn = None;
                    }
                }
                (i, res)
            })
        })
        .await
    }

    /// Every entry matching `f`: a paged search, and where the server caps even paged
    /// results (OpenLDAP's default `size.prtotal` is the hard size limit), the search is split
    /// by the first characters of `name_attr` until each part fits. Only names that ldaprs
    /// would answer (`[A-Za-z0-9._@-]`) can start a part, so the split loses nothing we serve.
    pub async fn search_all(
        &self,
        base: &str,
        f: &str,
        name_attr: &str,
        attrs: &[String],
    ) -> Result<Vec<Entry>, DirError> {
        match self.search(base, f, attrs, true).await {
            Err(DirError::SizeLimit(m)) => {
                info!(
                    "server {}: {m}; splitting the enumeration by {name_attr} prefix",
                    self.cfg.name
                );
                let mut out = Vec::new();
                let mut todo: Vec<String> = PREFIX_CHARS.iter().map(|c| c.to_string()).collect();
                let mut searches = 0usize;
                while let Some(prefix) = todo.pop() {
                    searches += 1;
                    if searches > MAX_SPLIT_SEARCHES {
                        return Err(DirError::SizeLimit(format!("server {}: enumeration still over the size limit after {MAX_SPLIT_SEARCHES} split searches", self.cfg.name)));
                    }
                    let part = format!("({name_attr}={}*)", filter::escape_filter_value(&prefix));
                    match self.search(base, &filter::and(f, &part), attrs, true).await {
                        Ok(entries) => out.extend(entries),
                        Err(DirError::SizeLimit(_)) if prefix.len() < 64 => {
                            todo.extend(PREFIX_CHARS.iter().map(|c| format!("{prefix}{c}")));
                            // An entry whose name is exactly the prefix matches no longer part.
                            let exact =
                                format!("({name_attr}={})", filter::escape_filter_value(&prefix));
                            out.extend(
                                self.search(base, &filter::and(f, &exact), attrs, false)
                                    .await?,
                            );
                        }
                        Err(e) => return Err(e),
                    }
                }
                debug!(
                    "server {}: split enumeration took {searches} searches",
                    self.cfg.name
                );
                Ok(out)
            }
            other => other,
        }
    }

    pub fn user_attrs(&self) -> Vec<String> {
        let e = &self.eff;
        vec![
            e.attr_name.clone(),
            e.attr_uid.clone(),
            e.attr_gid.clone(),
            e.attr_gecos.clone(),
            "cn".into(),
            e.attr_home.clone(),
            e.attr_shell.clone(),
        ]
    }

    /// The attributes read for a login: the passwd fields, the account-state attributes of
    /// the schema, `memberOf` and the attribute a group `search_filter` uses, if configured.
    pub fn account_attrs(&self) -> Vec<String> {
        let mut v = self.user_attrs();
        v.extend(
            crate::account_state::attributes(self.eff.schema)
                .iter()
                .map(|a| a.to_string()),
        );
        if let Some(a) = &self.eff.attr_member_of {
            v.push(a.clone());
        }
        if let Some((_, Some(a))) = &self.eff.group_search {
            if !a.eq_ignore_ascii_case("dn") {
                v.push(a.clone());
            }
        }
        v
    }

    /// The user entries matching `extra` (already escaped) under the user base.
    pub async fn find_users(&self, extra: &str, paged: bool) -> Result<Vec<Entry>, DirError> {
        let f = filter::and(&self.eff.user_filter, extra);
        self.search(&self.eff.user_base, &f, &self.user_attrs(), paged)
            .await
    }

    /// Every user entry (enumeration).
    pub async fn all_user_entries(&self) -> Result<Vec<Entry>, DirError> {
        self.search_all(
            &self.eff.user_base,
            &self.eff.user_filter,
            &self.eff.attr_name,
            &self.user_attrs(),
        )
        .await
    }

    /// Binds as `dn` with `password` on a new connection, then checks with "Who am I?"
    /// (RFC 4532) that the server really authenticated that DN; with `read_entry`, also
    /// reads the user's own entry as the user (for the user-DN-pattern mode). URIs are
    /// tried as in [`Self::failover`]; a refused password is final and never retried.
    pub async fn user_bind(
        &self,
        dn: &str,
        password: &str,
        read_entry: bool,
    ) -> Result<BindResult, DirError> {
        self.failover(true, |i| -> Attempt<'_, BindResult> {
            Box::pin(async move {
                let res = async {
                    let (mut conn, uri) = self.bound_user_conn(i, dn, password).await?;
                    let bind = r_of(&conn);
                    let r = self
                        .finish_user_bind(&mut conn, &uri, dn, read_entry, bind)
                        .await;
                    let _ = tokio::time::timeout(Duration::from_millis(200), conn.0.unbind()).await;
                    r
                }
                .await;
                (i, res)
            })
        })
        .await
    }

    /// A new connection to URI `i` and a bind as `dn` with the password policy request
    /// control: the connection, its URI, and the bind's verdict and policy control.
    async fn bound_user_conn(
        &self,
        i: usize,
        dn: &str,
        password: &str,
    ) -> Result<(BoundConn, String), DirError> {
        let uri = self.slots.get(i).map(|s| s.uri.clone()).unwrap_or_default();
        if !self.password_transport_ok(&uri) {
            return Err(DirError::Server(format!("{uri} is neither TLS nor ldapi:// and allow_cleartext_passwords is off: the password was not sent")));
        }
        let mut ldap = self.connect(&uri).await?;
        let fut = ldap
            .with_controls(ppolicy::request())
            .with_timeout(self.op_timeout)
            .simple_bind(dn, password);
        let res = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => {
                return Err(DirError::Unreachable(format!(
                    "{uri}: bind: no answer within {:.1}s",
                    self.op_timeout.as_secs_f64()
                )))
            }
            Ok(r) => r.map_err(|e| transport(&uri, "bind", &e))?,
        };
        let policy = ppolicy::from_controls(&res.ctrls);
        let (outcome, policy) = match (res.rc, policy) {
            // A success we cannot fully read could hide "change your password first".
            (0, Err(e)) => (BindOutcome::Refused(format!("{uri}: {e}")), None),
            (0, Ok(p)) => (BindOutcome::Success, p),
            (49, p) => (BindOutcome::InvalidCredentials, p.ok().flatten()),
            (rc, p) => (
                BindOutcome::Refused(format!("{uri}: bind refused: resultCode {rc} {}", res.text)),
                p.ok().flatten(),
            ),
        };
        Ok((
            BoundConn(
                ldap,
                BindResult {
                    outcome,
                    entry: None,
                    policy,
                },
            ),
            uri,
        ))
    }

    /// After a user bind: confirm the identity (and read the entry) if the bind succeeded.
    async fn finish_user_bind(
        &self,
        ldap: &mut BoundConn,
        uri: &str,
        dn: &str,
        read_entry: bool,
        bind: BindResult,
    ) -> Result<BindResult, DirError> {
        if bind.outcome != BindOutcome::Success {
            return Ok(bind);
        }
        let (outcome, entry) = self
            .confirm_identity(&mut ldap.0, uri, dn, read_entry)
            .await?;
        // OpenLDAP's ppolicy restricts a session that must change its password to bind and
        // Password Modify, so neither "Who am I?" nor a read works there. The control itself
        // shows that the server checked this DN's password.
        let restricted = bind.policy.as_ref().is_some_and(|p| {
            p.error == Some(PolicyError::ChangeAfterReset) || p.grace_remaining.is_some()
        });
        if restricted && matches!(outcome, BindOutcome::Refused(_)) {
            debug!("{uri}: bind as {dn} restricted by the password policy; identity vouched for by the policy control");
            return Ok(BindResult {
                outcome: BindOutcome::Success,
                entry: None,
                policy: bind.policy,
            });
        }
        Ok(BindResult {
            outcome,
            entry,
            policy: bind.policy,
        })
    }

    /// Changes a password with the Password Modify extended operation (RFC 3062): binds as
    /// `bind_dn` (the user with the current password, or the admin DN for a reset), then asks
    /// for the change of `target` (None: the bound user) with the password policy control.
    /// After a success, sets `shadowLastChange` to `shadow_today` when given (a failure to
    /// do so is only noted). Never hedged: the same change is not sent to two servers.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_password(
        &self,
        bind_dn: &str,
        bind_pw: &str,
        target: Option<&str>,
        old: Option<&str>,
        new: &str,
        shadow_dn: Option<&str>,
        shadow_today: Option<i64>,
    ) -> Result<ChangeOutcome, DirError> {
        self.failover(false, |i| -> Attempt<'_, ChangeOutcome> {
            Box::pin(async move {
                let res = async {
                    let (mut conn, uri) = self.bound_user_conn(i, bind_dn, bind_pw).await?;
                    let bind = r_of(&conn);
                    if bind.outcome != BindOutcome::Success {
                        let _ =
                            tokio::time::timeout(Duration::from_millis(200), conn.0.unbind()).await;
                        return Ok(ChangeOutcome::BindFailed(bind));
                    }
                    let pm = ldap3::exop::PasswordModify {
                        user_id: target,
                        old_pass: old,
                        new_pass: Some(new),
                    };
                    let fut = conn
                        .0
                        .with_controls(ppolicy::request())
                        .with_timeout(self.op_timeout)
                        .extended(pm);
                    let r = match tokio::time::timeout(self.op_timeout, fut).await {
                        Err(_) => {
                            return Err(DirError::Unreachable(format!(
                                "{uri}: password modify: no answer within {:.1}s",
                                self.op_timeout.as_secs_f64()
                            )))
                        }
                        Ok(r) => r.map_err(|e| transport(&uri, "password modify", &e))?,
                    };
                    let ldap3::result::ExopResult(_, result) = r;
                    let policy = ppolicy::from_controls(&result.ctrls).unwrap_or_else(|e| {
                        warn!("{uri}: password modify: {e}");
                        None
                    });
                    let mut shadow_note = None;
                    if let (0, Some(dn), Some(days)) = (result.rc, shadow_dn, shadow_today) {
                        let mods = vec![ldap3::Mod::Replace(
                            "shadowLastChange".to_string(),
                            std::collections::HashSet::from([days.to_string()]),
                        )];
                        let fut = conn.0.with_timeout(self.op_timeout).modify(dn, mods);
                        shadow_note =
                            Some(match tokio::time::timeout(self.op_timeout, fut).await {
                                Ok(Ok(r)) if r.rc == 0 => format!("shadowLastChange set to {days}"),
                                Ok(Ok(r)) => format!(
                                    "shadowLastChange not updated: resultCode {} {}",
                                    r.rc, r.text
                                ),
                                Ok(Err(e)) => format!("shadowLastChange not updated: {e}"),
                                Err(_) => "shadowLastChange not updated: no answer".to_string(),
                            });
                    }
                    let _ = tokio::time::timeout(Duration::from_millis(200), conn.0.unbind()).await;
                    Ok(ChangeOutcome::Answered {
                        rc: result.rc,
                        text: result.text,
                        policy,
                        shadow_note,
                    })
                }
                .await;
                (i, res)
            })
        })
        .await
    }

    async fn confirm_identity(
        &self,
        ldap: &mut Ldap,
        uri: &str,
        dn: &str,
        read_entry: bool,
    ) -> Result<(BindOutcome, Option<Entry>), DirError> {
        let fut = ldap.with_timeout(self.op_timeout).extended(WhoAmI);
        let r = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => return Err(DirError::Unreachable(format!("{uri}: whoami: no answer"))),
            Ok(r) => r.map_err(|e| transport(uri, "whoami", &e))?,
        };
        let ldap3::result::ExopResult(exop, result) = r;
        let confirmed_by_whoami = if result.rc == 0 {
            let authzid = exop
                .val
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let got = authzid.strip_prefix("dn:").unwrap_or("");
            if got.is_empty() || normalize_dn(got) != normalize_dn(dn) {
                return Ok((
                    BindOutcome::Refused(format!(
                        "{uri}: bind succeeded but the server says we are {authzid:?}, not {dn}"
                    )),
                    None,
                ));
            }
            true
        } else {
            false
        };
        if confirmed_by_whoami && !read_entry {
            return Ok((BindOutcome::Success, None));
        }
        // No "Who am I?" on this server, or the entry is wanted: read our own entry as the
        // user (nslcd's way of confirming the identity).
        let attrs = if read_entry {
            self.account_attrs()
        } else {
            vec!["1.1".to_string()]
        };
        let fut =
            ldap.with_timeout(self.op_timeout)
                .search(dn, Scope::Base, "(objectClass=*)", attrs);
        let res = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => {
                return Err(DirError::Unreachable(format!(
                    "{uri}: self search: no answer"
                )))
            }
            Ok(r) => r.map_err(|e| transport(uri, "self search", &e))?,
        };
        let ldap3::SearchResult(mut entries, result) = res;
        if result.rc == 0 && entries.len() == 1 {
            let e = entries
                .pop()
                .map(|e| Entry::from_search(SearchEntry::construct(e)));
            Ok((BindOutcome::Success, e))
        } else {
            Ok((
                BindOutcome::Refused(format!(
                    "{uri}: bind succeeded but the user cannot read its own entry (resultCode {})",
                    result.rc
                )),
                None,
            ))
        }
    }

    /// Probes every dead URI whose retry time has come: connect, service bind and a RootDSE
    /// read, within the usual timeouts. Runs in the background, never inside a request.
    pub async fn probe_dead(&self) {
        let now = Instant::now();
        let due: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                self.slots
                    .get(i)
                    .and_then(|s| s.state().dead.clone())
                    .is_some_and(|d| d.retry_at <= now)
            })
            .collect();
        let probes = due.into_iter().map(|i| async move {
            let res = async {
                let (mut ldap, uri) = self.conn(i).await?;
                let fut = ldap.with_timeout(self.op_timeout).search(
                    "",
                    Scope::Base,
                    "(objectClass=*)",
                    vec!["namingContexts"],
                );
                match tokio::time::timeout(self.op_timeout, fut).await {
                    Err(_) => Err(DirError::Unreachable(format!("{uri}: RootDSE: no answer"))),
                    Ok(Err(e)) => Err(transport(&uri, "RootDSE", &e)),
                    Ok(Ok(_)) => Ok(()),
                }
            }
            .await;
            let Some(slot) = self.slots.get(i) else {
                return;
            };
            match res {
                Ok(()) => self.mark_alive(i),
                Err(e) => {
                    let mut st = slot.state();
                    st.conn = None;
                    if let Some(d) = st.dead.as_mut() {
                        d.failures = d.failures.saturating_add(1);
                        let wait =
                            backoff(self.retry_base, self.retry_max, d.failures, jitter_unit());
                        d.retry_at = Instant::now() + wait;
                        d.reason = e.to_string();
                        debug!(
                            "server {}: {} still down ({e}); next probe in {:.1}s",
                            self.cfg.name,
                            slot.uri,
                            wait.as_secs_f64()
                        );
                    }
                }
            }
        });
        futures_util::future::join_all(probes).await;
    }

    /// For `ldaprsctl server test`: connect as the daemon would, bind as the service account
    /// and read the RootDSE.
    pub async fn diagnose(&self, uri: &str) -> Result<(String, Vec<(String, String)>), DirError> {
        let mut ldap = self.connect(uri).await?;
        let bind = match (&self.cfg.bind_dn, &self.bind_password) {
            (Some(dn), Some(pw)) => {
                let fut = ldap.with_timeout(self.op_timeout).simple_bind(dn, pw);
                match tokio::time::timeout(self.op_timeout, fut).await {
                    Err(_) => {
                        return Err(DirError::Unreachable(format!(
                            "{uri}: service bind: no answer"
                        )))
                    }
                    Ok(Err(e)) => return Err(transport(uri, "service bind", &e)),
                    Ok(Ok(r)) if r.rc == 0 => format!("{dn}: ok (resultCode 0)"),
                    Ok(Ok(r)) => format!("{dn}: REFUSED (resultCode {} {})", r.rc, r.text),
                }
            }
            _ => "anonymous (no bind_dn)".to_string(),
        };
        let attrs = vec![
            "namingContexts",
            "supportedControl",
            "supportedExtension",
            "supportedLDAPVersion",
            "vendorName",
            "vendorVersion",
        ];
        let fut =
            ldap.with_timeout(self.op_timeout)
                .search("", Scope::Base, "(objectClass=*)", attrs);
        let res = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => return Err(DirError::Unreachable(format!("{uri}: RootDSE: no answer"))),
            Ok(r) => r.map_err(|e| transport(uri, "RootDSE", &e))?,
        };
        let ldap3::SearchResult(entries, _) = res;
        let mut out = Vec::new();
        if let Some(e) = entries
            .into_iter()
            .next()
            .map(|e| Entry::from_search(SearchEntry::construct(e)))
        {
            for (k, label) in [
                ("namingContexts", "naming contexts"),
                ("supportedControl", "supported controls"),
                ("supportedExtension", "supported extensions"),
                ("supportedLDAPVersion", "LDAP versions"),
                ("vendorName", "vendor"),
            ] {
                let v = e.values(k);
                if !v.is_empty() {
                    let named: Vec<String> = v
                        .iter()
                        .map(|o| match known_oid(o) {
                            Some(n) => format!("{o} ({n})"),
                            None => o.clone(),
                        })
                        .collect();
                    out.push((label.to_string(), named.join(", ")));
                }
            }
            if !e
                .values("supportedControl")
                .iter()
                .any(|c| c == "1.2.840.113556.1.4.319")
            {
                out.push((
                    "warning".into(),
                    "no Simple Paged Results control: enumerations are limited by the size limit"
                        .into(),
                ));
            }
        } else {
            out.push(("RootDSE".into(), "not readable".into()));
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), ldap.unbind()).await;
        Ok((bind, out))
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
                        d.since.elapsed().as_secs_f64(),
                        d.reason,
                        d.retry_at
                            .saturating_duration_since(Instant::now())
                            .as_secs_f64()
                    ),
                };
                (format!("server {} {}", self.cfg.name, s.uri), v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldaprs_common::config;

    fn eff() -> Effective {
        config::parse(
            "t",
            "[[servers]]\nname = \"a\"\nuri = \"ldap://x\"\nbase = \"dc=x\"\n",
        )
        .unwrap()
        .servers[0]
            .effective()
    }

    fn entry(pairs: &[(&str, &[&str])]) -> Entry {
        Entry {
            dn: "uid=alice,ou=people,dc=x".into(),
            attrs: pairs
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.iter().map(|s| s.to_string()).collect(),
                    )
                })
                .collect(),
        }
    }

    const LIM: IdLimits = IdLimits {
        min_uid: 1000,
        min_gid: 1000,
    };

    #[test]
    fn a_full_entry_converts() {
        let e = entry(&[
            ("uid", &["alice"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
            ("cn", &["Alice"]),
            ("homeDirectory", &["/home/alice"]),
            ("loginShell", &["/bin/bash"]),
        ]);
        let p = entry_to_passwd(&e, &eff(), LIM, Some("alice")).unwrap();
        assert_eq!(
            p,
            Passwd {
                name: "alice".into(),
                uid: 10001,
                gid: 10001,
                gecos: "Alice".into(),
                dir: "/home/alice".into(),
                shell: "/bin/bash".into()
            }
        );
    }

    #[test]
    fn root_and_low_ids_are_refused() {
        let e = entry(&[
            ("uid", &["evil"]),
            ("uidNumber", &["0"]),
            ("gidNumber", &["10001"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), LIM, None),
            Err(Reject::BelowMinimum("uid", 0))
        );
        let e = entry(&[
            ("uid", &["evil"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["0"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), LIM, None),
            Err(Reject::BelowMinimum("gid", 0))
        );
    }

    #[test]
    fn case_variants_and_bad_values_are_refused() {
        let e = entry(&[
            ("uid", &["alice"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), LIM, Some("ALICE")),
            Err(Reject::NameMismatch)
        );
        let e = entry(&[
            ("uid", &["alice"]),
            ("uidNumber", &["-1"]),
            ("gidNumber", &["10001"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), LIM, None),
            Err(Reject::BadNumber("uidNumber"))
        );
        let e = entry(&[
            ("uid", &["alice"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
            ("homeDirectory", &["/x:y"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), LIM, None),
            Err(Reject::BadField("home"))
        );
        let e = entry(&[
            ("uid", &["bad name"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
        ]);
        assert!(matches!(
            entry_to_passwd(&e, &eff(), LIM, None),
            Err(Reject::BadName(_))
        ));
    }

    #[test]
    fn second_name_value_matches_exactly() {
        let e = entry(&[
            ("uid", &["alice", "alice.l"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), LIM, Some("alice.l"))
                .unwrap()
                .name,
            "alice.l"
        );
    }

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

    #[test]
    fn dn_helpers() {
        assert_eq!(
            first_rdn("uid=alice,ou=people,dc=x"),
            Some(("uid", "alice"))
        );
        assert_eq!(first_rdn("cn=a\\,b,dc=x"), None);
        assert_eq!(
            normalize_dn("UID=Alice, ou=People,dc=X"),
            "uid=alice,ou=people,dc=x"
        );
    }
}
