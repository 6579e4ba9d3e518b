//! `ldaprsctl import nslcd`: nslcd.conf(5) → ldaprs.toml. Each option is handled by one of
//! `nslcd_conn` (servers, binds, TLS, timing), `nslcd_search` (bases, filters, attribute
//! maps, the schema), `nslcd_misc` (NSS and PAM behaviour, the daemon); what needs several
//! options at once (URIs and `ssl`, `binddn` and `bindpw`, the bases) is settled here at the
//! end.

use super::draft::{Draft, ServerDraft, Value};
use super::nslcd_conf::{self, Opt};
use super::report::Report;
use super::{nslcd_conn, nslcd_misc, nslcd_search};

/// The server block's name.
const SERVER_NAME: &str = "ldap";

/// How nslcd was told to use TLS (`ssl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ssl {
    Off,
    Ldaps,
    StartTls,
}

/// The options that are translated together at the end, and the file being built.
#[derive(Debug, Default)]
pub struct St {
    pub d: Draft,
    /// The one server block (added to `d` at the end).
    pub s: ServerDraft,
    pub r: Report,
    /// URIs in order, each with the option it came from.
    pub uris: Vec<(String, Opt)>,
    /// `base` without a map, `base passwd`, `base group`: the first of each.
    pub base: Option<(String, Opt)>,
    pub passwd_base: Option<(String, Opt)>,
    pub group_base: Option<(String, Opt)>,
    pub ssl: Option<(Ssl, Opt)>,
    pub binddn: Option<Opt>,
    pub bindpw: Option<Opt>,
    pub rootpwmoddn: Option<Opt>,
    pub rootpwmodpw: Option<Opt>,
    pub tls_cert: Option<Opt>,
    pub tls_key: Option<Opt>,
    /// `map group member X` and `map group memberUid X`.
    pub member: Option<(String, Opt)>,
    pub member_uid: Option<(String, Opt)>,
    pub nested: Option<Opt>,
    pub authz: Vec<Opt>,
    pub min_uid: bool,
    /// `map passwd userPassword "x"`: nslcd shows what ldaprs shows.
    pub password_x: bool,
}

impl St {
    pub fn ok(&mut self, o: &Opt, what: impl Into<String>) {
        self.r.translated(&o.at(), &o.shown(), what);
    }

    pub fn no(&mut self, o: &Opt, why: impl Into<String>) {
        self.r.unsupported(&o.at(), &o.shown(), why);
    }
}

/// Translates nslcd.conf text.
pub fn import(text: &str) -> (Draft, Report) {
    let mut st = St {
        s: ServerDraft::new(SERVER_NAME, ""),
        ..St::default()
    };
    for o in nslcd_conf::parse(text) {
        let done = nslcd_conn::handle(&mut st, &o)
            || nslcd_search::handle(&mut st, &o)
            || nslcd_misc::handle(&mut st, &o);
        if !done {
            let shown = format!("{} (value not shown)", o.keyword);
            st.r.unsupported(
                &o.at(),
                &shown,
                "not an nslcd.conf(5) option: nslcd 0.9 stops at start with \"unknown keyword\"",
            );
        }
    }
    finish_uris(&mut st);
    finish_bases(&mut st);
    nslcd_conn::finish_binds(&mut st);
    nslcd_conn::finish_client_cert(&mut st);
    nslcd_search::finish_schema(&mut st);
    nslcd_misc::finish_authz(&mut st);
    general_notes(&mut st);
    st.d.servers.push(st.s);
    (st.d, st.r)
}

