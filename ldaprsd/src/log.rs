//! One log line per decision, to stderr (the journal under systemd). The level can be changed
//! at run time; passwords are never given to the logger.

use ldaprs_common::config::LogLevel;
use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(2);

fn rank(l: LogLevel) -> u8 {
    match l {
        LogLevel::Error => 0,
        LogLevel::Warning => 1,
        LogLevel::Info => 2,
        LogLevel::Debug => 3,
    }
}

pub fn set_level(l: LogLevel) {
    LEVEL.store(rank(l), Ordering::Relaxed);
}

pub fn enabled(l: LogLevel) -> bool {
    rank(l) <= LEVEL.load(Ordering::Relaxed)
}

pub fn write(l: LogLevel, msg: std::fmt::Arguments<'_>) {
    if !enabled(l) {
        return;
    }
    // <N> prefixes are understood by journald as syslog priorities (sd-daemon(3)).
    let (prio, tag) = match l {
        LogLevel::Error => (3, "error"),
        LogLevel::Warning => (4, "warning"),
        LogLevel::Info => (6, "info"),
        LogLevel::Debug => (7, "debug"),
    };
    // One write per line (eprintln! on unbuffered stderr made seven, one per piece): lines
    // of concurrent writers never interleave, and an auth costs one system call, not seven.
    let line = format!("<{prio}>{tag}: {}\n", escape_controls(&msg.to_string()));
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}

/// The line with every control character written as `\xNN`. Names, PAM items (service,
/// rhost, tty) and directory values reach log lines; journald starts a new entry at every
/// newline and honours a `<N>` priority at its start, so an unescaped `\n<6>` in a PAM
/// service name would forge a line of its own.
pub fn escape_controls(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
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

#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::log::write(ldaprs_common::config::LogLevel::Error, format_args!($($t)*)) } }
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::log::write(ldaprs_common::config::LogLevel::Warning, format_args!($($t)*)) } }
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::log::write(ldaprs_common::config::LogLevel::Info, format_args!($($t)*)) } }
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::log::write(ldaprs_common::config::LogLevel::Debug, format_args!($($t)*)) } }

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn control_characters_cannot_start_a_line() {
        let forged = "sshd\n<6>info: req=999 auth user=alice: success";
        let line = escape_controls(forged);
        assert!(!line.contains('\n'));
        assert_eq!(line, "sshd\\x0a<6>info: req=999 auth user=alice: success");
        assert_eq!(
            escape_controls("a\rb\x1b[31m\u{85}c"),
            "a\\x0db\\x1b[31m\\xc2\\x85c"
        );
        assert_eq!(
            escape_controls("plain text, ünïcode"),
            "plain text, ünïcode"
        );
    }
}
