//! SASL EXTERNAL service binds (issue 12): over ldapi:// the directory knows the daemon by its
//! uid (slapd's peercred identity), over TLS by its client certificate; `ldaprsctl server
//! test` shows that identity and lookups go through the bound connection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{artifact, workspace, Env, Slapd, SlapdOpts, TestCa};

fn server_test(env: &Env) -> String {
    let o = env.run(&[
        artifact("ldaprsctl").to_str().unwrap(),
        "--config",
        env.config.to_str().unwrap(),
        "server",
        "test",
    ]);
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

const EXTERNAL: &str = "[servers.sasl]\nmech = \"EXTERNAL\"\n";

#[test]
fn external_over_ldapi_binds_as_the_daemons_uid() {
    let opts = SlapdOpts {
        ldapi: true,
        ..Default::default()
    };
    let ldif = workspace().join("tests/fixtures/rfc2307.ldif");
    let slapd = Slapd::start_with("ext-ldapi", &ldif, "rfc2307", opts);
    let mut env = Env::new("ext-ldapi");
    env.write_config(&Env::config_uris(
        &[&slapd.ldapi_uri],
        "rfc2307",
        "[cache]\nentry_ttl = 0\n",
        EXTERNAL,
    ));
    let st = server_test(&env);
    println!("{st}");
    let who = "dn:gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth";
    assert!(
        st.contains(&format!("SASL EXTERNAL: ok; who am I: {who}")),
        "{st}"
    );
    env.start_daemon();
    let (code, out) = env.getent(&["-s", "ldaprs", "passwd", "alice"]);
    assert_eq!(code, 0, "{out}");
    let log = env.daemon_log();
    assert!(
        log.contains(&format!("SASL EXTERNAL: the directory knows us as {who}")),
        "{log}"
    );
    assert!(slapd.log().contains("mech=EXTERNAL"), "{}", slapd.log());
}

#[test]
fn external_over_tls_binds_as_the_client_certificate() {
    let ca = TestCa::new("ext-tls");
    let server = ca.issue("ext-tls-server", "IP:127.0.0.1", false);
    let client = ca.issue("ldaprs-client", "DNS:client.example.com", false);
    let opts = SlapdOpts {
        global: format!("{}TLSVerifyClient demand\n", server.slapd_global(&ca.cert)),
        ldaps: true,
        ..Default::default()
    };
    let ldif = workspace().join("tests/fixtures/rfc2307.ldif");
    let slapd = Slapd::start_with("ext-tls", &ldif, "rfc2307", opts);
    let mut env = Env::new("ext-tls");
    let tls = format!(
        "{EXTERNAL}\n[servers.tls]\nca_file = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\n",
        ca.cert.display(),
        client.cert.display(),
        client.key.display()
    );
    env.write_config(&Env::config_uris(&[&slapd.ldaps_uri], "rfc2307", "", &tls));
    let st = server_test(&env);
    println!("{st}");
    assert!(
        st.contains("SASL EXTERNAL: ok; who am I: dn:cn=ldaprs-client"),
        "{st}"
    );
    env.start_daemon();
    let (code, out) = env.getent(&["-s", "ldaprs", "passwd", "bob"]);
    assert_eq!(code, 0, "{out}");
    assert!(env
        .daemon_log()
        .contains("SASL EXTERNAL: the directory knows us as dn:cn=ldaprs-client"));
}
