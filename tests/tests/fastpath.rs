//! The shared-memory fast path (issue 5): answers served from /run/ldaprs/cache.map without the
//! daemon, expiry honoured, a corrupted or truncated map never crashes or misleads a reader,
//! and 64 threads × 10,000 lookups with three daemon restarts give zero wrong answers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{c_harness, Env, Slapd};
use std::process::Stdio;
use std::time::{Duration, Instant};

const SUCCESS: i32 = 1;
const NOTFOUND: i32 = 0;
const UNAVAIL: i32 = -1;

fn setup(name: &str, cache: &str) -> (Slapd, Env) {
    let slapd = Slapd::start(name, "rfc2307.ldif", "rfc2307");
    let mut env = Env::new(name);
    env.write_config(&Env::config_for(&slapd, "rfc2307", cache, ""));
    env.start_daemon();
    (slapd, env)
}

const ALICE: &str = "alice:x:10001:10001:Alice Liddell:/home/alice:/bin/bash";

#[test]
fn cached_answers_come_from_the_map_without_the_daemon_until_they_expire() {
    let (_slapd, mut env) = setup("fastpath", "[cache]\nentry_ttl = 3\nnegative_ttl = 3\n");
    assert_eq!(env.nsscall(&["pwnam", "alice"]).0, SUCCESS);
    assert_eq!(env.nsscall(&["pwnam", "nosuch"]).0, NOTFOUND);
    assert_eq!(env.nsscall(&["initgroups", "alice", "10001"]).0, SUCCESS);
    assert!(env.map_from_host().exists());
    // The daemon hung: the map still answers, at once (a socket call would wait 3 s).
    env.signal_daemon(libc::SIGSTOP);
    let (st, _, us, rec) = env.nsscall(&["pwnam", "alice"]);
    assert_eq!((st, rec.as_str()), (SUCCESS, ALICE));
    assert!(us < 2_000, "map lookup took {us} µs");
    let (st, _, us, _) = env.nsscall(&["pwuid", "10001"]);
    assert_eq!(st, SUCCESS);
    assert!(us < 2_000);
    let (st, _, us, _) = env.nsscall(&["pwnam", "nosuch"]);
    assert_eq!(st, NOTFOUND, "negative answers are in the map too");
    assert!(us < 2_000);
    let (st, _, _, gids) = env.nsscall(&["initgroups", "alice", "10001"]);
    assert_eq!((st, gids.as_str()), (SUCCESS, "20001 20002"));
    env.signal_daemon(libc::SIGCONT);
    // The daemon crashes: entries are still served while fresh...
    env.signal_daemon(libc::SIGKILL);
    assert_eq!(env.nsscall(&["pwnam", "alice"]).0, SUCCESS);
    // ...and not once expired (refresh is due at 3/4 of the TTL: from then on the map
    // sends the module to the socket, which is gone).
    std::thread::sleep(Duration::from_millis(3100));
    assert_eq!(env.nsscall(&["pwnam", "alice"]).0, UNAVAIL);
    assert_eq!(env.nsscall(&["pwnam", "nosuch"]).0, UNAVAIL);
}

#[test]
fn a_corrupted_or_truncated_map_is_ignored() {
    let (_slapd, env) = setup("mapcorrupt", "");
    let users = ["alice", "bob", "carol", "dave", "erin"];
    let mut expected = Vec::new();
    for u in users {
        let (st, _, _, rec) = env.nsscall(&["pwnam", u]);
        assert_eq!(st, SUCCESS);
        expected.push(rec);
    }
    let map = env.map_from_host();
    let original = std::fs::read(&map).unwrap();
    // Scribble over everything after the header (bucket tables and records), in place.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut bytes = original.clone();
    for b in bytes.iter_mut().skip(4096).take(2 * 1024 * 1024) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    std::fs::write(&map, &bytes).unwrap();
    for (u, want) in users.iter().zip(&expected) {
        let (st, _, _, rec) = env.nsscall(&["pwnam", u]);
        assert_eq!((st, &rec), (SUCCESS, want), "{u} after corruption");
    }
    // A truncated map (half of it) replaced over the path.
    std::fs::write(&map, &original[..original.len() / 2]).unwrap();
    for (u, want) in users.iter().zip(&expected) {
        let (st, _, _, rec) = env.nsscall(&["pwnam", u]);
        assert_eq!((st, &rec), (SUCCESS, want), "{u} with a truncated map");
    }
    // Garbage of the right size with a valid-looking header length but wrong magic.
    std::fs::write(&map, vec![0xffu8; original.len()]).unwrap();
    assert_eq!(env.nsscall(&["pwnam", "alice"]).3, ALICE);
}

#[test]
fn stress_64_threads_with_three_daemon_restarts() {
    let (_slapd, mut env) = setup("stress", "");
    let stress = c_harness("stress");
    let module = env.dir.join("lib/libnss_ldaprs.so.2");
    let t0 = Instant::now();
    let mut child = env
        .command(&[
            stress.to_str().unwrap(),
            module.to_str().unwrap(),
            "64",
            "10000",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut restarts = 0;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(150));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        env.stop_daemon();
        std::thread::sleep(Duration::from_millis(50));
        env.start_daemon();
        restarts += 1;
    }
    let out = child.wait_with_output().unwrap();
    let elapsed = t0.elapsed();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{text}restarts during the run: {restarts}; took {elapsed:?}");
    assert!(
        out.status.success(),
        "stress harness died: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        restarts, 3,
        "the run ended before three restarts; raise the iteration count"
    );
    let field = |k: &str| -> u64 {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(k))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(field("lookups="), 640_000);
    assert_eq!(field("wrong="), 0, "{text}");
    assert!(field("ok=") > 100_000, "{text}");
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
}

#[test]
fn a_process_with_stdio_closed_never_gets_written_to() {
    let (_slapd, mut env) = setup("stdio", "");
    let bin = c_harness("stdio");
    let module = env.dir.join("lib/libnss_ldaprs.so.2");
    let prefix = env.dir.join("victim");
    let result = env.dir.join("stdio-result");
    for daemon_up in [true, false] {
        if !daemon_up {
            env.stop_daemon();
        }
        let o = env.run(&[
            bin.to_str().unwrap(),
            module.to_str().unwrap(),
            prefix.to_str().unwrap(),
            result.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{:?}", o.status);
        let r = std::fs::read_to_string(&result).unwrap();
        let want = if daemon_up {
            "alice=1 nosuch=0 group=1"
        } else {
            "alice=-1 nosuch=-1 group=-1"
        };
        assert!(r.starts_with(want), "daemon up {daemon_up}: {r}");
        assert!(
            r.contains(if daemon_up { "pre=1 " } else { "pre=-1 " }),
            "{r}"
        );
        let field = |k: &str| -> i64 {
            r.split_whitespace()
                .find_map(|kv| kv.strip_prefix(k))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        assert_eq!(field("fds_before="), field("fds_after="), "fd leak: {r}");
        for i in 0..3 {
            let v = std::fs::read(format!("{}{i}", prefix.display())).unwrap();
            assert!(
                v.is_empty(),
                "fd {i} was written to: {:?}",
                String::from_utf8_lossy(&v)
            );
        }
    }
}
