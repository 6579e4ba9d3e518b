//! nslcd.conf options about reaching and binding to the servers: `uri`, `binddn`/`bindpw`,
//! `rootpwmoddn`/`rootpwmodpw`, SASL and Kerberos, `ssl` and the `tls_*` options, the time
//! limits and the reconnect timers.

use super::draft::Value;
use super::nslcd::{Ssl, St};
use super::nslcd_conf::{integer, Opt};
use super::{ADMIN_PASSWORD_FILE, BIND_PASSWORD_FILE};

const SASL: &str = "ldaprs binds with simple binds only (no SASL or Kerberos yet): a service account (bind_dn and a password file) or anonymous searches";

/// Handles `o` if it is one of this file's options.
pub fn handle(st: &mut St, o: &Opt) -> bool {
    match o.keyword.as_str() {
        "uri" => uri(st, o),
        "ldap_version" => match o.rest.as_str() {
            "3" => st.ok(o, "ldaprs speaks LDAPv3 only (nothing to write)"),
            _ => st.no(o, "ldaprs speaks LDAPv3 only"),
        },
        "binddn" => st.binddn = Some(o.clone()),
        "bindpw" => st.bindpw = Some(o.clone()),
        "rootpwmoddn" => st.rootpwmoddn = Some(o.clone()),
        "rootpwmodpw" => st.rootpwmodpw = Some(o.clone()),
        "sasl_mech" | "sasl_realm" | "sasl_authcid" | "sasl_authzid" | "sasl_secprops"
        | "sasl_canonicalize" | "sasl_canonicalise" | "ldap_sasl_canonicalize"
        | "sasl_canon" | "sasl_nocanon" | "krb5_ccname" => st.no(o, SASL),
        "ssl" => ssl(st, o),
        "bind_timelimit" => seconds(st, o, "connect_timeout"),
        "timelimit" => seconds(st, o, "timeout"),
        "reconnect_sleeptime" => seconds(st, o, "retry_dead_after"),
        "reconnect_retrytime" => seconds(st, o, "retry_dead_max"),
        "idle_timelimit" => st.no(o, "no idle limit to set: ldaprsd keeps its connections and opens a new one when the server has closed one"),
        _ => return tls(st, o),
    }
    true
}

fn uri(st: &mut St, o: &Opt) {
    for w in o.words() {
        let lower = w.to_ascii_lowercase();
        if lower == "dns" || lower.starts_with("dns:") || lower.starts_with("dnsldaps") {
            let shown = format!("uri {w}");
            st.r.unsupported(
                &o.at(),
                &shown,
                "ldaprs has no DNS SRV discovery yet: list the servers' URIs in uri",
            );
        } else if ["ldap://", "ldaps://", "ldapi://"]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            let shown = format!("uri {w}");
            st.r.translated(
                &o.at(),
                &shown,
                "[[servers]] uri (tried in order, with failover)",
            );
            st.uris.push((w.to_string(), o.clone()));
        } else {
            let shown = format!("uri {w}");
            st.r.unsupported(&o.at(), &shown, "not an ldap://, ldaps:// or ldapi:// URI");
        }
    }
}

fn ssl(st: &mut St, o: &Opt) {
    let v = o.rest.to_ascii_lowercase();
    let mode = match v.as_str() {
        "start_tls" | "starttls" => Ssl::StartTls,
        _ => match super::nslcd_conf::boolean(&v) {
            Some(true) => Ssl::Ldaps,
            Some(false) => Ssl::Off,
            None => return st.no(o, "not a value nslcd accepts (on, off, start_tls)"),
        },
    };
    let what = match mode {
        Ssl::Off => "[servers.tls] mode = \"auto\" (the default: ldaps:// URIs use TLS, ldap:// ones plain LDAP)",
        Ssl::Ldaps => "ldaps:// URIs and [servers.tls] mode = \"ldaps\"",
        Ssl::StartTls => "[servers.tls] mode = \"starttls\"",
    };
    st.ok(o, what);
    st.ssl = Some((mode, o.clone()));
}

/// A time limit in seconds as a float key, kept in the range ldaprs accepts.
fn seconds(st: &mut St, o: &Opt, key: &'static str) {
    let Some(n) = integer(&o.rest) else {
        return st.no(o, "not a number of seconds");
    };
    let (lo, hi) = match key {
        "retry_dead_max" => (0.1, 86400.0),
        "retry_dead_after" => (0.1, 3600.0),
        _ => (0.05, 120.0),
    };
    if n <= 0 && key == "timeout" {
        return st.no(o, "0 (no limit) is not possible: ldaprs always limits each operation; timeout stays at its default, 5 s");
    }
    let v = (n as f64).clamp(lo, hi);
    let mut what = format!("[[servers]] {key} = {v}");
    if v != n as f64 {
        what.push_str(&format!(" (ldaprs accepts {lo} to {hi} s)"));
    }
    if key.starts_with("retry_dead") {
        what.push_str("; nslcd retried inside the lookup, ldaprs answers from the next URI at once and probes a down URI in the background");
    }
    st.s.main.set(key, Value::Float(v), &o.from());
    st.ok(o, what);
}

