//! The command's only voice: syslog, facility authpriv (where sshd's own authentication
//! messages go). Its stdout belongs to sshd (keys and nothing else) and sshd discards its
//! stderr, so nothing else is ever written to either.

use std::ffi::CString;

pub use libc::{LOG_DEBUG, LOG_ERR, LOG_WARNING};

/// Names the process in every line (`ldaprs-authorized-keys[PID]`).
pub fn open() {
    // SAFETY: the ident is a 'static NUL-terminated string (openlog keeps the pointer).
    unsafe {
        libc::openlog(
            c"ldaprs-authorized-keys".as_ptr(),
            libc::LOG_PID,
            libc::LOG_AUTHPRIV,
        )
    };
}

/// The text with every control character written as `\xNN`: the user name comes from the SSH
/// client (sshd's `%u`), and a newline in it must not start a forged log line.
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One line at `priority` (a `LOG_*` level; the facility is openlog's).
pub fn log(priority: libc::c_int, msg: &str) {
    let Ok(line) = CString::new(escape_controls(msg)) else {
        return; // no NUL is left after escaping; never reached
    };
    // SAFETY: a constant "%s" format with one NUL-terminated string argument.
    unsafe { libc::syslog(priority, c"%s".as_ptr(), line.as_ptr()) };
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("alice"), "alice");
        assert_eq!(escape_controls("a\nb<6>\0é"), "a\\x0ab<6>\\x00é");
    }
}
