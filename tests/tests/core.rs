//! End to end: slapd → ldaprsd → libnss_ldaprs.so.2 loaded by glibc (getent, id) and
//! pam_ldaprs.so loaded by libpam (pamtester under pam_wrapper). Issue 2.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{artifact, secret_file, workspace, Env, Slapd};
use std::process::Command;

/// glibc NSS status values as the harness prints them.
const SUCCESS: i32 = 1;
const NOTFOUND: i32 = 0;
const UNAVAIL: i32 = -1;
const TRYAGAIN: i32 = -2;
const ERANGE: i32 = 34;

fn setup(name: &str, schema: &str, extra_top: &str, extra_server: &str) -> (Slapd, Env) {
    let slapd = Slapd::start(name, &format!("{schema}.ldif"), schema);
    let mut env = Env::new(name);
    env.write_config(&Env::config_for(&slapd, schema, extra_top, extra_server));
    env.start_daemon();
    (slapd, env)
}

fn lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn passwd_by_name_uid_and_enumeration() {
    let (_slapd, env) = setup("passwd", "rfc2307", "", "");
    assert_eq!(
        env.getent(&["-s", "ldaprs", "passwd", "alice"]),
        (
            0,
            "alice:x:10001:10001:Alice Liddell:/home/alice:/bin/bash\n".to_string()
        )
    );
    assert_eq!(
        env.getent(&["-s", "ldaprs", "passwd", "10002"]),
        (
            0,
            "bob:x:10002:10001:Bob Builder:/home/bob:/bin/bash\n".to_string()
        )
    );
    // Unknown, case variants and padded names are not found (LDAP would match them
    // case-insensitively; we must not).
    for name in ["nosuch", "ALICE", "Alice", " alice", "alice ", "a*"] {
        assert_eq!(
            env.getent(&["-s", "ldaprs", "passwd", name]).0,
            2,
            "{name:?}"
        );
    }
    // Enumeration: the 5 valid users, without uidNumber 0 or 500.
    let (code, out) = env.getent(&["-s", "ldaprs", "passwd"]);
    assert_eq!(code, 0);
    let names: Vec<String> = lines(&out)
        .iter()
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["alice", "bob", "carol", "dave", "erin"]);
}

#[test]
fn uid_zero_and_low_ids_are_never_answered() {
    let (_slapd, env) = setup("rootguard", "rfc2307", "", "");
    // The directory has evilroot with uidNumber 0 and lowuid with 500: neither comes back, by
    // name, by id or in the enumeration; a LDAP group with gid 10 neither.
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "evilroot"]).0, 2);
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "0"]).0, 2);
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "lowuid"]).0, 2);
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "500"]).0, 2);
    assert_eq!(env.getent(&["-s", "ldaprs", "group", "lowgroup"]).0, 2);
    let (_, all) = env.getent(&["-s", "ldaprs", "passwd"]);
    assert!(!all.contains("evilroot") && !all.contains(":0:"), "{all}");
    // Through the whole nsswitch stack, root is still the local root.
    let o = env.run(&["id", "root"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "uid=0(root) gid=0(root) groups=0(root)"
    );
    let o = env.run(&["id", "evilroot"]);
    assert!(!o.status.success());
}

