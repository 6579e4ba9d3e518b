//! Offline mode and the persistent cache (issue 11): a reboot with every server black-holed
//! (SIGSTOPped slapd), the lookups answered from `/var/lib/ldaprs` through glibc, back online
//! after SIGCONT, and damaged or foreign cache files set aside at start.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{artifact, Env, Slapd};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

/// Short timeouts so that the first request after the freeze gives up quickly.
const SERVER: &str = "timeout = 1\nconnect_timeout = 1\n";

fn setup(name: &str, top: &str) -> (Slapd, Env) {
    let slapd = Slapd::start(name, "rfc2307.ldif", "rfc2307");
    let mut env = Env::new(name);
    env.write_config(&Env::config_for(&slapd, "rfc2307", top, SERVER));
    env.start_daemon();
    (slapd, env)
}

fn status(env: &Env) -> String {
    let o = env.run(&[
        artifact("ldaprsctl").to_str().unwrap(),
        "--config",
        env.config.to_str().unwrap(),
        "status",
    ]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `ldaprsctl status` says `directory  online`.
fn is_online(env: &Env) -> bool {
    status(env)
        .lines()
        .any(|l| l.starts_with("directory ") && l.split_whitespace().nth(1) == Some("online"))
}

fn id(env: &Env, user: &str) -> (String, Duration) {
    let t = Instant::now();
    let o = env.run(&["id", user]);
    let d = t.elapsed();
    (String::from_utf8_lossy(&o.stdout).trim().to_string(), d)
}

/// A reboot: the daemon stopped, `/run` wiped, the daemon started again.
fn reboot(env: &mut Env) {
    env.stop_daemon();
    let o = env.run(&[
        "sh",
        "-c",
        "rm -rf /run/ldaprs/* && ls -A /run/ldaprs | wc -l",
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "0");
    env.start_daemon();
}

const ALICE_ID: &str =
    "uid=10001(alice) gid=10001(employees) groups=10001(employees),20001(developers),20002(admins)";

#[test]
fn reboot_with_every_server_black_holed_answers_from_the_persistent_cache() {
    let (slapd, mut env) = setup("offline-reboot", "");
    let (online, _) = id(&env, "alice");
    assert_eq!(online, ALICE_ID);
    assert_eq!(env.getent(&["group", "developers"]).0, 0);
    assert!(is_online(&env), "{}", status(&env));
    // The stop writes the persistent cache: 0700 directory, 0600 file.
    env.stop_daemon();
    let file = env.state_from_host().join("answers.db");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let dmode = std::fs::metadata(env.state_from_host())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dmode & 0o777, 0o700, "{dmode:o}");

    slapd.freeze();
    let _ = env.run(&["sh", "-c", "rm -rf /run/ldaprs/*"]);
    env.start_daemon();
    let (offline, took) = id(&env, "alice");
    eprintln!("id alice, first request after the reboot, slapd frozen: {took:?}");
    assert_eq!(offline, ALICE_ID);
    assert!(took < Duration::from_millis(50), "{took:?}");
    let (st, _, us, _) = env.nsscall(&["pwnam", "alice"]);
    assert_eq!(st, 1);
    eprintln!("getpwnam(alice) in-process after the reboot, slapd frozen: {us} µs");
    assert_eq!(
        env.getent(&["group", "developers"]),
        (0, "developers:x:20001:alice,bob,erin\n".to_string())
    );
    assert_eq!(env.getent(&["group", "admins"]).1, "admins:x:20002:alice\n");
    // Never looked up here: unavailable (getent says 2), after at most the timeouts once.
    let t = Instant::now();
    assert_eq!(env.getent(&["passwd", "carol"]).0, 2);
    eprintln!(
        "getent passwd carol (not cached), first failure: {:?}",
        t.elapsed()
    );
    assert_eq!(env.getent(&["passwd", "evilroot"]).0, 2);
    // Now known to be offline: the next unknown name does not wait for a server.
    let t = Instant::now();
    assert_eq!(env.getent(&["passwd", "dave"]).0, 2);
    let waited = t.elapsed();
    eprintln!("getent passwd dave (not cached) while offline: {waited:?}");
    assert!(waited < Duration::from_millis(200), "{waited:?}");
    let st = status(&env);
    assert!(st.contains("offline since "), "{st}");
    assert!(st.contains("next probe in"), "{st}");
    // Past the restored map records (the daemon answers from memory, then the stored copy).
    let (again, took) = id(&env, "alice");
    assert_eq!(again, ALICE_ID);
    assert!(took < Duration::from_millis(50), "{took:?}");
    let log = env.daemon_log();
    assert_eq!(
        log.matches("offline: no URI of any server block answers")
            .count(),
        1,
        "{log}"
    );

    // SIGCONT: online again within 30 s (plus one probe's timeout), logged once.
    slapd.thaw();
    let t = Instant::now();
    while !is_online(&env) {
        assert!(t.elapsed() < Duration::from_secs(33), "{}", status(&env));
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("back online {:?} after SIGCONT", t.elapsed());
    assert!(env
        .daemon_log()
        .contains("online: a server answers again after"));
    assert_eq!(env.getent(&["passwd", "carol"]).0, 0);
    reboot(&mut env);
    assert_eq!(id(&env, "alice").0, ALICE_ID);
}

#[test]
fn damaged_or_foreign_cache_files_are_set_aside_and_the_daemon_answers_online() {
    let (_slapd, mut env) = setup("offline-damaged", "");
    assert_eq!(id(&env, "alice").0, ALICE_ID);
    env.stop_daemon();
    let file = env.state_from_host().join("answers.db");
    let good = std::fs::read(&file).unwrap();
    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 0x20;
    type Damage<'a> = Box<dyn Fn() + 'a>;
    let cases: Vec<(&str, Damage)> = vec![
        (
            "corrupt",
            Box::new(|| std::fs::write(&file, &flipped).unwrap()),
        ),
        (
            "truncated",
            Box::new(|| std::fs::write(&file, &good[..good.len() / 2]).unwrap()),
        ),
        (
            "not trusted",
            Box::new(|| {
                std::fs::write(&file, &good).unwrap();
                std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
            }),
        ),
        (
            "not trusted",
            Box::new(|| {
                std::fs::write(&file, &good).unwrap();
                std::os::unix::fs::chown(&file, Some(0), None).unwrap();
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            }),
        ),
    ];
    for (word, damage) in cases {
        damage();
        let before = env.daemon_log().len();
        env.start_daemon();
        assert_eq!(id(&env, "alice").0, ALICE_ID, "{word}");
        let log = env.daemon_log()[before..].to_string();
        let said = log
            .lines()
            .filter(|l| l.contains("answers.db") && l.contains("set aside"))
            .count();
        assert_eq!(said, 1, "{word}: {log}");
        assert!(log.contains(word), "{word}: {log}");
        assert!(env.state_from_host().join("answers.db.bad").exists());
        env.stop_daemon();
    }
}

/// Without the shared map and past the memory TTL, the daemon itself answers from the
/// persistent cache: the request that finds the servers gone falls back to it after the
/// timeout, later ones at once.
#[test]
fn past_their_ttl_lookups_come_from_the_persistent_cache_while_offline() {
    let (slapd, env) = setup(
        "offline-socket",
        "[cache]\nmap_size_mb = 0\nentry_ttl = 1\n",
    );
    assert_eq!(id(&env, "alice").0, ALICE_ID);
    std::thread::sleep(Duration::from_millis(1100));
    slapd.freeze();
    let (first, took) = id(&env, "alice");
    eprintln!("id alice, servers just frozen, memory TTL past: {took:?}");
    assert_eq!(first, ALICE_ID);
    let (again, took) = id(&env, "alice");
    eprintln!("id alice, offline, from the persistent cache through the socket: {took:?}");
    assert_eq!(again, ALICE_ID);
    assert!(took < Duration::from_millis(50), "{took:?}");
    let (st, _, us, _) = env.nsscall(&["pwnam", "alice"]);
    assert_eq!(st, 1);
    eprintln!("getpwnam(alice) in-process, offline, through the socket: {us} µs");
    assert_eq!(env.getent(&["passwd", "bob"]).0, 2);
    slapd.thaw();
}

const CACHED: &str = "Logged in with cached credentials: the directory cannot be reached.";

fn login(env: &Env, user: &str, pw: &str) -> (i32, String, Duration) {
    let t = Instant::now();
    let (code, out) = env.pam(user, pw, &["authenticate", "acct_mgmt"]);
    (code, out, t.elapsed())
}

fn binds_for(slapd: &Slapd, user: &str) -> usize {
    slapd
        .log()
        .matches(&format!(
            "BIND dn=\"uid={user},ou=people,dc=example,dc=com\" method=128"
        ))
        .count()
}

/// Cached credentials (issue 11): a reboot with the server black-holed, the right and wrong
/// passwords, a user never seen here, a user refused by the access rules online, the
/// lockout, back online after SIGCONT, and a password changed online.
#[test]
fn cached_logins_offline_lockout_and_back_online() {
    let top = "[offline]\ncache_credentials = true\n\n[pam]\nallow_groups = [\"developers\"]\n";
    let (mut slapd, mut env) = setup("offline-login", top);
    let (code, out, online) = login(&env, "alice", "alice-pw");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(CACHED), "{out}");
    eprintln!("online login: {online:?}");
    assert_eq!(login(&env, "erin", "erin-pw").0, 0);
    // erin leaves developers; her next online login is refused by the rule.
    slapd.modify("dn: cn=developers,ou=groups,dc=example,dc=com\nchangetype: modify\ndelete: memberUid\nmemberUid: erin\n");
    let (code, out, _) = login(&env, "erin", "erin-pw");
    assert_ne!(code, 0, "{out}");
    std::thread::sleep(Duration::from_millis(300));
    env.stop_daemon();
    let creds = env.state_from_host().join("credentials.db");
    let meta = std::fs::metadata(&creds).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let raw = std::fs::read(&creds).unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains("alice-pw"),
        "a password in the file"
    );
    assert!(String::from_utf8_lossy(&raw).contains("$argon2id$"));

    slapd.freeze();
    let _ = env.run(&["sh", "-c", "rm -rf /run/ldaprs/*"]);
    env.start_daemon();
    let (code, out, first) = login(&env, "alice", "alice-pw");
    eprintln!("first offline login after the reboot: {first:?}");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(CACHED), "{out}");
    let (code, out, offline) = login(&env, "alice", "alice-pw");
    eprintln!("offline login: {offline:?}");
    assert_eq!(code, 0, "{out}");
    assert!(offline < Duration::from_secs(1), "{offline:?}");
    let (code, out, _) = login(&env, "alice", "wrong");
    assert_ne!(code, 0, "{out}");
    assert!(!out.contains(CACHED), "{out}");
    let (code, out, _) = login(&env, "bob", "bob-pw");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("The directory cannot be reached and no cached login is available for bob."),
        "{out}"
    );
    assert_ne!(login(&env, "evilroot", "evil-pw").0, 0);
    let (code, out, _) = login(&env, "erin", "erin-pw");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("Access denied: not a member of any allowed group."),
        "{out}"
    );
    assert!(!out.contains(CACHED), "{out}");
    // Four more wrong passwords (five in a row): offline login locks, the right one too.
    for _ in 0..4 {
        assert_ne!(login(&env, "alice", "wrong").0, 0);
    }
    let (code, out, _) = login(&env, "alice", "alice-pw");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("offline login is locked for 5 more minute(s)"),
        "{out}"
    );
    let log = env.daemon_log();
    assert!(
        log.contains("offline: no cached login: the user never logged in online on this host"),
        "{log}"
    );

    // SIGCONT: back online within 30 s; the next login goes to the server.
    slapd.thaw();
    let t = Instant::now();
    while !is_online(&env) {
        assert!(t.elapsed() < Duration::from_secs(33), "{}", status(&env));
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("back online {:?} after SIGCONT", t.elapsed());
    let before = binds_for(&slapd, "alice");
    let (code, out, _) = login(&env, "alice", "alice-pw");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(CACHED), "{out}");
    assert_eq!(binds_for(&slapd, "alice"), before + 1);
    // The password changes online: the old one is refused there, and its hash is gone.
    slapd.modify("dn: uid=alice,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: userPassword\nuserPassword: New-Passw0rd\n");
    assert_ne!(login(&env, "alice", "alice-pw").0, 0);
    std::thread::sleep(Duration::from_millis(300));
    slapd.freeze();
    let (code, out, _) = login(&env, "alice", "alice-pw");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("no cached login is available for alice"),
        "{out}"
    );
    slapd.thaw();
    slapd.stop();
}

