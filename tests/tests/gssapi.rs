//! SASL GSSAPI service binds (issue 12) against a real MIT KDC and slapd with Cyrus SASL's
//! GSSAPI module: lookups through the daemon's own ticket from its keytab (private memory
//! cache), `ldaprsctl server test` showing the identity, a ticket renewed across its expiry,
//! a virtual name served through `server_principal`, and each named error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::krb::{client_conf, Kdc};
use ldaprs_tests::{artifact, free_port, Env, Slapd, SlapdOpts, BASE};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const REALM: &str = "KRB.TEST";
const HOST: &str = "host/client.krb.test";

/// A KDC, a slapd that accepts GSSAPI as ldap/ldap.krb.test (host principals mapped to
/// `cn=<host>,ou=hosts,<base>`), and the daemon's keytab with `host/client.krb.test`.
struct Realm {
    kdc: Kdc,
    slapd: Slapd,
    keytab: PathBuf,
}

fn realm(name: &str, host_life: Option<&str>) -> Realm {
    let kdc = Kdc::start(name, REALM, "krb.test");
    let keytab = kdc.dir.join("client.keytab");
    kdc.service(HOST, &keytab);
    if let Some(life) = host_life {
        kdc.kadmin(&format!("modprinc -maxlife \"{life}\" {HOST}"));
    }
    let slapd_kt = kdc.dir.join("slapd.keytab");
    kdc.service("ldap/ldap.krb.test", &slapd_kt);
    let mut env = kdc.env();
    env.push(("KRB5_KTNAME".into(), slapd_kt.display().to_string()));
    let opts = SlapdOpts {
        global: format!(
            "sasl-host ldap.krb.test\nsasl-realm {REALM}\nauthz-regexp \"^uid=host/([^,]+)(,cn=krb.test)?,cn=gssapi,cn=auth$\" \"cn=$1,ou=hosts,{BASE}\""
        ),
        env,
        ..Default::default()
    };
    let ldif = ldaprs_tests::workspace().join("tests/fixtures/rfc2307.ldif");
    let slapd = Slapd::start_with(name, &ldif, "rfc2307", opts);
    Realm { kdc, slapd, keytab }
}

/// A namespace where ldap.krb.test, ldap2.krb.test and client.krb.test are 127.0.0.1 and
/// KRB5_CONFIG is the realm's.
fn env_for(name: &str, krb5_conf: &Path) -> Env {
    let mut env = Env::new(name);
    let mut hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    hosts.push_str("\n127.0.0.1 ldap.krb.test ldap2.krb.test client.krb.test\n");
    let p = env.dir.join("hosts");
    std::fs::write(&p, hosts).unwrap();
    env.bind_file(&p, "/etc/hosts");
    env.set_env("KRB5_CONFIG", &krb5_conf.display().to_string());
    env
}

fn config(host: &str, port: u16, sasl: &str) -> String {
    Env::config_uris(
        &[&format!("ldap://{host}:{port}")],
        "rfc2307",
        "[cache]\nentry_ttl = 0\nnegative_ttl = 0\n",
        &format!("retry_dead_after = 0.5\nretry_dead_max = 1\n\n[servers.sasl]\nmech = \"GSSAPI\"\n{sasl}"),
    )
}

