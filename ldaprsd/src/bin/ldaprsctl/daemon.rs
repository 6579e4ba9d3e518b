//! Asking the daemon: one call over its socket, and the password prompt of `auth test`.

use ldaprs_common::client::{self, CallOptions};
use ldaprs_common::protocol::{Request, Response, Secret};
use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;
use zeroize::Zeroizing;

pub fn call(socket: &str, req: &Request) -> Result<Response, ExitCode> {
    let opts = CallOptions {
        timeout: Duration::from_secs(15),
        require_trusted_peer: false,
    };
    client::call(socket, req, opts).map_err(|e| {
        eprintln!("ldaprsctl: {e} (socket {socket})");
        ExitCode::from(3)
    })
}

/// Reads a password: from the terminal with echo off, else one line of standard input.
pub fn read_password(prompt: &str) -> Option<Secret> {
    use std::io::Write;
    let fd = libc::STDIN_FILENO;
    // SAFETY: isatty on our own stdin.
    let tty = unsafe { libc::isatty(fd) } == 1;
    // SAFETY: termios is plain old data.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr into our buffer.
    let echo_off = tty && unsafe { libc::tcgetattr(fd, &mut saved) } == 0;
    if echo_off {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: setting our own terminal's attributes; restored below.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    // Room for a long password up front (no reallocation leaves a copy behind); wiped on drop.
    let mut line = Zeroizing::new(String::with_capacity(1024));
    let ok = std::io::stdin().lock().read_line(&mut line).is_ok();
    if echo_off {
        // SAFETY: restoring the attributes saved above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
        eprintln!();
    }
    ok.then(|| Secret::from_slice(line.trim_end_matches(['\n', '\r']).as_bytes()))
}
