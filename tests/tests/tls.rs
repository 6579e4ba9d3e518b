//! TLS against slapd with certificates made at test time (issue 3): a good certificate works
//! over LDAPS and StartTLS; self-signed, expired and wrong-host certificates are refused with a
//! message naming the server and the reason; a refused StartTLS never falls back to plain text;
//! passwords are not sent over plain LDAP unless allowed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{artifact, workspace, Cert, Env, Slapd, SlapdOpts, TestCa};
use std::process::Command;

fn tls_slapd(name: &str, ca: &TestCa, cert: &Cert) -> Slapd {
    let opts = SlapdOpts {
        global: cert.slapd_global(&ca.cert),
        ldaps: true,
        ..Default::default()
    };
    Slapd::start_with(
        name,
        &workspace().join("tests/fixtures/rfc2307.ldif"),
        "rfc2307",
        opts,
    )
}

/// Starts the daemon with `config`, runs `check`, stops it; returns the daemon log.
fn with_daemon(env: &mut Env, config: &str, check: impl FnOnce(&Env)) -> String {
    env.write_config(config);
    let _ = std::fs::remove_file(env.dir.join("ldaprsd.log"));
    env.start_daemon();
    check(env);
    env.stop_daemon();
    env.daemon_log()
}

#[test]
fn good_certificate_over_ldaps_and_starttls() {
    let ca = TestCa::new("good");
    let cert = ca.issue("server", "IP:127.0.0.1", false);
    let slapd = tls_slapd("tls-good", &ca, &cert);
    let mut env = Env::new("tls-good");
    let tls = format!("[servers.tls]\nca_file = \"{}\"\n", ca.cert.display());

    // LDAPS, verified, and a login whose password goes over TLS (no cleartext allowance).
    let cfg = Env::config_uris(&[&slapd.ldaps_uri], "rfc2307", "", &tls);
    let log = with_daemon(&mut env, &cfg, |env| {
        assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 0);
        let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
        assert_eq!(code, 0, "{out}");
    });
    assert!(
        log.contains("auth user=alice") && log.contains("success"),
        "{log}"
    );
    assert!(!log.contains("CLEAR TEXT"), "{log}");

    // StartTLS on the plain port.
    let cfg = Env::config_uris(
        &[&slapd.uri],
        "rfc2307",
        "",
        &format!("{tls}mode = \"starttls\"\n"),
    );
    with_daemon(&mut env, &cfg, |env| {
        assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "bob"]).0, 0);
        assert_eq!(env.pam("bob", "bob-pw", &["authenticate"]).0, 0);
    });
    let slog = slapd.log();
    assert!(
        slog.contains("EXT oid=1.3.6.1.4.1.1466.20037"),
        "slapd saw no StartTLS"
    );
}

#[test]
fn bad_certificates_are_refused_with_the_reason() {
    let ca = TestCa::new("bad");
    let cases = [
        (
            "self-signed",
            ca.self_signed("selfsigned", "IP:127.0.0.1"),
            "not signed by a CA in ca_file",
        ),
        (
            "expired",
            ca.issue("expired", "IP:127.0.0.1", true),
            "has expired",
        ),
        (
            "wrong-host",
            ca.issue("wronghost", "DNS:other.example.com", false),
            "not issued for this host",
        ),
    ];
    let mut env = Env::new("tls-bad");
    for (label, cert, reason) in cases {
        let slapd = tls_slapd(&format!("tls-{label}"), &ca, &cert);
        let tls = format!("[servers.tls]\nca_file = \"{}\"\n", ca.cert.display());
        let cfg = Env::config_uris(&[&slapd.ldaps_uri], "rfc2307", "", &tls);
        let log = with_daemon(&mut env, &cfg, |env| {
            assert_eq!(
                env.getent(&["-s", "ldaprs", "passwd", "alice"]).0,
                2,
                "{label}"
            );
            let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
            assert_ne!(code, 0, "{label}: {out}");
            assert!(
                out.contains("cannot retrieve authentication info"),
                "{label}: {out}"
            );
        });
        let line = log
            .lines()
            .find(|l| l.contains(&slapd.ldaps_uri) && l.contains(reason));
        println!("{label}: {}", line.unwrap_or("(none)"));
        assert!(
            line.is_some_and(|l| l.contains("server test")),
            "{label}: no line naming the server and `{reason}` in:\n{log}"
        );
        // Nothing but the handshake reached slapd: no bind, no search.
        let slog = slapd.log();
        assert!(
            !slog.contains("BIND dn=") && !slog.contains("SRCH base="),
            "{label}: slapd saw LDAP traffic:\n{slog}"
        );
    }
}

#[test]
fn refused_starttls_never_falls_back_to_plain_text() {
    // A slapd without any TLS set-up answers StartTLS with an error.
    let slapd = Slapd::start("notls", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("notls");
    let cfg = Env::config_uris(
        &[&slapd.uri],
        "rfc2307",
        "",
        "[servers.tls]\nmode = \"starttls\"\n",
    );
    let log = with_daemon(&mut env, &cfg, |env| {
        assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 2);
        assert_ne!(env.pam("alice", "alice-pw", &["authenticate"]).0, 0);
    });
    let slog = slapd.log();
    assert!(slog.contains("EXT oid=1.3.6.1.4.1.1466.20037"), "{slog}");
    assert!(
        !slog.contains("BIND dn=") && !slog.contains("SRCH base="),
        "plain-text LDAP after a refused StartTLS:\n{slog}"
    );
    let line = log
        .lines()
        .find(|l| l.contains("server test") && l.contains("connect"))
        .unwrap_or("");
    println!("refused StartTLS: {line}");
    assert!(!line.is_empty(), "{log}");
}

