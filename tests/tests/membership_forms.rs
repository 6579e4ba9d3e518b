//! Directories that mix membership forms (issue 10): a posixGroup listing members with
//! `memberUid` beside groupOfNames groups with `member`, and a groupOfUniqueNames with
//! `uniqueMember`, under `schema = "rfc2307bis"` (whose primary form is `member`).
//! `getent group`, `id` and the access rules must agree on every form.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{Env, Slapd};

const OPS: &str = "dn: cn=ops,ou=groups,dc=example,dc=com\nchangetype: add\nobjectClass: organizationalRole\nobjectClass: posixGroup\ncn: ops\ngidNumber: 20010\nmemberUid: alice\nmemberUid: carol\n";
const AUDIT: &str = "dn: cn=audit,ou=groups,dc=example,dc=com\nchangetype: add\nobjectClass: groupOfUniqueNames\nobjectClass: posixGroup\ncn: audit\ngidNumber: 20011\nuniqueMember: uid=bob,ou=people,dc=example,dc=com\n";

fn id_groups(env: &Env, user: &str) -> String {
    String::from_utf8_lossy(&env.run(&["id", "-Gn", user]).stdout)
        .trim()
        .to_string()
}

#[test]
fn every_membership_form_counts_in_lookups_initgroups_and_access_rules() {
    let slapd = Slapd::start("forms", "rfc2307bis.ldif", "rfc2307bis");
    slapd.modify(OPS);
    slapd.modify(AUDIT);
    let mut env = Env::new("forms");
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307bis",
        "[pam]\ndeny_groups = [\"ops\"]\n",
        "",
    ));
    env.start_daemon();
    // getent group reads each group in the form it carries.
    assert_eq!(
        env.getent(&["group", "ops"]),
        (0, "ops:x:20010:alice,carol\n".into())
    );
    assert_eq!(
        env.getent(&["group", "audit"]),
        (0, "audit:x:20011:bob\n".into())
    );
    assert!(env.getent(&["group", "developers"]).1.contains("alice,bob"));
    // id finds the groups of every form.
    let alice = id_groups(&env, "alice");
    for g in ["employees", "developers", "admins", "ops"] {
        assert!(alice.split(' ').any(|x| x == g), "{g} missing: {alice}");
    }
    let bob = id_groups(&env, "bob");
    assert!(bob.split(' ').any(|x| x == "audit"), "{bob}");
    // The access rules see the memberUid group too: alice is in ops, which is denied.
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("member of denied group ops"), "{out}");
    assert_eq!(
        env.pam("bob", "bob-pw", &["authenticate", "acct_mgmt"]).0,
        0
    );
    // The daemon found out which forms the directory uses, and says so.
    assert!(
        env.daemon_log()
            .contains("groups name their members with member, memberUid, uniqueMember"),
        "{}",
        env.daemon_log()
    );
}

#[test]
fn member_attributes_restricts_the_forms() {
    let slapd = Slapd::start("forms-only", "rfc2307bis.ldif", "rfc2307bis");
    slapd.modify(OPS);
    let mut env = Env::new("forms-only");
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307bis",
        "",
        "[servers.groups]\nmember_attributes = [\"member\"]\n",
    ));
    env.start_daemon();
    assert_eq!(env.getent(&["group", "ops"]), (0, "ops:x:20010:\n".into()));
    let alice = id_groups(&env, "alice");
    assert!(!alice.split(' ').any(|x| x == "ops"), "{alice}");
    // A list that makes no sense is refused with the key named.
    env.stop_daemon();
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307bis",
        "",
        "[servers.groups]\nmember_attributes = []\n",
    ));
    let err = env.try_start_daemon().unwrap_err();
    assert!(err.contains("servers[0].groups.member_attributes"), "{err}");
}
