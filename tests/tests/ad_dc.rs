//! Lookups against a real Active Directory (issue 16): the Samba AD DC of `tests/src/samba.rs`,
//! over LDAPS with `schema = "ad"`: getent passwd and group from sAMAccountName and the RFC 2307
//! attributes, `id` of a user in a nested group through the in-chain rule, while the DC's
//! continuation references to its DNS and configuration partitions are skipped without
//! breaking the answer or a login.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::samba::{dc, DC_HOST, USER_PASSWORD};
use ldaprs_tests::{artifact, Env};

fn started(name: &str, extra_top: &str, extra_server: &str) -> Env {
    let dc = dc();
    let mut env = dc.env(name);
    env.write_config(&dc.config(&env, extra_top, extra_server));
    env.start_daemon();
    env
}

fn out(env: &Env, argv: &[&str]) -> (i32, String) {
    let o = env.run(argv);
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    println!("$ {}\n{text}", argv.join(" "));
    (o.status.code().unwrap_or(-1), text)
}

#[test]
fn getent_and_nested_id_from_the_dc() {
    let env = started("ad-lookups", "", "[servers.groups]\nnested = true\n");
    let (code, pw) = out(&env, &["getent", "passwd", "alice"]);
    assert_eq!(code, 0, "{}", env.daemon_log());
    assert_eq!(
        pw.trim(),
        "alice:x:10001:10000:Alice Test:/home/alice:/bin/bash"
    );
    let (code, gr) = out(&env, &["getent", "group", "admins"]);
    assert_eq!(code, 0);
    assert!(gr.starts_with("admins:x:10003:"), "{gr}");
    // carol is in ops directly and in admins through ops: the DC answers the in-chain rule.
    let (code, id) = out(&env, &["id", "carol"]);
    assert_eq!(code, 0, "{}", env.daemon_log());
    // (The DC returns the groups in no fixed order.)
    let (ids, groups) = id.trim().split_once(" groups=").unwrap();
    assert_eq!(ids, "uid=10004(carol) gid=10000(people)");
    let mut groups: Vec<&str> = groups.split(',').collect();
    groups.sort();
    assert_eq!(groups, ["10000(people)", "10002(ops)", "10003(admins)"]);
    // A user without uidNumber is not served without id mapping.
    assert_ne!(out(&env, &["getent", "passwd", "dave"]).0, 0);
    // The group searches under DC=bars,DC=ad met the DC's references to its other partitions
    // (at bars.ad, not this block's host): skipped, named in a debug line.
    let log = env.daemon_log();
    assert!(
        log.contains("reference to ldaps://bars.ad/DC=DomainDnsZones,DC=bars,DC=ad not followed"),
        "{log}"
    );
    assert!(!log.contains("error"), "{log}");
}

#[test]
fn a_login_over_ldaps_with_group_rules() {
    // admins holds carol only through ops.
    let env = started(
        "ad-login",
        "[pam]\nallow_groups = [\"admins\"]\n",
        "[servers.groups]\nnested = true\n",
    );
    let (code, text) = env.pamtester(
        "carol",
        &[USER_PASSWORD],
        &["authenticate", "acct_mgmt"],
        &[],
        None,
    );
    println!("carol: {code}\n{text}");
    assert_eq!(code, 0, "{text}\n{}", env.daemon_log());
    let (code, text) = env.pamtester(
        "alice",
        &[USER_PASSWORD],
        &["authenticate", "acct_mgmt"],
        &[],
        None,
    );
    assert_ne!(code, 0, "alice is not in admins: {text}");
    let log = env.daemon_log();
    assert!(log.contains("auth user=carol"), "{log}");
}

#[test]
fn server_test_names_the_dc() {
    let env = started("ad-server-test", "", "");
    let (code, text) = out(
        &env,
        &[
            artifact("ldaprsctl").to_str().unwrap(),
            "--config",
            env.config.to_str().unwrap(),
            "server",
            "test",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(DC_HOST), "{text}");
}

/// A certificate shaped like Samba's self-made one (the host only in the subject's CN, no
/// extensions), served by slapd: refused with an error that says so and what to do, both in
/// the daemon's log and in `ldaprsctl server test`.
#[test]
fn a_certificate_naming_the_host_only_in_its_cn_is_explained() {
    use ldaprs_tests::{workspace, Slapd, SlapdOpts, TestCa};
    let ca = TestCa::new("cn-only");
    let cert = ca.issue_cn_only("cn-only", "127.0.0.1");
    let opts = SlapdOpts {
        global: cert.slapd_global(&ca.cert),
        ldaps: true,
        ..Default::default()
    };
    let slapd = Slapd::start_with(
        "cn-only",
        &workspace().join("tests/fixtures/rfc2307.ldif"),
        "rfc2307",
        opts,
    );
    let mut env = Env::new("cn-only");
    let tls = format!("[servers.tls]\nca_file = \"{}\"\n", ca.cert.display());
    env.write_config(&Env::config_uris(&[&slapd.ldaps_uri], "rfc2307", "", &tls));
    env.start_daemon();
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]).0, 2);
    let hint = "the certificate names no host in a subjectAltName";
    let log = env.daemon_log();
    let line = log.lines().find(|l| l.contains(hint));
    println!("daemon: {}", line.unwrap_or("(none)"));
    assert!(
        line.is_some_and(|l| l.contains("subjectAltName DNS:") && l.contains("smb.conf")),
        "{log}"
    );
    let (code, text) = out(
        &env,
        &[
            artifact("ldaprsctl").to_str().unwrap(),
            "--config",
            env.config.to_str().unwrap(),
            "server",
            "test",
        ],
    );
    assert_ne!(code, 0, "{text}");
    assert!(text.contains(hint), "{text}");
}

