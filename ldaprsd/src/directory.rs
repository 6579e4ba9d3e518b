//! One `[[servers]]` block: its connections (a service connection kept open and shared, a new
//! one per user bind), failover across its `uri` list, per-operation deadlines, paged searches,
//! and the conversion of entries into passwd/group records.

use crate::tls;
use crate::{debug, warn};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::exop::WhoAmI;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use ldaprs_common::config::{Effective, Server, TlsMode};
use ldaprs_common::filter;
use ldaprs_common::names::{valid_field, valid_name};
use ldaprs_common::protocol::Passwd;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Why a directory operation produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirError {
    /// No URI of the block answered (refused, timed out, connection lost): fail over, or
    /// answer UNAVAIL / `PAM_AUTHINFO_UNAVAIL`.
    Unreachable(String),
    /// The server answered with an LDAP error (size limit, referral, bad filter, ...): fail
    /// closed.
    Server(String),
}

impl std::fmt::Display for DirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirError::Unreachable(m) | DirError::Server(m) => f.write_str(m),
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

/// An entry, attributes keyed by lower-cased name (LDAP attribute names are case-insensitive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attrs: HashMap<String, Vec<String>>,
}

impl Entry {
    fn from_search(e: SearchEntry) -> Entry {
        let attrs = e
            .attrs
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Entry { dn: e.dn, attrs }
    }