fn check_groups(schema: &str) {
    let (_slapd, env) = setup(&format!("groups-{schema}"), schema, "", "");
    assert_eq!(
        env.getent(&["-s", "ldaprs", "group", "developers"]),
        (0, "developers:x:20001:alice,bob,erin\n".to_string())
    );
    assert_eq!(
        env.getent(&["-s", "ldaprs", "group", "20002"]),
        (0, "admins:x:20002:alice\n".to_string())
    );
    assert_eq!(env.getent(&["-s", "ldaprs", "group", "nosuch"]).0, 2);
    let (code, out) = env.getent(&["-s", "ldaprs", "group"]);
    assert_eq!(code, 0);
    let names: Vec<String> = lines(&out)
        .iter()
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        vec!["admins", "carol", "contractors", "developers", "employees"]
    );
    // initgroups through glibc (nsswitch: files ldaprs): primary group + supplementary ones.
    let o = env.run(&["id", "alice"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "uid=10001(alice) gid=10001(employees) groups=10001(employees),20001(developers),20002(admins)"
    );
    // erin's DN is cn=Erin Example,...: with member DNs the daemon resolves it by lookup.
    let o = env.run(&["id", "-Gn", "erin"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "employees developers"
    );
    let (st, _, _, gids) = env.nsscall(&["initgroups", "alice", "10001"]);
    assert_eq!(st, SUCCESS);
    assert_eq!(gids, "20001 20002");
    let (st, _, _, _) = env.nsscall(&["initgroups", "nosuch"]);
    assert_eq!(st, NOTFOUND);
}

#[test]
fn groups_rfc2307_member_uid() {
    check_groups("rfc2307");
}

#[test]
fn groups_rfc2307bis_member_dn() {
    check_groups("rfc2307bis");
}

#[test]
fn erange_is_exact_and_retry_succeeds() {
    let (_slapd, env) = setup("erange", "rfc2307", "", "");
    let full = "alice:x:10001:10001:Alice Liddell:/home/alice:/bin/bash";
    // Strings need 6+2+14+12+10 = 44 bytes.
    for len in ["0", "1", "8", "43"] {
        let (st, errno, _, _) = env.nsscall(&["pwnam", "alice", len]);
        assert_eq!((st, errno), (TRYAGAIN, ERANGE), "buflen {len}");
    }
    let (st, errno, _, rec) = env.nsscall(&["pwnam", "alice", "44"]);
    assert_eq!((st, errno, rec.as_str()), (SUCCESS, 0, full));
    let (st, errno, _, _) = env.nsscall(&["grnam", "developers", "16"]);
    assert_eq!((st, errno), (TRYAGAIN, ERANGE));
    let (st, _, _, rec) = env.nsscall(&["grnam", "developers", "4096"]);
    assert_eq!(
        (st, rec.as_str()),
        (SUCCESS, "developers:x:20001:alice,bob,erin")
    );
    // Unknown is NOTFOUND with ENOENT.
    let (st, errno, _, _) = env.nsscall(&["pwnam", "nosuch"]);
    assert_eq!((st, errno), (NOTFOUND, 2));
}

#[test]
fn daemon_down_is_unavail_at_once_and_files_still_work() {
    let (_slapd, mut env) = setup("down", "rfc2307", "", "");
    assert_eq!(env.nsscall(&["pwnam", "alice"]).0, SUCCESS);
    env.stop_daemon();
    let mut worst = 0;
    for _ in 0..20 {
        let (st, _, us, _) = env.nsscall(&["pwnam", "alice"]);
        assert_eq!(st, UNAVAIL);
        worst = worst.max(us);
    }
    assert!(worst < 5_000, "UNAVAIL took {worst} µs (goal < 5 ms)");
    println!("daemon down: slowest of 20 lookups {worst} µs");
    // Local users resolve through `files` as before.
    assert_eq!(env.getent(&["passwd", "root"]).0, 0);
    let o = env.run(&["id", "root"]);
    assert!(o.status.success());
    assert_eq!(env.getent(&["passwd", "alice"]).0, 2);
}

#[test]
fn pam_login_good_wrong_empty_unknown() {
    let (slapd, mut env) = setup("pam", "rfc2307", "", "");
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("successfully authenticated"), "{out}");

    let (code, out) = env.pam("alice", "wrong", &["authenticate"]);
    assert_ne!(code, 0);
    assert!(out.contains("Authentication failure"), "{out}");

    let (code, out) = env.pam("nosuch", "x", &["authenticate"]);
    assert_ne!(code, 0);
    assert!(out.contains("User not known"), "{out}");

    // uidNumber 0 in LDAP: not a user we know, whatever the password.
    let (code, out) = env.pam("evilroot", "evil-pw", &["authenticate"]);
    assert_ne!(code, 0);
    assert!(out.contains("User not known"), "{out}");

    // Empty password: refused, and slapd never sees a bind for carol (who has not logged in).
    let bind = "BIND dn=\"uid=carol,ou=people,dc=example,dc=com\"";
    let (code, out) = env.pam("carol", "", &["authenticate"]);
    assert_ne!(code, 0);
    assert!(out.contains("Authentication failure"), "{out}");
    assert!(
        !slapd.log().contains(bind),
        "an empty-password bind reached slapd"
    );
    // The same check sees a real bind, so it would have caught one.
    assert_eq!(env.pam("carol", "carol-pw", &["authenticate"]).0, 0);
    assert!(slapd.log().contains(bind));

    // Daemon down: PAM_AUTHINFO_UNAVAIL, and the module says why in its log.
    env.stop_daemon();
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_ne!(code, 0);
    assert!(
        out.contains("Authentication service cannot retrieve authentication info"),
        "{out}"
    );
    assert!(out.contains("ldaprsd is not reachable"), "{out}");
}

