//! A throwaway MIT KDC for the Kerberos tests: its own realm database (kdb5_util), principals
//! and keytabs (kadmin.local), a krb5kdc on a free loopback port (TCP and UDP), and a
//! krb5.conf for the clients; everything under a scratch directory, found through
//! `KRB5_CONFIG` and `KRB5_KDC_PROFILE`, never /etc/krb5.conf.

use super::{free_port, must, scratch, stop_child, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Kdc {
    pub dir: PathBuf,
    pub realm: String,
    pub port: u16,
    /// kadmind's kpasswd port (RFC 3244) and kadmin port, when `start_kadmind` ran.
    pub kpasswd_port: u16,
    pub kadmin_port: u16,
    /// The clients' krb5.conf (realm, KDC, no DNS lookups, no reverse lookups).
    pub krb5_conf: PathBuf,
    child: Option<Child>,
    kadmind: Option<Child>,
    offset: Option<String>,
}

impl Kdc {
    /// A KDC for `realm` (`domain` maps to it in `[domain_realm]`).
    pub fn start(name: &str, realm: &str, domain: &str) -> Kdc {
        Kdc::start_skewed(name, realm, domain, None)
    }

    /// A KDC whose clock is off by `offset` (libfaketime's FAKETIME, e.g. "+2h"), for the
    /// clock-skew errors; only krb5kdc runs under it.
    pub fn start_skewed(name: &str, realm: &str, domain: &str, offset: Option<&str>) -> Kdc {
        let dir = scratch(&format!("kdc-{name}"));
        let port = free_port();
        let (kpasswd_port, kadmin_port) = (free_port(), free_port());
        let d = dir.display();
        let kdc_conf = format!(
            "[kdcdefaults]\n kdc_listen = 127.0.0.1:{port}\n kdc_tcp_listen = 127.0.0.1:{port}\n\n[realms]\n {realm} = {{\n  database_name = {d}/principal\n  key_stash_file = {d}/stash\n  acl_file = {d}/kadm5.acl\n  kdc_listen = 127.0.0.1:{port}\n  kdc_tcp_listen = 127.0.0.1:{port}\n  kpasswd_listen = 127.0.0.1:{kpasswd_port}\n  kadmind_listen = 127.0.0.1:{kadmin_port}\n  max_life = 10h\n  max_renewable_life = 0\n  supported_enctypes = aes256-cts-hmac-sha1-96:normal\n }}\n\n[logging]\n kdc = FILE:{d}/kdc.log\n admin_server = FILE:{d}/kadmin.log\n"
        );
        std::fs::write(dir.join("kdc.conf"), kdc_conf).unwrap();
        std::fs::write(dir.join("kadm5.acl"), "").unwrap();
        let krb5_conf = dir.join("krb5.conf");
        let conf = client_conf(realm, domain, port).replace(
            "  kdc = ",
            &format!("  kpasswd_server = 127.0.0.1:{kpasswd_port}\n  admin_server = 127.0.0.1:{kadmin_port}\n  kdc = "),
        );
        std::fs::write(&krb5_conf, conf).unwrap();
        let mut k = Kdc {
            dir,
            realm: realm.to_string(),
            port,
            kpasswd_port,
            kadmin_port,
            krb5_conf,
            child: None,
            kadmind: None,
            offset: offset.map(str::to_string),
        };
        must(
            k.cmd("kdb5_util")
                .args(["-r", realm, "create", "-s", "-P", "master-pw"]),
        );
        k.launch();
        k
    }

    /// A command with this KDC's `KRB5_CONFIG` and `KRB5_KDC_PROFILE`.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("KRB5_CONFIG", &self.krb5_conf)
            .env("KRB5_KDC_PROFILE", self.dir.join("kdc.conf"))
            .stdin(Stdio::null());
        c
    }

    /// The environment for a process that should use this realm.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![(
            "KRB5_CONFIG".to_string(),
            self.krb5_conf.display().to_string(),
        )]
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.join("krb5kdc.out")).unwrap();
        let mut cmd = self.cmd("krb5kdc");
        if let Some(off) = &self.offset {
            cmd.env(
                "LD_PRELOAD",
                "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
            )
            .env("FAKETIME", off)
            .env("DONT_FAKE_MONOTONIC", "1");
        }
        let child = cmd
            .args(["-n", "-r", &self.realm])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("krb5kdc (apt-get install krb5-kdc)");
        self.child = Some(child);
        let port = self.port;
        wait_until("krb5kdc", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Starts kadmind (the kpasswd service for password changes) on its loopback ports.
    pub fn start_kadmind(&mut self) {
        let log = std::fs::File::create(self.dir.join("kadmind.out")).unwrap();
        let child = self
            .cmd("kadmind")
            .args(["-nofork", "-r", &self.realm])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("kadmind (apt-get install krb5-admin-server)");
        self.kadmind = Some(child);
        let port = self.kpasswd_port;
        wait_until("kadmind", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Runs one kadmin.local query and returns its output.
    pub fn kadmin(&self, query: &str) -> String {
        must(
            self.cmd("kadmin.local")
                .args(["-r", &self.realm, "-q", query]),
        )
    }

    /// A principal with a random key, written to `keytab` (appended).
    pub fn service(&self, principal: &str, keytab: &Path) {
        self.kadmin(&format!("addprinc -randkey {principal}"));
        self.kadmin(&format!("ktadd -k {} {principal}", keytab.display()));
    }

    /// A user principal with a password.
    pub fn user(&self, principal: &str, password: &str) {
        self.kadmin(&format!("addprinc -pw {password} {principal}"));
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kdc.log")).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        for c in [self.child.take(), self.kadmind.take()]
            .into_iter()
            .flatten()
        {
            let mut c = c;
            stop_child(&mut c);
        }
    }
}

/// A client krb5.conf for `realm` at `127.0.0.1:port`: TCP only, no DNS for realms or KDCs,
/// no reverse lookups or canonicalisation of host names (the tests' names are in /etc/hosts
/// of their namespace only).
pub fn client_conf(realm: &str, domain: &str, port: u16) -> String {
    format!(
        "[libdefaults]\n default_realm = {realm}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n udp_preference_limit = 1\n kdc_timeout = 2000\n max_retries = 1\n\n[realms]\n {realm} = {{\n  kdc = 127.0.0.1:{port}\n }}\n\n[domain_realm]\n .{domain} = {realm}\n {domain} = {realm}\n"
    )
}

impl Drop for Kdc {
    fn drop(&mut self) {
        self.stop();
    }
}
