//! A reload does not bring back a cached password the directory refused (security review of
//! issue 11, finding 6): every service a SIGHUP swaps in shares the daemon's one copy of
//! `credentials.db`, so a refusal answered by the old service, after the new one is in place,
//! removes the hash the new one would use offline.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{Env, Slapd};
use std::time::{Duration, Instant};

const CACHED: &str = "Logged in with cached credentials: the directory cannot be reached.";

#[test]
fn a_refusal_during_a_reload_removes_the_cached_password_for_the_new_service() {
    let slapd = Slapd::start("offline-reload", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("offline-reload");
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307",
        "[offline]\ncache_credentials = true\n",
        "timeout = 4\nconnect_timeout = 1\n",
    ));
    env.start_daemon();
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"]);
    assert_eq!(code, 0, "online login: {out}");
    std::thread::sleep(Duration::from_millis(500));
    // The password changes at the directory; the next login with the old one is refused
    // there. It is sent while slapd is frozen, and the SIGHUP lands while it waits.
    slapd.modify("dn: uid=alice,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: userPassword\nuserPassword: New-Passw0rd\n");
    slapd.freeze();
    let pid = libc::pid_t::try_from(env.daemon_pid()).unwrap();
    let (code, out) = std::thread::scope(|s| {
        let refused = s.spawn(|| env.pam("alice", "alice-pw", &["authenticate"]));
        std::thread::sleep(Duration::from_millis(400));
        // SAFETY: kill(2) on the daemon this test started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
        let t = Instant::now();
        while !env.daemon_log().contains("SIGHUP: configuration reloaded") {
            assert!(t.elapsed() < Duration::from_secs(2), "{}", env.daemon_log());
            std::thread::sleep(Duration::from_millis(50));
        }
        slapd.thaw();
        refused.join().unwrap()
    });
    assert_ne!(code, 0, "the old password was accepted online: {out}");
    let log = env.daemon_log();
    assert!(
        log.contains("alice: cached password removed: the directory refused the password"),
        "{log}"
    );
    std::thread::sleep(Duration::from_millis(300));
    // Offline now: the new service must not have the old password's hash.
    slapd.freeze();
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_ne!(
        code, 0,
        "the refused password logged in offline after the reload: {out}"
    );
    assert!(!out.contains(CACHED), "{out}");
    assert!(
        out.contains("no cached login is available for alice"),
        "{out}"
    );
    slapd.thaw();
}
