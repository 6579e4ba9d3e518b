//! Where a cold getpwnam's time goes (issue 14): a measurement, run by hand —
//! `LDAPRS_PROFILE=release cargo test --release -p ldaprs-tests --test breakdown -- --ignored --nocapture`
//! (after `cargo build --release --workspace`). 300 users never asked before, each looked up
//! once through the built NSS module (the `nsscall` harness times the call itself); the daemon's
//! debug log gives the time its directory search took (ldap3 + network + slapd), slapd's stats
//! log the time slapd spent (`etime`). Medians of each, and what is left for the module, the
//! socket and the daemon's own work (cache, records, shared map).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{bulk_ldif, scratch, Env, Slapd, SlapdOpts};
use std::collections::HashMap;

const N: usize = 300;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The number after `key` in `line` (up to a space or the end).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(key)? + key.len();
    line[at..].split_whitespace().next()
}

#[test]
#[ignore = "a measurement: see the file's comment"]
fn cold_getpwnam_breakdown() {
    let dir = scratch("breakdown-ldif");
    let slapd = Slapd::start_with(
        "breakdown",
        &bulk_ldif(&dir, 2000),
        "rfc2307",
        SlapdOpts::default(),
    );
    let mut env = Env::new("breakdown");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    // The service connection is open before the first measured lookup.
    assert_eq!(env.nsscall(&["pwnam", "alice"]).0, 1);
    let mut total = Vec::new();
    for i in 0..N {
        let (st, _, us, _) = env.nsscall(&["pwnam", &format!("bulk{i:05}")]);
        assert_eq!(st, 1, "bulk{i:05} not found");
        total.push(us as f64);
    }
    // The daemon: `req=N UserName("bulk00042"): directory answered in 151 µs`.
    let mut directory = Vec::new();
    for l in env.daemon_log().lines() {
        if l.contains("UserName(\"bulk") && l.contains("directory answered in") {
            let v: f64 = field(l, "directory answered in ").unwrap().parse().unwrap();
            directory.push(v);
        }
    }
    // slapd: the SRCH line names the filter, its RESULT line (same conn and op) the etime.
    let log = slapd.log();
    let mut ops: HashMap<String, bool> = HashMap::new();
    let mut slapd_us = Vec::new();
    for l in log.lines() {
        let (Some(conn), Some(op)) = (field(l, "conn="), field(l, "op=")) else {
            continue;
        };
        let id = format!("{conn}/{op}");
        if l.contains(" SRCH base=") && l.contains("(uid=bulk") {
            ops.insert(id, true);
        } else if l.contains("SEARCH RESULT") && ops.remove(&id).is_some() {
            let e: f64 = field(l, "etime=").unwrap().parse().unwrap();
            slapd_us.push(e * 1e6);
        }
    }
    assert_eq!(directory.len(), N, "{}", env.daemon_log());
    assert_eq!(slapd_us.len(), N);
    let (t, d, s) = (median(total), median(directory), median(slapd_us));
    println!("cold getpwnam, median of {N} (µs):");
    println!("  total, as the caller sees it (module + socket + daemon + LDAP): {t:.0}");
    println!("  daemon's directory search (ldap3 + loopback + slapd):          {d:.0}");
    println!("    of which slapd (etime):                                      {s:.0}");
    println!(
        "    ldap3 + loopback (the rest of the search):                   {:.0}",
        d - s
    );
    println!(
        "  module + socket + daemon's own work (cache, record, map):      {:.0}",
        t - d
    );
}