#[test]
fn passwords_are_not_sent_over_plain_ldap_unless_allowed() {
    let slapd = Slapd::start("plainpw", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("plainpw");
    let cfg = Env::config_uris(&[&slapd.uri], "rfc2307", "", "");
    let log = with_daemon(&mut env, &cfg, |env| {
        // Lookups work (no secret in them), logins do not.
        assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 0);
        assert_ne!(env.pam("alice", "alice-pw", &["authenticate"]).0, 0);
    });
    assert!(
        log.contains("user passwords will not be sent there"),
        "{log}"
    );
    assert!(log.contains("the password was not sent"), "{log}");
    assert!(
        !slapd.log().contains("BIND dn=\"uid=alice"),
        "alice's password reached slapd over plain LDAP"
    );
    // Allowed explicitly: works, and the log says so loudly at start.
    let cfg = Env::config_uris(
        &[&slapd.uri],
        "rfc2307",
        "",
        "allow_cleartext_passwords = true\n",
    );
    let log = with_daemon(&mut env, &cfg, |env| {
        assert_eq!(env.pam("alice", "alice-pw", &["authenticate"]).0, 0);
    });
    assert!(
        log.contains("USER PASSWORDS ARE SENT IN CLEAR TEXT"),
        "{log}"
    );
}

#[test]
fn server_test_shows_why_a_server_is_or_is_not_used() {
    let ca = TestCa::new("srvtest");
    let good = tls_slapd(
        "srvtest-good",
        &ca,
        &ca.issue("good", "IP:127.0.0.1", false),
    );
    let bad = tls_slapd(
        "srvtest-bad",
        &ca,
        &ca.issue("wrong", "DNS:other.example.com", false),
    );
    let env = Env::new("srvtest");
    let tls = format!("[servers.tls]\nca_file = \"{}\"\n", ca.cert.display());
    env.write_config(&Env::config_uris(
        &[&good.ldaps_uri, &bad.ldaps_uri, "ldap://127.0.0.1:1"],
        "rfc2307",
        "",
        &tls,
    ));
    let o = Command::new(artifact("ldaprsctl"))
        .args(["--config", env.config.to_str().unwrap(), "server", "test"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    println!("{out}");
    assert_eq!(
        o.status.code(),
        Some(1),
        "a broken server must make the exit code 1"
    );
    let sections: Vec<&str> = out
        .split("server test ")
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(sections.len(), 3, "{out}");
    let good_s = sections[0];
    assert!(
        good_s.contains("tcp connect") && good_s.contains("TLSv1_3"),
        "{good_s}"
    );
    assert!(
        good_s.contains("subject CN=good") && good_s.contains("issuer CN=ldaprs test CA"),
        "{good_s}"
    );
    assert!(good_s.contains("verification           ok"), "{good_s}");
    assert!(
        good_s.contains("naming contexts        dc=example,dc=com"),
        "{good_s}"
    );
    assert!(
        good_s.contains("1.2.840.113556.1.4.319 (paged results)"),
        "{good_s}"
    );
    assert!(good_s.contains("verdict                usable"), "{good_s}");
    let bad_s = sections[1];
    assert!(
        bad_s.contains("verification           FAILED")
            && bad_s.contains("not issued for this host"),
        "{bad_s}"
    );
    assert!(bad_s.contains("subject CN=wrong"), "{bad_s}");
    assert!(bad_s.contains("NOT USABLE"), "{bad_s}");
    let down = sections[2];
    assert!(
        down.contains("tcp connect            FAILED") && down.contains("NOT USABLE"),
        "{down}"
    );
}

#[test]
fn client_certificate_is_presented_when_the_server_demands_one() {
    let ca = TestCa::new("mtls");
    let server = ca.issue("mtls-server", "IP:127.0.0.1", false);
    let client = ca.issue("ldaprs-client", "DNS:client.example.com", false);
    let opts = SlapdOpts {
        global: format!("{}TLSVerifyClient demand\n", server.slapd_global(&ca.cert)),
        ldaps: true,
        ..Default::default()
    };
    let slapd = Slapd::start_with(
        "mtls",
        &workspace().join("tests/fixtures/rfc2307.ldif"),
        "rfc2307",
        opts,
    );
    let mut env = Env::new("mtls");
    // Without a client certificate the server refuses the handshake.
    let tls = format!("[servers.tls]\nca_file = \"{}\"\n", ca.cert.display());
    let log = with_daemon(
        &mut env,
        &Env::config_uris(&[&slapd.ldaps_uri], "rfc2307", "", &tls),
        |env| {
            assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 2);
        },
    );
    let line = log
        .lines()
        .find(|l| l.contains("marked down"))
        .unwrap_or("");
    println!("without a client certificate: {line}");
    assert!(!line.is_empty(), "{log}");
    // With one, it works (lookups and a login).
    let tls = format!(
        "{tls}client_cert = \"{}\"\nclient_key = \"{}\"\n",
        client.cert.display(),
        client.key.display()
    );
    with_daemon(
        &mut env,
        &Env::config_uris(&[&slapd.ldaps_uri], "rfc2307", "", &tls),
        |env| {
            assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 0);
            assert_eq!(env.pam("alice", "alice-pw", &["authenticate"]).0, 0);
        },
    );
}
