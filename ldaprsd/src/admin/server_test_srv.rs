//! `ldaprsctl server test` for a block's `dns-srv:` entries: the SRV answer in the order the
//! failover uses it (RFC 2782), its TTL, or why the lookup failed. The targets themselves are
//! then tested like any URI.

use crate::ldap::ServerBlock;

/// One entry, its findings (key, value) and whether it gave anything to connect to.
pub type SrvFindings = (String, Vec<(String, String)>, bool);

/// One report per `dns-srv:` entry of `block` (none without discovery).
pub async fn srv_reports(block: &ServerBlock) -> Vec<SrvFindings> {
    if !block.discovers() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (entry, lines) in block.srv_report().await {
        let mut r = Findings {
            lines: Vec::new(),
            usable: true,
        };
        let mut targets = 0;
        for l in lines {
            if let Some(e) = l.strip_prefix("FAILED: ") {
                r.lines.push(("dns lookup".into(), format!("FAILED: {e}")));
            } else if l.starts_with("TTL ") {
                r.lines.push(("dns ttl".into(), l));
            } else if l.starts_with("not used: ") {
                r.lines.push(("dns note".into(), l));
            } else {
                targets += 1;
                r.lines.push((format!("target {targets}"), l));
            }
        }
        if targets == 0 {
            r.usable = false;
            r.lines
                .push(("targets".into(), "none: nothing to connect to".into()));
        }
        out.push((entry, r.lines, r.usable));
    }
    out
}

struct Findings {
    lines: Vec<(String, String)>,
    usable: bool,
}
