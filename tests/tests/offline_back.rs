//! Back online after a restart of the only server (issue 14, bench/fleet): slapd stopped,
//! the daemon offline, slapd started again. The first lookup the persistent cache cannot
//! answer probes the server (at most once a second, waiting at most 100 ms) and is answered
//! by it, not "unavailable" until the scheduled probe (10 s ± 10 % after the server was marked
//! down; up to 30 s later on).
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
    // Past the one-second gap since dave's lookup brought the probe forward: the first lookup
    // the persistent cache cannot answer probes the server itself and is answered by it.
    std::thread::sleep(Duration::from_millis(1100));
    let t = Instant::now();
    let (st, _, us, _) = env.nsscall(&["pwnam", "carol"]);
    eprintln!(
        "first lookup after slapd was back: status {st} in {us} µs ({:?} after the server was marked down)",
        down.elapsed()
    );
    assert_eq!(st, 1, "{}", env.daemon_log());
    assert!(t.elapsed() < Duration::from_secs(1));
    // The scheduled probe was at least 9 s after the server was marked down: the lookup
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