#[test]
fn pam_account_allow_and_deny_groups() {
    let (_slapd, env) = setup(
        "access",
        "rfc2307bis",
        "[pam]\nallow_groups = [\"employees\"]\ndeny_groups = [\"contractors\"]\n",
        "",
    );
    // alice: employees (primary group) → allowed.
    assert_eq!(
        env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"])
            .0,
        0
    );
    // dave: employees and contractors → deny wins, with the reason shown.
    let (code, out) = env.pam("dave", "dave-pw", &["authenticate", "acct_mgmt"]);
    assert_ne!(code, 0);
    assert!(out.contains("member of denied group contractors"), "{out}");
    // carol: not in employees.
    let (code, out) = env.pam("carol", "carol-pw", &["acct_mgmt"]);
    assert_ne!(code, 0);
    assert!(out.contains("not a member of any allowed group"), "{out}");
    let log = env.daemon_log();
    assert!(
        log.contains("account user=dave")
            && log.contains("denied (member of denied group contractors)"),
        "{log}"
    );
}

#[test]
fn service_bind_account_and_secret_file_permissions() {
    let slapd = Slapd::start("svcbind", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("svcbind");
    let pw = secret_file(&env.dir, "reader-pw", 0o644);
    let server = format!(
        "bind_dn = \"cn=reader,dc=example,dc=com\"\nbind_password_file = \"{}\"",
        pw.display()
    );
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", &server));
    // Readable by others: refused with a message that says so.
    let err = env.try_start_daemon().unwrap_err();
    assert!(
        err.contains("readable or writable by group or others (mode 0644)"),
        "{err}"
    );
    // 0600: starts, binds as the reader, answers.
    secret_file(&env.dir, "reader-pw", 0o600);
    env.start_daemon();
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 0);
    assert!(slapd
        .log()
        .contains("BIND dn=\"cn=reader,dc=example,dc=com\""));
}