/// Ten wrong passwords at once from root (like ten `su alice` or ssh connections, which the
/// daemon neither serialises nor slows down): only `failed_logins` (5) of them are checked
/// against the cached hash, the other five are refused as locked without a check.
#[test]
fn parallel_wrong_passwords_offline_get_no_more_than_failed_logins_checks() {
    let (slapd, env) = setup("offline-race", "[offline]\ncache_credentials = true\n");
    assert_eq!(login(&env, "alice", "alice-pw").0, 0);
    std::thread::sleep(Duration::from_millis(500));
    slapd.freeze();
    let (code, out, _) = login(&env, "alice", "alice-pw");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(CACHED), "{out}");
    let t = Instant::now();
    let codes: Vec<i32> = std::thread::scope(|s| {
        let tries: Vec<_> = (0..10)
            .map(|_| s.spawn(|| env.pam("alice", "wrong", &["authenticate"]).0))
            .collect();
        tries.into_iter().map(|t| t.join().unwrap()).collect()
    });
    eprintln!("10 parallel wrong passwords offline: {:?}", t.elapsed());
    assert!(codes.iter().all(|c| *c != 0), "{codes:?}");
    let log = env.daemon_log();
    let checked = log.matches("offline: wrong password (").count();
    let locked = log
        .matches("offline: refused, offline login locked until")
        .count();
    assert_eq!((checked, locked), (5, 5), "{log}");
    let (code, out, _) = login(&env, "alice", "alice-pw");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("offline login is locked"), "{out}");
    slapd.thaw();
}

