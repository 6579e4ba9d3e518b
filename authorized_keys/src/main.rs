//! `ldaprs-authorized-keys USER`: sshd's `AuthorizedKeysCommand` for directory users.
//!
//! ```text
//! AuthorizedKeysCommand /usr/libexec/ldaprs/ldaprs-authorized-keys %u
//! AuthorizedKeysCommandUser nobody
//! ```
//!
//! It asks ldaprsd for the user's keys (`Request::SshKeys`) over the same blocking, bounded
//! client the NSS and PAM modules use, and prints them as sshd reads an authorized_keys file:
//! one line per key on stdout, nothing for none. The daemon decides everything (only a user
//! the account stage of service `sshd` lets in gets keys; every line validated; none for a
//! local user); this side checks the name before asking, and requires the socket to be
//! served by root or the socket directory's owner (a process squatting on the socket must not
//! hand out keys).
//!
//! sshd(8) reads the keys from stdout; a non-zero exit makes it ignore them. So the exit is 0
//! whatever the answer (no keys, no daemon, an error: nothing printed), and non-zero only for
//! a usage error. Errors go to syslog (authpriv), never to stdout or stderr. No shell, no
//! threads, no runtime: it starts and answers within a couple of milliseconds.

mod syslog;

use ldaprs_common::client::{self, CallOptions};
use ldaprs_common::names::valid_name;
use ldaprs_common::protocol::{Request, Response};
use ldaprs_common::DEFAULT_SOCKET;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// sysexits(3) `EX_USAGE`: the only non-zero exit.
const EX_USAGE: u8 = 64;

/// The daemon may need a failover round, as for a PAM call (12 s at most end to end); sshd
/// waits for the command within its `LoginGraceTime`.
const OPTIONS: CallOptions = CallOptions {
    timeout: Duration::from_secs(11),
    require_trusted_peer: true,
};

/// The keys to print for `user` (empty for none), each problem logged.
fn keys(user: &str) -> Vec<String> {
    if !valid_name(user) {
        syslog::log(
            syslog::LOG_WARNING,
            &format!("user {user:?}: not a valid user name; no keys"),
        );
        return Vec::new();
    }
    let req = Request::SshKeys {
        user: user.to_string(),
    };
    match client::call(DEFAULT_SOCKET, &req, OPTIONS) {
        Ok(Response::SshKeys(lines)) => {
            syslog::log(
                syslog::LOG_DEBUG,
                &format!("user {user}: {} key(s)", lines.len()),
            );
            lines
        }
        Ok(Response::NotFound) => {
            syslog::log(
                syslog::LOG_DEBUG,
                &format!("user {user}: not a directory user"),
            );
            Vec::new()
        }
        Ok(Response::Error { code, message }) => {
            syslog::log(
                syslog::LOG_ERR,
                &format!("user {user}: ldaprsd refused ({code:?}): {message}; no keys"),
            );
            Vec::new()
        }
        Ok(other) => {
            syslog::log(
                syslog::LOG_ERR,
                &format!("user {user}: unexpected answer from ldaprsd: {other:?}; no keys"),
            );
            Vec::new()
        }
        Err(e) => {
            syslog::log(syslog::LOG_ERR, &format!("user {user}: {e}; no keys"));
            Vec::new()
        }
    }
}

fn main() -> ExitCode {
    syslog::open();
    // A panic (none is expected: unwrap, indexing and panic! are denied) is logged, not
    // printed; its exit status makes sshd ignore the output.
    std::panic::set_hook(Box::new(|info| {
        syslog::log(syslog::LOG_ERR, &format!("internal error: {info}"));
    }));
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let [user] = args.as_slice() else {
        syslog::log(
            syslog::LOG_ERR,
            "usage: ldaprs-authorized-keys USER (sshd_config: AuthorizedKeysCommand /usr/libexec/ldaprs/ldaprs-authorized-keys %u)",
        );
        return ExitCode::from(EX_USAGE);
    };
    let keys = match user.to_str() {
        Some(u) => keys(u),
        None => {
            let shown = user.to_string_lossy();
            syslog::log(
                syslog::LOG_WARNING,
                &format!("user {shown:?}: not UTF-8; no keys"),
            );
            Vec::new()
        }
    };
    let mut text = String::new();
    for k in &keys {
        text.push_str(k);
        text.push('\n');
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        syslog::log(
            syslog::LOG_ERR,
            &format!("writing the keys to sshd failed: {e}"),
        );
    }
    ExitCode::SUCCESS
}
