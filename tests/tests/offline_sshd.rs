//! An sshd password login offline, end to end (issue 11): sshd on a loopback port inside the
//! test namespace with `UsePAM yes` and a PAM service file of the test's own (bind-mounted
//! over `/etc/pam.d/sshd` in the namespace only), a real ssh client answering the
//! keyboard-interactive prompt through `SSH_ASKPASS`, the directory's slapd SIGSTOPped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{artifact, free_port, must, Env, Slapd};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running sshd, stopped by its PID on drop.
struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the PID of the sshd this test started.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

fn start_sshd(env: &Env, port: u16) -> Sshd {
    let dir = env.dir.join("sshd");
    std::fs::create_dir_all(&dir).unwrap();
    let host_key = dir.join("ssh_host_ed25519_key");
    must(
        Command::new("ssh-keygen")
            .args(["-q", "-N", "", "-t", "ed25519", "-f"])
            .arg(&host_key),
    );
    // The PAM stack sshd uses, in the namespace only.
    let module = artifact("libpam_ldaprs.so");
    let pam = dir.join("pam-sshd");
    std::fs::write(
        &pam,
        format!(
            "auth required {m}\naccount required {m}\npassword required {m}\nsession required {m}\n",
            m = module.display()
        ),
    )
    .unwrap();
    env.bind_file(&pam, "/etc/pam.d/sshd");
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile {dir}/sshd.pid\n\
         UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n\
         PubkeyAuthentication no\nAuthorizedKeysFile none\nStrictModes no\nPermitRootLogin no\n\
         LogLevel VERBOSE\n",
        key = host_key.display(),
        dir = dir.display(),
    );
    let cfg = dir.join("sshd_config");
    std::fs::write(&cfg, config).unwrap();
    assert!(env
        .run(&["mkdir", "-p", "-m", "0755", "/run/sshd"])
        .status
        .success());
    let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
    let child = env
        .command(&["/usr/sbin/sshd", "-D", "-e", "-f", cfg.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("/usr/sbin/sshd (apt-get install openssh-server)");
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(10), "{}", sshd_log(env));
        std::thread::sleep(Duration::from_millis(20));
    }
    Sshd(child)
}

fn sshd_log(env: &Env) -> String {
    std::fs::read_to_string(env.dir.join("sshd/sshd.log")).unwrap_or_default()
}

/// `ssh USER@127.0.0.1 echo ok-$USER` with `password` given to every prompt by an askpass
/// script → (exit code, output, time).
fn ssh(env: &Env, port: u16, user: &str, password: &str) -> (i32, String, Duration) {
    let askpass = env.dir.join(format!("askpass-{user}"));
    std::fs::write(&askpass, format!("#!/bin/sh\necho '{password}'\n")).unwrap();
    std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o755)).unwrap();
    let askpass_var = format!("SSH_ASKPASS={}", askpass.display());
    let p = port.to_string();
    let t = Instant::now();
    let o = env
        .command(&[
            &askpass_var,
            "SSH_ASKPASS_REQUIRE=force",
            "DISPLAY=:0",
            "setsid",
            "-w",
            "ssh",
            "-F",
            "/dev/null",
            "-p",
            &p,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "PreferredAuthentications=keyboard-interactive",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "ConnectTimeout=10",
            &format!("{user}@127.0.0.1"),
            "echo ok-$USER",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = t.elapsed();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        took,
    )
}

#[test]
fn sshd_password_login_offline_with_cached_credentials() {
    let slapd = Slapd::start("offline-sshd", "rfc2307.ldif", "rfc2307");
    let mut env = Env::new("offline-sshd");
    env.write_config(&Env::config_for(
        &slapd,
        "rfc2307",
        "[offline]\ncache_credentials = true\n",
        "timeout = 1\nconnect_timeout = 1\n",
    ));
    env.start_daemon();
    let port = free_port();
    let _sshd = start_sshd(&env, port);

    let (code, out, online) = ssh(&env, port, "alice", "alice-pw");
    eprintln!("ssh alice online: exit {code} in {online:?}");
    assert_eq!(code, 0, "{out}\n{}", sshd_log(&env));
    assert!(out.contains("ok-alice"), "{out}");
    std::thread::sleep(Duration::from_millis(300));

    slapd.freeze();
    let (code, out, first) = ssh(&env, port, "alice", "alice-pw");
    eprintln!("ssh alice, slapd frozen, first login: exit {code} in {first:?}\n{out}");
    assert_eq!(code, 0, "{out}\n{}", sshd_log(&env));
    assert!(out.contains("ok-alice"), "{out}");
    let (code, out, offline) = ssh(&env, port, "alice", "alice-pw");
    eprintln!("ssh alice offline: exit {code} in {offline:?}");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Logged in with cached credentials: the directory cannot be reached."),
        "{out}"
    );
    let (code, out, _) = ssh(&env, port, "alice", "wrong-pw");
    assert_eq!(code, 255, "{out}");
    assert!(!out.contains("ok-alice"), "{out}");
    let (code, out, _) = ssh(&env, port, "bob", "bob-pw");
    assert_eq!(code, 255, "{out}");
    let log = sshd_log(&env);
    assert!(
        log.matches("Accepted keyboard-interactive/pam for alice from 127.0.0.1")
            .count()
            == 3,
        "{log}"
    );
    assert!(
        !log.contains("Accepted keyboard-interactive/pam for bob"),
        "{log}"
    );
    let dlog = env.daemon_log();
    assert!(dlog.contains("user=alice service=sshd"), "{dlog}");
    assert!(
        dlog.contains("success offline: cached credentials"),
        "{dlog}"
    );
    assert!(
        dlog.contains("user=bob service=sshd")
            && dlog
                .contains("offline: no cached login: the user never logged in online on this host"),
        "{dlog}"
    );
    slapd.thaw();
}
