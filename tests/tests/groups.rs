//! Group membership in every shape (issue 4): rfc2307 memberUid, rfc2307bis member and
//! uniqueMember, nested groups (tree, cycle, deep chain, non-POSIX links), memberOf from
//! slapd's memberof overlay, Grafana's group search filter, the AD preset on an AD-shaped
//! directory, a user in 300 groups, and local users first. Through glibc: `id`, `getent`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{scratch, workspace, Env, Slapd, SlapdOpts, BASE};
use std::collections::BTreeSet;

fn start(name: &str, ldif: &str, prepare_schema: &str, opts: SlapdOpts) -> Slapd {
    Slapd::start_with(
        name,
        &workspace().join("tests/fixtures").join(ldif),
        prepare_schema,
        opts,
    )
}

fn env_for(name: &str, slapd: &Slapd, schema: &str, top: &str, server: &str) -> Env {
    let mut env = Env::new(name);
    env.write_config(&Env::config_for(slapd, schema, top, server));
    env.start_daemon();
    env
}

/// `id -Gn USER` as a set.
fn id_groups(env: &Env, user: &str) -> BTreeSet<String> {
    let o = env.run(&["id", "-Gn", user]);
    assert!(
        o.status.success(),
        "id {user}: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        env.daemon_log()
    );
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// `getent -s ldaprs group NAME` → the sorted member list, or None if not found.
fn members(env: &Env, group: &str) -> Option<BTreeSet<String>> {
    let (code, out) = env.getent(&["-s", "ldaprs", "group", group]);
    if code != 0 {
        return None;
    }
    let line = out.trim();
    let m = line.rsplit(':').next().unwrap_or("");
    Some(
        m.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

fn restart_with(env: &mut Env, slapd: &Slapd, schema: &str, server: &str) {
    env.stop_daemon();
    env.write_config(&Env::config_for(slapd, schema, "", server));
    env.start_daemon();
}

#[test]
fn nested_groups_tree_cycle_chain_and_non_posix_links() {
    let slapd = start("nested", "nested.ldif", "rfc2307bis", SlapdOpts::default());
    let groups = "[servers.groups]\nbase = \"ou=groups,dc=example,dc=com\"\n";
    let mut env = env_for(
        "nested",
        &slapd,
        "rfc2307bis",
        "",
        &format!("{groups}nested = true\n"),
    );
    // alice: devs directly, engineering through devs, posixparent through the non-POSIX group
    // "nonposix" (which has no gid, so `id` cannot show it); never rogue-admins, which names
    // her but lives outside the group base (ou=writable: security.md AZ-04).
    let alice = id_groups(&env, "alice");
    println!("id -Gn alice: {alice:?}");
    assert!(
        alice.is_superset(&set(&["employees", "devs", "engineering", "posixparent"])),
        "{alice:?}"
    );
    assert!(!alice.contains("nonposix") && !alice.contains("rogue-admins"));
    assert_eq!(
        id_groups(&env, "bob"),
        set(&["employees", "frontend", "devs", "engineering"])
    );
    assert_eq!(id_groups(&env, "carol"), set(&["employees", "engineering"]));
    // A cycle (loop-a contains loop-b contains loop-a) terminates with both groups.
    assert_eq!(
        id_groups(&env, "dave"),
        set(&["employees", "loop-a", "loop-b"])
    );
    // A chain of 12: the default nesting_depth of 10 follows chain00 (direct) to chain10.
    let frank = id_groups(&env, "frank");
    let chain: BTreeSet<String> = (0..=10)
        .map(|i| format!("chain{i:02}"))
        .chain(["employees".to_string()])
        .collect();
    assert_eq!(frank, chain, "{}", env.daemon_log());
    assert!(env.daemon_log().contains("groups nested deeper than nesting_depth = 10 (e.g. cn=chain11,ou=groups,dc=example,dc=com)"), "{}", env.daemon_log());
    // getent group lists user names only, the nested groups' users included (glibc's gr_mem).
    assert_eq!(
        members(&env, "engineering").unwrap(),
        set(&["alice", "bob", "carol"])
    );
    assert_eq!(members(&env, "devs").unwrap(), set(&["alice", "bob"]));
    assert_eq!(members(&env, "loop-b").unwrap(), set(&["dave"]));
    assert_eq!(members(&env, "posixparent").unwrap(), set(&["alice"]));
    assert_eq!(members(&env, "chain10").unwrap(), set(&["frank"]));
    assert_eq!(
        members(&env, "chain11").unwrap(),
        set(&[]),
        "beyond the depth: no members"
    );
    assert_eq!(members(&env, "nonposix"), None, "not a POSIX group");
    println!(
        "getent group engineering: {:?}",
        env.getent(&["-s", "ldaprs", "group", "engineering"])
            .1
            .trim()
    );

    // A smaller depth bound cuts the chain earlier.
    restart_with(
        &mut env,
        &slapd,
        "rfc2307bis",
        &format!("{groups}nested = true\nnesting_depth = 2\n"),
    );
    assert_eq!(
        id_groups(&env, "frank"),
        set(&["employees", "chain00", "chain01", "chain02"])
    );
    // Without nesting: direct membership only.
    restart_with(&mut env, &slapd, "rfc2307bis", groups);
    assert_eq!(id_groups(&env, "alice"), set(&["employees", "devs"]));
    assert_eq!(id_groups(&env, "bob"), set(&["employees", "frontend"]));
    assert_eq!(members(&env, "engineering").unwrap(), set(&["carol"]));
}

#[test]
fn unique_member_groups() {
    let slapd = start("unique", "nested.ldif", "rfc2307bis", SlapdOpts::default());
    let env = env_for(
        "unique",
        &slapd,
        "rfc2307bis",
        "",
        "[servers.groups]\nnested = true\nattributes = { member = \"uniqueMember\" }\n",
    );
    // grace is in uteam, uall contains uteam.
    assert_eq!(
        id_groups(&env, "grace"),
        set(&["employees", "uteam", "uall"])
    );
    // carol's value carries an optional UID (`uid=carol,...#'0101'B`): the group lists her,
    // but a search cannot find it (RFC 4517 uniqueMemberMatch compares the UID too, and
    // slapd follows it), so her initgroups does not show uteam. A known limit, shared with
    // nslcd and SSSD.
    assert_eq!(members(&env, "uteam").unwrap(), set(&["grace", "carol"]));
    assert_eq!(members(&env, "uall").unwrap(), set(&["grace", "carol"]));
    assert_eq!(id_groups(&env, "carol"), set(&["employees"]));
}

#[test]
fn member_of_from_the_memberof_overlay() {
    let opts = SlapdOpts {
        global: "moduleload memberof".into(),
        db: "overlay memberof".into(),
        ..Default::default()
    };
    let slapd = start("memberof", "nested.ldif", "rfc2307bis", opts);
    // Groups added through slapd so that the overlay writes memberOf on the members.
    slapd.modify(&format!(
        "dn: cn=ops,ou=groups,{BASE}\nchangetype: add\nobjectClass: groupOfNames\nobjectClass: posixGroup\ncn: ops\ngidNumber: 31001\nmember: uid=alice,ou=people,{BASE}\n\n\
         dn: cn=ops-parent,ou=groups,{BASE}\nchangetype: add\nobjectClass: groupOfNames\nobjectClass: posixGroup\ncn: ops-parent\ngidNumber: 31002\nmember: cn=ops,ou=groups,{BASE}\n\n\
         dn: cn=rogue2,ou=writable,{BASE}\nchangetype: add\nobjectClass: groupOfNames\nobjectClass: posixGroup\ncn: rogue2\ngidNumber: 31003\nmember: uid=alice,ou=people,{BASE}\n"
    ));
    let mo = slapd.search(
        &format!("uid=alice,ou=people,{BASE}"),
        "(objectClass=*)",
        &["memberOf"],
    );
    assert!(
        mo.contains("memberOf: cn=ops,ou=groups") && mo.contains("memberOf: cn=rogue2,ou=writable"),
        "{mo}"
    );
    let server = "[servers.groups]\nbase = \"ou=groups,dc=example,dc=com\"\nnested = true\n[servers.users.attributes]\nmember_of = \"memberOf\"\n";
    let env = env_for("memberof", &slapd, "rfc2307bis", "", server);
    // ops from alice's memberOf, ops-parent from ops' memberOf; rogue2 is outside the group
    // base (a subtree someone else may write): never counted. employees is her primary
    // group (the slapadd-loaded groups carry no memberOf).
    assert_eq!(
        id_groups(&env, "alice"),
        set(&["employees", "ops", "ops-parent"])
    );
    assert!(
        env.daemon_log()
            .contains("ignoring cn=rogue2,ou=writable,dc=example,dc=com: outside the group base"),
        "{}",
        env.daemon_log()
    );
    // No group search by member was made for her groups: memberOf was read instead.
    assert!(
        !slapd.log().contains("(member=uid=alice"),
        "a member search was made"
    );
}

#[test]
fn grafana_style_group_search_filter() {
    // rfc2307: the user name replaces %s.
    let slapd = Slapd::start("gsf", "rfc2307.ldif", "rfc2307");
    let env = env_for(
        "gsf",
        &slapd,
        "rfc2307",
        "",
        "[servers.groups]\nsearch_filter = \"(memberUid=%s)\"\n",
    );
    assert_eq!(
        id_groups(&env, "alice"),
        set(&["employees", "developers", "admins"])
    );
    assert!(slapd
        .log()
        .contains("filter=\"(&(objectClass=posixGroup)(memberUid=alice))\""));
    // rfc2307bis: the DN replaces %s (search_filter_user_attribute = "dn").
    let slapd = Slapd::start("gsf-dn", "rfc2307bis.ldif", "rfc2307bis");
    let server = "[servers.groups]\nsearch_filter = \"(|(member=%s)(uniqueMember=%s))\"\nsearch_filter_user_attribute = \"dn\"\n";
    let env = env_for("gsf-dn", &slapd, "rfc2307bis", "", server);
    assert_eq!(id_groups(&env, "erin"), set(&["employees", "developers"]));
    let want = "(&(objectClass=posixGroup)(|(member=cn=Erin Example,ou=people,dc=example,dc=com)(uniqueMember=cn=Erin Example,ou=people,dc=example,dc=com)))";
    assert!(
        slapd.log().to_lowercase().contains(&want.to_lowercase()),
        "{}",
        slapd.log()
    );
}

#[test]
fn ad_preset_on_an_ad_shaped_directory() {
    let slapd = start("ad", "ad.ldif", "ad", SlapdOpts::default());
    // slapd has no LDAP_MATCHING_RULE_IN_CHAIN: nesting goes through the generic path (the
    // in-chain filter itself is unit-tested in ldaprsd::membership).
    let env = env_for(
        "ad",
        &slapd,
        "ad",
        "",
        "[servers.groups]\nnested = true\nin_chain = false\n",
    );
    // sAMAccountName, displayName, unixHomeDirectory; user CN-named DNs.
    assert_eq!(
        env.getent(&["-s", "ldaprs", "passwd", "alice"]),
        (
            0,
            "alice:x:10001:10001:Alice Smith:/home/alice:/bin/bash\n".into()
        )
    );
    assert!(
        slapd
            .log()
            .contains("filter=\"(&(&(objectClass=user)(uidNumber=*))(sAMAccountName=alice))\""),
        "{}",
        slapd.log()
    );
    // linux-admins through Platform; vpn-users through Security, which has no gidNumber.
    assert_eq!(
        id_groups(&env, "alice"),
        set(&["linux-users", "Platform", "linux-admins", "vpn-users"])
    );
    assert_eq!(id_groups(&env, "fay"), set(&["linux-users", "vpn-users"]));
    assert_eq!(members(&env, "linux-admins").unwrap(), set(&["alice"]));
    assert_eq!(members(&env, "vpn-users").unwrap(), set(&["alice", "fay"]));
    assert_eq!(
        members(&env, "Security"),
        None,
        "no gidNumber: not a POSIX group"
    );
    println!(
        "getent group linux-users: {}",
        env.getent(&["-s", "ldaprs", "group", "linux-users"])
            .1
            .trim()
    );
}

#[test]
fn user_in_300_groups() {
    let dir = scratch("many-ldif");
    let mut text =
        std::fs::read_to_string(workspace().join("tests/fixtures/rfc2307bis.ldif")).unwrap();
    text.push_str(&format!("\ndn: uid=many,ou=people,{BASE}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: many\ncn: Many Groups\nsn: Groups\nuidNumber: 10050\ngidNumber: 10001\nhomeDirectory: /home/many\nloginShell: /bin/sh\n"));
    for i in 0..300 {
        text.push_str(&format!("\ndn: cn=g{i:03},ou=groups,{BASE}\nobjectClass: groupOfNames\nobjectClass: posixGroup\ncn: g{i:03}\ngidNumber: {}\nmember: uid=many,ou=people,{BASE}\n", 40000 + i));
    }
    // One more level: a group whose members are all 300 groups.
    text.push_str(&format!("\ndn: cn=all300,ou=groups,{BASE}\nobjectClass: groupOfNames\nobjectClass: posixGroup\ncn: all300\ngidNumber: 40999\n"));
    for i in 0..300 {
        text.push_str(&format!("member: cn=g{i:03},ou=groups,{BASE}\n"));
    }
    let ldif = dir.join("many.ldif");
    std::fs::write(&ldif, text).unwrap();
    let slapd = Slapd::start_with(
        "many",
        &ldif,
        "rfc2307bis",
        SlapdOpts {
            db: "limits anonymous size=unlimited".into(),
            ..Default::default()
        },
    );
    let env = env_for(
        "many",
        &slapd,
        "rfc2307bis",
        "",
        "[servers.groups]\nnested = true\n",
    );
    // Cold initgroups through the module, then warm.
    let (st, _, cold_us, gids) = env.nsscall(&["initgroups", "many", "10001"]);
    assert_eq!(st, 1);
    let (_, _, warm_us, _) = env.nsscall(&["initgroups", "many", "10001"]);
    let n = gids.split_whitespace().count();
    println!("initgroups(many): {n} groups, cold {cold_us} µs, warm {warm_us} µs");
    assert_eq!(n, 301, "300 direct groups and all300");
    let g = id_groups(&env, "many");
    assert_eq!(g.len(), 302, "primary group, 300 groups, all300");
    assert!(g.contains("g000") && g.contains("g299") && g.contains("all300"));
    // The parents of 300 groups were asked in batches of at most 100 member values.
    assert!(
        slapd.log().matches("(|(member=cn=g").count() >= 3,
        "{}",
        env.daemon_log()
    );
}

#[test]
fn local_users_and_groups_come_first() {
    let slapd = Slapd::start("local", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("local");
    // A local alice (uid 5000), a local user holding carol's uid, a system user, and a local
    // group named like the directory's developers.
    env.add_local_accounts(
        "alice:x:5000:5000:Local Alice:/home/alice:/bin/sh\nzed:x:10003:10003::/home/zed:/bin/sh\nsvcacct:x:998:998::/:/usr/sbin/nologin\n",
        "alice:x:5000:\ndevelopers:x:5001:\n",
    );
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307",
        "[nss]\nignore_users = [\"dave\"]\nignore_groups = [\"contractors\"]\n",
        "",
    ));
    env.start_daemon();
    // Names and ids in the local files are never answered from LDAP.
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 2);
    assert_eq!(
        env.getent(&["passwd", "alice"]).1.trim(),
        "alice:x:5000:5000:Local Alice:/home/alice:/bin/sh"
    );
    assert_eq!(
        env.getent(&["-s", "ldaprs", "passwd", "carol"]).0,
        2,
        "uid 10003 is local (zed)"
    );
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "10003"]).0, 2);
    assert_eq!(env.getent(&["-s", "ldaprs", "group", "developers"]).0, 2);
    assert_eq!(
        env.getent(&["-s", "ldaprs", "group", "20001"]).0,
        2,
        "the directory's developers is shadowed by the local one"
    );
    // ignore_users / ignore_groups.
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "dave"]).0, 2);
    assert_eq!(env.getent(&["-s", "ldaprs", "group", "contractors"]).0, 2);
    let (_, all) = env.getent(&["-s", "ldaprs", "passwd"]);
    assert!(
        !all.contains("alice")
            && !all.contains("carol")
            && !all.contains("dave")
            && all.contains("bob"),
        "{all}"
    );
    // bob is untouched; his groups lose the shadowed developers.
    assert_eq!(id_groups(&env, "bob"), set(&["employees"]));
    // initgroups for root, a system user and the local alice: no LDAP search at all.
    let before = slapd.log().matches(" SRCH ").count();
    for u in ["root", "svcacct", "alice"] {
        assert!(env.run(&["id", u]).status.success());
    }
    let (st, _, _, _) = env.nsscall(&["initgroups", "root", "0"]);
    assert_eq!(st, 0, "NOTFOUND from ldaprs for root");
    assert_eq!(
        slapd.log().matches(" SRCH ").count(),
        before,
        "LDAP was searched for a local user"
    );
    // PAM: a local name is not a directory login.
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_ne!(code, 0);
    assert!(out.contains("User not known"), "{out}");
    assert!(
        env.daemon_log()
            .contains("auth user=alice service=ldaprs-test rhost= peer_uid=0: a local user"),
        "{}",
        env.daemon_log()
    );
    // The files are re-read when they change: bob (answered and cached above) becomes local.
    let passwd = env.dir.join("local-passwd");
    let mut text = std::fs::read_to_string(&passwd).unwrap();
    text.push_str("bob:x:5002:5002:Local Bob:/home/bob:/bin/sh\n");
    std::fs::write(&passwd, text).unwrap();
    // The daemon notices within its 250 ms housekeeping tick (the NSS module may answer from
    // the shared map without asking it).
    let t = std::time::Instant::now();
    while env.getent(&["-s", "ldaprs", "passwd", "bob"]).0 != 2 {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(3),
            "bob still answered from the directory"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    println!("local bob shadowed the directory's after {:?}", t.elapsed());
    assert_eq!(
        env.getent(&["passwd", "bob"]).1.trim(),
        "bob:x:5002:5002:Local Bob:/home/bob:/bin/sh"
    );
    assert!(!env.getent(&["-s", "ldaprs", "passwd"]).1.contains("bob:"));
}
