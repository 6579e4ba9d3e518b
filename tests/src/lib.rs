//! Test harness: a real slapd on a free loopback port, the real daemon, and the real modules
//! loaded by glibc (getent, id) and libpam (pamtester under pam_wrapper), all inside a private
//! mount namespace so that `/run/ldaprs` and `/etc/nsswitch.conf` are the test's own and the
//! host is never touched. Every process started here is stopped by its PID on drop.
//!
//! Needs root (unshare, nsenter) and the packages `tests/run` installs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod samba;

pub const BASE: &str = "dc=example,dc=com";

pub mod dns;
pub mod krb;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Where cargo put the binaries and modules of this build (debug profile by default;
/// `LDAPRS_PROFILE=release` to test a release build).
pub fn build_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    target.join(std::env::var("LDAPRS_PROFILE").unwrap_or_else(|_| "debug".into()))
}

pub fn artifact(name: &str) -> PathBuf {
    let p = build_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace` first (tests/run does)",
        p.display()
    );
    p
}

/// A scratch directory under /tmp, fresh for each test.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(format!("/tmp/ldaprs-tests/{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while t.elapsed() < limit {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a PID this harness started.
    unsafe { libc::kill(pid as i32, sig) };
}

pub fn stop_child(c: &mut Child) {
    signal(c.id(), libc::SIGCONT);
    signal(c.id(), libc::SIGTERM);
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = c.kill();
    let _ = c.wait();
}

/// Options for a test slapd beyond the defaults.
#[derive(Default, Clone)]
pub struct SlapdOpts {
    /// Lines for the global section (modules, serverID, TLS files).
    pub global: String,
    /// Lines for the database section (overlays, syncrepl, limits).
    pub db: String,
    /// Replaces the default ACL (anonymous read, userPassword for binds only).
    pub acl: Option<String>,
    /// Fixed ldap:// port (else a free one).
    pub port: Option<u16>,
    /// Also listen on ldaps:// (the TLS files come through `global`).
    pub ldaps: bool,
    /// Environment for slapd (e.g. `KRB5_KTNAME`, `KRB5_CONFIG` for SASL GSSAPI).
    pub env: Vec<(String, String)>,
    /// Also listen on ldapi:// (a socket `ldapi` in the slapd's directory).
    pub ldapi: bool,
}

/// A throwaway slapd loaded from an LDIF file.
pub struct Slapd {
    pub dir: PathBuf,
    pub port: u16,
    pub uri: String,
    pub ldaps_port: u16,
    pub ldaps_uri: String,
    /// `ldapi://…` when `SlapdOpts::ldapi`, else empty.
    pub ldapi_uri: String,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Slapd {
    /// `schema` is `rfc2307` or `rfc2307bis`; `ldif` a file name in tests/fixtures.
    pub fn start(name: &str, ldif: &str, schema: &str) -> Slapd {
        Slapd::start_with(
            name,
            &workspace().join("tests/fixtures").join(ldif),
            schema,
            SlapdOpts::default(),
        )
    }

    pub fn start_with(name: &str, ldif: &Path, schema: &str, opts: SlapdOpts) -> Slapd {
        let dir = scratch(&format!("slapd-{name}"));
        let mut cmd = Command::new(workspace().join("tests/slapd/prepare"));
        cmd.arg(&dir)
            .arg(ldif)
            .arg(schema)
            .env("SLAPD_GLOBAL", &opts.global)
            .env("SLAPD_DB", &opts.db);
        if let Some(acl) = &opts.acl {
            cmd.env("SLAPD_ACL", acl);
        }
        let st = cmd.status().unwrap();
        assert!(st.success(), "tests/slapd/prepare failed");
        let ldaps_port = if opts.ldaps { free_port() } else { 0 };
        let ldapi_uri = if opts.ldapi {
            let sock = dir.join("ldapi").display().to_string();
            format!("ldapi://{}", sock.replace('/', "%2F"))
        } else {
            String::new()
        };
        let mut s = Slapd {
            dir,
            port: opts.port.unwrap_or(0),
            uri: String::new(),
            ldaps_port,
            ldaps_uri: if opts.ldaps {
                format!("ldaps://127.0.0.1:{ldaps_port}")
            } else {
                String::new()
            },
            ldapi_uri,
            env: opts.env.clone(),
            child: None,
        };
        s.launch();
        s
    }

    fn launch(&mut self) {
        for _ in 0..5 {
            let port = if self.port == 0 {
                free_port()
            } else {
                self.port
            };
            let uri = format!("ldap://127.0.0.1:{port}");
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join("slapd.log"))
                .unwrap();
            let mut listen = format!("{uri}/");
            if self.ldaps_port != 0 {
                listen.push_str(&format!(" ldaps://127.0.0.1:{}/", self.ldaps_port));
            }
            if !self.ldapi_uri.is_empty() {
                listen.push_str(&format!(" {}/", self.ldapi_uri));
            }
            let mut child = Command::new("slapd")
                .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .arg("-f")
                .arg(self.dir.join("slapd.conf"))
                .arg("-h")
                .arg(listen)
                .args(["-d", "stats"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("slapd (apt-get install slapd)");
            let t = Instant::now();
            let mut up = false;
            while t.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken or config error: retry with another port
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    up = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if up {
                self.port = port;
                self.uri = uri;
                self.child = Some(child);
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            if self.port != 0 {
                break;
            }
        }
        panic!(
            "slapd did not start; see {}",
            self.dir.join("slapd.log").display()
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("slapd.log")).unwrap_or_default()
    }

    /// Applies an LDIF change (ldapmodify) as the rootdn, through the overlays.
    pub fn modify(&self, ldif: &str) {
        let path = self.dir.join("change.ldif");
        std::fs::write(&path, ldif).unwrap();
        must(
            Command::new("ldapmodify")
                .args([
                    "-x",
                    "-H",
                    &self.uri,
                    "-D",
                    &format!("cn=admin,{BASE}"),
                    "-w",
                    "secret",
                    "-f",
                ])
                .arg(&path),
        );
    }

    /// `ldapsearch -LLL` as the rootdn.
    pub fn search(&self, base: &str, filter: &str, attrs: &[&str]) -> String {
        let mut c = Command::new("ldapsearch");
        c.args([
            "-x",
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-H",
            &self.uri,
            "-D",
            &format!("cn=admin,{BASE}"),
            "-w",
            "secret",
            "-b",
            base,
            filter,
        ]);
        c.args(attrs);
        must(&mut c)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// SIGSTOP: the kernel still accepts connections, slapd never answers.
    pub fn freeze(&self) {
        signal(self.pid(), libc::SIGSTOP);
    }

    pub fn thaw(&self) {
        signal(self.pid(), libc::SIGCONT);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c);
        }
    }

    /// Starts again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A C harness from tests/c, compiled once per test process.
pub fn c_harness(name: &str) -> PathBuf {
    let out = build_dir().join(format!("{name}-{}", std::process::id()));
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if !out.exists() {
        let st = Command::new("cc")
            .arg("-O1")
            .arg("-pthread")
            .arg("-o")
            .arg(&out)
            .arg(workspace().join(format!("tests/c/{name}.c")))
            .arg("-ldl")
            .status()
            .unwrap();
        assert!(st.success(), "compiling tests/c/{name}.c failed");
    }
    out
}

/// The NSS call harness (tests/c/nsscall.c).
pub fn nsscall() -> PathBuf {
    c_harness("nsscall")
}

/// A private mount namespace with its own `/run` (so `/run/ldaprs/socket` is ours), its own
/// `/var/lib/ldaprs` (the persistent cache, kept across daemon restarts in the namespace) and
/// its own `/etc/nsswitch.conf` (`passwd: files ldaprs`), a held-open process to enter it with
/// nsenter, and optionally the daemon running inside.
pub struct Env {
    pub dir: PathBuf,
    holder: Child,
    daemon: Option<Child>,
    pub config: PathBuf,
    /// The namespace also has its own network and UTS namespaces (`Env::in_net_of`).
    own_net: bool,
    /// `NAME=value` for every command run in the namespace (the daemon too).
    env: Vec<String>,
}

impl Env {
    pub fn new(name: &str) -> Env {
        Env::create(name, None)
    }

    /// Like `new`, inside the network and UTS namespaces of process `pid` (e.g. the Samba DC's
    /// in `samba.rs`): the daemon and every command then see only that namespace's loopback.
    pub fn in_net_of(name: &str, pid: u32) -> Env {
        Env::create(name, Some(pid))
    }

    fn create(name: &str, net_of: Option<u32>) -> Env {
        let dir = scratch(&format!("env-{name}"));
        // glibc loads "libnss_ldaprs.so.2" by name; LD_LIBRARY_PATH points it here.
        let lib = dir.join("lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::copy(artifact("libnss_ldaprs.so"), lib.join("libnss_ldaprs.so.2")).unwrap();
        let host_ns = std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_default();
        let mut ns: String = host_ns
            .lines()
            .filter(|l| !l.starts_with("passwd:") && !l.starts_with("group:"))
            .map(|l| format!("{l}\n"))
            .collect();
        ns.push_str("passwd: files ldaprs\ngroup: files ldaprs\n");
        std::fs::write(dir.join("nsswitch.conf"), ns).unwrap();
        let pam_dir = dir.join("pam.d");
        std::fs::create_dir_all(&pam_dir).unwrap();
        let module = artifact("libpam_ldaprs.so");
        std::fs::write(
            pam_dir.join("ldaprs-test"),
            format!("auth required {m}\naccount required {m}\npassword required {m}\nsession required {m}\n", m = module.display()),
        )
        .unwrap();
        let script = format!(
            "set -e; mount -t tmpfs -o mode=0755 tmpfs /run; mkdir -p /run/ldaprs; mkdir -p -m 0700 /var/lib/ldaprs; mount -t tmpfs -o mode=0700 tmpfs /var/lib/ldaprs; mount --bind {ns} /etc/nsswitch.conf; touch {ready}; exec sleep 3600",
            ns = dir.join("nsswitch.conf").display(),
            ready = dir.join("ready").display()
        );
        let mut holder = match net_of {
            Some(pid) => {
                let mut c = Command::new("nsenter");
                c.args([
                    "--target",
                    &pid.to_string(),
                    "--net",
                    "--uts",
                    "--",
                    "unshare",
                ]);
                c
            }
            None => Command::new("unshare"),
        };
        let holder = holder
            .args([
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                &script,
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare (util-linux); tests must run as root");
        let ready = dir.join("ready");
        wait_until("the test namespace", Duration::from_secs(10), || {
            ready.exists()
        });
        Env {
            config: dir.join("ldaprs.toml"),
            dir,
            holder,
            daemon: None,
            own_net: net_of.is_some(),
            env: Vec::new(),
        }
    }

    /// The default test config for one slapd, with extra TOML appended to the server block.
    pub fn config_for(slapd: &Slapd, schema: &str, extra_top: &str, extra_server: &str) -> String {
        Env::config_uris(
            &[slapd.uri.as_str()],
            schema,
            extra_top,
            &format!("allow_cleartext_passwords = true\n{extra_server}"),
        )
    }

    /// A test config with one server block over `uris` (no cleartext passwords unless
    /// `extra_server` allows them).
    pub fn config_uris(uris: &[&str], schema: &str, extra_top: &str, extra_server: &str) -> String {
        let list = uris
            .iter()
            .map(|u| format!("\"{u}\""))
            .collect::<Vec<_>>()
            .join(", ");
        format!("{extra_top}\n[daemon]\nlog_level = \"debug\"\n\n[[servers]]\nname = \"test\"\nuri = [{list}]\nschema = \"{schema}\"\nbase = \"{BASE}\"\n{extra_server}\n")
    }

    /// Sets `name=value` in the environment of every later command (and daemon) in here.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|e| !e.starts_with(&format!("{name}=")));
        self.env.push(format!("{name}={value}"));
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
    }

    /// A command prefixed with nsenter into the namespace, with the module on the library path.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("--target")
            .arg(self.holder.id().to_string())
            .arg("--mount");
        if self.own_net {
            c.args(["--net", "--uts"]);
        }
        c.arg("--");
        c.arg("env").arg(format!(
            "LD_LIBRARY_PATH={}",
            self.dir.join("lib").display()
        ));
        c.args(&self.env);
        c.args(argv);
        c
    }

    pub fn run(&self, argv: &[&str]) -> Output {
        self.command(argv).stdin(Stdio::null()).output().unwrap()
    }

    pub fn run_input(&self, argv: &[&str], input: &str) -> Output {
        let mut child = self
            .command(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let written = child.stdin.take().unwrap().write_all(input.as_bytes());
        if let Err(e) = written {
            // A child that refuses at once exits without reading its input: the pipe is
            // closed under the write (seen as a flaky failure of ad_krb5's join test).
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
        child.wait_with_output().unwrap()
    }

    /// Where the namespace's socket is seen from the host.
    pub fn socket_from_host(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root/run/ldaprs/socket", self.holder.id()))
    }

    /// The namespace's persistent cache directory (`/var/lib/ldaprs`) as seen from the host.
    pub fn state_from_host(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root/var/lib/ldaprs", self.holder.id()))
    }

    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ldaprsd.log")).unwrap_or_default()
    }

    /// Starts ldaprsd with the written config and waits for its socket.
    pub fn start_daemon(&mut self) {
        self.try_start_daemon()
            .unwrap_or_else(|log| panic!("ldaprsd did not start:\n{log}"));
    }

    /// Starts ldaprsd; Err(log) if it exits or does not listen within 10 s.
    pub fn try_start_daemon(&mut self) -> Result<(), String> {
        let log_before = self.daemon_log().len();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("ldaprsd.log"))
            .unwrap();
        let mut child = self
            .command(&[
                artifact("ldaprsd").to_str().unwrap(),
                "--config",
                self.config.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let sock = self.socket_from_host();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = child.try_wait() {
                return Err(self.daemon_log());
            }
            // The socket appears before the daemon switches to `[daemon] user`; "listening on"
            // is logged once it is ready (after the switch).
            let started = self
                .daemon_log()
                .get(log_before..)
                .is_some_and(|l| l.contains(" listening on "));
            if sock.exists() && started {
                self.daemon = Some(child);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(self.daemon_log())
    }

    pub fn daemon_pid(&self) -> u32 {
        self.daemon.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Sends a signal to the daemon (SIGSTOP/SIGCONT to hang it, SIGKILL to crash it).
    pub fn signal_daemon(&mut self, sig: i32) {
        signal(self.daemon_pid(), sig);
        if sig == libc::SIGKILL {
            if let Some(mut c) = self.daemon.take() {
                let _ = c.wait();
            }
        }
    }

    /// The shared-memory map as seen from the host.
    pub fn map_from_host(&self) -> PathBuf {
        PathBuf::from(format!(
            "/proc/{}/root/run/ldaprs/cache.map",
            self.holder.id()
        ))
    }

    pub fn stop_daemon(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            stop_child(&mut c);
        }
        let sock = self.socket_from_host();
        wait_until("the socket to go", Duration::from_secs(5), || {
            !sock.exists()
        });
    }

    /// `getent ARGS...` → (exit code, stdout).
    pub fn getent(&self, args: &[&str]) -> (i32, String) {
        let mut argv = vec!["getent"];
        argv.extend_from_slice(args);
        let o = self.run(&argv);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    }

    /// The environment of one pam_wrapper run: the test's service files, and a runtime
    /// directory of its own. pam_wrapper copies the service files into `/tmp/pam.X` by default
    /// (36 names shared by every process on the host) and removes what it takes for a stale
    /// copy there: with many pamtesters at once, one run's copy was sometimes taken away from
    /// under it ("no modules loaded for `ldaprs-test'").
    fn pam_wrapper_env(&self) -> Vec<String> {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let runtime = self.dir.join(format!("pam-wrapper-{n}"));
        std::fs::create_dir_all(&runtime).unwrap();
        // Also used by pamtester running as another uid (`as_uid`), like /tmp.
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )
        .unwrap();
        vec![
            "LD_PRELOAD=libpam_wrapper.so".to_string(),
            "PAM_WRAPPER=1".to_string(),
            format!(
                "PAM_WRAPPER_SERVICE_DIR={}",
                self.dir.join("pam.d").display()
            ),
            format!("PAM_WRAPPER_RUNTIME_DIR={}", runtime.display()),
        ]
    }

    /// pamtester under pam_wrapper with the test's own service file → (exit code, stderr).
    pub fn pam(&self, user: &str, password: &str, ops: &[&str]) -> (i32, String) {
        let mut argv = self.pam_wrapper_env();
        argv.extend([
            "pamtester".to_string(),
            "-v".to_string(),
            "ldaprs-test".to_string(),
            user.to_string(),
        ]);
        argv.extend(ops.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let o = self.run_input(&refs, &format!("{password}\n"));
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout),
        )
    }

    /// pamtester under pam_wrapper, with one line of `input` per prompt, PAM items
    /// (`rhost=…`, `tty=…`) and optionally as another uid (real and effective, like a user
    /// running it) → (exit code, everything pamtester printed).
    pub fn pamtester(
        &self,
        user: &str,
        input: &[&str],
        ops: &[&str],
        items: &[&str],
        as_uid: Option<u32>,
    ) -> (i32, String) {
        let mut argv = self.pam_wrapper_env();
        if let Some(uid) = as_uid {
            argv.extend([
                "setpriv".to_string(),
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".to_string(),
            ]);
        }
        argv.extend(["pamtester".to_string(), "-v".to_string()]);
        for i in items {
            argv.push("-I".to_string());
            argv.push(i.to_string());
        }
        argv.push("ldaprs-test".to_string());
        argv.push(user.to_string());
        argv.extend(ops.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let text: String = input.iter().map(|l| format!("{l}\n")).collect();
        let o = self.run_input(&refs, &text);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout),
        )
    }

    /// Bind-mounts `src` over `dst` inside the namespace (e.g. a test `/etc/passwd`); the
    /// daemon and the commands started afterwards see it, the host never does.
    pub fn bind_file(&self, src: &Path, dst: &str) {
        must(
            Command::new("nsenter")
                .arg("--target")
                .arg(self.holder.id().to_string())
                .args(["--mount", "--", "mount", "--bind"])
                .arg(src)
                .arg(dst),
        );
    }

    /// Makes `/etc/passwd` and `/etc/group` inside the namespace the host's plus these lines.
    pub fn add_local_accounts(&self, passwd_lines: &str, group_lines: &str) {
        for (file, extra) in [("passwd", passwd_lines), ("group", group_lines)] {
            let mut text = std::fs::read_to_string(format!("/etc/{file}")).unwrap();
            text.push_str(extra);
            let p = self.dir.join(format!("local-{file}"));
            std::fs::write(&p, text).unwrap();
            self.bind_file(&p, &format!("/etc/{file}"));
        }
    }

    /// The NSS call harness run inside the namespace against the built module.
    pub fn nsscall(&self, args: &[&str]) -> (i32, i32, u64, String) {
        let module = self.dir.join("lib/libnss_ldaprs.so.2");
        let bin = nsscall();
        let mut argv = vec![bin.to_str().unwrap(), module.to_str().unwrap()];
        argv.extend_from_slice(args);
        let o = self.run(&argv);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let first = out.lines().next().unwrap_or_default().to_string();
        let field = |k: &str| -> i64 {
            first
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(k))
                .and_then(|v| v.parse().ok())
                .unwrap_or(i64::MIN)
        };
        let rest = out.lines().skip(1).collect::<Vec<_>>().join("\n");
        (
            field("status=") as i32,
            field("errno=") as i32,
            field("us=") as u64,
            rest,
        )
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            stop_child(&mut c);
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        // The module's copy (17 MB in a debug build) goes; the logs and configs stay. After a
        // failure everything stays, to look at.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.dir.join("lib"));
        }
    }
}

/// A bind password file with the given mode.
pub fn secret_file(dir: &Path, password: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("bind_password");
    std::fs::write(&p, format!("{password}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// Runs a command and panics with its output if it fails.
pub fn must(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A certificate authority made at test time with openssl, and the certificates it issues.
pub struct TestCa {
    pub dir: PathBuf,
    pub cert: PathBuf,
    key: PathBuf,
}

/// A certificate and its key.
pub struct Cert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Cert {
    /// slapd.conf lines to serve this certificate.
    pub fn slapd_global(&self, ca: &Path) -> String {
        format!(
            "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
            ca.display(),
            self.cert.display(),
            self.key.display()
        )
    }
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let dir = scratch(&format!("ca-{name}"));
        let key = dir.join("ca.key");
        let cert = dir.join("ca.pem");
        must(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=ldaprs test CA",
                ])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .args([
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ]),
        );
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        std::fs::write(
            dir.join("ca.cnf"),
            format!("[ca]\ndefault_ca = tca\n[tca]\ndatabase = {d}/index.txt\nnew_certs_dir = {d}\nserial = {d}/serial\ndefault_md = sha256\npolicy = pol\nunique_subject = no\n[pol]\ncommonName = supplied\n", d = dir.display()),
        )
        .unwrap();
        TestCa { dir, cert, key }
    }

    fn request(&self, name: &str, cn: &str) -> (PathBuf, PathBuf) {
        let key = self.dir.join(format!("{name}.key"));
        let csr = self.dir.join(format!("{name}.csr"));
        must(
            Command::new("openssl")
                .args([
                    "req",
                    "-new",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-subj",
                ])
                .arg(format!("/CN={cn}"))
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&csr),
        );
        (key, csr)
    }

    fn ext(&self, name: &str, san: &str) -> PathBuf {
        let ext = self.dir.join(format!("{name}.ext"));
        std::fs::write(&ext, format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")).unwrap();
        ext
    }

    /// A certificate signed by this CA for `san` (e.g. `IP:127.0.0.1`), valid now, or valid
    /// only in 2020 when `expired`.
    pub fn issue(&self, name: &str, san: &str, expired: bool) -> Cert {
        let (key, csr) = self.request(name, name);
        let ext = self.ext(name, san);
        let cert = self.dir.join(format!("{name}.pem"));
        let mut cmd = Command::new("openssl");
        cmd.args(["ca", "-batch", "-notext", "-config"])
            .arg(self.dir.join("ca.cnf"))
            .arg("-cert")
            .arg(&self.cert)
            .arg("-keyfile")
            .arg(&self.key)
            .arg("-in")
            .arg(&csr)
            .arg("-out")
            .arg(&cert)
            .arg("-extfile")
            .arg(&ext);
        if expired {
            cmd.args([
                "-startdate",
                "20200101000000Z",
                "-enddate",
                "20200201000000Z",
            ]);
        } else {
            cmd.args(["-days", "2"]);
        }
        must(&mut cmd);
        Cert { cert, key }
    }

    /// A certificate signed by this CA that names the host only in its subject's CN: X.509 v3
    /// with key usages but no subjectAltName (the shape of Samba's self-made certificate).
    pub fn issue_cn_only(&self, name: &str, cn: &str) -> Cert {
        let (key, csr) = self.request(name, cn);
        let cert = self.dir.join(format!("{name}.pem"));
        let ext = self.dir.join(format!("{name}.ext"));
        std::fs::write(&ext, "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n").unwrap();
        must(
            Command::new("openssl")
                .args(["ca", "-batch", "-notext", "-days", "2", "-config"])
                .arg(self.dir.join("ca.cnf"))
                .arg("-cert")
                .arg(&self.cert)
                .arg("-keyfile")
                .arg(&self.key)
                .arg("-in")
                .arg(&csr)
                .arg("-out")
                .arg(&cert)
                .arg("-extfile")
                .arg(&ext),
        );
        Cert { cert, key }
    }

    /// A certificate that signs itself (no CA a client trusts).
    pub fn self_signed(&self, name: &str, san: &str) -> Cert {
        let key = self.dir.join(format!("{name}.key"));
        let cert = self.dir.join(format!("{name}.pem"));
        must(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                ])
                .arg(format!("/CN={name}"))
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .arg("-addext")
                .arg(format!("subjectAltName={san}"))
                .args(["-addext", "basicConstraints=critical,CA:FALSE"]),
        );
        Cert { cert, key }
    }
}

/// An LDIF with `n` extra users (`bulk00000`…) on top of the rfc2307 fixture.
pub fn bulk_ldif(dir: &Path, n: usize) -> PathBuf {
    let mut text =
        std::fs::read_to_string(workspace().join("tests/fixtures/rfc2307.ldif")).unwrap();
    for i in 0..n {
        text.push_str(&format!(
            "\ndn: uid=bulk{i:05},ou=people,{BASE}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: bulk{i:05}\ncn: Bulk {i}\nsn: Bulk\nuidNumber: {}\ngidNumber: 10001\nhomeDirectory: /home/bulk{i:05}\nloginShell: /bin/sh\n",
            20000 + i
        ));
    }
    let p = dir.join(format!("bulk-{n}.ldif"));
    std::fs::write(&p, text).unwrap();
    p
}

/// Two slapd instances replicating each other (syncrepl, mirror mode), loaded with the same
/// fixture, on two free loopback ports.
pub fn mirror_pair(name: &str, ldif: &str, schema: &str) -> (Slapd, Slapd) {
    let ports = [free_port(), free_port()];
    let start = |n: usize| {
        let other = ports[1 - n];
        let opts = SlapdOpts {
            global: format!("moduleload syncprov\nserverID {}", n + 1),
            db: format!(
                "overlay syncprov\nsyncrepl rid=00{} provider=ldap://127.0.0.1:{other} bindmethod=simple binddn=\"cn=admin,{BASE}\" credentials=secret searchbase=\"{BASE}\" type=refreshAndPersist retry=\"1 +\" timeout=3\nmirrormode on",
                n + 1
            ),
            port: Some(ports[n]),
            ..Default::default()
        };
        Slapd::start_with(
            &format!("{name}-{}", ["a", "b"][n]),
            &workspace().join("tests/fixtures").join(ldif),
            schema,
            opts,
        )
    };
    (start(0), start(1))
}
