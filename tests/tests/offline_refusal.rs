//! A server that answers is never "offline" (security review of issue 11): a refused service
//! bind (the service account's password changed, or locked by someone guessing it) marks the
//! URI down but does not turn cached logins on; the login is refused as unavailable and the
//! cached password is not used.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{artifact, secret_file, Env, Slapd, BASE};

fn status(env: &Env) -> String {
    let o = env.run(&[
        artifact("ldaprsctl").to_str().unwrap(),
        "--config",
        env.config.to_str().unwrap(),
        "status",
    ]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_refused_service_bind_does_not_turn_cached_logins_on() {
    let slapd = Slapd::start("offline-refused", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("offline-refused");
    let pw = secret_file(&env.dir, "reader-pw", 0o600);
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307",
        "[offline]\ncache_credentials = true\n",
        &format!(
            "timeout = 1\nconnect_timeout = 1\nbind_dn = \"cn=reader,{BASE}\"\nbind_password_file = \"{}\"\n",
            pw.display()
        ),
    ));
    env.start_daemon();
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate", "acct_mgmt"]);
    assert_eq!(code, 0, "online login: {out}");
    // The hash is written in the background after the online login.
    std::thread::sleep(std::time::Duration::from_millis(500));
    env.stop_daemon();
    // The service account's password changes (or someone locked the account guessing it).
    slapd.modify(&format!(
        "dn: cn=reader,{BASE}\nchangetype: modify\nreplace: userPassword\nuserPassword: changed-elsewhere\n"
    ));
    env.start_daemon();
    let (code, out) = env.pam("alice", "alice-pw", &["authenticate"]);
    assert_ne!(
        code, 0,
        "logged in although the directory refused us: {out}"
    );
    assert!(
        !out.contains("cached credentials"),
        "the cached password was used while the server answers: {out}"
    );
    let s = status(&env);
    assert!(!s.contains("offline since"), "{s}");
    let log = env.daemon_log();
    assert!(
        log.contains(&format!("service bind as cn=reader,{BASE} refused")),
        "{log}"
    );
    assert!(!log.contains("Logged in with cached credentials"), "{log}");
}
