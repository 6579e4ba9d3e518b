//! The request decoder under attack through the real daemon: a frame of nested `Explain`
//! requests, sent by an unprivileged client (uid 65534), to a daemon on 4 worker threads and to
//! the default single-threaded runtime under a 4 MiB stack limit. The recursive decoder
//! overflowed the stack and aborted the daemon; now the daemon answers an error, stays up,
//! still answers `getent passwd alice` through the module, and logs no panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{artifact, Env, Slapd};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The frame header (common/src/protocol/header.rs): magic, version 1 (u16 BE), length (u32 BE).
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = b"LDRS".to_vec();
    f.extend_from_slice(&1u16.to_be_bytes());
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// `levels` nested `Explain` (tag 12, then the inner request as u32 BE length + bytes, as
/// common/src/protocol/encode.rs writes it) around `UserByUid(10001)` (tag 2, u32 BE).
fn nested_explain(levels: usize) -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0x27, 0x11];
    for _ in 0..levels {
        let mut outer = Vec::with_capacity(p.len() + 5);
        outer.push(12);
        outer.extend_from_slice(&(p.len() as u32).to_be_bytes());
        outer.extend_from_slice(&p);
        p = outer;
    }
    frame(&p)
}

/// The most levels whose frame fits in MAX_REQUEST (64 KiB): 5 bytes a level, 5 for the lookup.
const MOST_THAT_FIT: usize = (64 * 1024 - 5) / 5;

/// Sends `bytes` on the daemon's socket from a forked child that has become uid/gid 65534
/// (no groups), and returns what the daemon wrote back until it closed or 10 s passed.
///
/// The child first enters the namespace's `/run/ldaprs` as root (cwd), then drops to 65534,
/// then connects to the relative path `socket`: SO_PEERCRED sees uid 65534. Everything it
/// needs is allocated before fork; the child makes only system calls and `_exit`s.
fn send_as_nobody(env: &Env, bytes: &[u8]) -> Vec<u8> {
    let sock = env.socket_from_host();
    let dir = CString::new(sock.parent().unwrap().as_os_str().as_bytes()).unwrap();
    let mut addr: libc::sockaddr_un = unsafe_zeroed_addr();
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(b"socket\0") {
        *d = *s as libc::c_char;
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let [rd, wr] = fds;
    // SAFETY: fork; the child below makes only system calls on memory allocated before the
    // fork, and ends in _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: the child: raw system calls on buffers owned by this (copied) address space.
        let code = unsafe { child_exchange(&dir, &addr, bytes, &mut buf, wr) };
        // SAFETY: ends the child without running the parent's destructors or atexit handlers.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: closing our copy of the write end, an fd this function opened.
    unsafe { libc::close(wr) };
    let mut out = Vec::new();
    loop {
        // SAFETY: read into `buf`, which has buf.len() writable bytes.
        let n = unsafe { libc::read(rd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    let mut status = 0;
    // SAFETY: reaping the child we forked; closing the read end we opened.
    unsafe {
        libc::waitpid(pid, &mut status, 0);
        libc::close(rd);
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "client child failed (status {status:#x}: exit {} = the step that failed)",
        libc::WEXITSTATUS(status)
    );
    out
}

fn unsafe_zeroed_addr() -> libc::sockaddr_un {
    // SAFETY: sockaddr_un is plain data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// The child's side of [`send_as_nobody`]; returns its exit code (0, or the failed step).
///
/// # Safety
/// Only to be called in a freshly forked child.
unsafe fn child_exchange(
    dir: &CString,
    addr: &libc::sockaddr_un,
    bytes: &[u8],
    buf: &mut [u8],
    out_fd: i32,
) -> i32 {
    // SAFETY (whole body): plain system calls on valid pointers and lengths.
    unsafe {
        if libc::chdir(dir.as_ptr()) != 0 {
            return 10;
        }
        if libc::setgroups(0, std::ptr::null()) != 0
            || libc::setresgid(65534, 65534, 65534) != 0
            || libc::setresuid(65534, 65534, 65534) != 0
        {
            return 11;
        }
        if libc::getuid() != 65534 || libc::geteuid() != 65534 || libc::getegid() != 65534 {
            return 12;
        }
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return 13;
        }
        let tv = libc::timeval {
            tv_sec: 10,
            tv_usec: 0,
        };
        let tvp = (&tv as *const libc::timeval).cast();
        let tvl = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, tvp, tvl);
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, tvp, tvl);
        let alen = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        if libc::connect(fd, (addr as *const libc::sockaddr_un).cast(), alen) != 0 {
            return 14;
        }
        // The daemon may answer and close before it has read all of an oversized frame: a
        // short or failed send is not an error here (MSG_NOSIGNAL: no SIGPIPE).
        let mut sent = 0;
        while sent < bytes.len() {
            let rest = &bytes[sent..];
            let n = libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL);
            if n <= 0 {
                break;
            }
            sent += n as usize;
        }
        libc::shutdown(fd, libc::SHUT_WR);
        loop {
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                break;
            }
            if libc::write(out_fd, buf.as_ptr().cast(), n as usize) != n {
                return 15;
            }
        }
        0
    }
}

