//! Kerberos password logins (issue 12, `[servers.auth] method = "krb5"`) through pamtester and
//! the built PAM module: the password goes to a real MIT KDC (not to slapd), the ticket is
//! verified against the host keytab, and a second KDC of the same realm name whose keys do
//! not match the keytab logs nobody in. Lookups still come from slapd.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::krb::Kdc;
use ldaprs_tests::{Env, Slapd};
use std::path::Path;
use std::time::{Duration, Instant};

const REALM: &str = "KRB.TEST";
const HOST: &str = "host/client.krb.test";

/// A KDC with alice (krb-alice-pw), bob (password expired) and the host principal in `keytab`.
fn kdc(name: &str, keytab: &Path, alice_pw: &str) -> Kdc {
    let kdc = Kdc::start(name, REALM, "krb.test");
    kdc.service(HOST, keytab);
    kdc.user("alice", alice_pw);
    kdc.kadmin("addprinc -pw bob-krb-pw -pwexpire yesterday bob");
    kdc
}

fn config(slapd: &Slapd, keytab: &Path) -> String {
    config_top(slapd, keytab, "")
}

fn config_top(slapd: &Slapd, keytab: &Path, top: &str) -> String {
    Env::config_for(
        slapd,
        "rfc2307",
        &format!("[cache]\nentry_ttl = 0\nnegative_ttl = 0\n{top}"),
        &format!(
            "\n[servers.auth]\nmethod = \"krb5\"\nrealm = \"{REALM}\"\nkeytab = \"{}\"\nverify_principal = \"{HOST}\"\n",
            keytab.display()
        ),
    )
}

