//! Referrals (issue 10): part of `ou=people` (and of the groups) held by another server. The
//! references are followed to the block's own URIs and to `referral_hosts` only; a user found
//! through one logs in at the server that holds the entry; a reference elsewhere is skipped
//! and that server is never contacted; a loop ends with an error that names it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{free_port, scratch, workspace, Env, Slapd, SlapdOpts, BASE};
use std::path::PathBuf;

/// The fixture plus `extra` LDIF, as a file.
fn ldif(name: &str, extra: &str) -> PathBuf {
    let dir = scratch(&format!("ref-ldif-{name}"));
    let mut text =
        std::fs::read_to_string(workspace().join("tests/fixtures/rfc2307.ldif")).unwrap();
    text.push('\n');
    text.push_str(extra);
    let p = dir.join("data.ldif");
    std::fs::write(&p, text).unwrap();
    p
}

fn start(name: &str, extra: &str, port: Option<u16>) -> Slapd {
    let opts = SlapdOpts {
        port,
        ..Default::default()
    };
    Slapd::start_with(name, &ldif(name, extra), "rfc2307", opts)
}

/// The remote part, held by server B: a user and a group.
fn remote_part() -> String {
    format!(
        "dn: ou=remote,ou=people,{BASE}\nobjectClass: organizationalUnit\nou: remote\n\n\
         dn: uid=remy,ou=remote,ou=people,{BASE}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: remy\ncn: Remy Remote\nsn: Remote\nuidNumber: 10080\ngidNumber: 10001\nhomeDirectory: /home/remy\nloginShell: /bin/sh\nuserPassword: remy-pw\n\n\
         dn: ou=moregroups,ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: moregroups\n\n\
         dn: cn=remote-deny,ou=moregroups,ou=groups,{BASE}\nobjectClass: posixGroup\ncn: remote-deny\ngidNumber: 20090\nmemberUid: dave\n"
    )
}

/// Referral objects in server A pointing at B.
fn referrals_to(port: u16) -> String {
    format!(
        "dn: ou=remote,ou=people,{BASE}\nobjectClass: referral\nobjectClass: extensibleObject\nou: remote\nref: ldap://127.0.0.1:{port}/ou=remote,ou=people,{BASE}\n\n\
         dn: ou=moregroups,ou=groups,{BASE}\nobjectClass: referral\nobjectClass: extensibleObject\nou: moregroups\nref: ldap://127.0.0.1:{port}/ou=moregroups,ou=groups,{BASE}\n"
    )
}

fn accepted(slapd: &Slapd) -> usize {
    slapd.log().matches(" ACCEPT from ").count()
}

#[test]
fn references_to_allowed_hosts_are_followed_for_lookups_logins_and_rules() {
    let port_b = free_port();
    let b = start("ref-b", &remote_part(), Some(port_b));
    let a = start("ref-a", &referrals_to(port_b), None);
    let mut env = Env::new("ref-follow");
    env.write_config(&Env::config_for(
        &a,
        "rfc2307",
        "[pam]\ndeny_groups = [\"remote-deny\"]\n",
        &format!("referral_hosts = [\"127.0.0.1:{port_b}\"]\n"),
    ));
    env.start_daemon();
    // A lookup under ou=people reaches remy on B.
    assert_eq!(
        env.getent(&["passwd", "remy"]),
        (
            0,
            "remy:x:10080:10001:Remy Remote:/home/remy:/bin/sh\n".into()
        )
    );
    // The enumeration has A's users and B's.
    let (code, all) = env.getent(&["passwd"]);
    assert_eq!(code, 0);
    assert!(
        all.contains("remy:x:10080") && all.contains("alice:x:10001"),
        "{all}"
    );
    // remy logs in at B, the server that holds his entry; A never sees his bind.
    let (code, out) = env.pam("remy", "remy-pw", &["authenticate", "acct_mgmt"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert!(b
        .log()
        .contains(&format!("BIND dn=\"uid=remy,ou=remote,ou=people,{BASE}\"")));
    assert!(!a.log().contains("BIND dn=\"uid=remy,"));
    // A deny group held only on B denies: the group search followed the reference.
    let (code, out) = env.pam("dave", "dave-pw", &["authenticate", "acct_mgmt"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("member of denied group remote-deny"), "{out}");
    assert!(
        env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"])
            .0
            == 0
    );
}

#[test]
fn references_elsewhere_are_skipped_and_never_contacted() {
    let port_b = free_port();
    let b = start("ref-nb", &remote_part(), Some(port_b));
    let a = start("ref-na", &referrals_to(port_b), None);
    let mut env = Env::new("ref-skip");
    env.write_config(&Env::config_for(
        &a,
        "rfc2307",
        "[pam]\ndeny_groups = [\"contractors\"]\n",
        "",
    ));
    env.start_daemon();
    let before = accepted(&b);
    // remy is held by a host that is not allowed: not found, and B is never asked.
    assert_eq!(env.getent(&["passwd", "remy"]).0, 2);
    let (code, all) = env.getent(&["passwd"]);
    assert_eq!(code, 0);
    assert!(
        all.contains("alice:x:10001") && !all.contains("remy"),
        "{all}"
    );
    // The access rules are not blocked by the skipped part (AD's DNS partitions are such
    // references): alice logs in.
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert_eq!(accepted(&b), before, "server B was contacted:\n{}", b.log());
    assert!(
        env.daemon_log()
            .contains("is neither one of this block's URIs nor in referral_hosts"),
        "{}",
        env.daemon_log()
    );
    // A base that is itself held elsewhere, not followed, is an error (not "no such user",
    // which would be cached and published).
    env.stop_daemon();
    env.write_config(&Env::config_for(
        &a,
        "rfc2307",
        "",
        &format!("[servers.users]\nbase = \"ou=remote,ou=people,{BASE}\"\n"),
    ));
    env.start_daemon();
    assert_ne!(env.getent(&["passwd", "remy"]).0, 0);
    assert!(
        env.daemon_log().contains(&format!(
            "ou=remote,ou=people,{BASE} is held by another server"
        )),
        "{}",
        env.daemon_log()
    );
    assert_eq!(accepted(&b), before, "server B was contacted:\n{}", b.log());
}

#[test]
fn a_referral_loop_ends_with_an_error_that_names_it() {
    // A reference that points back at the same place on the same server.
    let port_a = free_port();
    let loop_ref = format!(
        "dn: ou=loop,ou=people,{BASE}\nobjectClass: referral\nobjectClass: extensibleObject\nou: loop\nref: ldap://127.0.0.1:{port_a}/ou=loop,ou=people,{BASE}\n"
    );
    let a = start("ref-loop", &loop_ref, Some(port_a));
    let mut env = Env::new("ref-loop");
    env.write_config(&Env::config_for(&a, "rfc2307", "", ""));
    env.start_daemon();
    let t = std::time::Instant::now();
    let (code, _) = env.getent(&["passwd", "nobody-here"]);
    assert_ne!(code, 0);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        t.elapsed()
    );
    assert!(
        env.daemon_log().contains("referral loop"),
        "{}",
        env.daemon_log()
    );
}
