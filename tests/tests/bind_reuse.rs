//! Logins reuse connections (issue 14): a user bind goes over a connection kept from an
//! earlier login (a rebind, no connect and no TLS handshake), which is used for nothing else;
//! the identity check after the bind stays, and a wrong password is still refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{Env, Slapd};

fn accepted(slapd: &Slapd) -> usize {
    slapd.log().matches(" ACCEPT from ").count()
}

/// The slapd connection numbers that carried a bind as `uid=USER`.
fn bind_conns(slapd: &Slapd, user: &str) -> Vec<String> {
    let needle = format!("BIND dn=\"uid={user},ou=people,dc=example,dc=com\" method=128");
    slapd
        .log()
        .lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("conn="))
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn consecutive_logins_rebind_on_a_kept_connection() {
    let slapd = Slapd::start("reuse", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("reuse");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_eq!(code, 0, "{out}");
    let after_first = accepted(&slapd);
    let (code, out) = env.pam("bob", "bob-pw", &["authenticate"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = env.pam("bob", "wrong", &["authenticate"]);
    assert_ne!(
        code, 0,
        "a wrong password on a kept connection is refused: {out}"
    );
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert_eq!(
        accepted(&slapd),
        after_first,
        "the later logins opened new connections:\n{}",
        slapd.log()
    );
    let alice = bind_conns(&slapd, "alice");
    let bob = bind_conns(&slapd, "bob");
    assert_eq!(alice.len(), 2, "{alice:?}");
    assert!(
        bob.iter().all(|c| c == &alice[0]) && alice[1] == alice[0],
        "every bind on one kept connection: alice {alice:?}, bob {bob:?}"
    );
    // The identity is still confirmed after each bind ("Who am I?" on that connection).
    let whoami = slapd
        .log()
        .lines()
        .filter(|l| {
            l.contains(&format!("{} ", alice[0])) && l.contains("EXT oid=1.3.6.1.4.1.4203.1.11.3")
        })
        .count();
    assert_eq!(
        whoami,
        3,
        "one Who am I per successful bind:\n{}",
        slapd.log()
    );
}
