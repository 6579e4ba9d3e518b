//! Directory shapes (issue 3): a directory that only the user DN pattern can use (no service
//! account, no anonymous search), and a directory with more users than slapd's size limit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{bulk_ldif, scratch, workspace, Env, Slapd, SlapdOpts, BASE};
use std::process::Command;

#[test]
fn user_dn_pattern_authenticates_without_a_service_account() {
    // Anonymous may bind and nothing else; a user may read only its own entry.
    let acl = "access to attrs=userPassword\n    by anonymous auth\n    by * none\naccess to *\n    by self read\n    by anonymous auth\n    by * none";
    let opts = SlapdOpts {
        acl: Some(acl.into()),
        ..Default::default()
    };
    let slapd = Slapd::start_with(
        "dnpattern",
        &workspace().join("tests/fixtures/rfc2307.ldif"),
        "rfc2307",
        opts,
    );
    let mut env = Env::new("dnpattern");
    let server = "allow_cleartext_passwords = true\nuser_dn_pattern = \"uid=%s,ou=people,dc=example,dc=com\"\n";
    env.write_config(&Env::config_uris(&[&slapd.uri], "rfc2307", "", server));
    env.start_daemon();
    // No service account and no anonymous search: lookups cannot see alice...
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 2);
    // ...but she logs in by binding with her DN, and the account stage knows her.
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert!(slapd
        .log()
        .contains("BIND dn=\"uid=alice,ou=people,dc=example,dc=com\" method=128"));
    // After her login her entry (read as herself) is cached for NSS too.
    assert_eq!(
        env.getent(&["-s", "ldaprs", "passwd", "alice"]),
        (
            0,
            "alice:x:10001:10001:Alice Liddell:/home/alice:/bin/bash\n".into()
        )
    );
    // Wrong password and unknown users fail; the pattern cannot tell them apart.
    assert_ne!(env.pam("alice", "wrong", &["authenticate"]).0, 0);
    assert_ne!(env.pam("nosuch", "x", &["authenticate"]).0, 0);
    // The bind of evilroot (uidNumber 0) succeeds at the server; ldaprs still refuses.
    let (code, out) = env.pam("evilroot", "evil-pw", &["authenticate"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        env.daemon_log()
            .contains("is not an acceptable user (BelowMinimum(\"uid\", 0))"),
        "{}",
        env.daemon_log()
    );
    // The name goes into the DN escaped: no DN injection.
    assert_ne!(
        env.pam("alice,ou=people", "alice-pw", &["authenticate"]).0,
        0
    );
}

fn bulk_directory(name: &str, db: &str) -> (Slapd, Env) {
    let dir = scratch(&format!("bulk-ldif-{name}"));
    let ldif = bulk_ldif(&dir, 1200);
    let opts = SlapdOpts {
        db: db.into(),
        ..Default::default()
    };
    let slapd = Slapd::start_with(name, &ldif, "rfc2307", opts);
    // The size limit applies: a plain search is cut short.
    let o = Command::new("ldapsearch")
        .args([
            "-x",
            "-LLL",
            "-H",
            &slapd.uri,
            "-b",
            BASE,
            "(objectClass=posixAccount)",
            "dn",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(4),
        "expected sizeLimitExceeded from a plain search"
    );
    let mut env = Env::new(name);
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    (slapd, env)
}

fn assert_complete(env: &Env) {
    let (code, out) = env.getent(&["-s", "ldaprs", "passwd"]);
    assert_eq!(code, 0, "{}", env.daemon_log());
    // 1200 bulk users + alice, bob, carol, dave, erin (evilroot and lowuid are filtered).
    assert_eq!(out.lines().count(), 1205, "{}", env.daemon_log());
    assert!(out.contains("bulk01199:x:21199:"));
}

#[test]
fn enumeration_beyond_the_size_limit_uses_paged_results() {
    // AD-like limits: 500 per plain search, paged searches may go past it.
    let (slapd, env) = bulk_directory(
        "bulk-paged",
        "limits anonymous size.soft=500 size.hard=500 size.prtotal=unlimited",
    );
    assert_complete(&env);
    let slog = slapd.log();
    assert!(
        slog.contains("nentries=400"),
        "no 400-entry pages in the slapd log"
    );
    assert!(!env.daemon_log().contains("splitting the enumeration"));
}

#[test]
fn enumeration_is_complete_even_when_paging_is_capped() {
    // slapd's defaults: 500 entries, and paged results capped at the same 500 in total.
    let (_slapd, env) = bulk_directory("bulk-capped", "");
    assert_complete(&env);
    assert!(
        env.daemon_log()
            .contains("splitting the enumeration by uid prefix"),
        "{}",
        env.daemon_log()
    );
}

#[test]
fn a_name_matching_two_entries_is_refused() {
    // security.md AUTH-07: a second alice under another OU. Answering either could be the
    // wrong person, so neither is answered and the login is denied.
    let dir = scratch("ambiguous-ldif");
    let mut text =
        std::fs::read_to_string(workspace().join("tests/fixtures/rfc2307.ldif")).unwrap();
    text.push_str(&format!(
        "\ndn: ou=other,{BASE}\nobjectClass: organizationalUnit\nou: other\n\ndn: uid=alice,ou=other,{BASE}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: alice\ncn: Other Alice\nsn: Alice\nuidNumber: 10666\ngidNumber: 10001\nhomeDirectory: /home/other\nuserPassword: other-pw\n"
    ));
    let ldif = dir.join("ambiguous.ldif");
    std::fs::write(&ldif, text).unwrap();
    let slapd = Slapd::start_with("ambiguous", &ldif, "rfc2307", SlapdOpts::default());
    let mut env = Env::new("ambiguous");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    assert_ne!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 0);
    assert_ne!(env.pam("alice", "alice-pw", &["authenticate"]).0, 0);
    assert_ne!(env.pam("alice", "other-pw", &["authenticate"]).0, 0);
    assert!(
        !slapd.log().contains("BIND dn=\"uid=alice,"),
        "a bind was attempted for an ambiguous name"
    );
    assert!(
        env.daemon_log().contains("2 entries match"),
        "{}",
        env.daemon_log()
    );
    // Everybody else is unaffected.
    assert_eq!(env.pam("bob", "bob-pw", &["authenticate"]).0, 0);
}
