//! Back online after a restart of the only server (issue 14, bench/fleet): slapd stopped,
//! the daemon offline, slapd started again. The first lookups that reach the daemon bring the
//! probe forward, so the daemon answers from the directory again within moments, not at its
//! scheduled probe (10 s ± 10 % after the server was marked down; up to 30 s later on).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{Env, Slapd};
use std::time::{Duration, Instant};

#[test]
fn lookups_after_the_server_restarts_bring_the_daemon_back_online_at_once() {
    let mut slapd = Slapd::start("offline-back", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("offline-back");
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307",
        "",
        "timeout = 1\nconnect_timeout = 1\n",
    ));
    env.start_daemon();
    assert_eq!(env.nsscall(&["pwnam", "alice"]).0, 1);

    slapd.stop();
    // carol was never looked up: unavailable, and the server is marked down (offline).
    let down = Instant::now();
    assert_eq!(env.nsscall(&["pwnam", "carol"]).0, -1);
    let log = env.daemon_log();
    assert!(log.contains("marked down"), "{log}");
    assert!(
        log.contains("offline: no URI of any server block answers"),
        "{log}"
    );
    // Still offline: answered at once, still unavailable.
    let (st, _, us, _) = env.nsscall(&["pwnam", "dave"]);
    assert_eq!(st, -1);
    assert!(us < 200_000, "offline lookup took {us} µs");

    slapd.restart();
    let up = Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        if env.nsscall(&["pwnam", "carol"]).0 == 1 {
            break;
        }
        assert!(
            down.elapsed() < Duration::from_secs(6),
            "carol still unavailable {:?} after slapd was back ({tries} lookups):\n{}",
            up.elapsed(),
            env.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "carol found {:?} after slapd was back ({:?} after it was marked down, {tries} lookups)",
        up.elapsed(),
        down.elapsed()
    );
    // The scheduled probe was at least 9 s after the server was marked down: the lookups
    // brought it back, not the schedule.
    assert!(down.elapsed() < Duration::from_secs(9));
    let log = env.daemon_log();
    assert!(log.contains("is back after"), "{log}");
    assert!(
        log.contains("online: a server answers again after"),
        "{log}"
    );
    assert_eq!(env.nsscall(&["pwnam", "dave"]).0, 1);
}
