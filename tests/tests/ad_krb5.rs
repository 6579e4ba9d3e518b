//! Kerberos against a real Active Directory (issue 16), and `ldaprsctl join ad` (adcli). Logins: `[servers.auth] method =
//! "krb5"` with realm BARS.AD, the password sent to the Samba DC's KDC (not as an LDAP bind),
//! the ticket verified against the host keytab of a computer account made on the DC
//! (`samba-tool computer add` + `domain exportkeytab`). Through pamtester and the built PAM
//! module, inside the DC's network namespace; the daemon's KRB5_CONFIG is the DC's own
//! `private/krb5.conf`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::samba::{dc, SambaDc, ADMIN_PASSWORD, USER_PASSWORD};
use ldaprs_tests::Env;
use std::path::{Path, PathBuf};

/// A computer account `name` on the DC and the keytab of its `host/<name>.bars.ad` key.
fn computer_keytab(dc: &SambaDc, name: &str) -> (String, PathBuf) {
    let fqdn = format!("{name}.bars.ad");
    let principal = format!("host/{fqdn}");
    dc.samba_tool(&[
        "computer",
        "add",
        name,
        &format!("--service-principal-name={principal}"),
    ]);
    let keytab = dc.dir.join(format!("{name}.keytab"));
    // An account added offline is disabled and has no password (so no keys): give it one,
    // as a join would.
    let account = format!("{name}$");
    dc.samba_tool(&[
        "user",
        "setpassword",
        &account,
        &format!("--newpassword=M4chine-{name}-Pass.word"),
    ]);
    dc.samba_tool(&["user", "enable", &account]);
    dc.samba_tool(&[
        "domain",
        "exportkeytab",
        keytab.to_str().unwrap(),
        &format!("--principal={principal}"),
    ]);
    (principal, keytab)
}

/// A test namespace on the DC's network whose resolver is the DC's DNS server. The DC's
/// krb5.conf finds the KDC through DNS (`dns_lookup_kdc`, no `kdc` line): libkrb5 asks for
/// `_kerberos._udp.BARS.AD` and then resolves the SRV target `dc1.bars.ad.` with its final dot.
/// The DC registers no A record for itself on 127.0.0.1 (NXDOMAIN) and glibc's files backend
/// does not match a name with the dot to `dc1.bars.ad`, so /etc/hosts lists both spellings.
/// The DC's line comes first: libldap's SASL bind (adcli) names the server after the reverse
/// lookup of 127.0.0.1, which must be dc1.bars.ad (ldap/dc1.bars.ad), not localhost.
fn dns_env(dc: &SambaDc, name: &str) -> Env {
    let env = dc.env(name);
    let resolv = env.dir.join("resolv.conf");
    std::fs::write(&resolv, "nameserver 127.0.0.1\n").unwrap();
    env.bind_file(&resolv, "/etc/resolv.conf");
    let hosts = env.dir.join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 dc1.bars.ad dc1.bars.ad. dc1\n127.0.0.1 localhost\n",
    )
    .unwrap();
    env.bind_file(&hosts, "/etc/hosts");
    env
}

fn krb5_env(dc: &SambaDc, name: &str, principal: &str, keytab: &Path) -> Env {
    let mut env = dns_env(dc, name);
    let krb5_conf = dc.dir.join("dc/private/krb5.conf");
    env.set_env("KRB5_CONFIG", &krb5_conf.display().to_string());
    // libkrb5's own trace of what the daemon sent to which KDC.
    env.set_env(
        "KRB5_TRACE",
        &env.dir.join("krb5.trace").display().to_string(),
    );
    let server = format!(
        "\n[servers.auth]\nmethod = \"krb5\"\nrealm = \"BARS.AD\"\nkeytab = \"{}\"\nverify_principal = \"{principal}\"\n",
        keytab.display()
    );
    env.write_config(&dc.config(&env, "[cache]\nentry_ttl = 0\nnegative_ttl = 0\n", &server));
    env.start_daemon();
    env
}