fn server_test(env: &Env, extra_env: &[&str]) -> String {
    let mut argv: Vec<String> = vec!["env".into()];
    argv.extend(extra_env.iter().map(|s| s.to_string()));
    argv.push(artifact("ldaprsctl").display().to_string());
    argv.extend([
        "--config".into(),
        env.config.display().to_string(),
        "server".into(),
        "test".into(),
    ]);
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = env.run(&refs);
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn kt(p: &Path) -> String {
    format!("keytab = \"{}\"\nprincipal = \"{HOST}\"\n", p.display())
}

#[test]
fn gssapi_bind_serves_lookups_and_shows_the_identity() {
    let r = realm("gss", None);
    let mut env = env_for("gss", &r.kdc.krb5_conf);
    env.write_config(&config("ldap.krb.test", r.slapd.port, &kt(&r.keytab)));
    let st = server_test(&env, &[]);
    println!("{st}");
    let who = format!("dn:cn=client.krb.test,ou=hosts,{BASE}");
    assert!(
        st.contains(&format!(
            "SASL GSSAPI as {HOST}@{REALM} to ldap/ldap.krb.test: ok; who am I: {who}"
        )),
        "{st}"
    );
    assert!(st.contains("verdict                usable"), "{st}");

    env.start_daemon();
    let (code, out) = env.getent(&["-s", "ldaprs", "passwd", "alice"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert!(out.starts_with("alice:"), "{out}");
    let log = env.daemon_log();
    assert!(
        log.contains(&format!("the directory knows us as {who}")),
        "{log}"
    );
    assert!(
        log.contains("into MEMORY:ldaprsd-test-"),
        "a private memory cache: {log}"
    );
    let slog = r.slapd.log();
    assert!(
        slog.contains("mech=GSSAPI") && slog.contains("cn=client.krb.test,ou=hosts"),
        "{slog}"
    );
}

/// A host ticket of 20 s: lookups go on across two expiries; the daemon renews its ticket
/// (new AS exchanges in the KDC's log) and replaces connections before their context ends.
#[test]
fn ticket_is_renewed_across_its_expiry() {
    let r = realm("gss-renew", Some("20 seconds"));
    let mut env = env_for("gss-renew", &r.kdc.krb5_conf);
    env.write_config(&config("ldap.krb.test", r.slapd.port, &kt(&r.keytab)));
    env.start_daemon();
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < Duration::from_secs(45) {
        let user = ["alice", "bob", "carol"][n % 3];
        let (code, out) = env.getent(&["-s", "ldaprs", "passwd", user]);
        assert_eq!(
            code,
            0,
            "lookup {n} at {:?}: {out}\n{}",
            t.elapsed(),
            env.daemon_log()
        );
        n += 1;
        std::thread::sleep(Duration::from_millis(700));
    }
    let log = env.daemon_log();
    let renewed = log
        .matches("Kerberos ticket for host/client.krb.test@KRB.TEST renewed")
        .count();
    assert!(
        renewed >= 2,
        "{renewed} renewals in 45 s of 20 s tickets:\n{log}"
    );
    assert!(
        !log.contains("marked down"),
        "no URI failed on the way:\n{log}"
    );
    let as_reqs = r.kdc.log().matches("AS_REQ").count();
    println!("{n} lookups, {renewed} renewals, {as_reqs} AS requests");
    assert!(as_reqs >= 3, "{}", r.kdc.log());
}

/// The errors an admin meets, each with its message: keytab unreadable, principal not in the
/// keytab, server principal unknown (and the virtual name fixed by `server_principal`), KDC
/// unreachable.
#[test]
fn gssapi_errors_are_named() {
    let r = realm("gss-err", None);
    let env = env_for("gss-err", &r.kdc.krb5_conf);

    env.write_config(&config(
        "ldap.krb.test",
        r.slapd.port,
        "keytab = \"/nonexistent/krb5.keytab\"\n",
    ));
    let st = server_test(&env, &[]);
    println!("{st}");
    assert!(
        st.contains("keytab /nonexistent/krb5.keytab cannot be read by ldaprsd (uid 0)"),
        "{st}"
    );
    assert!(
        st.contains("LoadCredential=krb5.keytab:/nonexistent/krb5.keytab"),
        "{st}"
    );
    assert!(st.contains("NOT USABLE"), "{st}");

    env.write_config(&config(
        "ldap.krb.test",
        r.slapd.port,
        &format!(
            "keytab = \"{}\"\nprincipal = \"host/other.krb.test\"\n",
            r.keytab.display()
        ),
    ));
    let st = server_test(&env, &[]);
    println!("{st}");
    assert!(
        st.contains(&format!("principal host/other.krb.test ([servers.sasl] principal) is not in keytab {}: it holds {HOST}@{REALM}", r.keytab.display())),
        "{st}"
    );

    // ldap2.krb.test is the same slapd under a name the KDC has no principal for.
    env.write_config(&config("ldap2.krb.test", r.slapd.port, &kt(&r.keytab)));
    let st = server_test(&env, &[]);
    println!("{st}");
    assert!(
        st.contains("does not know the server principal ldap/ldap2.krb.test"),
        "{st}"
    );
    assert!(st.contains("set [servers.sasl] server_principal"), "{st}");
    // The shared name given: it works.
    env.write_config(&config(
        "ldap2.krb.test",
        r.slapd.port,
        &format!(
            "{}server_principal = \"ldap/ldap.krb.test\"\n",
            kt(&r.keytab)
        ),
    ));
    let st = server_test(&env, &[]);
    assert!(
        st.contains("to ldap/ldap.krb.test: ok; who am I: dn:cn=client.krb.test"),
        "{st}"
    );

    // A KDC (same realm, its own keys) whose clock is two hours ahead, and a client that
    // does not adopt the KDC's time (kdc_timesync = 0): clock skew, named.
    let skewed = Kdc::start_skewed("gss-err-skew", REALM, "krb.test", Some("+2h"));
    let skew_kt = skewed.dir.join("client.keytab");
    skewed.service(HOST, &skew_kt);
    let conf = std::fs::read_to_string(&skewed.krb5_conf).unwrap();
    let skew_conf = skewed.dir.join("no-timesync.conf");
    std::fs::write(
        &skew_conf,
        conf.replace("[libdefaults]\n", "[libdefaults]\n kdc_timesync = 0\n"),
    )
    .unwrap();
    env.write_config(&config("ldap.krb.test", r.slapd.port, &kt(&skew_kt)));
    let st = server_test(&env, &[&format!("KRB5_CONFIG={}", skew_conf.display())]);
    println!("{st}");
    assert!(
        st.contains("clock skew: the KDC's clock and ours differ by more than the allowed skew"),
        "{st}"
    );
    assert!(st.contains("ours says"), "{st}");

    // A krb5.conf whose KDC port is closed.
    let dead = r.kdc.dir.join("dead-krb5.conf");
    std::fs::write(&dead, client_conf(REALM, "krb.test", free_port())).unwrap();
    env.write_config(&config("ldap.krb.test", r.slapd.port, &kt(&r.keytab)));
    let t = Instant::now();
    let st = server_test(&env, &[&format!("KRB5_CONFIG={}", dead.display())]);
    println!("{st}");
    assert!(st.contains("no KDC of realm KRB.TEST answered"), "{st}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
}

/// Two slapd behind one name (ldap.krb.test, two ports) sharing the ldap/ principal's key:
/// with the first one down, lookups go on through the second, with a GSSAPI bind there.
#[test]
fn gssapi_failover_between_two_servers_of_one_name() {
    let r = realm("gss-fo", None);
    let slapd_kt = r.kdc.dir.join("slapd.keytab");
    let mut env_b = r.kdc.env();
    env_b.push(("KRB5_KTNAME".into(), slapd_kt.display().to_string()));
    let opts = SlapdOpts {
        global: format!(
            "sasl-host ldap.krb.test\nsasl-realm {REALM}\nauthz-regexp \"^uid=host/([^,]+)(,cn=krb.test)?,cn=gssapi,cn=auth$\" \"cn=$1,ou=hosts,{BASE}\""
        ),
        env: env_b,
        ..Default::default()
    };
    let ldif = ldaprs_tests::workspace().join("tests/fixtures/rfc2307.ldif");
    let b = Slapd::start_with("gss-fo-b", &ldif, "rfc2307", opts);
    let Realm {
        kdc,
        slapd: mut a,
        keytab,
    } = r;
    let mut env = env_for("gss-fo", &kdc.krb5_conf);
    env.write_config(&Env::config_uris(
        &[
            &format!("ldap://ldap.krb.test:{}", a.port),
            &format!("ldap://ldap.krb.test:{}", b.port),
        ],
        "rfc2307",
        "[cache]\nentry_ttl = 0\nnegative_ttl = 0\n",
        &format!(
            "retry_dead_after = 0.5\nretry_dead_max = 1\n\n[servers.sasl]\nmech = \"GSSAPI\"\n{}",
            kt(&keytab)
        ),
    ));
    env.start_daemon();
    let (code, out) = env.getent(&["-s", "ldaprs", "passwd", "alice"]);
    assert_eq!(code, 0, "{out}");
    a.stop();
    for user in ["bob", "carol"] {
        let (code, out) = env.getent(&["-s", "ldaprs", "passwd", user]);
        assert_eq!(code, 0, "{user}: {out}\n{}", env.daemon_log());
    }
    let blog = b.log();
    assert!(
        blog.contains("mech=GSSAPI") && blog.contains("(uid=bob)"),
        "{blog}"
    );
}