#[test]
fn krb5_logins_right_wrong_expired_unknown_and_spoofed() {
    let slapd = Slapd::start("krb5-login", "rfc2307.ldif", "rfc2307");
    let dir = ldaprs_tests::scratch("krb5-login-keys");
    let keytab = dir.join("host.keytab");
    let real = kdc("krb5-login", &keytab, "krb-alice-pw");
    let mut env = Env::new("krb5-login");
    env.set_env("KRB5_CONFIG", &real.krb5_conf.display().to_string());
    env.write_config(&config(&slapd, &keytab));
    env.start_daemon();

    let (code, out) = env.pam("alice", "krb-alice-pw", &["authenticate"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert!(out.contains("successfully authenticated"), "{out}");
    assert!(
        real.log().contains("AS_REQ") && real.log().contains("alice@KRB.TEST"),
        "{}",
        real.log()
    );
    assert!(
        !slapd.log().contains("BIND dn=\"uid=alice"),
        "the password never went to slapd"
    );

    // The directory's password is not the KDC's: refused.
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("Authentication failure"), "{out}");

    // Expired at the KDC (the password itself right): no login (a KDC's KEY_EXPIRED cannot
    // be verified against the keytab), the user told how to change it.
    let (code, out) = env.pam("bob", "bob-krb-pw", &["authenticate", "acct_mgmt"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("Your password has expired. Change it with kpasswd")
            && out.contains("Authentication failure"),
        "{out}\n{}",
        env.daemon_log()
    );
    let (code, out) = env.pam("bob", "not-bobs", &["authenticate"]);
    assert_ne!(code, 0, "an expired password is still checked: {out}");

    // In the directory, not in the KDC.
    let (code, out) = env.pam("carol", "whatever", &["authenticate"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        env.daemon_log()
            .contains("the KDC has no principal carol@KRB.TEST"),
        "{}",
        env.daemon_log()
    );

    // A KDC of the same realm name that knows alice's password but not our host key: its
    // "yes" is not believed.
    let fake_keys = dir.join("fake-host.keytab");
    let fake = kdc("krb5-login-fake", &fake_keys, "krb-alice-pw");
    env.stop_daemon();
    env.set_env("KRB5_CONFIG", &fake.krb5_conf.display().to_string());
    env.start_daemon();
    let (code, out) = env.pam("alice", "krb-alice-pw", &["authenticate"]);
    assert_ne!(code, 0, "the spoofed KDC logged alice in: {out}");
    assert!(
        fake.log().contains("AS_REQ"),
        "the fake KDC was asked: {}",
        fake.log()
    );
    let log = env.daemon_log();
    assert!(
        log.contains("our keytab") && log.contains("cannot decrypt"),
        "{log}"
    );
    println!(
        "{}",
        log.lines()
            .filter(|l| l.contains("Kerberos"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // No KDC at all: unavailable (PAM_AUTHINFO_UNAVAIL), quickly.
    drop(fake);
    let t = Instant::now();
    let (code, out) = env.pam("alice", "krb-alice-pw", &["authenticate"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("Authentication service cannot retrieve authentication info"),
        "{out}"
    );
    assert!(t.elapsed() < Duration::from_secs(12), "{:?}", t.elapsed());
}

/// Review finding 1: a rogue KDC of the realm answers KDC_ERR_KEY_EXPIRED for alice and then
/// grants a kadmin/changepw ticket for the password it chose (it knows that key, not our host
/// key). Nothing of that is verifiable, so nobody logs in and no password is cached for
/// offline logins.
#[test]
fn rogue_kdc_key_expired_logs_nobody_in_and_caches_nothing() {
    let slapd = Slapd::start("krb5-rogue", "rfc2307.ldif", "rfc2307");
    let dir = ldaprs_tests::scratch("krb5-rogue-keys");
    let keytab = dir.join("host.keytab");
    let real = kdc("krb5-rogue-real", &keytab, "krb-alice-pw");
    let rogue = kdc("krb5-rogue", &dir.join("rogue-host.keytab"), "attacker-pw");
    rogue.kadmin("modprinc -pwexpire yesterday alice");
    let mut env = Env::new("krb5-rogue");
    env.set_env("KRB5_CONFIG", &rogue.krb5_conf.display().to_string());
    env.write_config(&config_top(
        &slapd,
        &keytab,
        "\n[offline]\ncache_credentials = true\n",
    ));
    env.start_daemon();

    for ops in [&["authenticate"][..], &["authenticate", "acct_mgmt"][..]] {
        let (code, out) = env.pam("alice", "attacker-pw", ops);
        assert_ne!(
            code,
            0,
            "the rogue KDC logged alice in: {out}\n{}",
            env.daemon_log()
        );
        assert!(
            out.contains("Your password has expired"),
            "{out}\n{}",
            env.daemon_log()
        );
    }
    assert!(
        rogue.log().contains("AS_REQ") && rogue.log().contains("kadmin/changepw"),
        "the rogue KDC was asked: {}",
        rogue.log()
    );
    assert!(!real.log().contains("alice@"), "{}", real.log());
    let log = env.daemon_log();
    assert!(log.contains("KDC_ERR_KEY_EXPIRED"), "{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("auth user=alice") && l.contains("success")),
        "{log}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let o = env.run(&[
        ldaprs_tests::artifact("ldaprsctl").to_str().unwrap(),
        "--config",
        env.config.to_str().unwrap(),
        "cache",
        "show",
        "alice",
    ]);
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        shown.contains("not possible: no cached password"),
        "{shown}\n{log}"
    );
    assert!(!env.state_from_host().join("credentials.db").exists());
    println!(
        "{}",
        log.lines()
            .filter(|l| l.contains("alice"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Review finding 10: the principal comes from the entry found. With `principal_attribute =
/// "mail"`, carol's entry names `carol.d@KRB.TEST`; a KDC account `carol` (someone else's,
/// named like her uid) no longer logs her in, and an entry without the attribute is refused
/// with the reason logged.
#[test]
fn principal_from_the_entry_attribute() {
    let slapd = Slapd::start("krb5-upn", "rfc2307.ldif", "rfc2307");
    slapd.modify(
        "dn: uid=carol,ou=people,dc=example,dc=com\nchangetype: modify\nadd: mail\nmail: carol.d@KRB.TEST\n",
    );
    let dir = ldaprs_tests::scratch("krb5-upn-keys");
    let keytab = dir.join("host.keytab");
    let real = kdc("krb5-upn", &keytab, "krb-alice-pw");
    real.user("carol.d", "carol-krb-pw");
    real.user("carol", "not-carols-account");
    let mut env = Env::new("krb5-upn");
    env.set_env("KRB5_CONFIG", &real.krb5_conf.display().to_string());
    let conf = config(&slapd, &keytab).replace(
        "[servers.auth]\n",
        "[servers.auth]\nprincipal_attribute = \"mail\"\n",
    );
    assert!(conf.contains("principal_attribute"), "{conf}");
    env.write_config(&conf);
    env.start_daemon();

    let (code, out) = env.pam("carol", "carol-krb-pw", &["authenticate"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert!(real.log().contains("carol.d@KRB.TEST"), "{}", real.log());
    let (code, out) = env.pam("carol", "not-carols-account", &["authenticate"]);
    assert_ne!(
        code, 0,
        "the KDC account named like the uid logged carol in: {out}"
    );

    let (code, out) = env.pam("alice", "krb-alice-pw", &["authenticate"]);
    assert_ne!(code, 0, "{out}");
    let log = env.daemon_log();
    assert!(
        log.contains("has no mail ([servers.auth] principal_attribute)"),
        "{log}"
    );
}

/// Password changes at the KDC (kpasswd through kadmind): bob's expired password is replaced
/// through the PAM module's chauthtok as bob, then he logs in with the new one; a wrong
/// current password and a password the KDC's policy refuses are told apart.
#[test]
fn krb5_password_change_through_kpasswd() {
    let slapd = Slapd::start("krb5-chpw", "rfc2307.ldif", "rfc2307");
    let dir = ldaprs_tests::scratch("krb5-chpw-keys");
    let keytab = dir.join("host.keytab");
    let mut real = kdc("krb5-chpw", &keytab, "krb-alice-pw");
    real.kadmin("addpol -minlength 10 strict");
    real.kadmin("modprinc -policy strict alice");
    real.start_kadmind();
    let mut env = Env::new("krb5-chpw");
    env.set_env("KRB5_CONFIG", &real.krb5_conf.display().to_string());
    env.write_config(&config(&slapd, &keytab));
    env.start_daemon();
    let bob = Some(10002);
    let alice = Some(10001);

    let (code, out) = env.pamtester(
        "bob",
        &["not-bobs", "New-Bob-Pw-1", "New-Bob-Pw-1"],
        &["chauthtok"],
        &[],
        bob,
    );
    assert_ne!(code, 0, "{out}");
    // The module checks the current password first (an Authenticate): refused there.
    assert!(
        out.contains("Authentication failure"),
        "{out}\n{}",
        env.daemon_log()
    );

    let (code, out) = env.pamtester(
        "bob",
        &["bob-krb-pw", "New-Bob-Pw-1", "New-Bob-Pw-1"],
        &["chauthtok"],
        &[],
        bob,
    );
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    let (code, out) = env.pam("bob", "New-Bob-Pw-1", &["authenticate"]);
    assert_eq!(code, 0, "the new password logs in: {out}");
    let (code, _) = env.pam("bob", "bob-krb-pw", &["authenticate"]);
    assert_ne!(code, 0, "the old one no longer does");

    let (code, out) = env.pamtester(
        "alice",
        &["krb-alice-pw", "short1", "short1"],
        &["chauthtok"],
        &[],
        alice,
    );
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("The directory refused the new password"),
        "{out}\n{}",
        env.daemon_log()
    );
    println!(
        "{}",
        env.daemon_log()
            .lines()
            .filter(|l| l.contains("passwd user="))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