#[test]
fn krb5_logins_against_the_dc_kdc() {
    let dc = dc();
    let (principal, keytab) = computer_keytab(dc, "client1");
    let krb5_conf = std::fs::read_to_string(dc.dir.join("dc/private/krb5.conf")).unwrap();
    println!("---- the DC's krb5.conf\n{krb5_conf}");
    let klist = dc.inside(&["klist", "-k", keytab.to_str().unwrap()]);
    let klist = String::from_utf8_lossy(&klist.stdout).into_owned();
    println!("---- klist -k\n{klist}");
    assert!(klist.contains("host/client1.bars.ad@BARS.AD"), "{klist}");
    let env = krb5_env(dc, "ad-krb5", &principal, &keytab);

    let (code, out) = env.pam("alice", USER_PASSWORD, &["authenticate", "acct_mgmt"]);
    println!("---- alice, right password: exit {code}\n{out}");
    let log = env.daemon_log();
    assert_eq!(code, 0, "{out}\n{log}");
    assert!(out.contains("successfully authenticated"), "{out}");
    // The KDC (not an LDAP bind) checked the password: the daemon says so, and the DC's log
    // has no simple bind of alice.
    let kerberos: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("auth user=alice") || l.contains("Kerberos"))
        .collect();
    println!("---- daemon lines\n{}", kerberos.join("\n"));
    assert!(
        log.lines()
            .any(|l| l.contains("auth user=alice") && l.contains("success")),
        "{log}"
    );
    // The KDC (found through the DC's SRV records) was asked for alice's ticket.
    let trace = std::fs::read_to_string(env.dir.join("krb5.trace")).unwrap_or_default();
    let asked: Vec<&str> = trace
        .lines()
        .filter(|l| {
            l.contains("Getting initial credentials for alice@BARS.AD")
                || l.contains("SRV answer")
                || l.contains("from stream 127.0.0.1:88")
                || l.contains("from dgram 127.0.0.1:88")
        })
        .collect();
    println!("---- the daemon's KRB5_TRACE\n{}", asked.join("\n"));
    assert!(
        trace.contains("Getting initial credentials for alice@BARS.AD")
            && trace.contains("127.0.0.1:88"),
        "{trace}"
    );

    let (code, out) = env.pam("alice", "Wr0ng-Pass.word", &["authenticate"]);
    println!("---- alice, wrong password: exit {code}\n{out}");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("Authentication failure"), "{out}");

    // A user the directory has but whose key the KDC refuses (disabled in AD): no login.
    let (code, out) = env.pam("dis", USER_PASSWORD, &["authenticate"]);
    println!("---- dis (disabled): exit {code}\n{out}");
    assert_ne!(code, 0, "{out}");
}

/// A keytab whose key is not the DC's (the computer's password changed since it was
/// exported): the KDC's yes cannot be verified, so nobody logs in.
#[test]
fn a_stale_host_keytab_logs_nobody_in() {
    let dc = dc();
    let (principal, keytab) = computer_keytab(dc, "client2");
    // A new key on the DC; the exported keytab keeps the old one.
    dc.samba_tool(&[
        "user",
        "setpassword",
        "client2$",
        "--newpassword=N3w-Machine.pass-word-42",
    ]);
    let env = krb5_env(dc, "ad-krb5-stale", &principal, &keytab);
    let (code, out) = env.pam("alice", USER_PASSWORD, &["authenticate"]);
    println!("---- alice with a stale keytab: exit {code}\n{out}");
    let log = env.daemon_log();
    assert_ne!(code, 0, "a stale keytab verified a ticket: {out}\n{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("auth user=alice") && l.contains("success")),
        "{log}"
    );
    assert!(
        log.contains("our keytab") && log.contains("cannot decrypt"),
        "the KDC answered and the keytab refused its ticket: {log}"
    );
}

fn ctl(env: &Env, args: &[&str], input: &str) -> (i32, String, String) {
    let bin = ldaprs_tests::artifact("ldaprsctl");
    let mut argv = vec![bin.to_str().unwrap()];
    argv.extend_from_slice(args);
    let o = env.run_input(&argv, input);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    println!(
        "---- ldaprsctl {}: exit {:?}\n{out}{err}",
        args.join(" "),
        o.status.code()
    );
    (o.status.code().unwrap_or(-1), out, err)
}