/// The `tls_*` options; false if `o` is not one.
fn tls(st: &mut St, o: &Opt) -> bool {
    match o.keyword.as_str() {
        "tls_reqcert" => reqcert(st, o),
        "tls_cacertfile" | "tls_cacert" => {
            st.s.tls.set("ca_file", Value::Str(o.rest.clone()), &o.from());
            st.ok(o, "[servers.tls] ca_file");
        }
        "tls_cacertdir" => st.no(o, "ldaprs reads CA certificates from one bundle file: name it in [servers.tls] ca_file (default: the system bundle, /etc/ssl/certs/ca-certificates.crt on Debian)"),
        "tls_cert" => st.tls_cert = Some(o.clone()),
        "tls_key" => st.tls_key = Some(o.clone()),
        "tls_randfile" => st.no(o, "not needed: rustls takes its random numbers from the kernel"),
        "tls_ciphers" => st.no(o, "ldaprs uses rustls's fixed set of modern cipher suites (TLS 1.2 and 1.3)"),
        "tls_reqsan" => match o.rest.to_ascii_lowercase().as_str() {
            "try" | "demand" | "hard" | "yes" => st.ok(o, "ldaprs always checks the server's name against its certificate when verify = true (nothing to write)"),
            _ => st.no(o, "ldaprs checks the server's name whenever it verifies the certificate ([servers.tls] verify)"),
        },
        "tls_crlcheck" => match o.rest.to_ascii_lowercase().as_str() {
            "none" => st.ok(o, "ldaprs does not check CRLs either (nothing to write)"),
            _ => st.no(o, "ldaprs does not check certificate revocation lists"),
        },
        "tls_crlfile" => st.no(o, "ldaprs does not check certificate revocation lists"),
        _ => return false,
    }
    true
}

fn reqcert(st: &mut St, o: &Opt) {
    match o.rest.to_ascii_lowercase().as_str() {
        "never" | "no" | "allow" => {
            st.s.tls.set("verify", Value::Bool(false), &o.from());
            st.ok(
                o,
                "[servers.tls] verify = false (ldaprsd warns about it at every start)",
            );
        }
        "try" | "demand" | "yes" | "hard" => st.ok(
            o,
            "[servers.tls] verify = true (the default: chain and host name are checked)",
        ),
        _ => st.no(
            o,
            "not a value nslcd accepts (never, allow, try, demand, hard)",
        ),
    }
}

/// `binddn`/`bindpw` and `rootpwmoddn`/`rootpwmodpw`: the DNs are written, the passwords
/// never: the admin puts them into root-only files.
pub fn finish_binds(st: &mut St) {
    match (st.binddn.clone(), st.bindpw.clone()) {
        (Some(dn), Some(pw)) => {
            st.s.main.set("bind_dn", Value::Str(dn.rest.clone()), &dn.from());
            st.s.main.set("bind_password_file", Value::Str(BIND_PASSWORD_FILE.into()), &pw.from());
            st.ok(&dn, "[[servers]] bind_dn");
            st.ok(&pw, format!("[[servers]] bind_password_file = \"{BIND_PASSWORD_FILE}\" (the password itself is not copied)"));
            st.r.todo(format!("put the bind password (nslcd.conf {}, bindpw) on the first line of {BIND_PASSWORD_FILE}, owned by root, chmod 600; then remove it from nslcd.conf", pw.at()));
        }
        (Some(dn), None) => st.no(&dn, "binddn without bindpw is an unauthenticated bind, which servers treat as anonymous: ldaprs searches anonymously when bind_dn is left out"),
        (None, Some(pw)) => st.no(&pw, "bindpw without binddn is not used by nslcd either"),
        (None, None) => {}
    }
    let Some(dn) = st.rootpwmoddn.clone() else {
        if let Some(pw) = st.rootpwmodpw.clone() {
            st.no(
                &pw,
                "rootpwmodpw without rootpwmoddn is not used by nslcd either",
            );
        }
        return;
    };
    st.s.main
        .set("admin_dn", Value::Str(dn.rest.clone()), &dn.from());
    st.s.main.set(
        "admin_password_file",
        Value::Str(ADMIN_PASSWORD_FILE.into()),
        &dn.from(),
    );
    st.ok(
        &dn,
        format!("[[servers]] admin_dn and admin_password_file = \"{ADMIN_PASSWORD_FILE}\""),
    );
    match st.rootpwmodpw.clone() {
        Some(pw) => {
            st.ok(&pw, format!("{ADMIN_PASSWORD_FILE} (the password itself is not copied)"));
            st.r.todo(format!("put the password of rootpwmoddn (nslcd.conf {}, rootpwmodpw) on the first line of {ADMIN_PASSWORD_FILE}, owned by root, chmod 600", pw.at()));
        }
        None => st.r.todo(format!("nslcd asked root for the password of rootpwmoddn at each reset; ldaprs reads it from {ADMIN_PASSWORD_FILE}: create that file (first line, root only, chmod 600)")),
    }
}

/// `tls_cert` and `tls_key` go together.
pub fn finish_client_cert(st: &mut St) {
    match (st.tls_cert.clone(), st.tls_key.clone()) {
        (Some(c), Some(k)) => {
            st.s.tls
                .set("client_cert", Value::Str(c.rest.clone()), &c.from());
            st.s.tls
                .set("client_key", Value::Str(k.rest.clone()), &k.from());
            st.ok(&c, "[servers.tls] client_cert");
            st.ok(&k, "[servers.tls] client_key");
        }
        (Some(o), None) | (None, Some(o)) => st.no(
            &o,
            "ldaprs needs both tls_cert and tls_key (client_cert and client_key)",
        ),
        (None, None) => {}
    }
}
