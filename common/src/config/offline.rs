//! `[offline]`: the persistent cache under `/var/lib/ldaprs` that answers across reboots and
//! while no directory server answers, and the opt-in cached credentials (Argon2id).

use super::errors::{semantic, ConfigError};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OfflineSection {
    /// Where the persistent cache lives (a directory the daemon's user owns, mode 0700).
    #[serde(default = "default_dir")]
    pub dir: String,
    /// Seconds an entry is answered from the persistent cache, past its TTL, while no server
    /// answers (default 7 days); 0 turns the persistent cache off.
    #[serde(default = "default_week")]
    pub max_age: u64,
    /// Store an Argon2id hash of the password after each successful online login, so that
    /// the user can log in while no server answers.
    #[serde(default)]
    pub cache_credentials: bool,
    /// Seconds since the last online login after which the cached hash is no longer used.
    #[serde(default = "default_week")]
    pub credentials_max_age: u64,
    /// Wrong offline passwords in a row that lock offline login (0: never locked).
    #[serde(default = "default_failed_logins")]
    pub failed_logins: u32,
    /// Seconds offline login stays locked after `failed_logins` wrong passwords.
    #[serde(default = "default_lockout")]
    pub lockout: u64,
}

impl Default for OfflineSection {
    fn default() -> Self {
        OfflineSection {
            dir: default_dir(),
            max_age: default_week(),
            cache_credentials: false,
            credentials_max_age: default_week(),
            failed_logins: default_failed_logins(),
            lockout: default_lockout(),
        }
    }
}

pub const DEFAULT_OFFLINE_DIR: &str = "/var/lib/ldaprs";

fn default_dir() -> String {
    DEFAULT_OFFLINE_DIR.to_string()
}
fn default_week() -> u64 {
    7 * 86_400
}
fn default_failed_logins() -> u32 {
    5
}
fn default_lockout() -> u64 {
    300
}

/// The checks of `[offline]`: an absolute directory, and ages that a `u64` of seconds and an
/// `Instant` can hold (at most ten years).
pub(super) fn check_offline(path: &str, src: &str, o: &OfflineSection) -> Result<(), ConfigError> {
    let bad = |key: &str, m: &str, hint: Option<&str>| {
        semantic(path, src, None, Some("offline"), key, m.to_string(), hint)
    };
    if !o.dir.starts_with('/') || o.dir.len() < 2 {
        return Err(bad(
            "dir",
            "must be an absolute directory path (not /)",
            Some("the default is /var/lib/ldaprs"),
        ));
    }
    const TEN_YEARS: u64 = 10 * 366 * 86_400;
    for (key, v) in [
        ("max_age", o.max_age),
        ("credentials_max_age", o.credentials_max_age),
        ("lockout", o.lockout),
    ] {
        if v > TEN_YEARS {
            return Err(bad(key, "is more than ten years (seconds are meant)", None));
        }
    }
    if o.cache_credentials && o.max_age == 0 {
        return Err(bad(
            "cache_credentials",
            "needs the persistent cache, which max_age = 0 turns off",
            Some("set max_age (seconds; default 7 days) or cache_credentials = false"),
        ));
    }
    Ok(())
}
