//! Auto-detection (issue 10): a `[[servers]]` block with nothing but its URI works against an
//! RFC 2307 directory, an rfc2307bis one and the AD-shaped one — schema from the RootDSE,
//! the subschema and sample searches, base from the naming contexts, name from the URI's
//! host — through glibc (`getent`, `id`) and libpam (pamtester). A daemon started while the
//! only server is silent answers "unavailable" (never "not found") and picks the directory up
//! once it answers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{artifact, workspace, Env, Slapd, SlapdOpts};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The whole config: one URI. (Plain LDAP on loopback needs the one key that lets passwords
/// travel in clear text; against ldaps:// not even that.)
fn one_uri(slapd: &Slapd) -> String {
    format!(
        "[daemon]\nlog_level = \"debug\"\n\n[[servers]]\nuri = [\"{}\"]\nallow_cleartext_passwords = true\n",
        slapd.uri
    )
}

fn start(name: &str, ldif: &str, schema: &str) -> Slapd {
    Slapd::start_with(
        name,
        &workspace().join("tests/fixtures").join(ldif),
        schema,
        SlapdOpts::default(),
    )
}

fn server_test(env: &Env) -> String {
    let o = env.run(&[
        artifact("ldaprsctl").to_str().unwrap(),
        "--config",
        env.config.to_str().unwrap(),
        "server",
        "test",
    ]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "server test failed:\n{out}");
    out
}

fn id_groups(env: &Env, user: &str) -> BTreeSet<String> {
    let o = env.run(&["id", "-Gn", user]);
    assert!(o.status.success(), "id {user}: {}", env.daemon_log());
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Starts a daemon with the one-URI config and checks what it detected.
fn detected(name: &str, slapd: &Slapd, schema_line: &str) -> Env {
    let mut env = Env::new(name);
    env.write_config(&one_uri(slapd));
    let report = server_test(&env);
    println!("{report}");
    assert!(report.contains(schema_line), "{report}");
    assert!(
        report.contains(
            "base                   dc=example,dc=com (the RootDSE's only naming context)"
        ),
        "{report}"
    );
    env.start_daemon();
    let log = env.daemon_log();
    assert!(
        log.contains("server 127.0.0.1: detected schema "),
        "the block is named after the URI's host, and the detection is logged:\n{log}"
    );
    env
}

#[test]
fn one_uri_against_rfc2307() {
    let slapd = start("det-2307", "rfc2307.ldif", "rfc2307");
    let env = detected(
        "det-2307",
        &slapd,
        "schema                 rfc2307 (subschema: posixGroup is STRUCTURAL",
    );
    assert_eq!(env.getent(&["passwd", "alice"]).0, 0);
    assert!(env
        .getent(&["passwd", "alice"])
        .1
        .starts_with("alice:x:10001:"));
    assert!(id_groups(&env, "alice").contains("employees"));
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = env.pam("alice", "wrong", &["authenticate"]);
    assert_ne!(code, 0, "{out}");
    // An entry the daemon refuses says why, and which key changes it.
    let o = env.run(&[
        artifact("ldaprsctl").to_str().unwrap(),
        "--config",
        env.config.to_str().unwrap(),
        "user",
        "show",
        "lowuid",
    ]);
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    println!("ldaprsctl user show lowuid:\n{shown}");
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("hidden") && l.contains("min_uid to change it")),
        "{shown}"
    );
}

