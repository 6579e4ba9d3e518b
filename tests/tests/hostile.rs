//! The attacks of the security review (issue 15), reproduced as the attacker did them (a
//! local user as uid 65534, a hostile directory entry), against a real slapd and the real
//! daemon, through glibc and libpam.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_common::protocol::{frame_request, Request};
use ldaprs_tests::{artifact, c_harness, workspace, Env, Slapd, SlapdOpts};
use std::time::{Duration, Instant};

const NOBODY: u32 = 65534;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn slapd(name: &str) -> Slapd {
    Slapd::start(name, "rfc2307.ldif", "rfc2307")
}

/// `ldaprsctl ARGS` inside the namespace, optionally as another uid → (exit code, output).
fn ctl(env: &Env, args: &[&str], as_uid: Option<u32>) -> (i32, String) {
    let mut argv: Vec<String> = Vec::new();
    if let Some(u) = as_uid {
        argv.extend([
            "setpriv".into(),
            format!("--reuid={u}"),
            format!("--regid={u}"),
            "--clear-groups".into(),
        ]);
    }
    argv.push(artifact("ldaprsctl").to_str().unwrap().into());
    argv.extend(["--socket".into(), "/run/ldaprs/socket".into()]);
    argv.extend(args.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = env.run(&refs);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn pattern_mode_guesses_as_nobody_never_reach_slapd_and_cost_time_per_uid() {
    // Issue 15.1: without a search the daemon used to bind first and refuse after success: an
    // oracle, and every guess a failed bind toward alice's lockout.
    let acl = "access to attrs=userPassword\n    by anonymous auth\n    by * none\naccess to *\n    by self read\n    by anonymous auth\n    by * none";
    let slapd = Slapd::start_with(
        "hostile-pattern",
        &workspace().join("tests/fixtures/rfc2307.ldif"),
        "rfc2307",
        SlapdOpts {
            acl: Some(acl.into()),
            ..Default::default()
        },
    );
    let mut env = Env::new("hostile-pattern");
    let server = "allow_cleartext_passwords = true\nuser_dn_pattern = \"uid=%s,ou=people,dc=example,dc=com\"\n";
    env.write_config(&Env::config_uris(&[&slapd.uri], "rfc2307", "", server));
    env.start_daemon();
    // As nobody: the wrong and the right password get the same answer, and no bind is sent.
    let wrong = env.pamtester("alice", &["guess1"], &["authenticate"], &[], Some(NOBODY));
    let right = env.pamtester("alice", &["alice-pw"], &["authenticate"], &[], Some(NOBODY));
    assert_ne!(wrong.0, 0, "{}", wrong.1);
    assert_ne!(right.0, 0, "{}", right.1);
    assert!(
        !slapd.log().contains("BIND dn=\"uid=alice,"),
        "a guess reached slapd:\n{}",
        slapd.log()
    );
    assert!(env
        .daemon_log()
        .contains("this name is not known to be one"));
    // Parallel guesses from one uid are answered one after another, 2 s each.
    let t = Instant::now();
    let mut took: Vec<Duration> = std::thread::scope(|s| {
        let guesses: Vec<_> = (0..3)
            .map(|i| {
                let env = &env;
                s.spawn(move || {
                    // Straight to the socket (ldaprsctl auth test), not through pamtester:
                    // pam_wrapper's set-up is not safe to run three times at once.
                    let uid = format!("--reuid={NOBODY}");
                    let gid = format!("--regid={NOBODY}");
                    let ctl = artifact("ldaprsctl");
                    let argv = [
                        "setpriv",
                        &uid,
                        &gid,
                        "--clear-groups",
                        ctl.to_str().unwrap(),
                        "--socket",
                        "/run/ldaprs/socket",
                        "auth",
                        "test",
                        "alice",
                    ];
                    let o = env.run_input(&argv, &format!("guess{i}\n"));
                    let out = String::from_utf8_lossy(&o.stdout).into_owned();
                    assert!(out.contains("Refused"), "guess {i}: {out}");
                    t.elapsed()
                })
            })
            .collect();
        guesses.into_iter().map(|h| h.join().unwrap()).collect()
    });
    took.sort();
    println!("3 parallel guesses as nobody answered after {took:?}");
    assert!(
        took[2] >= Duration::from_millis(5500),
        "the third of three parallel guesses came back after {:?}",
        took[2]
    );
    // Root (sshd, login) is not slowed down and logs in.
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
}

#[test]
fn a_flood_from_one_uid_stalls_nobody_else() {
    // Issue 15.2: 512 connections from nobody that never read used to hold every slot.
    let slapd = slapd("hostile-flood");
    let mut env = Env::new("hostile-flood");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    // Warm the cache for alice (the lookup a logged-in user makes all day).
    assert_eq!(env.getent(&["passwd", "alice"]).0, 0);
    let frame = frame_request(&Request::UserByName("alice".into()));
    let flood = c_harness("flood");
    let attacker = env
        .command(&[
            "setpriv",
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            flood.to_str().unwrap(),
            "/run/ldaprs/socket",
            "600",
            "6",
            &hex(&frame),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // During the flood: root's initgroups never touches the socket (the map answers local
    // names), a directory user's cached lookup and a login work, status answers.
    let mut worst_id_root = Duration::ZERO;
    for _ in 0..10 {
        let t = Instant::now();
        let o = env.run(&["id", "root"]);
        worst_id_root = worst_id_root.max(t.elapsed());
        assert!(o.status.success());
    }
    let t = Instant::now();
    let (code, line) = env.getent(&["passwd", "alice"]);
    let alice_took = t.elapsed();
    assert_eq!(code, 0, "{line}");
    let t = Instant::now();
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"]);
    let login_took = t.elapsed();
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    let t = Instant::now();
    let (code, out) = ctl(&env, &["status"], None);
    let status_took = t.elapsed();
    assert_eq!(code, 0, "{out}");
    let o = attacker.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    println!(
        "under the flood ({}): id root worst {:?} (process start included), getent passwd alice {:?}, login {:?}, status {:?}",
        report.trim(),
        worst_id_root,
        alice_took,
        login_took,
        status_took
    );
    // `id` is a new process each time; its own start dominates. What matters is that it does
    // not wait for the daemon: well under the module's 3 s deadline, and no socket request.
    assert!(
        worst_id_root < Duration::from_millis(500),
        "{worst_id_root:?}"
    );
    assert!(alice_took < Duration::from_millis(500), "{alice_took:?}");
    assert!(login_took < Duration::from_secs(2), "{login_took:?}");
    assert!(status_took < Duration::from_secs(1), "{status_took:?}");
    // The attacker was held to its cap: most of its connections were closed at once.
    let closed: u64 = report
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("closed="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(closed > 500, "{report}");
    assert!(
        env.daemon_log()
            .contains(&format!("uid {NOBODY} refused: it holds 16 connections")),
        "{}",
        env.daemon_log()
    );
    // id root asked nothing of the socket: the daemon logged no initgroups question for root.
    assert!(
        !env.daemon_log().contains("GroupsOf(\"root\")"),
        "{}",
        env.daemon_log()
    );
}

#[test]
fn caller_supplied_strings_cannot_forge_log_lines() {
    // Issue 15.5: a PAM item with a newline and a <N> priority became a journal line of its own.
    let slapd = slapd("hostile-log");
    let mut env = Env::new("hostile-log");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    let forged =
        "x\n<6>info: req=999 auth user=alice service=sshd rhost= peer_uid=0: success (forged)";
    let (code, _) = env.pamtester(
        "alice",
        &["wrong"],
        &["authenticate"],
        &[&format!("rhost={forged}")],
        None,
    );
    assert_ne!(code, 0);
    let log = env.daemon_log();
    assert!(
        !log.lines().any(|l| l.starts_with("<6>info: req=999")),
        "a forged line:\n{log}"
    );
    assert!(log.contains("rhost=x\\x0a<6>info: req=999"), "{log}");
}

#[test]
fn a_local_primary_group_or_gid_100_is_served_only_when_allowed() {
    // Issue 15.6 (and the primary-group part of issue 10): with a local group of gid 10001,
    // alice (primary gid 10001) used to get the local group as her primary group.
    let slapd = slapd("hostile-gid");
    slapd.modify(
        "dn: uid=pat,ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: pat\ncn: Pat\nsn: Pat\nuidNumber: 10060\ngidNumber: 100\nhomeDirectory: /home/pat\nloginShell: /bin/sh\nuserPassword: pat-pw\n",
    );
    let mut env = Env::new("hostile-gid");
    env.add_local_accounts("", "localadm:x:10001:\n");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    // gid 100 (`users`) is allowed by default although below min_gid and local on Debian.
    let (code, line) = env.getent(&["passwd", "pat"]);
    assert_eq!(
        (code, line.as_str()),
        (0, "pat:x:10060:100:Pat:/home/pat:/bin/sh\n")
    );
    // alice's primary gid is now a local group: not served, with a reason in the log.
    assert_eq!(env.getent(&["passwd", "alice"]).0, 2);
    let log = env.daemon_log();
    assert!(
        log.contains("user uid=alice,ou=people,dc=example,dc=com is not served: primary gid 10001 is a local group (/etc/group) ([nss] allow_primary_gids or min_gid to change it)"),
        "{log}"
    );
    // ldaprsctl says why, and which key changes it.
    let (_, shown) = ctl(&env, &["user", "show", "alice"], None);
    println!("{shown}");
    assert!(
        shown.lines().any(|l| l.starts_with("hidden")
            && l.contains("primary gid 10001 is a local group (/etc/group) ([nss] allow_primary_gids or min_gid to change it)")),
        "{shown}"
    );
    assert!(
        shown.contains("answer                   not found"),
        "{shown}"
    );
    // Listed in allow_primary_gids, it is served.
    env.stop_daemon();
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307",
        "[nss]\nallow_primary_gids = [100, 10001]\n",
        "",
    ));
    env.start_daemon();
    assert_eq!(env.getent(&["passwd", "alice"]).0, 0);
    // gid 0 can never be allowed.
    env.stop_daemon();
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307",
        "[nss]\nallow_primary_gids = [0]\n",
        "",
    ));
    let err = env.try_start_daemon().unwrap_err();
    assert!(err.contains("nss.allow_primary_gids"), "{err}");
}

#[test]
fn an_oversized_entry_is_hidden_and_every_other_one_is_returned() {
    // Issue 15.7: a 70,000-byte gecos made `getent passwd` return no directory user at all.
    let slapd = slapd("hostile-big");
    for (name, uid, len) in [("huge", 10070, 70_000), ("longish", 10071, 3_000)] {
        slapd.modify(&format!(
            "dn: uid={name},ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: {name}\ncn: {}\nsn: x\nuidNumber: {uid}\ngidNumber: 10001\nhomeDirectory: /home/{name}\n",
            "g".repeat(len)
        ));
    }
    let mut env = Env::new("hostile-big");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    let (code, all) = env.getent(&["passwd"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = all.lines().filter_map(|l| l.split(':').next()).collect();
    for n in ["alice", "bob", "carol", "dave", "longish"] {
        assert!(
            names.contains(&n),
            "{n} missing from the enumeration: {names:?}"
        );
    }
    assert!(!names.contains(&"huge"));
    assert!(
        env.daemon_log().contains(
            "user uid=huge,ou=people,dc=example,dc=com is not served: the gecos field is 70000 bytes (more than 4096)"
        ),
        "{}",
        env.daemon_log()
    );
}

#[test]
fn duplicate_uids_are_refused_by_uid_as_names_are() {
    let slapd = slapd("hostile-dupuid");
    slapd.modify("dn: uid=twin,ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: twin\ncn: Twin\nsn: Twin\nuidNumber: 10001\ngidNumber: 10001\nhomeDirectory: /home/twin\n");
    let mut env = Env::new("hostile-dupuid");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    assert_ne!(
        env.getent(&["passwd", "10001"]).0,
        0,
        "uid 10001 has two owners"
    );
    let log = env.daemon_log();
    assert!(log.contains("ambiguous uid 10001"), "{log}");
    assert!(
        log.contains("another entry has the same uidNumber"),
        "{log}"
    );
}

#[test]
fn status_and_explanations_are_for_root_and_for_ones_own_user() {
    let slapd = slapd("hostile-admin");
    let mut env = Env::new("hostile-admin");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    let (code, out) = ctl(&env, &["status"], Some(NOBODY));
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("only root may ask for status"), "{out}");
    assert!(!out.contains("ldap://"), "{out}");
    let (code, out) = ctl(&env, &["user", "show", "alice"], Some(NOBODY));
    assert_ne!(code, 0, "{out}");
    assert!(!out.contains("base"), "{out}");
    // alice may see her own record, without servers, bases or filters.
    let (code, out) = ctl(&env, &["user", "show", "alice"], Some(10001));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("alice:x:10001:10001"), "{out}");
    assert!(!out.contains("filter") && !out.contains("ldap://"), "{out}");
    // Root sees everything.
    let (code, out) = ctl(&env, &["user", "show", "alice"], None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("filter (&(objectClass=posixAccount)(uid=alice))"),
        "{out}"
    );
}

#[test]
fn random_names_from_one_uid_cannot_fill_the_shared_map() {
    let slapd = slapd("hostile-negative");
    let mut env = Env::new("hostile-negative");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    env.start_daemon();
    // 1,050 random names as nobody, through the module (one getent for all of them).
    let names: Vec<String> = (0..1050).map(|i| format!("rnd{i:05}x")).collect();
    let mut argv = vec![
        "setpriv".to_string(),
        format!("--reuid={NOBODY}"),
        format!("--regid={NOBODY}"),
        "--clear-groups".into(),
        "getent".into(),
        "passwd".into(),
    ];
    argv.extend(names.iter().cloned());
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = env.run(&refs);
    assert_eq!(o.status.code(), Some(2));
    let log = env.daemon_log();
    let over = log
        .lines()
        .filter(|l| l.contains("negative-answer quota of uid Some(65534) reached"))
        .count();
    assert_eq!(over, 50, "{over} answers over the quota");
    // Root's negative answers still go into the map.
    assert_eq!(env.getent(&["passwd", "rootasks1"]).0, 2);
    assert!(!log.contains("quota of uid None"));
}

#[test]
fn a_password_goes_to_one_server_only() {
    // Issue 15.9: user binds were hedged to a second server, so a wrong password could count
    // twice toward a lockout. Now: a silent server gets a probe, never the password.
    let (a, b) = ldaprs_tests::mirror_pair("hostile-hedge", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("hostile-hedge");
    let server = "allow_cleartext_passwords = true\nuser_dn_pattern = \"uid=%s,ou=people,dc=example,dc=com\"\n";
    env.write_config(&Env::config_uris(&[&a.uri, &b.uri], "rfc2307", "", server));
    env.start_daemon();
    a.freeze();
    let t = Instant::now();
    let (code, out) = env.pam("alice", "wrong", &["authenticate"]);
    let took = t.elapsed();
    a.thaw();
    assert_ne!(code, 0, "{out}");
    println!("wrong password with the first server hung: {took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !a.log().contains("BIND dn=\"uid=alice,"),
        "the hung server got the password too:\n{}",
        a.log()
    );
    assert!(b.log().contains("BIND dn=\"uid=alice,"), "{}", b.log());
    assert!(env
        .daemon_log()
        .contains("to a probe before the bind; the password was not sent"));
}
