//! DNS SRV discovery: `uri = ["dns-srv:example.com"]` becomes the targets of
//! `_ldaps._tcp.example.com` and `_ldap._tcp.example.com` (AD: `_ldap._tcp.dc._msdcs.<domain>`),
//! in RFC 2782 order, fed to the block's failover as ordinary URIs. The list is resolved again
//! after the records' TTL and when every target failed (`block_srv.rs` keeps that state).

use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;
use std::time::Duration;

/// The prefix of a discovery entry in `uri`.
pub const PREFIX: &str = "dns-srv:";

/// The domain of a `dns-srv:<domain>` entry.
pub fn srv_domain(uri: &str) -> Option<&str> {
    uri.strip_prefix(PREFIX)
}

/// One SRV target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// The target host, without the root dot.
    pub host: String,
    /// From `_ldaps._tcp` (TLS from the first byte) rather than `_ldap._tcp`.
    pub ldaps: bool,
}

impl Target {
    pub fn uri(&self) -> String {
        let scheme = if self.ldaps { "ldaps" } else { "ldap" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// RFC 2782's order: lowest priority first; within one priority, a weighted random pick
/// repeated until none is left (weight-0 targets come after the weighted ones of their
/// priority, in the order published). `unit` gives numbers in [0, 1).
pub fn rfc2782_order(mut targets: Vec<Target>, mut unit: impl FnMut() -> f64) -> Vec<Target> {
    targets.sort_by_key(|t| (t.priority, t.weight != 0));
    let mut out = Vec::with_capacity(targets.len());
    while let Some(first) = targets.first() {
        let prio = first.priority;
        let n = targets.iter().take_while(|t| t.priority == prio).count();
        let mut group: Vec<Target> = targets.drain(..n).collect();
        while !group.is_empty() {
            // The pick is in [1, sum] (RFC 2782 says [0, sum], which favours the first
            // target by one share): each weighted target gets weight/sum of the first places.
            let sum: u32 = group.iter().map(|t| u32::from(t.weight)).sum();
            let pick = (1 + (unit().clamp(0.0, 1.0) * f64::from(sum)).floor() as u32).min(sum);
            let mut running = 0u32;
            let mut at = group.len() - 1;
            for (i, t) in group.iter().enumerate() {
                running += u32::from(t.weight);
                if running >= pick {
                    at = i;
                    break;
                }
            }
            out.push(group.remove(at));
        }
    }
    out
}

/// What one discovery found: the URIs in order, how long they hold, and lines that say where
/// each came from (for the log and `ldaprsctl server test`).
#[derive(Clone, Debug, Default)]
pub struct Discovered {
    pub uris: Vec<String>,
    pub ttl: Duration,
    pub lines: Vec<String>,
    /// The targets not used because they are outside the domain (one line each, with the
    /// key that allows them): warned once per change.
    pub skipped: Vec<String>,
}

/// May SRV target `t` of `dns-srv:<domain>` be used? Only when its host is the domain or
/// under it (on label boundaries, any case), or listed in `allowed` (the block's
/// `referral_hosts`: `host` for any port, `host:port` for that one). DNS answers are not
/// authenticated, and TLS is verified against the target's own name: a target elsewhere
/// could be anyone's server with a valid certificate for its own name.
pub fn target_allowed(t: &Target, domain: &str, allowed: &[String]) -> bool {
    let host = t.host.trim_end_matches('.').to_ascii_lowercase();
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    if host == d
        || host
            .strip_suffix(&d)
            .is_some_and(|head| head.ends_with('.'))
    {
        return true;
    }
    allowed.iter().any(|entry| {
        let (h, port) = match entry.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !h.ends_with(':') => match p.parse::<u16>() {
                Ok(p) => (h, Some(p)),
                Err(_) => (entry.as_str(), None),
            },
            _ => (entry.as_str(), None),
        };
        let h = h.trim_start_matches('[').trim_end_matches(']');
        h.trim_end_matches('.').eq_ignore_ascii_case(&host) && port.is_none_or(|p| p == t.port)
    })
}

/// Splits `targets` into the allowed ones and a line for each skipped one.
fn screen(targets: Vec<Target>, domain: &str, allowed: &[String]) -> (Vec<Target>, Vec<String>) {
    let (ok, out): (Vec<Target>, Vec<Target>) = targets
        .into_iter()
        .partition(|t| target_allowed(t, domain, allowed));
    let skipped = out
        .iter()
        .map(|t| {
            format!(
                "{} skipped: {} is not {domain} or under it (DNS is not authenticated); to use it, list it in referral_hosts = [\"{}\"]",
                t.uri(),
                t.host,
                t.host
            )
        })
        .collect();
    (ok, skipped)
}

/// The SRV names asked for `domain`: AD's domain-controller record for `schema = "ad"`, else
/// `_ldaps._tcp` (unless StartTLS is required) and `_ldap._tcp` (unless ldaps is required).
pub fn query_names(
    domain: &str,
    ad: bool,
    ldaps_only: bool,
    starttls: bool,
) -> Vec<(String, bool)> {
    let d = domain.trim_end_matches('.');
    if ad {
        return vec![(format!("_ldap._tcp.dc._msdcs.{d}."), false)];
    }
    let mut v = Vec::new();
    if !starttls {
        v.push((format!("_ldaps._tcp.{d}."), true));
    }
    if !ldaps_only {
        v.push((format!("_ldap._tcp.{d}."), false));
    }
    v
}

/// Resolves the SRV records of `names` through the resolvers of `/etc/resolv.conf`, within
/// `timeout`. A name without records is not an error while another has some (most sites
/// publish only `_ldap._tcp`); none at all is, naming each answer.
pub async fn discover(
    names: &[(String, bool)],
    domain: &str,
    allowed: &[String],
    timeout: Duration,
    unit: impl FnMut() -> f64,
) -> Result<Discovered, String> {
    let resolver = TokioResolver::builder_tokio()
        .and_then(|b| b.build())
        .map_err(|e| format!("DNS resolver from /etc/resolv.conf: {e}"))?;
    let mut targets = Vec::new();
    let mut ttl = u32::MAX;
    let mut misses = Vec::new();
    for (name, ldaps) in names {
        let found = match tokio::time::timeout(timeout, resolver.srv_lookup(name.as_str())).await {
            Err(_) => Err(format!("no answer within {:.1}s", timeout.as_secs_f64())),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(l)) => Ok(l),
        };
        let lookup = match found {
            Ok(l) => l,
            Err(e) => {
                misses.push(format!("{name}: {e}"));
                continue;
            }
        };
        let mut here = 0;
        for rec in lookup.answers() {
            let RData::SRV(srv) = &rec.data else { continue };
            let host = srv.target.to_utf8();
            let host = host.trim_end_matches('.');
            // RFC 2782: a target of "." means the service is decidedly not available here.
            if host.is_empty() {
                continue;
            }
            ttl = ttl.min(rec.ttl);
            here += 1;
            targets.push(Target {
                priority: srv.priority,
                weight: srv.weight,
                port: srv.port,
                host: host.to_string(),
                ldaps: *ldaps,
            });
        }
        if here == 0 {
            misses.push(format!("{name}: no usable SRV record"));
        }
    }
    let (targets, skipped) = screen(targets, domain, allowed);
    if targets.is_empty() {
        misses.extend(skipped);
        return Err(format!("SRV lookup found no server: {}", misses.join("; ")));
    }
    let mut d = arrange(targets, ttl, &misses, unit);
    d.lines
        .extend(skipped.iter().map(|m| format!("not used: {m}")));
    d.skipped = skipped;
    Ok(d)
}

/// The discovered targets as URIs: the `_ldaps` ones first (TLS from the first byte), each
/// family in RFC 2782 order.
fn arrange(
    targets: Vec<Target>,
    ttl: u32,
    misses: &[String],
    mut unit: impl FnMut() -> f64,
) -> Discovered {
    let (tls, plain): (Vec<Target>, Vec<Target>) = targets.into_iter().partition(|t| t.ldaps);
    let mut ordered = rfc2782_order(tls, &mut unit);
    ordered.extend(rfc2782_order(plain, &mut unit));
    let mut lines: Vec<String> = ordered
        .iter()
        .map(|t| format!("{} (priority {}, weight {})", t.uri(), t.priority, t.weight))
        .collect();
    lines.extend(misses.iter().map(|m| format!("not used: {m}")));
    let mut uris: Vec<String> = Vec::new();
    for t in &ordered {
        let u = t.uri();
        if !uris.contains(&u) {
            uris.push(u);
        }
    }
    Discovered {
        uris,
        ttl: Duration::from_secs(u64::from(ttl)),
        lines,
        skipped: Vec::new(),
    }
}

/// What the block knows of its `dns-srv:` entries.
#[derive(Default)]
pub struct SrvState {
    /// When the list is resolved again (None: before the first resolution).
    pub(super) next: Option<std::time::Instant>,
    pub(super) last_resolve: Option<std::time::Instant>,
    /// Per domain: the last good answer.
    pub(super) found: std::collections::HashMap<String, Discovered>,
    /// Per domain: the last failure, while it lasts.
    pub(super) failed: std::collections::HashMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(priority: u16, weight: u16, host: &str) -> Target {
        Target {
            priority,
            weight,
            port: 389,
            host: host.into(),
            ldaps: false,
        }
    }