/// `ldaprsctl join ad bars.ad` with adcli: the computer account and keytab made on the DC,
/// a config written that `server test` accepts with the machine's own identity, and that the
/// daemon serves lookups and Kerberos logins with. A wrong admin password gets adcli's words;
/// an existing --write file is never overwritten; no adcli names the package.
#[test]
fn join_ad_with_adcli_writes_a_working_config() {
    let dc = dc();
    // The harness's DC runs without its dnsupdate service (`server services = ldap kdc dns`),
    // which is what registers the DC's own ldap/ SPNs (samba_spnupdate): a SASL GSSAPI bind
    // to it (adcli's, the daemon's) needs ldap/dc1.bars.ad.
    dc.samba_tool(&["spn", "add", "ldap/dc1.bars.ad", "DC1$"]);
    let mut env = dns_env(dc, "ad-join");
    env.set_env(
        "KRB5_CONFIG",
        &dc.dir.join("dc/private/krb5.conf").display().to_string(),
    );
    let keytab = env.dir.join("host.keytab");
    let written = env.dir.join("joined.toml");
    let (k, w) = (keytab.to_str().unwrap(), written.to_str().unwrap());

    // A wrong admin password: adcli's own message, nothing written.
    let (code, _, err) = ctl(
        &env,
        &[
            "join",
            "ad",
            "bars.ad",
            "--keytab",
            k,
            "--host-fqdn",
            "client4.bars.ad",
            "--write",
            w,
        ],
        "Not-the-admin-pw\n",
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("adcli: ") && err.contains("Administrator") && err.contains("failed"),
        "{err}"
    );
    assert!(!written.exists());

    let (code, out, err) = ctl(
        &env,
        &[
            "join",
            "ad",
            "bars.ad",
            "--keytab",
            k,
            "--host-fqdn",
            "client3.bars.ad",
            "--write",
            w,
        ],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(&written).unwrap();
    println!("---- {w}\n{text}");
    for want in [
        "uri = [\"dns-srv:bars.ad\"]",
        "schema = \"ad\"",
        "base = \"DC=bars,DC=ad\"",
        "mech = \"GSSAPI\"",
        "principal = \"CLIENT3$@BARS.AD\"",
        "method = \"krb5\"",
        "verify_principal = \"host/client3.bars.ad@BARS.AD\"",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    let shown = dc.samba_tool(&["computer", "show", "client3"]);
    assert!(shown.contains("dNSHostName: client3.bars.ad"), "{shown}");
    let klist = env.run(&["klist", "-k", k]);
    let klist = String::from_utf8_lossy(&klist.stdout).into_owned();
    println!("---- klist -k\n{klist}");
    assert!(klist.contains("CLIENT3$@BARS.AD") && klist.contains("host/client3.bars.ad@BARS.AD"));

    // Never over an existing file, and nothing joined then.
    let before = std::fs::read(&written).unwrap();
    let (code, _, err) = ctl(
        &env,
        &[
            "join",
            "ad",
            "bars.ad",
            "--keytab",
            k,
            "--host-fqdn",
            "client5.bars.ad",
            "--write",
            w,
        ],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not overwritten"), "{err}");
    assert_eq!(std::fs::read(&written).unwrap(), before);

    // No adcli on the PATH: the package is named.
    let empty = env.dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let bin = ldaprs_tests::artifact("ldaprsctl");
    let o = env.run(&[
        &format!("PATH={}", empty.display()),
        bin.to_str().unwrap(),
        "join",
        "ad",
        "bars.ad",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("apt-get install adcli"), "{err}");

    // server test with the written config: found through DNS SRV, bound as the machine.
    let (code, out, err) = ctl(&env, &["--config", w, "server", "test"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("dc1.bars.ad"), "{out}");
    assert!(
        out.to_lowercase().contains("client3"),
        "the service bind's identity is the machine account: {out}"
    );
    // Plain LDAP is fine for Kerberos logins: the passwords go to the KDC.
    assert!(out.contains("logins go to the KDC"), "{out}");
    assert!(!out.contains("logins through it fail"), "{out}");

    // The daemon with that config: lookups and a Kerberos login.
    env.write_config(&text);
    env.start_daemon();
    let (code, out) = env.getent(&["passwd", "alice"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert!(out.starts_with("alice:x:10001:10000:"), "{out}");
    let (code, out) = env.pam("alice", USER_PASSWORD, &["authenticate"]);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    let (code, out) = env.pam("alice", "Wr0ng-Pass.word", &["authenticate"]);
    assert_ne!(code, 0, "{out}");
}