#[test]
fn config_errors_name_file_line_and_key() {
    let mut env = Env::new("badconfig");
    env.write_config("[daemon]\nsockt = \"/run/x\"\n\n[[servers]]\nname = \"a\"\nuri = \"ldap://127.0.0.1\"\nbase = \"dc=x\"\n");
    let err = env.try_start_daemon().unwrap_err();
    let want = format!(
        "{}:2: key `daemon.sockt`: unknown field `sockt`",
        env.config.display()
    );
    assert!(err.contains(&want), "{err}");
    assert!(err.contains("did you mean `socket`?"), "{err}");
    // ldaprsctl config check says the same, without a daemon.
    let o = Command::new(artifact("ldaprsctl"))
        .args(["--config", env.config.to_str().unwrap(), "config", "check"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&want));
    // A config anyone may rewrite is refused by the check.
    {
        use std::os::unix::fs::PermissionsExt;
        env.write_config(
            "[[servers]]\nname = \"a\"\nuri = \"ldap://127.0.0.1\"\nbase = \"dc=x\"\n",
        );
        std::fs::set_permissions(&env.config, std::fs::Permissions::from_mode(0o666)).unwrap();
        let o = Command::new(artifact("ldaprsctl"))
            .args(["--config", env.config.to_str().unwrap(), "config", "check"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(78));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("writable by group or others (mode 0666)")
        );
        std::fs::set_permissions(&env.config, std::fs::Permissions::from_mode(0o644)).unwrap();
        let o = Command::new(artifact("ldaprsctl"))
            .args(["--config", env.config.to_str().unwrap(), "config", "check"])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("user passwords will not be sent there")
        );
    }
    // The shipped example config passes the check.
    let example = workspace().join("packaging/ldaprs.toml");
    let o = Command::new(artifact("ldaprsctl"))
        .args(["--config", example.to_str().unwrap(), "config", "check"])
        .output()
        .unwrap();
    // Its bind_password_file does not exist on a test machine: that, and only that, is reported.
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("bind_password_file") && !e.contains("unknown field"),
        "{e}"
    );
}