/// The cached password is not used past `[offline] credentials_max_age`.
#[test]
fn cached_credentials_expire() {
    let top = "[offline]\ncache_credentials = true\ncredentials_max_age = 2\n";
    let (slapd, env) = setup("offline-expiry", top);
    assert_eq!(login(&env, "alice", "alice-pw").0, 0);
    slapd.freeze();
    let (code, out, _) = login(&env, "alice", "alice-pw");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(CACHED), "{out}");
    std::thread::sleep(Duration::from_millis(2100));
    let (code, out, _) = login(&env, "alice", "alice-pw");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("no cached login is available for alice"),
        "{out}"
    );
    assert!(env
        .daemon_log()
        .contains("older than [offline] credentials_max_age = 2 s"));
    slapd.thaw();
}

fn ctl(env: &Env, args: &[&str]) -> (i32, String) {
    let mut argv = vec![
        artifact("ldaprsctl").to_str().unwrap().to_string(),
        "--config".into(),
        env.config.to_str().unwrap().into(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = env.run(&refs);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

/// `ldaprsctl cache show`, `cache forget` and `cache flush` (memory, map and disk).
#[test]
fn ldaprsctl_cache_show_forget_and_flush() {
    let (_slapd, env) = setup("offline-ctl", "[offline]\ncache_credentials = true\n");
    assert_eq!(login(&env, "alice", "alice-pw").0, 0);
    assert_eq!(id(&env, "alice").0, ALICE_ID);
    std::thread::sleep(Duration::from_millis(300));
    let (code, out) = ctl(&env, &["cache", "show", "alice"]);
    assert_eq!(code, 0, "{out}");
    eprintln!("{out}");
    assert!(out.contains("alice:10001:10001 stored "), "{out}");
    assert!(out.contains("3 gids stored"), "{out}");
    assert!(out.contains("Argon2id hash from the online login"), "{out}");
    assert!(out.contains("possible (with the right password"), "{out}");
    let (code, out) = ctl(&env, &["cache", "forget", "alice"]);
    assert_eq!(code, 0, "{out}");
    let (_, out) = ctl(&env, &["cache", "show", "alice"]);
    assert!(out.contains("not stored"), "{out}");
    assert!(out.contains("not possible: no cached password"), "{out}");
    // Asked again, alice comes back (online); then everything goes, the files too.
    assert_eq!(login(&env, "alice", "alice-pw").0, 0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(env.state_from_host().join("credentials.db").exists());
    let (code, out) = ctl(&env, &["cache", "flush"]);
    assert_eq!(code, 0, "{out}");
    assert!(!env.state_from_host().join("credentials.db").exists());
    assert!(!env.state_from_host().join("answers.db").exists());
    let (_, out) = ctl(&env, &["cache", "show", "alice"]);
    assert!(
        out.contains("cached password         none") || out.contains("none"),
        "{out}"
    );
    assert!(out.contains("not possible"), "{out}");
}

/// The persistent cache's size per looked-up user at 10,000 users (docs/OFFLINE.md):
/// `cargo test -p ldaprs-tests --test offline bytes_per_user -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement (about 20 s): run by hand for docs/OFFLINE.md"]
fn bytes_per_user_at_ten_thousand_users() {
    let n = 10_000;
    let dir = ldaprs_tests::scratch("offline-bulk-ldif");
    let ldif = ldaprs_tests::bulk_ldif(&dir, n);
    let slapd = Slapd::start_with(
        "offline-bulk",
        &ldif,
        "rfc2307",
        ldaprs_tests::SlapdOpts::default(),
    );
    let mut env = Env::new("offline-bulk");
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", SERVER));
    env.start_daemon();
    let names: Vec<String> = (0..n).map(|i| format!("bulk{i:05}")).collect();
    let mut argv = vec!["getent", "passwd"];
    argv.extend(names.iter().map(String::as_str));
    let t = Instant::now();
    let o = env.run(&argv);
    let took = t.elapsed();
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), n);
    env.stop_daemon();
    let size = std::fs::metadata(env.state_from_host().join("answers.db"))
        .unwrap()
        .len();
    println!(
        "{n} users looked up in {took:?}; answers.db {size} bytes = {:.1} bytes per user",
        size as f64 / n as f64
    );
    let t = Instant::now();
    env.start_daemon();
    println!(
        "daemon start with {n} stored users: {:?} (to listening)",
        t.elapsed()
    );
    let log = env.daemon_log();
    let loaded = log.lines().rfind(|l| l.contains("users, ")).unwrap_or("");
    println!("{loaded}");
}

/// Started as root with `[daemon] user`, the daemon makes a missing `[offline] dir` 0700 for
/// that user before the switch, and keeps its files there as that user.
#[test]
fn the_state_directory_is_made_for_daemon_user() {
    let slapd = Slapd::start("offline-user", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("offline-user");
    let top = "[offline]\ndir = \"/run/ldaprs-state/cache\"\n\n[daemon]\nuser = \"nobody\"\n";
    env.write_config(
        &Env::config_for(&slapd, "rfc2307", top, SERVER)
            .replace("\n[daemon]\nlog_level", "\nlog_level"),
    );
    env.start_daemon();
    assert_eq!(id(&env, "alice").0, ALICE_ID);
    env.stop_daemon();
    // /proc/<holder>/root/var/lib/ldaprs → the namespace's root.
    let root = env.state_from_host();
    let root = root.ancestors().nth(3).unwrap();
    let dir = root.join("run/ldaprs-state/cache");
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(&dir).unwrap();
    assert_eq!((md.uid(), md.mode() & 0o777), (65534, 0o700), "{dir:?}");
    let md = std::fs::metadata(dir.join("answers.db")).unwrap();
    assert_eq!((md.uid(), md.mode() & 0o777), (65534, 0o600));
    assert!(env
        .daemon_log()
        .contains("/run/ldaprs-state/cache: created for 65534:"));
}