/// `uri` lines and `ssl`: the URI list, with `ssl on` making every ldap:// URI an ldaps://
/// one (what libldap does with nslcd's `ssl on`: TLS from the first byte).
fn finish_uris(st: &mut St) {
    let ssl = st.ssl.as_ref().map(|(s, _)| *s).unwrap_or(Ssl::Off);
    let mut list = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for (u, o) in std::mem::take(&mut st.uris) {
        let l = o.line.to_string();
        if !lines.contains(&l) {
            lines.push(l);
        }
        match u.strip_prefix("ldap://") {
            Some(rest) if ssl == Ssl::Ldaps => {
                let port_note = if host_has_port(rest) {
                    ""
                } else {
                    " (without a port nslcd tried TLS on port 389, which rarely works: nss-pam-ldapd #78; ldaps:// goes to 636)"
                };
                st.r.note(format!(
                    "{}: ssl on with ldap://{rest}: written as ldaps://{rest}{port_note}",
                    o.at()
                ));
                list.push(format!("ldaps://{rest}"));
            }
            _ => list.push(u),
        }
    }
    if list.is_empty() {
        list.push("ldap://ldap.example.com".into());
        st.r.todo("nslcd.conf names no uri: replace the placeholder uri = [\"ldap://ldap.example.com\"] with your servers");
    } else if ssl != Ssl::StartTls && list.iter().any(|u| u.starts_with("ldap://")) {
        st.s.main.set(
            "allow_cleartext_passwords",
            Value::Bool(true),
            "nslcd sent passwords over plain ldap://",
        );
        st.r.todo("nslcd reached the server over plain ldap:// without ssl start_tls, so it sent the bind password and the users' passwords in clear text; allow_cleartext_passwords = true keeps that working (ldaprsd warns at every start). Better: ldaps:// URIs or [servers.tls] mode = \"starttls\", then remove it");
    }
    let all_ldaps = list.iter().all(|u| u.starts_with("ldaps://"));
    let from = st.ssl.as_ref().map(|(_, o)| o.from()).unwrap_or_default();
    match ssl {
        Ssl::Ldaps if all_ldaps => st.s.tls.set("mode", Value::Str("ldaps".into()), &from),
        Ssl::StartTls => st.s.tls.set("mode", Value::Str("starttls".into()), &from),
        _ => {}
    }
    let from = if lines.is_empty() {
        "placeholder: nslcd.conf has no uri".to_string()
    } else {
        format!("nslcd.conf:{} uri", lines.join(","))
    };
    st.s.main.set("uri", Value::List(list), &from);
}

fn host_has_port(rest: &str) -> bool {
    let hostport = rest.split('/').next().unwrap_or("");
    match hostport.rsplit_once(':') {
        Some((h, p)) => !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with('['),
        None => false,
    }
}

/// `base`, `base passwd`, `base group`: ldaprs needs one `base`; the per-map ones become
/// `[servers.users] base` and `[servers.groups] base` where they differ from it.
fn finish_bases(st: &mut St) {
    let main = st
        .base
        .clone()
        .or_else(|| st.passwd_base.clone())
        .or_else(|| st.group_base.clone());
    let Some((base, o)) = main else {
        st.s.main.set(
            "base",
            Value::Str("dc=example,dc=com".into()),
            "placeholder: nslcd.conf has no base",
        );
        st.r.todo("nslcd.conf has no base (nslcd read the namingContexts of the server's root DSE): replace the placeholder base = \"dc=example,dc=com\"");
        return;
    };
    st.s.main.set("base", Value::Str(base.clone()), &o.from());
    for (kind, b) in [
        ("users", st.passwd_base.clone()),
        ("groups", st.group_base.clone()),
    ] {
        if let Some((v, o)) = b {
            if v != base {
                let t = if kind == "users" {
                    &mut st.s.users
                } else {
                    &mut st.s.groups
                };
                t.set("base", Value::Str(v), &o.from());
            }
        }
    }
}

/// Differences that hold whatever the file says.
fn general_notes(st: &mut St) {
    if !st.password_x {
        st.r.note("the password field: nslcd shows \"*\" unless `map passwd userPassword \"x\"`; ldaprs always shows \"x\" and never serves password hashes (passwords are checked by binding as the user)");
    }
    st.r.note("membership: nslcd reads memberUid and member; ldaprs reads memberUid, member and uniqueMember, whichever the directory uses ([servers.groups] member_attributes restricts them)");
    st.r.note("nslcd has no cache (nscd did that); ldaprs caches answers for [cache] entry_ttl (600 s) and misses for negative_ttl (30 s)");
    if !st.min_uid {
        st.r.note("nslcd.conf has no nss_min_uid (nslcd served every uid): ldaprs keeps its default [nss] min_uid = 1000, and min_gid defaults to it");
    }
}