    pub fn values(&self, attr: &str) -> &[String] {
        self.attrs
            .get(&attr.to_ascii_lowercase())
            .map(Vec::as_slice)
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

struct Conn {
    ldap: Ldap,
    uri: String,
}

/// A `[[servers]]` block and its live service connection.
pub struct ServerBlock {
    pub cfg: Server,
    pub eff: Effective,
    pub limits: IdLimits,
    bind_password: Option<String>,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
    conn: Mutex<Option<Conn>>,
}

/// The size of a page for searches that may return many entries (slapd's default size limit
/// is 500; RFC 2696).
const PAGE_SIZE: i32 = 400;

fn transport(uri: &str, what: &str, e: &LdapError) -> DirError {
    DirError::Unreachable(format!("{uri}: {what}: {e}"))
}

impl ServerBlock {
    pub fn new(
        cfg: Server,
        limits: IdLimits,
        bind_password: Option<String>,
    ) -> Result<ServerBlock, tls::TlsError> {
        let tls = if cfg.tls.verify {
            tls::client_config(&cfg)?
        } else {
            None
        };
        Ok(ServerBlock {
            eff: cfg.effective(),
            timeout: Duration::from_secs(cfg.timeout),
            cfg,
            limits,
            bind_password,
            tls,
            conn: Mutex::new(None),
        })
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// A new, unbound connection to `uri`, within the timeout.
    async fn connect(&self, uri: &str) -> Result<Ldap, DirError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(self.timeout);
        if let Some(c) = &self.tls {
            settings = settings.set_config(c.clone());
        }
        if !self.cfg.tls.verify {
            settings = settings.set_no_tls_verify(true);
        }
        if self.cfg.tls.mode == TlsMode::Starttls && uri.starts_with("ldap://") {
            settings = settings.set_starttls(true);
        }
        let fut = LdapConnAsync::with_settings(settings, uri);
        let (conn, ldap) = match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => {
                return Err(DirError::Unreachable(format!(
                    "{uri}: connect: no answer within {}s",
                    self.timeout.as_secs()
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
            .with_timeout(self.timeout)
            .simple_bind(dn, pw)
            .await
            .map_err(|e| transport(uri, "service bind", &e))?;
        if res.rc != 0 {
            return Err(DirError::Server(format!(
                "{uri}: service bind as {dn} refused: resultCode {} {}",
                res.rc, res.text
            )));
        }
        Ok(())
    }

    /// The shared service connection, (re)connecting through the `uri` list in order.
    async fn service_conn(&self) -> Result<(Ldap, String), DirError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_mut() {
            if !c.ldap.is_closed() {
                return Ok((c.ldap.clone(), c.uri.clone()));
            }
        }
        *slot = None;
        let mut errors = Vec::new();
        for uri in self.cfg.uris() {
            match self.connect(&uri).await {
                Ok(mut ldap) => match self.service_bind(&mut ldap, &uri).await {
                    Ok(()) => {
                        debug!("server {}: connected to {uri}", self.cfg.name);
                        *slot = Some(Conn {
                            ldap: ldap.clone(),
                            uri: uri.clone(),
                        });
                        return Ok((ldap, uri));
                    }
                    Err(e) => {
                        warn!("server {}: {e}", self.cfg.name);
                        errors.push(e.to_string());
                    }
                },
                Err(e) => {
                    warn!("server {}: {e}", self.cfg.name);
                    errors.push(e.to_string());
                }
            }
        }
        Err(DirError::Unreachable(format!(
            "server {}: no URI answered ({})",
            self.cfg.name,
            errors.join("; ")
        )))
    }

    async fn drop_conn(&self, uri: &str) {
        let mut slot = self.conn.lock().await;
        if slot.as_ref().is_some_and(|c| c.uri == uri) {
            *slot = None;
        }
    }

    async fn search_on(
        &self,
        ldap: &mut Ldap,
        uri: &str,
        base: &str,
        f: &str,
        attrs: &[String],
        paged: bool,
    ) -> Result<Vec<Entry>, DirError> {
        let attrs: Vec<String> = attrs.to_vec();
        if !paged {
            let res = ldap
                .with_timeout(self.timeout)
                .search(base, Scope::Subtree, f, attrs)
                .await
                .map_err(|e| transport(uri, "search", &e))?;
            let ldap3::SearchResult(entries, result) = res;
            return match result.rc {
                0 => Ok(entries
                    .into_iter()
                    .filter(|e| !e.is_ref())
                    .map(|e| Entry::from_search(SearchEntry::construct(e)))
                    .collect()),
                32 => Ok(Vec::new()), // noSuchObject: the base does not exist, so nothing matches
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
        let overall = self.timeout * 12;
        let work = async {
            let mut stream = ldap
                .with_timeout(self.timeout)
                .streaming_search_with(adapters, base, Scope::Subtree, f, attrs)
                .await
                .map_err(|e| transport(uri, "search", &e))?;
            let mut out = Vec::new();
            while let Some(e) = stream
                .next()
                .await
                .map_err(|e| transport(uri, "search", &e))?
            {
                out.push(Entry::from_search(SearchEntry::construct(e)));
            }
            let result = stream.finish().await;
            match result.rc {
                0 => Ok(out),
                32 => Ok(Vec::new()),
                // rc 80 with ldap3 marks a transport failure inside the stream.
                80 => Err(DirError::Unreachable(format!(
                    "{uri}: paged search {f}: {}",
                    result.text
                ))),
                rc => Err(DirError::Server(format!(
                    "{uri}: paged search {f} under {base}: resultCode {rc} {}",
                    result.text
                ))),
            }
        };
        match tokio::time::timeout(overall, work).await {
            Ok(r) => r,
            Err(_) => Err(DirError::Unreachable(format!(
                "{uri}: paged search {f}: no complete answer within {}s",
                overall.as_secs()
            ))),
        }
    }

    /// Searches under `base`; a broken connection is re-made (failing over along the `uri`
    /// list) and the search retried once.
    pub async fn search(
        &self,
        base: &str,
        f: &str,
        attrs: &[String],
        paged: bool,
    ) -> Result<Vec<Entry>, DirError> {
        let mut last = None;
        for _attempt in 0..2 {
            let (mut ldap, uri) = self.service_conn().await?;
            match self.search_on(&mut ldap, &uri, base, f, attrs, paged).await {
                Err(DirError::Unreachable(m)) => {
                    warn!("server {}: {m}; reconnecting", self.cfg.name);
                    self.drop_conn(&uri).await;
                    last = Some(DirError::Unreachable(m));
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| DirError::Unreachable("no attempt made".into())))
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

    /// The user entries matching `extra` (already escaped) under the user base.
    pub async fn find_users(&self, extra: &str, paged: bool) -> Result<Vec<Entry>, DirError> {
        let f = filter::and(&self.eff.user_filter, extra);
        self.search(&self.eff.user_base, &f, &self.user_attrs(), paged)
            .await
    }

    /// Binds as `dn` with `password` on a new connection, then checks with "Who am I?"
    /// (RFC 4532) that the server really authenticated that DN. Tries the `uri` list in
    /// order only while servers are unreachable; a refused password is final.
    pub async fn user_bind(&self, dn: &str, password: &str) -> Result<BindOutcome, DirError> {
        let mut errors = Vec::new();
        for uri in self.cfg.uris() {
            let mut ldap = match self.connect(&uri).await {
                Ok(l) => l,
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            };
            let res = match ldap
                .with_timeout(self.timeout)
                .simple_bind(dn, password)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    errors.push(transport(&uri, "bind", &e).to_string());
                    continue;
                }
            };
            let outcome = match res.rc {
                0 => self.confirm_identity(&mut ldap, &uri, dn).await,
                49 => Ok(BindOutcome::InvalidCredentials),
                rc => Ok(BindOutcome::Refused(format!(
                    "{uri}: bind refused: resultCode {rc} {}",
                    res.text
                ))),
            };
            let _ = ldap.unbind().await;
            match outcome {
                Err(DirError::Unreachable(m)) => errors.push(m),
                other => return other,
            }
        }
        Err(DirError::Unreachable(format!(
            "server {}: no URI answered the bind ({})",
            self.cfg.name,
            errors.join("; ")
        )))
    }

    async fn confirm_identity(
        &self,
        ldap: &mut Ldap,
        uri: &str,
        dn: &str,
    ) -> Result<BindOutcome, DirError> {
        let r = ldap
            .with_timeout(self.timeout)
            .extended(WhoAmI)
            .await
            .map_err(|e| transport(uri, "whoami", &e))?;
        let ldap3::result::ExopResult(exop, result) = r;
        if result.rc == 0 {
            let authzid = exop
                .val
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let got = authzid.strip_prefix("dn:").unwrap_or("");
            if !got.is_empty() && normalize_dn(got) == normalize_dn(dn) {
                return Ok(BindOutcome::Success);
            }
            return Ok(BindOutcome::Refused(format!(
                "{uri}: bind succeeded but the server says we are {authzid:?}, not {dn}"
            )));
        }
        // No "Who am I?" on this server: read our own entry as the user instead (nslcd's way).
        let res = ldap
            .with_timeout(self.timeout)
            .search(dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
            .await
            .map_err(|e| transport(uri, "self search", &e))?;
        let ldap3::SearchResult(entries, result) = res;
        if result.rc == 0 && entries.len() == 1 {
            Ok(BindOutcome::Success)
        } else {
            Ok(BindOutcome::Refused(format!(
                "{uri}: bind succeeded but the user cannot read its own entry (resultCode {})",
                result.rc
            )))
        }
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
