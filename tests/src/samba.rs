//! A real Active Directory for the tests: a Samba AD DC (Debian's `samba`, `samba-ad-dc`,
//! `samba-ad-provision`) provisioned once per test binary into a scratch directory, in its own
//! network, UTS and mount namespaces (`unshare --net --uts --mount`, loopback only, host name
//! `dc1`), serving LDAP and LDAPS (with a certificate from a [`TestCa`] that names
//! `dc1.bars.ad` in its subjectAltName), Kerberos and DNS on the standard ports of that
//! namespace's 127.0.0.1. Tests get an [`Env`] inside the same network namespace
//! ([`SambaDc::env`]), so the daemon and every command reach the DC and nothing else.
//!
//! The domain (`tests/samba/provision`): realm `BARS.AD`, base `DC=bars,DC=ad`, RFC 2307
//! attributes on; users `alice`, `carol` (in `ops`, which is in `admins`), accounts for the
//! account states, and `dave`/`erin` without uidNumber. Every user's password is
//! [`USER_PASSWORD`]. Tests that change an account use their own user.
//!
//! The DC and the namespace holder read their standard input: when the test binary exits, the
//! pipes close and both end (`samba -i` stops at EOF on stdin), so nothing outlives the run.

use crate::{must, scratch, secret_file, wait_until, workspace, Env, TestCa};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub const AD_BASE: &str = "DC=bars,DC=ad";
pub const DC_HOST: &str = "dc1.bars.ad";
pub const ADMIN_DN: &str = "CN=Administrator,CN=Users,DC=bars,DC=ad";
pub const ADMIN_PASSWORD: &str = "Adm1n-Pass.word";
pub const USER_PASSWORD: &str = "Us3r-Pass.word";
pub const SERVICE_DN: &str = "CN=ldaprs-svc,CN=Users,DC=bars,DC=ad";

/// The running DC of this test binary.
pub struct SambaDc {
    pub dir: PathBuf,
    pub ca: TestCa,
    /// The domain SID (`S-1-5-21-…`), as provisioning reported it.
    pub domain_sid: String,
    holder: Child,
    _samba: Child,
    hosts: PathBuf,
}

static DC: OnceLock<SambaDc> = OnceLock::new();

/// The DC, provisioned and started on first use (about 10 s), shared by the binary's tests.
pub fn dc() -> &'static SambaDc {
    DC.get_or_init(SambaDc::start)
}