/// `[servers.groups] token_groups = true`: the groups from the user's tokenGroups (one base
/// read; the SIDs resolved in batches and cached), nested ones included without any member
/// search; the same answer as the in-chain rule.
#[test]
fn initgroups_from_token_groups() {
    let env = started("ad-token", "", "[servers.groups]\ntoken_groups = true\n");
    let (code, id) = out(&env, &["id", "alice"]);
    assert_eq!(code, 0, "{}", env.daemon_log());
    assert_eq!(
        id.trim(),
        "uid=10001(alice) gid=10000(people) groups=10000(people)"
    );
    let (code, id) = out(&env, &["id", "carol"]);
    assert_eq!(code, 0, "{}", env.daemon_log());
    let (ids, groups) = id.trim().split_once(" groups=").unwrap();
    assert_eq!(ids, "uid=10004(carol) gid=10000(people)");
    let mut groups: Vec<&str> = groups.split(',').collect();
    groups.sort();
    assert_eq!(groups, ["10000(people)", "10002(ops)", "10003(admins)"]);
    let log = env.daemon_log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("tokenGroups SIDs"))
        .collect();
    println!("{}", lines.join("\n"));
    // carol's SIDs that alice's lookup resolved (people, Domain Users) came from the cache.
    let carol = lines
        .iter()
        .find(|l| l.contains("CN=Carol Test"))
        .expect("a tokenGroups line for carol");
    let count = |w: &str| -> usize {
        carol
            .split(w)
            .next()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(count(" not cached") < count(" tokenGroups SIDs"), "{carol}");
    // No member search: the groups came from tokenGroups alone.
    assert!(!log.contains("(member="), "{log}");
    assert!(!log.contains("1.2.840.113556.1.4.1941"), "{log}");
}

/// Samba, like AD with LDAP signing enforced, refuses simple binds on plain LDAP
/// (strongerAuthRequired): the error names the fix.
#[test]
fn plain_ldap_to_the_dc_names_the_fix() {
    let dc = dc();
    let mut env = dc.env("ad-plain");
    let cfg = dc
        .config(&env, "", "allow_cleartext_passwords = true\n")
        .replace("ldaps://", "ldap://");
    env.write_config(&cfg);
    env.start_daemon();
    assert_eq!(env.getent(&["passwd", "alice"]).0, 2);
    let fix = "the server requires an encrypted or signed connection for simple binds: use ldaps://, [servers.tls] mode = \"starttls\", or a Kerberos bind with [servers.sasl] mech = \"GSSAPI\"";
    let log = env.daemon_log();
    let line = log.lines().find(|l| l.contains("resultCode 8"));
    println!("daemon: {}", line.unwrap_or("(none)"));
    assert!(line.is_some_and(|l| l.contains(fix)), "{log}");
    let (code, text) = out(
        &env,
        &[
            artifact("ldaprsctl").to_str().unwrap(),
            "--config",
            env.config.to_str().unwrap(),
            "server",
            "test",
        ],
    );
    // A refused service bind makes the URI not usable, and the exit code says so.
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("NOT USABLE"), "{text}");
    assert!(text.contains("REFUSED (resultCode 8"), "{text}");
    assert!(text.contains(fix), "{text}");
}

/// No `schema` key (auto-detection, the default) on the real DC: detected as AD.
#[test]
fn auto_detection_finds_the_dc_to_be_ad() {
    let dc = dc();
    let mut env = dc.env("ad-auto");
    let cfg = dc.config(&env, "", "").replace("schema = \"ad\"\n", "");
    assert!(!cfg.contains("schema"));
    env.write_config(&cfg);
    env.start_daemon();
    let (code, pw) = out(&env, &["getent", "passwd", "alice"]);
    assert_eq!(code, 0, "{}", env.daemon_log());
    assert_eq!(
        pw.trim(),
        "alice:x:10001:10000:Alice Test:/home/alice:/bin/bash"
    );
    let (_, text) = out(
        &env,
        &[
            artifact("ldaprsctl").to_str().unwrap(),
            "--config",
            env.config.to_str().unwrap(),
            "server",
            "test",
        ],
    );
    assert!(
        text.contains(
            "schema                 ad (RootDSE supportedCapabilities 1.2.840.113556.1.4.800"
        ),
        "{text}"
    );
}
