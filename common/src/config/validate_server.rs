//! The checks of a server block's connection keys: URIs, base, timeouts, the bind DN and its
//! password file, the TLS client certificate and the block's name.

use super::errors::{semantic, ConfigError};
use super::server::{Server, TlsMode};

/// Checks the `i`-th server block `s`; `all` is every block (names must be unique).
pub(super) fn validate_server(
    path: &str,
    src: &str,
    all: &[Server],
    i: usize,
    s: &Server,
) -> Result<(), ConfigError> {
    let idx = Some(i);
    check_uris(path, src, idx, s)?;
    check_base(path, src, idx, s)?;
    check_timeouts(path, src, idx, s)?;
    check_user_dn_pattern(path, src, idx, s)?;
    check_bind_pair(path, src, idx, s)?;
    check_client_cert_pair(path, src, idx, s)?;
    check_unique_name(path, src, all, idx, s)
}

fn check_uris(path: &str, src: &str, idx: Option<usize>, s: &Server) -> Result<(), ConfigError> {
    let uris = s.uris();
    if uris.is_empty() {
        return Err(semantic(
            path,
            src,
            idx,
            None,
            "uri",
            "empty list".into(),
            Some("uri = [\"ldaps://ldap.example.com\"]"),
        ));
    }
    for u in &uris {
        if let Some(domain) = u.strip_prefix("dns-srv:") {
            check_srv_domain(path, src, idx, domain)?;
            continue;
        }
        let ok = ["ldap://", "ldaps://", "ldapi://"]
            .iter()
            .any(|p| u.starts_with(p));
        if !ok {
            return Err(semantic(
                path,
                src,
                idx,
                None,
                "uri",
                format!("`{u}` is not an ldap://, ldaps:// or ldapi:// URI, nor dns-srv:<domain>"),
                Some("uri = [\"ldaps://ldap.example.com\"] or uri = [\"dns-srv:example.com\"]"),
            ));
        }
        if s.tls.mode == TlsMode::Ldaps && !u.starts_with("ldaps://") {
            return Err(semantic(
                path,
                src,
                idx,
                Some("servers.tls"),
                "mode",
                format!("mode = \"ldaps\" but `{u}` is not an ldaps:// URI"),
                Some("use ldaps:// URIs or mode = \"auto\""),
            ));
        }
    }
    Ok(())
}

/// `dns-srv:<domain>`: a DNS name (letters, digits, `-`, `_`, dots), no scheme or port.
fn check_srv_domain(
    path: &str,
    src: &str,
    idx: Option<usize>,
    domain: &str,
) -> Result<(), ConfigError> {
    let d = domain.trim_end_matches('.');
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if ok {
        return Ok(());
    }
    Err(semantic(
        path,
        src,
        idx,
        None,
        "uri",
        format!("`dns-srv:{domain}` does not name a DNS domain"),
        Some("uri = [\"dns-srv:example.com\"] (the servers of _ldap._tcp.example.com)"),
    ))
}

fn check_base(path: &str, src: &str, idx: Option<usize>, s: &Server) -> Result<(), ConfigError> {
    if !s.base.is_empty() && s.base.trim().is_empty() {
        return Err(semantic(
            path,
            src,
            idx,
            None,
            "base",
            "a search base of only spaces (leave `base` out to take the server's naming context)"
                .into(),
            Some("base = \"dc=example,dc=com\""),
        ));
    }
    Ok(())
}

fn check_timeouts(
    path: &str,
    src: &str,
    idx: Option<usize>,
    s: &Server,
) -> Result<(), ConfigError> {
    for (key, v, lo, hi) in [
        ("timeout", s.timeout, 0.05, 120.0),
        ("connect_timeout", s.connect_timeout, 0.05, 120.0),
        ("failover_delay", s.failover_delay, 0.0, 60.0),
        ("retry_dead_after", s.retry_dead_after, 0.1, 3600.0),
        ("retry_dead_max", s.retry_dead_max, 0.1, 86400.0),
    ] {
        if !(v.is_finite() && v >= lo && v <= hi) {
            let msg = format!("{v} is out of range ({lo} to {hi} seconds)");
            return Err(semantic(path, src, idx, None, key, msg, None));
        }
    }
    Ok(())
}

fn check_user_dn_pattern(
    path: &str,
    src: &str,
    idx: Option<usize>,
    s: &Server,
) -> Result<(), ConfigError> {
    if let Some(p) = &s.user_dn_pattern {
        if p.matches("%s").count() != 1 {
            let hint = Some("user_dn_pattern = \"uid=%s,ou=people,dc=example,dc=com\"");
            let msg = "must contain %s exactly once".to_string();
            return Err(semantic(path, src, idx, None, "user_dn_pattern", msg, hint));
        }
    }
    Ok(())
}

fn check_bind_pair(
    path: &str,
    src: &str,
    idx: Option<usize>,
    s: &Server,
) -> Result<(), ConfigError> {
    if s.bind_dn.is_some() && s.bind_password_file.is_none() {
        return Err(semantic(
            path,
            src,
            idx,
            None,
            "bind_dn",
            "bind_dn is set but bind_password_file is not".into(),
            Some("put the password in a root-only file and name it in bind_password_file"),
        ));
    }
    if s.bind_dn.is_none() && s.bind_password_file.is_some() {
        return Err(semantic(
            path,
            src,
            idx,
            None,
            "bind_password_file",
            "bind_password_file is set but bind_dn is not".into(),
            None,
        ));
    }
    Ok(())
}

fn check_client_cert_pair(
    path: &str,
    src: &str,
    idx: Option<usize>,
    s: &Server,
) -> Result<(), ConfigError> {
    if s.tls.client_cert.is_some() != s.tls.client_key.is_some() {
        return Err(semantic(
            path,
            src,
            idx,
            Some("servers.tls"),
            if s.tls.client_cert.is_some() {
                "client_cert"
            } else {
                "client_key"
            },
            "client_cert and client_key go together".into(),
            None,
        ));
    }
    Ok(())
}

fn check_unique_name(
    path: &str,
    src: &str,
    all: &[Server],
    idx: Option<usize>,
    s: &Server,
) -> Result<(), ConfigError> {
    let names: Vec<&String> = all.iter().map(|x| &x.name).collect();
    if names.iter().filter(|n| **n == &s.name).count() > 1 {
        return Err(semantic(
            path,
            src,
            idx,
            None,
            "name",
            format!("server name `{}` is used twice (a block without `name` is named after its first URI's host)", s.name),
            Some("give each [[servers]] block its own name = \"...\""),
        ));
    }
    Ok(())
}
