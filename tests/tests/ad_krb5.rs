//! Kerberos logins against a real Active Directory (issue 16): `[servers.auth] method =
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

use ldaprs_tests::samba::{dc, SambaDc, USER_PASSWORD};
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
fn dns_env(dc: &SambaDc, name: &str) -> Env {
    let env = dc.env(name);
    let resolv = env.dir.join("resolv.conf");
    std::fs::write(&resolv, "nameserver 127.0.0.1\n").unwrap();
    env.bind_file(&resolv, "/etc/resolv.conf");
    let hosts = env.dir.join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 localhost\n127.0.0.1 dc1.bars.ad dc1.bars.ad. dc1\n",
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
