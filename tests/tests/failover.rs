//! Failover across two replicated slapd (mirror mode) with the default timeouts (issue 3):
//! one server SIGSTOPped (accepts, never answers), killed, restarted; both down; both hung.
//! Lookups and logins keep working and the timing targets hold. Caching is off so that every
//! call really goes to LDAP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{artifact, mirror_pair, must, Env, BASE};
use std::process::Command;
use std::time::{Duration, Instant};

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

fn login(env: &Env) -> (i32, Duration) {
    let ((code, out), d) = timed(|| env.pam("alice", "alice-pw", &["authenticate"]));
    assert!(
        code != 0 || out.contains("successfully authenticated"),
        "{out}"
    );
    (code, d)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn status(env: &Env) -> String {
    let o = env.run(&[
        artifact("ldaprsctl").to_str().unwrap(),
        "--config",
        env.config.to_str().unwrap(),
        "status",
    ]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// slapd's stats log has two lines per simple bind; the request line ends in `method=128`.
fn binds_for_alice(log: &str) -> usize {
    log.matches("BIND dn=\"uid=alice,ou=people,dc=example,dc=com\" method=128")
        .count()
}

#[test]
fn failover_between_mirrored_servers() {
    let (mut a, mut b) = mirror_pair("failover", "rfc2307.ldif", "rfc2307");
    // They really replicate: an entry added on A shows up on B.
    let add = "dn: uid=zed,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: zed\ncn: Zed\nsn: Zed\nuidNumber: 10099\ngidNumber: 10001\nhomeDirectory: /home/zed\n";
    let mut child = Command::new("ldapadd")
        .args([
            "-x",
            "-H",
            &a.uri,
            "-D",
            &format!("cn=admin,{BASE}"),
            "-w",
            "secret",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), add.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let t = Instant::now();
    while !must(
        Command::new("ldapsearch").args(["-x", "-LLL", "-H", &b.uri, "-b", BASE, "uid=zed", "dn"]),
    )
    .contains("uid=zed")
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "mirror mode did not replicate"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut env = Env::new("failover");
    // Default timeouts (connect 2 s, operation 5 s, failover_delay 0.4 s); only the probe
    // interval is short so that the test sees the return to A within seconds.
    let extra = "allow_cleartext_passwords = true\nretry_dead_after = 0.5\nretry_dead_max = 2\n";
    env.write_config(&Env::config_uris(
        &[&a.uri, &b.uri],
        "rfc2307",
        "[cache]\nentry_ttl = 0\nnegative_ttl = 0\n",
        extra,
    ));
    env.start_daemon();

    // Healthy: A answers.
    let healthy = median(
        (0..5)
            .map(|_| {
                let (c, d) = login(&env);
                assert_eq!(c, 0);
                d
            })
            .collect(),
    );
    assert!(binds_for_alice(&a.log()) >= 5);
    println!("healthy login: {healthy:?}");

    // A black-holed (SIGSTOP: TCP accepted, no LDAP answer).
    a.freeze();
    let (code, first) = login(&env);
    assert_eq!(code, 0, "login with A hung failed");
    println!("first login with A hung: {first:?}");
    assert!(
        first < Duration::from_millis(1500),
        "first login took {first:?} (goal < 1.5 s)"
    );
    let later = median(
        (0..5)
            .map(|_| {
                let (c, d) = login(&env);
                assert_eq!(c, 0);
                d
            })
            .collect(),
    );
    println!("later logins with A hung: {later:?} (healthy {healthy:?})");
    assert!(
        later < healthy + Duration::from_millis(50),
        "later logins add {:?} (goal < 50 ms)",
        later.saturating_sub(healthy)
    );
    let (code, nss) = timed(|| env.getent(&["-s", "ldaprs", "passwd", "bob"]).0);
    assert_eq!(code, 0);
    assert!(
        nss < Duration::from_millis(200),
        "lookup with A hung took {nss:?}"
    );
    let st = status(&env);
    println!("status with A hung:\n{st}");
    assert!(st.contains(&format!("{} DOWN", a.uri)), "{st}");

    // A back: the background probe finds it, and logins go to A again.
    a.thaw();
    let t = Instant::now();
    while !status(&env).contains(&format!("{} up", a.uri)) {
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "A never came back:\n{}",
            status(&env)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("A back in service after {:?}", t.elapsed());
    let before = binds_for_alice(&a.log());
    assert_eq!(login(&env).0, 0);
    assert_eq!(
        binds_for_alice(&a.log()),
        before + 1,
        "login after recovery did not go to A"
    );

    // A killed (connection refused): B answers at once.
    a.stop();
    let (code, d) = login(&env);
    assert_eq!(code, 0);
    println!("login with A stopped: {d:?}");
    assert!(d < Duration::from_millis(1500));
    assert_eq!(env.getent(&["-s", "ldaprs", "group", "developers"]).0, 0);

    // A restarted on the same port with the same data.
    a.restart();
    let t = Instant::now();
    while !status(&env).contains(&format!("{} up", a.uri)) {
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "A not back after restart:\n{}",
            status(&env)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(login(&env).0, 0);

    // Both refuse connections: PAM_AUTHINFO_UNAVAIL fast, NSS UNAVAIL fast.
    a.stop();
    b.stop();
    let ((code, out), d) = timed(|| env.pam("alice", "alice-pw", &["authenticate"]));
    assert_ne!(code, 0);
    assert!(out.contains("cannot retrieve authentication info"), "{out}");
    println!("login with both servers down: {d:?}");
    assert!(
        d < Duration::from_millis(300),
        "all servers down took {d:?} (goal < 0.3 s)"
    );
    // A name never looked up here is unavailable, fast; bob, looked up before, now comes from
    // the persistent cache (offline mode, issue 11), as fast.
    let (st, _, us, _) = env.nsscall(&["pwnam", "dave"]);
    assert_eq!(st, -1);
    assert!(us < 300_000, "lookup with both down took {us} µs");
    let (st, _, us, _) = env.nsscall(&["pwnam", "bob"]);
    assert_eq!(st, 1);
    assert!(us < 300_000, "offline lookup of a cached user took {us} µs");

    // Both hung: every call still ends (NSS within its 3 s budget, PAM within 12 s).
    a.restart();
    b.restart();
    a.freeze();
    b.freeze();
    let ((code, _), d) = timed(|| env.pam("alice", "alice-pw", &["authenticate"]));
    assert_ne!(code, 0);
    println!("login with both servers hung: {d:?}");
    assert!(d < Duration::from_secs(12), "PAM call took {d:?}");
    let (st, _, us, _) = env.nsscall(&["pwnam", "carol"]);
    assert_eq!(st, -1);
    println!("lookup with both servers hung: {us} µs");
    assert!(us < 3_500_000, "NSS call took {us} µs");
    a.thaw();
    b.thaw();
}
