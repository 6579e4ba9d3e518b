//! Referrals and search continuation references (RFC 4511 §4.1.10, §4.5.3): followed when
//! they point to one of the block's own URIs or to a host in `referral_hosts`, with the same
//! service bind and the same TLS and cleartext rules as the block's URIs, at most
//! [`MAX_HOPS`] deep, never twice to the same place (a loop is an error, named). A reference
//! to any other host is skipped with a debug line. Entries found through a reference are
//! remembered with the URI that holds them, so that the user's bind goes there.

use super::block::ServerBlock;
use super::entry::{normalize_dn, Entry};
use super::error::DirError;
use super::uri::host_port;
use crate::debug;
use ldap3::Scope;
use std::collections::HashSet;

/// How many references deep a search follows.
pub const MAX_HOPS: usize = 3;
/// How many referred entries are remembered with their URI (for the user's bind).
const MAX_REMEMBERED: usize = 10_000;

/// Where a reference points: the server, and the DN and scope to search there.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// `scheme://host:port`.
    pub server: String,
    pub base: Option<String>,
    pub scope: Option<Scope>,
}

/// RFC 4516 percent-decoding of a URL's DN part (bytes, then UTF-8).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses `ldap[s]://host[:port]/dn?attrs?scope?filter` (only `ldap` and `ldaps`).
pub fn parse_url(url: &str) -> Option<Reference> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "ldap" && scheme != "ldaps" {
        return None;
    }
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut parts = path.split('?');
    // A DN that does not decode makes the URL unusable (not a reference to the server root).
    let dn = match parts.next() {
        Some(p) => Some(percent_decode(p)?),
        None => None,
    };
    let _attrs = parts.next();
    let scope = match parts.next() {
        Some("base") => Some(Scope::Base),
        Some("one") => Some(Scope::OneLevel),
        Some("sub") => Some(Scope::Subtree),
        _ => None,
    };
    let (host, port) = host_port(&format!("{scheme}://{hostport}"))?;
    Some(Reference {
        server: format!("{scheme}://{host}:{port}"),
        base: dn.filter(|d| !d.is_empty()),
        scope,
    })
}

impl ServerBlock {
    /// Whether references to `r` are followed: its host:port is one of the block's URIs' or
    /// listed in `referral_hosts` (`host` alone allows the scheme's default port).
    pub fn referral_allowed(&self, r: &Reference) -> bool {
        let Some((host, port)) = host_port(&r.server) else {
            return false;
        };
        let own = self
            .uris()
            .iter()
            .filter_map(|u| host_port(u))
            .any(|(h, p)| h.eq_ignore_ascii_case(&host) && p == port);
        let default = if r.server.starts_with("ldaps://") {
            636
        } else {
            389
        };
        let listed = self.cfg.referral_hosts.iter().any(|entry| {
            let (h, p) = match entry.rsplit_once(':') {
                Some((h, p)) => (h, p.parse::<u16>().ok()),
                None => (entry.as_str(), Some(default)),
            };
            h.eq_ignore_ascii_case(&host) && p == Some(port)
        });
        own || listed
    }

    /// The URI that holds an entry found through a reference, if it was.
    pub fn referred_uri(&self, dn: &str) -> Option<String> {
        let m = self.referred.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&normalize_dn(dn)).cloned()
    }

    pub(super) fn remember_referred(&self, entries: &[Entry], server: &str) {
        let mut m = self.referred.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() + entries.len() > MAX_REMEMBERED {
            m.clear();
        }
        for e in entries {
            m.insert(normalize_dn(&e.dn), server.to_string());
        }
    }

    /// Which of `urls` to follow, as parts: the allowed URLs grouped by the DN they name
    /// (alternatives for the same part, tried in order); the others are logged and skipped.
    pub(super) fn references_to_follow(
        &self,
        urls: &[String],
        visited: &mut HashSet<String>,
        hop: usize,
    ) -> Result<Vec<Vec<Reference>>, DirError> {
        let mut parts: Vec<(String, Vec<Reference>)> = Vec::new();
        for url in urls {
            let Some(r) = parse_url(url) else {
                debug!(
                    "server {}: reference {url:?} not followed: not an ldap:// or ldaps:// URL",
                    self.cfg.name
                );
                continue;
            };
            if !self.referral_allowed(&r) {
                debug!("server {}: reference to {url} not followed: {} is neither one of this block's URIs nor in referral_hosts", self.cfg.name, r.server);
                continue;
            }
            if hop >= MAX_HOPS {
                return Err(DirError::Server(format!(
                    "server {}: reference to {url}: more than {MAX_HOPS} references deep",
                    self.cfg.name
                )));
            }
            let dn = r.base.as_deref().map(normalize_dn).unwrap_or_default();
            if !visited.insert(format!("{}/{dn}", r.server)) {
                return Err(DirError::Server(format!(
                    "server {}: referral loop: {url} was reached before in this search",
                    self.cfg.name
                )));
            }
            match parts.iter_mut().find(|(d, _)| *d == dn) {
                Some((_, alts)) => alts.push(r),
                None => parts.push((dn, vec![r])),
            }
        }
        Ok(parts.into_iter().map(|(_, alts)| alts).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("ldap://127.0.0.1:3890/ou=remote,dc=example,dc=com??sub"),
            Some(Reference {
                server: "ldap://127.0.0.1:3890".into(),
                base: Some("ou=remote,dc=example,dc=com".into()),
                scope: Some(Scope::Subtree),
            })
        );
        assert_eq!(
            parse_url("ldaps://dc1.corp/DC=DomainDnsZones,DC=corp%2c%20x"),
            Some(Reference {
                server: "ldaps://dc1.corp:636".into(),
                base: Some("DC=DomainDnsZones,DC=corp, x".into()),
                scope: None,
            })
        );
        assert_eq!(
            parse_url("ldap://h"),
            Some(Reference {
                server: "ldap://h:389".into(),
                base: None,
                scope: None
            })
        );
        assert_eq!(parse_url("http://h/x"), None);
        assert_eq!(parse_url("ldap://h/%zz"), None);
    }
}