    fn hosts(v: &[Target]) -> Vec<&str> {
        v.iter().map(|t| t.host.as_str()).collect()
    }

    #[test]
    fn priority_first_then_weight() {
        let v = vec![t(20, 0, "backup"), t(10, 0, "a"), t(10, 0, "b")];
        let o = rfc2782_order(v, || 0.0);
        assert_eq!(hosts(&o), ["a", "b", "backup"]);
    }

    #[test]
    fn weights_share_the_picks() {
        // Weight 3 against 1: over many orderings "heavy" comes first about 3/4 of the time.
        let mut seed = 12345u64;
        let mut unit = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 10_000) as f64 / 10_000.0
        };
        let mut heavy_first = 0;
        for _ in 0..4000 {
            let o = rfc2782_order(vec![t(1, 1, "light"), t(1, 3, "heavy")], &mut unit);
            assert_eq!(o.len(), 2);
            if o[0].host == "heavy" {
                heavy_first += 1;
            }
        }
        assert!((2700..3300).contains(&heavy_first), "{heavy_first}");
        // A weight-0 target comes after a weighted one unless the pick lands on 0.
        let o = rfc2782_order(vec![t(1, 0, "zero"), t(1, 5, "five")], || 0.5);
        assert_eq!(hosts(&o), ["five", "zero"]);
    }

    #[test]
    fn targets_outside_the_domain_need_referral_hosts() {
        let ok = |host: &str, allowed: &[&str]| {
            let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
            target_allowed(&t(0, 0, host), "Example.COM", &allowed)
        };
        assert!(ok("example.com", &[]));
        assert!(ok("ldap1.example.com", &[]));
        assert!(ok("DC1.Sub.EXAMPLE.com.", &[]));
        assert!(!ok("evilexample.com", &[]), "not on a label boundary");
        assert!(!ok("example.com.evil.net", &[]));
        assert!(!ok("ldap.evil.net", &[]));
        assert!(ok("ldap.evil.net", &["LDAP.evil.net"]));
        assert!(ok("ldap.evil.net", &["ldap.evil.net:389"]));
        assert!(!ok("ldap.evil.net", &["ldap.evil.net:636"]));
        assert!(!ok("ldap.evil.net", &["other.evil.net"]));
        let (kept, skipped) = screen(
            vec![t(0, 0, "a.example.com"), t(0, 0, "ldap.evil.net")],
            "example.com",
            &[],
        );
        assert_eq!(hosts(&kept), ["a.example.com"]);
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0].contains("ldap://ldap.evil.net:389 skipped")
                && skipped[0].contains("referral_hosts = [\"ldap.evil.net\"]"),
            "{skipped:?}"
        );
    }

    #[test]
    fn uris_and_names() {
        let mut a = t(0, 0, "ldap1.example.com");
        assert_eq!(a.uri(), "ldap://ldap1.example.com:389");
        a.ldaps = true;
        a.port = 636;
        assert_eq!(a.uri(), "ldaps://ldap1.example.com:636");
        assert_eq!(srv_domain("dns-srv:example.com"), Some("example.com"));
        assert_eq!(srv_domain("ldap://x"), None);
        assert_eq!(
            query_names("example.com", false, false, false),
            vec![
                ("_ldaps._tcp.example.com.".to_string(), true),
                ("_ldap._tcp.example.com.".to_string(), false)
            ]
        );
        assert_eq!(
            query_names("ad.example.com.", true, false, false),
            vec![("_ldap._tcp.dc._msdcs.ad.example.com.".to_string(), false)]
        );
        assert_eq!(query_names("e.com", false, false, true).len(), 1);
        let d = arrange(
            vec![t(5, 0, "p"), {
                let mut x = t(9, 0, "s");
                x.ldaps = true;
                x
            }],
            300,
            &["_x: none".into()],
            || 0.0,
        );
        assert_eq!(d.uris, ["ldaps://s:389", "ldap://p:389"]);
        assert_eq!(d.ttl, Duration::from_secs(300));
        assert!(d.lines.last().unwrap().contains("not used: _x: none"));
    }
}