impl SambaDc {
    fn start() -> SambaDc {
        let dir = scratch("samba-dc");
        let hosts = dir.join("hosts");
        std::fs::write(
            &hosts,
            format!("127.0.0.1 localhost\n127.0.0.1 {DC_HOST} dc1\n"),
        )
        .unwrap();
        let ready = dir.join("ready");
        let script = format!(
            "set -e; ip link set lo up; hostname dc1; mount --bind {h} /etc/hosts; {private}; touch {r}; exec cat >/dev/null",
            // Samba's run-time paths outside the target directory (pid files, sockets, logs)
            // stay in this namespace.
            private = ["/run", "/var/lib/samba", "/var/log/samba", "/var/cache/samba"]
                .map(|d| format!("mkdir -p {d} && mount -t tmpfs -o mode=0755 tmpfs {d}"))
                .join("; "),
            h = hosts.display(),
            r = ready.display()
        );
        let holder = Command::new("unshare")
            .args(["--net", "--uts", "--mount", "--propagation", "private"])
            .args(["--", "sh", "-c", &script])
            .stdin(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux); tests must run as root");
        wait_until("the DC's namespace", Duration::from_secs(10), || {
            ready.exists()
        });
        let ca = TestCa::new("samba-dc");
        let cert = ca.issue("dc1", &format!("DNS:{DC_HOST},IP:127.0.0.1"), false);
        // Samba refuses a private key that others may read.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cert.key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut dc = SambaDc {
            dir: dir.clone(),
            ca,
            domain_sid: String::new(),
            holder,
            _samba: Command::new("true").spawn().unwrap(),
            hosts,
        };
        let script = workspace().join("tests/samba/provision");
        let t = std::time::Instant::now();
        let o = dc.inside(&[
            script.to_str().unwrap(),
            dir.to_str().unwrap(),
            cert.cert.to_str().unwrap(),
            cert.key.to_str().unwrap(),
            dc.ca.cert.to_str().unwrap(),
            ADMIN_PASSWORD,
            USER_PASSWORD,
        ]);
        let log = std::fs::read_to_string(dir.join("provision.log")).unwrap_or_default();
        assert!(
            o.status.success(),
            "provisioning the Samba DC failed:\n{log}"
        );
        eprintln!("samba dc: provisioned in {:.1?}", t.elapsed());
        dc.domain_sid = log
            .lines()
            .find_map(|l| l.split("DOMAIN SID:").nth(1))
            .map(|s| s.trim().to_string())
            .expect("provision.log names the domain SID");
        dc._samba = dc.launch();
        eprintln!("samba dc: serving LDAPS after {:.1?}", t.elapsed());
        dc
    }

    fn launch(&self) -> Child {
        let log = std::fs::File::create(self.dir.join("samba.log")).unwrap();
        let child = self
            .command(&["samba", "-i", "-M", "single", &self.conf_arg()])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let dc = self;
        wait_until(
            "the Samba DC to answer LDAPS",
            Duration::from_secs(60),
            || {
                dc.ldapsearch(AD_BASE, "base", "(objectClass=*)", &["dn"])
                    .status
                    .success()
            },
        );
        child
    }

    fn conf_arg(&self) -> String {
        format!(
            "--configfile={}",
            self.dir.join("dc/etc/smb.conf").display()
        )
    }

    /// A command inside the DC's namespaces.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.args(["--target", &self.holder.id().to_string()])
            .args(["--net", "--uts", "--mount", "--"])
            .arg("env")
            .arg(format!(
                "KRB5_CONFIG={}",
                self.dir.join("dc/private/krb5.conf").display()
            ))
            .args(argv);
        c
    }

    pub fn inside(&self, argv: &[&str]) -> Output {
        self.command(argv).stdin(Stdio::null()).output().unwrap()
    }

    /// `samba-tool ARGS` against the DC's databases; panics with its output on failure.
    pub fn samba_tool(&self, args: &[&str]) -> String {
        let mut argv = vec!["samba-tool"];
        argv.extend_from_slice(args);
        let conf = self.conf_arg();
        argv.push(&conf);
        must(self.command(&argv).stdin(Stdio::null()))
    }

    /// ldapsearch over LDAPS as the Administrator.
    pub fn ldapsearch(&self, base: &str, scope: &str, filter: &str, attrs: &[&str]) -> Output {
        let mut argv = vec![
            "ldapsearch".to_string(),
            "-LLL".into(),
            "-o".into(),
            "ldif-wrap=no".into(),
            "-H".into(),
            format!("ldaps://{DC_HOST}"),
            "-x".into(),
            "-D".into(),
            ADMIN_DN.into(),
            "-w".into(),
            ADMIN_PASSWORD.into(),
            "-s".into(),
            scope.into(),
            "-b".into(),
            base.into(),
            filter.into(),
        ];
        argv.extend(attrs.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.command(&refs)
            .env("LDAPTLS_CACERT", &self.ca.cert)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Applies an LDIF modification as the Administrator over LDAPS.
    pub fn ldapmodify(&self, ldif: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(&[
                "ldapmodify",
                "-H",
                &format!("ldaps://{DC_HOST}"),
                "-x",
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
            ])
            .env("LDAPTLS_CACERT", &self.ca.cert)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// A test namespace (own mount namespace, the DC's network), where `dc1.bars.ad` resolves.
    pub fn env(&self, name: &str) -> Env {
        let env = Env::in_net_of(name, self.holder.id());
        env.bind_file(&self.hosts, "/etc/hosts");
        env
    }

    /// A config with one `schema = "ad"` block over LDAPS to the DC, binding as the service
    /// account; `extra_top` before it, `extra_server` inside the block.
    pub fn config(&self, env: &Env, extra_top: &str, extra_server: &str) -> String {
        let secret = secret_file(&env.dir, USER_PASSWORD, 0o600);
        format!(
            "{extra_top}\n[daemon]\nlog_level = \"debug\"\n\n[[servers]]\nname = \"dc\"\nuri = [\"ldaps://{DC_HOST}\"]\nschema = \"ad\"\nbase = \"{AD_BASE}\"\nbind_dn = \"{SERVICE_DN}\"\nbind_password_file = \"{}\"\n{extra_server}\n[servers.tls]\nca_file = \"{}\"\n",
            secret.display(),
            self.ca.cert.display()
        )
    }

    /// The objectSid of a user or group (`kind`: "user" or "group"), as samba-tool shows it.
    pub fn object_sid(&self, kind: &str, name: &str) -> String {
        let o = self.samba_tool(&[kind, "show", name, "--attributes=objectSid"]);
        o.lines()
            .find_map(|l| l.strip_prefix("objectSid: "))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| panic!("no objectSid for {kind} {name}: {o}"))
    }

    /// SSSD's ids for these SIDs of this domain, from SSSD's own library (`tests/c/sss_idmap.c`
    /// with libsss_idmap.so.0) and SSSD's default range: (slice line, one id per SID).
    pub fn sssd_ids(&self, sids: &[&str]) -> (String, Vec<u32>) {
        let bin = crate::c_harness("sss_idmap");
        let mut c = Command::new(bin);
        c.args(["200000", "2000200000", "200000", &self.domain_sid])
            .args(sids);
        let out = must(&mut c);
        let mut lines = out.lines();
        let slice = lines.next().unwrap_or_default().to_string();
        let ids = lines
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        (slice, ids)
    }
}
