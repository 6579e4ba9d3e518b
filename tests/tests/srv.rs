//! DNS SRV discovery (issue 12): `uri = ["dns-srv:srv.test"]` against dnsmasq on a loopback
//! address of its own, the namespace's /etc/resolv.conf naming it. Two slapd behind two SRV
//! targets of different priorities: the second is used only when the first is down; the list
//! is resolved again after the TTL; `ldaprsctl server test` shows the ordered list.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::dns::Dnsmasq;
use ldaprs_tests::{artifact, Env, Slapd};
use std::time::{Duration, Instant};

/// How many searches for `uid=<user>` a slapd's stats log shows.
fn searches_for(log: &str, user: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("SRCH") && l.contains(&format!("(uid={user})")))
        .count()
}

fn records(targets: &[(&str, u16, u16)]) -> Vec<String> {
    let mut v = Vec::new();
    for (host, port, prio) in targets {
        v.push(format!(
            "--srv-host=_ldap._tcp.srv.test,{host}.srv.test,{port},{prio},0"
        ));
        v.push(format!("--host-record={host}.srv.test,127.0.0.1"));
    }
    v
}

fn server_test(env: &Env) -> String {
    let o = env.run(&[
        artifact("ldaprsctl").to_str().unwrap(),
        "--config",
        env.config.to_str().unwrap(),
        "server",
        "test",
    ]);
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn srv_targets_in_priority_order_with_failover_and_ttl() {
    let mut a = Slapd::start("srv-a", "rfc2307.ldif", "rfc2307");
    let b = Slapd::start("srv-b", "rfc2307.ldif", "rfc2307");
    // B published first but with the larger priority number: A comes first.
    let mut dns = Dnsmasq::start("srv", &records(&[("b", b.port, 20), ("a", a.port, 10)]), 2);
    let mut env = Env::new("srv");
    env.bind_file(&dns.resolv_conf, "/etc/resolv.conf");
    env.write_config(&Env::config_uris(
        &["dns-srv:srv.test"],
        "rfc2307",
        "[cache]\nentry_ttl = 0\nnegative_ttl = 0\n",
        "allow_cleartext_passwords = true\nretry_dead_after = 0.5\nretry_dead_max = 2\n",
    ));

    let st = server_test(&env);
    println!("{st}");
    let ta = format!("ldap://a.srv.test:{} (priority 10, weight 0)", a.port);
    let tb = format!("ldap://b.srv.test:{} (priority 20, weight 0)", b.port);
    assert!(st.contains("server test dns-srv:srv.test"), "{st}");
    let (ia, ib) = (st.find(&ta).expect(&st), st.find(&tb).expect(&st));
    assert!(ia < ib, "A (priority 10) must be listed before B:\n{st}");
    assert!(st.contains("TTL 2s"), "{st}");
    assert!(
        st.contains("_ldaps._tcp.srv.test."),
        "the absent _ldaps record is named:\n{st}"
    );
    assert!(
        st.contains(&format!("server test ldap://a.srv.test:{}", a.port)),
        "{st}"
    );

    env.start_daemon();
    for user in ["alice", "bob"] {
        let (code, out) = env.getent(&["-s", "ldaprs", "passwd", user]);
        assert_eq!(code, 0, "{user}: {out}");
    }
    assert!(searches_for(&a.log(), "alice") >= 1, "A answers first");
    assert_eq!(
        searches_for(&b.log(), "alice"),
        0,
        "B is not asked while A is up"
    );
    assert_eq!(searches_for(&b.log(), "bob"), 0);
    let log = env.daemon_log();
    assert!(
        log.contains(&format!(
            "dns-srv:srv.test resolved to ldap://a.srv.test:{}, ldap://b.srv.test:{}",
            a.port, b.port
        )),
        "{log}"
    );

    // A down: B, the lower-priority target, answers.
    a.stop();
    let (code, out) = env.getent(&["-s", "ldaprs", "passwd", "carol"]);
    assert_eq!(code, 0, "{out}");
    assert!(searches_for(&b.log(), "carol") >= 1);

    // New records (A gone, B under a new name): seen once the TTL (2 s, floored at 5 s) passed.
    dns.restart(&records(&[("c", b.port, 10)]), 2);
    let t = Instant::now();
    let want = format!("dns-srv:srv.test resolved to ldap://c.srv.test:{}", b.port);
    while !env.daemon_log().contains(&want) {
        assert!(
            t.elapsed() < Duration::from_secs(12),
            "{}",
            env.daemon_log()
        );
        let (code, out) = env.getent(&["-s", "ldaprs", "passwd", "dave"]);
        assert_eq!(code, 0, "{out}");
        std::thread::sleep(Duration::from_millis(500));
    }
    println!("re-resolved after {:?}", t.elapsed());
    let (code, out) = env.getent(&["-s", "ldaprs", "passwd", "erin"]);
    assert_eq!(code, 0, "{out}");
}

/// No SRV record at all: the daemon still starts, lookups fail at once with the DNS answer
/// named, and `ldaprsctl server test` says what was asked.
#[test]
fn srv_without_records_is_named() {
    let dns = Dnsmasq::start("srv-none", &[], 2);
    let mut env = Env::new("srv-none");
    env.bind_file(&dns.resolv_conf, "/etc/resolv.conf");
    env.write_config(&Env::config_uris(
        &["dns-srv:nothing.test"],
        "rfc2307",
        "[cache]\nentry_ttl = 0\nnegative_ttl = 0\n",
        "allow_cleartext_passwords = true\n",
    ));
    let st = server_test(&env);
    println!("{st}");
    assert!(st.contains("dns lookup"), "{st}");
    assert!(st.contains("_ldap._tcp.nothing.test."), "{st}");
    assert!(st.contains("NOT USABLE"), "{st}");
    env.start_daemon();
    let t = Instant::now();
    let (code, _) = env.getent(&["-s", "ldaprs", "passwd", "alice"]);
    assert_ne!(code, 0);
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    let log = env.daemon_log();
    assert!(
        log.contains("dns-srv:nothing.test: SRV lookup found no server"),
        "{log}"
    );
}

/// Review finding 3: DNS is not authenticated, so an SRV target outside the domain (here the
/// preferred one, `evil.other.test`, and `evilsrv.test`, which ends in the domain's letters
/// but not on a label boundary) is skipped with a warning naming the key that allows it;
/// listed in `referral_hosts`, it is used.
#[test]
fn srv_targets_outside_the_domain_are_skipped() {
    let good = Slapd::start("srv-good", "rfc2307.ldif", "rfc2307");
    let evil = Slapd::start("srv-evil", "rfc2307.ldif", "rfc2307");
    let mut recs = records(&[("a", good.port, 20)]);
    for (host, prio) in [("evil.other.test", 10), ("evilsrv.test", 5)] {
        recs.push(format!(
            "--srv-host=_ldap._tcp.srv.test,{host},{},{prio},0",
            evil.port
        ));
        recs.push(format!("--host-record={host},127.0.0.1"));
    }
    let dns = Dnsmasq::start("srv-outside", &recs, 60);
    let mut env = Env::new("srv-outside");
    env.bind_file(&dns.resolv_conf, "/etc/resolv.conf");
    let config = |extra: &str| {
        Env::config_uris(
            &["dns-srv:srv.test"],
            "rfc2307",
            "[cache]\nentry_ttl = 0\nnegative_ttl = 0\n",
            &format!("allow_cleartext_passwords = true\n{extra}"),
        )
    };
    env.write_config(&config(""));
    let st = server_test(&env);
    println!("{st}");
    let skipped = format!(
        "ldap://evil.other.test:{} skipped: evil.other.test is not srv.test or under it",
        evil.port
    );
    assert!(st.contains(&skipped), "{st}");
    assert!(
        st.contains("list it in referral_hosts = [\"evil.other.test\"]"),
        "{st}"
    );
    assert!(
        !st.contains(&format!("server test ldap://evil.other.test:{}", evil.port)),
        "{st}"
    );

    env.start_daemon();
    for user in ["alice", "bob"] {
        let (code, out) = env.getent(&["-s", "ldaprs", "passwd", user]);
        assert_eq!(code, 0, "{user}: {out}");
    }
    assert!(
        searches_for(&good.log(), "alice") >= 1,
        "{}",
        env.daemon_log()
    );
    assert_eq!(
        searches_for(&evil.log(), "alice"),
        0,
        "{}",
        env.daemon_log()
    );
    assert_eq!(searches_for(&evil.log(), "bob"), 0);
    let log = env.daemon_log();
    assert_eq!(
        log.matches(&skipped).count(),
        1,
        "one warning per skipped target:\n{log}"
    );
    assert!(
        log.contains("evilsrv.test is not srv.test or under it"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "dns-srv:srv.test resolved to ldap://a.srv.test:{} (",
            good.port
        )),
        "{log}"
    );

    // Allowed by the admin: used (it has the lowest priority number of the allowed ones).
    env.stop_daemon();
    env.write_config(&config("referral_hosts = [\"evil.other.test\"]\n"));
    env.start_daemon();
    let (code, out) = env.getent(&["-s", "ldaprs", "passwd", "carol"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        searches_for(&evil.log(), "carol") >= 1,
        "{}",
        env.daemon_log()
    );
    assert!(
        searches_for(&good.log(), "carol") == 0,
        "{}",
        env.daemon_log()
    );
}