#[test]
fn one_uri_against_rfc2307bis() {
    let slapd = start("det-bis", "rfc2307bis.ldif", "rfc2307bis");
    let env = detected(
        "det-bis",
        &slapd,
        "schema                 rfc2307bis (subschema: posixGroup is AUXILIARY",
    );
    assert!(env
        .getent(&["passwd", "alice"])
        .1
        .starts_with("alice:x:10001:"));
    // Membership by DN (member), as the rfc2307bis preset reads it.
    let groups = id_groups(&env, "alice");
    assert!(
        groups.contains("developers") && groups.contains("admins"),
        "{groups:?}"
    );
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn one_uri_against_an_ad_shaped_directory() {
    let slapd = start("det-ad", "ad.ldif", "ad");
    let env = detected(
        "det-ad",
        &slapd,
        "schema                 ad (user entries with sAMAccountName and no posixAccount entry",
    );
    // sAMAccountName, displayName and unixHomeDirectory: the AD preset is in use.
    assert_eq!(
        env.getent(&["passwd", "alice"]),
        (
            0,
            "alice:x:10001:10001:Alice Smith:/home/alice:/bin/bash\n".into()
        )
    );
    assert!(id_groups(&env, "alice").contains("linux-users"));
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_eq!(code, 0, "{out}");
    // bob is disabled in userAccountControl: the AD preset's account rules apply.
    let (code, out) = env.pam("bob", "bob-pw", &["authenticate", "acct_mgmt"]);
    assert_ne!(code, 0, "{out}");
}

#[test]
fn a_silent_server_at_start_is_detected_once_it_answers() {
    let slapd = start("det-late", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("det-late");
    env.write_config(&one_uri(&slapd));
    slapd.freeze();
    let started = Instant::now();
    env.start_daemon();
    // Start-up waits a bounded time for detection, then listens anyway.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let log = env.daemon_log();
    assert!(
        log.contains("schema and base not detected yet"),
        "the reason is logged:\n{log}"
    );
    // Unavailable, not "not found": getent exits 2 for both, so ask through the module's
    // status (nsscall prints the NSS status).
    let (status, errno, _, out) = env.nsscall(&["pwnam", "alice"]);
    println!(
        "nsscall pwnam alice: status={status} errno={errno} {out}\n{}",
        env.daemon_log()
    );
    assert!(status < 0, "status {status}: UNAVAIL (-1) or TRYAGAIN (-2); NOTFOUND (0) would say alice does not exist");
    let status = env.run(&[
        artifact("ldaprsctl").to_str().unwrap(),
        "--config",
        env.config.to_str().unwrap(),
        "status",
    ]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.contains("NOT SERVING: schema and base not detected yet"),
        "{status}"
    );
    slapd.thaw();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, out) = env.getent(&["passwd", "alice"]);
        if code == 0 {
            assert!(out.starts_with("alice:x:10001:"), "{out}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not detected after the server came back:\n{}",
            env.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = env.daemon_log();
    assert!(
        log.contains("server 127.0.0.1: detected schema rfc2307"),
        "{log}"
    );
    let status = env.run(&[
        artifact("ldaprsctl").to_str().unwrap(),
        "--config",
        env.config.to_str().unwrap(),
        "status",
    ]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    println!("{status}");
    assert!(
        status.contains("detected schema rfc2307 (subschema: posixGroup is STRUCTURAL"),
        "{status}"
    );
}

#[test]
fn ad_like_dns_partition_references_leave_lookups_and_rules_alone() {
    // An AD domain root returns continuation references to its DNS partitions on every
    // subtree search; here they point at a second slapd that is not allowed, which must
    // never be contacted, and must not turn membership searches into errors.
    let other = start("det-dns-b", "rfc2307.ldif", "rfc2307");
    let port_b = other.uri.rsplit(':').next().unwrap().to_string();
    let mut text = std::fs::read_to_string(workspace().join("tests/fixtures/ad.ldif")).unwrap();
    for part in ["DomainDnsZones", "ForestDnsZones"] {
        text.push_str(&format!(
            "\ndn: DC={part},dc=example,dc=com\nobjectClass: referral\nobjectClass: extensibleObject\ndc: {part}\nref: ldap://127.0.0.1:{port_b}/DC={part},dc=example,dc=com\n"
        ));
    }
    let dir = ldaprs_tests::scratch("det-dns-ldif");
    let ldif = dir.join("ad-dns.ldif");
    std::fs::write(&ldif, text).unwrap();
    let dc = Slapd::start_with("det-dns-a", &ldif, "ad", SlapdOpts::default());
    let mut env = Env::new("det-dns");
    env.write_config(&format!(
        "[pam]\nallow_groups = [\"linux-users\"]\ndeny_groups = [\"Platform\"]\n\n{}",
        one_uri(&dc)
    ));
    env.start_daemon();
    let before = other.log().matches(" ACCEPT from ").count();
    assert_eq!(
        env.getent(&["passwd", "fay"]),
        (0, "fay:x:10006:10001:Fay Far:/home/fay:/bin/bash\n".into())
    );
    assert!(id_groups(&env, "alice").contains("Platform"));
    let (code, all) = env.getent(&["passwd"]);
    assert_eq!(code, 0);
    assert!(
        all.contains("alice:x:10001") && all.contains("fay:x:10006"),
        "{all}"
    );
    // The rules are checked, not "could not be checked": fay is allowed, alice denied.
    let (code, out) = env.pam("fay", "fay-pw", &["authenticate", "acct_mgmt"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("member of denied group Platform"),
        "{out}\n{}",
        env.daemon_log()
    );
    assert_eq!(
        other.log().matches(" ACCEPT from ").count(),
        before,
        "the DNS partitions' host was contacted:\n{}",
        other.log()
    );
    assert!(
        env.daemon_log()
            .contains("/dc=DomainDnsZones,dc=example,dc=com??sub not followed"),
        "the references were returned and skipped:\n{}",
        env.daemon_log()
    );
}