/// An error answer (tag 10): its code and message; panics on anything else.
fn error_answer(reply: &[u8]) -> (u8, String) {
    assert!(reply.len() >= 10 + 6, "no answer: {reply:02x?}");
    assert_eq!(&reply[..4], b"LDRS");
    let len = u32::from_be_bytes(reply[6..10].try_into().unwrap()) as usize;
    assert_eq!(reply.len(), 10 + len, "one frame, then the daemon closed");
    let p = &reply[10..];
    assert_eq!(p[0], 10, "not an error answer: {p:02x?}");
    let mlen = u32::from_be_bytes(p[2..6].try_into().unwrap()) as usize;
    (p[1], String::from_utf8_lossy(&p[6..6 + mlen]).into_owned())
}

/// ldaprsd started by the test itself (so it can set the environment and the stack limit):
/// `prefix` runs before it (e.g. prlimit), `vars` are added to its environment. Stopped by
/// its PID on drop.
struct Daemon {
    child: Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(env: &Env, prefix: &[&str], vars: &[(&str, &str)]) -> Daemon {
        let log = env.dir.join("attack-ldaprsd.log");
        let file = std::fs::File::create(&log).unwrap();
        let bin = artifact("ldaprsd");
        let mut argv: Vec<&str> = prefix.to_vec();
        argv.extend([
            bin.to_str().unwrap(),
            "--config",
            env.config.to_str().unwrap(),
        ]);
        let mut cmd = env.command(&argv);
        cmd.env_remove("LDAPRS_WORKER_THREADS");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut d = Daemon { child, log };
        let sock = env.socket_from_host();
        let t = Instant::now();
        // The socket appears before the switch to `[daemon] user`; "listening on" is logged
        // once the daemon is ready.
        while !(sock.exists() && d.log().contains(" listening on ")) {
            assert!(d.alive(), "ldaprsd exited at start:\n{}", d.log());
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "ldaprsd did not listen"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        d
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the PID of the daemon this test started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `bytes` as uid 65534; the answer, or a failure with the daemon's state and log.
fn ask(env: &Env, daemon: &mut Daemon, bytes: &[u8]) -> Vec<u8> {
    let reply = send_as_nobody(env, bytes);
    if reply.is_empty() {
        std::thread::sleep(Duration::from_millis(200));
        panic!(
            "no answer; daemon alive: {}; its log:\n{}",
            daemon.alive(),
            daemon.log()
        );
    }
    reply
}

/// The attack against one daemon configuration.
fn attack(name: &str, prefix: &[&str], vars: &[(&str, &str)]) {
    let slapd = Slapd::start(name, "rfc2307.ldif", "rfc2307");
    let env = Env::new(name);
    env.write_config(&Env::config_for(&slapd, "rfc2307", "", ""));
    let mut daemon = Daemon::start(&env, prefix, vars);
    let alice = "alice:x:10001:10001:Alice Liddell:/home/alice:/bin/bash\n".to_string();
    assert_eq!(
        env.getent(&["-s", "ldaprs", "passwd", "alice"]),
        (0, alice.clone())
    );

    // 20,000 levels: 100,015 bytes, over MAX_REQUEST, refused from the header.
    let big = nested_explain(20_000);
    let (code, msg) = error_answer(&ask(&env, &mut daemon, &big));
    eprintln!(
        "{name}: 20,000 levels ({} bytes) -> error {code}: {msg}",
        big.len()
    );
    assert_eq!(code, 2, "BadRequest");
    assert!(msg.contains("exceeds the local cap"), "{msg}");
    assert!(daemon.alive(), "daemon died:\n{}", daemon.log());

    // As deep as fits in 64 KiB (the frame that overflowed the recursive decoder): refused by
    // the decoder at the second level.
    let deep = nested_explain(MOST_THAT_FIT);
    assert!(deep.len() - 10 <= 64 * 1024);
    let (code, msg) = error_answer(&ask(&env, &mut daemon, &deep));
    eprintln!(
        "{name}: {MOST_THAT_FIT} levels ({} bytes) -> error {code}: {msg}",
        deep.len()
    );
    assert_eq!(code, 2, "BadRequest");
    assert!(msg.contains("cannot be explained"), "{msg}");

    // One level decodes: the daemon answers it (explanations are root's: uid 65534 is told
    // so), not a bad request.
    let one = ask(&env, &mut daemon, &nested_explain(1));
    let p = &one[10..];
    assert!(
        p[0] == 8 || (p[0] == 10 && p[1] != 2),
        "one level answered as a bad request: {:02x?}",
        &p[..p.len().min(48)]
    );

    std::thread::sleep(Duration::from_millis(200));
    assert!(daemon.alive(), "daemon died:\n{}", daemon.log());
    assert_eq!(env.getent(&["-s", "ldaprs", "passwd", "alice"]), (0, alice));
    assert!(daemon.alive());
    let log = daemon.log().to_lowercase();
    for bad in ["panic", "overflow", "abort"] {
        assert!(!log.contains(bad), "the daemon logged {bad:?}:\n{log}");
    }
}

#[test]
fn nested_explain_from_nobody_on_four_worker_threads() {
    attack("attack-mt", &[], &[("LDAPRS_WORKER_THREADS", "4")]);
}

#[test]
fn nested_explain_from_nobody_on_the_default_runtime_with_a_4_mib_stack() {
    attack(
        "attack-st",
        &["prlimit", "--stack=4194304:4194304", "--"],
        &[],
    );
}
