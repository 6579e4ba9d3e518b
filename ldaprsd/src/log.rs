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
    eprintln!("<{prio}>{tag}: {msg}");
}

#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::log::write(ldaprs_common::config::LogLevel::Error, format_args!($($t)*)) } }
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::log::write(ldaprs_common::config::LogLevel::Warning, format_args!($($t)*)) } }
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::log::write(ldaprs_common::config::LogLevel::Info, format_args!($($t)*)) } }
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::log::write(ldaprs_common::config::LogLevel::Debug, format_args!($($t)*)) } }
