//! SID id mapping against a real Active Directory (issue 16): users and groups without
//! uidNumber/gidNumber on the Samba AD DC of `tests/src/samba.rs` get the uid and gid SSSD's
//! `ldap_id_mapping` gives them, checked against SSSD's own library (libsss_idmap.so.0 through
//! `tests/c/sss_idmap.c`) for the DC's domain SID; by-id lookups reverse the mapping; the
//! primary group comes from primaryGroupID; a mapped user logs in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::samba::{dc, USER_PASSWORD};

#[test]
fn sid_mapped_users_and_groups_match_sssd() {
    let dc = dc();
    let mut env = dc.env("ad-idmap");
    env.write_config(&dc.config(
        &env,
        "",
        "[servers.groups]\nnested = true\n[servers.idmap]\nmode = \"sid\"\n",
    ));
    env.start_daemon();
    let dave = dc.object_sid("user", "dave");
    let team = dc.object_sid("group", "mapped-team");
    let domain_users = format!("{}-513", dc.domain_sid);
    let (slice, ids) = dc.sssd_ids(&[&dave, &team, &domain_users]);
    println!("domain {}: SSSD's {slice}; ids {ids:?}", dc.domain_sid);
    let (uid, team_gid, primary) = (ids[0], ids[1], ids[2]);

    let (code, pw) = env.getent(&["passwd", "dave"]);
    println!("$ getent passwd dave\n{pw}");
    assert_eq!(code, 0, "{}", env.daemon_log());
    assert_eq!(
        pw.trim(),
        format!("dave:x:{uid}:{primary}:Dave Mapped:/home/dave:/bin/bash")
    );
    // By uid: the mapping reversed (slice → domain, RID → objectSid).
    let (code, by_uid) = env.getent(&["passwd", &uid.to_string()]);
    assert_eq!(code, 0, "{}", env.daemon_log());
    assert_eq!(by_uid, pw);
    let (code, gr) = env.getent(&["group", "mapped-team"]);
    println!("$ getent group mapped-team\n{gr}");
    assert_eq!(code, 0);
    assert_eq!(gr.trim(), format!("mapped-team:x:{team_gid}:dave"));
    let (code, by_gid) = env.getent(&["group", &team_gid.to_string()]);
    assert_eq!(code, 0);
    assert_eq!(by_gid, gr);
    let o = env.run(&["id", "dave"]);
    let id = String::from_utf8_lossy(&o.stdout).into_owned();
    println!("$ id dave\n{id}");
    assert!(
        id.starts_with(&format!("uid={uid}(dave) gid={primary}")),
        "{id}"
    );
    assert!(id.contains(&format!("{team_gid}(mapped-team)")), "{id}");
    // An id in the range whose slice is no domain's, and one below the range: not found.
    assert_ne!(env.getent(&["passwd", "200001"]).0, 0);
    assert_ne!(env.getent(&["passwd", "199999"]).0, 0);
    // A mapped user logs in.
    let (code, out) = env.pamtester(
        "dave",
        &[USER_PASSWORD],
        &["authenticate", "acct_mgmt"],
        &[],
        None,
    );
    println!("$ pamtester ldaprs-test dave authenticate acct_mgmt: exit {code}\n{out}");
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
}