#[test]
fn modules_link_only_libc_and_libpam() {
    // The dependency graph: no tokio, ldap3, rustls, openssl in either module.
    for krate in ["nss_ldaprs", "pam_ldaprs"] {
        let o = Command::new(env!("CARGO"))
            .current_dir(workspace())
            .args([
                "tree",
                "--offline",
                "-p",
                krate,
                "-e",
                "normal",
                "--prefix",
                "none",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let tree = String::from_utf8_lossy(&o.stdout);
        for banned in ["tokio", "ldap3", "rustls", "openssl", "native-tls", "ring"] {
            assert!(
                !tree.lines().any(|l| l.starts_with(&format!("{banned} "))),
                "{krate} depends on {banned}:\n{tree}"
            );
        }
    }
    // What the dynamic linker will load.
    for (lib, allowed) in [
        (
            "libnss_ldaprs.so",
            &["libc.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"][..],
        ),
        (
            "libpam_ldaprs.so",
            &[
                "libc.so.6",
                "libgcc_s.so.1",
                "libpam.so.0",
                "ld-linux-x86-64.so.2",
            ][..],
        ),
    ] {
        let o = Command::new("readelf")
            .args(["-d", artifact(lib).to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        let needed: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("(NEEDED)"))
            .filter_map(|l| l.split('[').nth(1))
            .map(|s| s.trim_end_matches(']'))
            .collect();
        assert!(!needed.is_empty());
        for n in &needed {
            assert!(allowed.contains(n), "{lib} needs {n}");
        }
        // Thread-locals break hosts that fork or exit oddly. Rust's std keeps a few bytes of
        // its own (panic count, current thread: 0x50 bytes with Rust 1.95); anything larger
        // would be ours.
        let o = Command::new("readelf")
            .args(["-lW", artifact(lib).to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        if let Some(tls) = text.lines().find(|l| l.trim_start().starts_with("TLS ")) {
            let memsz = tls.split_whitespace().nth(5).unwrap();
            let bytes = u64::from_str_radix(memsz.trim_start_matches("0x"), 16).unwrap();
            assert!(
                bytes <= 0x100,
                "{lib} has {bytes} bytes of thread-local storage: {tls}"
            );
        }
    }
    // Both modules stay loaded once loaded (-z nodelete): libpam reloads modules at every
    // pam_start, and reloading Rust's unwinder (libgcc_s) costs ~150 µs each time.
    for lib in ["libnss_ldaprs.so", "libpam_ldaprs.so"] {
        let o = Command::new("readelf")
            .args(["-d", artifact(lib).to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("NODELETE"),
            "{lib} lacks -z nodelete"
        );
    }
    // Our own code never declares a thread-local (every file, in every folder).
    for dir in ["common/src", "nss_ldaprs/src", "pam_ldaprs/src"] {
        let mut todo = vec![workspace().join(dir)];
        while let Some(d) = todo.pop() {
            for f in std::fs::read_dir(&d).unwrap() {
                let path = f.unwrap().path();
                if path.is_dir() {
                    todo.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    !text.contains(&["thread", "_local!"].concat()),
                    "{} declares a thread-local",
                    path.display()
                );
            }
        }
    }
    // Exported symbols: only ours.
    let o = Command::new("nm")
        .args([
            "-D",
            "--defined-only",
            artifact("libnss_ldaprs.so").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let sym = l.split_whitespace().last().unwrap_or("");
        assert!(sym.starts_with("_nss_ldaprs_"), "unexpected export {sym}");
    }
    let o = Command::new("objdump")
        .args(["-p", artifact("libnss_ldaprs.so").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("SONAME               libnss_ldaprs.so.2"));
}

#[test]
fn sighup_reloads_the_config_and_keeps_the_old_one_when_the_new_one_is_bad() {
    let (slapd, mut env) = setup("reload", "rfc2307", "", "");
    assert_eq!(
        env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"])
            .0,
        0
    );
    assert_eq!(env.nsscall(&["pwnam", "alice"]).0, SUCCESS);
    // New rule: developers may not log in. SIGHUP, and alice is refused at once.
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307",
        "[pam]\ndeny_groups = [\"developers\"]\n",
        "",
    ));
    env.signal_daemon(libc::SIGHUP);
    let t = std::time::Instant::now();
    while !env.daemon_log().contains("SIGHUP: configuration reloaded") {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{}",
            env.daemon_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (code, out) = env.pam("alice", "alice-pw", &["acct_mgmt"]);
    assert_ne!(code, 0);
    assert!(out.contains("member of denied group developers"), "{out}");
    // Lookups keep working across the reload.
    assert_eq!(env.nsscall(&["pwnam", "alice"]).0, SUCCESS);
    // A broken config: reported, and the running one stays.
    env.write_config("[daemon]\nbogus = 1\n");
    env.signal_daemon(libc::SIGHUP);
    let t = std::time::Instant::now();
    while !env.daemon_log().contains("config not reloaded") {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{}",
            env.daemon_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(env.daemon_log().contains("unknown field `bogus`"));
    assert_ne!(
        env.pam("alice", "alice-pw", &["acct_mgmt"]).0,
        0,
        "the previous (deny) config must still apply"
    );
    assert_eq!(
        env.pam("carol", "carol-pw", &["authenticate", "acct_mgmt"])
            .0,
        0,
        "carol is not a developer"
    );
}

#[test]
fn ldaprsctl_status_user_show_group_show_and_auth_test() {
    let (slapd, env) = setup(
        "ctl",
        "rfc2307",
        "[pam]\ndeny_groups = [\"contractors\"]\n",
        "",
    );
    let ctl = artifact("ldaprsctl");
    let ctl = ctl.to_str().unwrap();
    let cfg = env.config.to_str().unwrap();
    let run = |args: &[&str], input: &str| {
        let mut argv = vec![ctl, "--config", cfg];
        argv.extend_from_slice(args);
        let o = env.run_input(&argv, input);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, out) = run(&["user", "show", "alice"], "");
    println!("$ ldaprsctl user show alice\n{out}");
    assert_eq!(code, 0);
    assert!(out.contains("filter (&(objectClass=posixAccount)(uid=alice)): 1 entry (uid=alice,ou=people,dc=example,dc=com)"), "{out}");
    assert!(out.contains(&format!("server test {}", slapd.uri)), "{out}");
    assert!(
        out.contains(
            "answer                   alice:x:10001:10001:Alice Liddell:/home/alice:/bin/bash"
        ),
        "{out}"
    );
    // Asked again: now it is in the daemon's cache and in the shared map.
    let (_, out) = run(&["user", "show", "alice"], "");
    assert!(
        out.contains("daemon cache             hit: alice:x:10001"),
        "{out}"
    );
    assert!(
        out.contains("shared map               fresh record"),
        "{out}"
    );
    let (code, out) = run(&["user", "show", "nosuch"], "");
    assert_eq!(code, 2, "{out}");
    let (code, out) = run(&["--json", "user", "show", "bob"], "");
    assert_eq!(code, 0);
    assert!(
        out.trim_start().starts_with('{')
            && out.contains("\"answer\": \"bob:x:10002:10001:Bob Builder:/home/bob:/bin/bash\""),
        "{out}"
    );
    let (_, out) = run(&["group", "show", "developers"], "");
    assert!(
        out.contains("answer                   developers:x:20001:alice,bob,erin (3 members)"),
        "{out}"
    );
    let (code, out) = run(&["status"], "");
    println!("$ ldaprsctl status\n{out}");
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("server test {} up (connected)", slapd.uri)),
        "{out}"
    );
    let (code, out) = run(&["auth", "test", "alice"], "alice-pw\n");
    println!("$ ldaprsctl auth test alice\n{out}");
    assert_eq!(
        (code, out.as_str()),
        (0, "authentication: Success\naccount: Success\n")
    );
    let (code, out) = run(&["auth", "test", "alice"], "wrong\n");
    assert_eq!((code, out.as_str()), (1, "authentication: Denied\n"));
    let (code, out) = run(&["auth", "test", "dave"], "dave-pw\n");
    println!("$ ldaprsctl auth test dave\n{out}");
    assert_eq!(code, 1);
    assert!(
        out.contains("account: AccountDenied: Access denied: member of denied group contractors."),
        "{out}"
    );
    let (code, out) = run(&["cache", "flush"], "");
    assert_eq!((code, out.as_str()), (0, "ok\n"));
}

#[test]
fn daemon_runs_as_its_own_user_after_reading_root_only_secrets() {
    let slapd = Slapd::start("privdrop", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("privdrop");
    let pw = secret_file(&env.dir, "reader-pw", 0o600);
    let server = format!(
        "bind_dn = \"cn=reader,dc=example,dc=com\"\nbind_password_file = \"{}\"",
        pw.display()
    );
    env.write_config(
        &Env::config_for(&slapd, "rfc2307", "[daemon]\nuser = \"nobody\"\n", &server)
            .replace("\n[daemon]\nlog_level", "\nlog_level"),
    );
    env.start_daemon();
    let status = std::fs::read_to_string(format!("/proc/{}/status", env.daemon_pid())).unwrap();
    let uid_line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .to_string();
    assert_eq!(
        uid_line.split_whitespace().skip(1).collect::<Vec<_>>(),
        vec!["65534"; 4],
        "{uid_line}"
    );
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("CapEff:") && l.ends_with("0000000000000000")),
        "{status}"
    );
    assert!(
        env.daemon_log().contains("running as nobody (uid 65534"),
        "{}",
        env.daemon_log()
    );
    // Lookups (service bind with the root-only password read at start) and logins work; the
    // PAM module trusts the daemon because it owns the socket's directory.
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 0);
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"]);
    assert_eq!(code, 0, "{out}");
    // A reload cannot read the secret again and keeps the one read at start.
    env.signal_daemon(libc::SIGHUP);
    let t = std::time::Instant::now();
    while !env.daemon_log().contains("SIGHUP: configuration reloaded") {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{}",
            env.daemon_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(env
        .daemon_log()
        .contains("keeping the password read at start"));
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "bob"]).0, 0);
}
