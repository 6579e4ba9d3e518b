//! `ldaprsctl cache show USER` and `cache forget USER`, the login side: the cached password
//! (how old, until when usable), the lockout, the facts of the last online account stage,
//! and whether an offline login is possible now.

use super::accounts::Accounts;
use super::cached::CachedLogin;
use super::logins::Logins;
use crate::clock::{age, age_within, utc};

impl<A: Accounts> Logins<A> {
    /// Lines about the user's cached login.
    pub fn describe_cached(&self, user: &str) -> Vec<(String, String)> {
        if !self.cached.enabled() {
            return vec![(
                "cached login".into(),
                "off ([offline] cache_credentials = false)".into(),
            )];
        }
        let rec = self.cached.get(user).unwrap_or_default();
        let now = self.clock.unix_now();
        let max = i64::try_from(self.cached.cfg.credentials_max_age).unwrap_or(i64::MAX);
        let password = match &rec.hash {
            Some((_, t)) if age_within(now, *t, max).is_some() => format!(
                "Argon2id hash from the online login {} ago ({}); usable offline for {} more",
                age(now - t),
                utc(*t),
                age(max - (now - t))
            ),
            Some((_, t)) => format!(
                "Argon2id hash from the online login of {}: older than [offline] credentials_max_age (or later than now: the clock went back), not used",
                utc(*t)
            ),
            None => "none".into(),
        };
        let facts = match &rec.facts {
            Some(f) => format!(
                "entry {} and {} from the online account stage {} ago",
                f.entry.dn,
                f.groups
                    .as_ref()
                    .map_or("no groups evaluated".to_string(), |g| format!(
                        "{} groups",
                        g.len()
                    )),
                age(now - f.at)
            ),
            None => "none".into(),
        };
        let lock = match rec.locked_until > now {
            true => format!("locked until {}", utc(rec.locked_until)),
            false => format!(
                "{} wrong offline password(s) in a row (locks at {})",
                rec.failures, self.cached.cfg.failed_logins
            ),
        };
        vec![
            ("cached password".into(), password),
            ("account facts".into(), facts),
            ("offline lockout".into(), lock),
            ("offline login".into(), possible(&rec, now, max)),
        ]
    }

    /// Forgets the user's cached login (memory and disk); whether there was one.
    pub fn forget_cached(&self, user: &str) -> bool {
        self.cached.forget(user)
    }
}

/// Whether an offline login could succeed now (the rules are checked at the login itself).
fn possible(rec: &CachedLogin, now: i64, max: i64) -> String {
    match (&rec.hash, &rec.facts) {
        (None, _) => "not possible: no cached password".into(),
        (Some((_, t)), _) if age_within(now, *t, max).is_none() => {
            "not possible: the cached password expired".into()
        }
        _ if rec.locked_until > now => "not possible now: locked".into(),
        (_, None) => {
            "not possible: no account facts (the account stage never ran online here)".into()
        }
        _ => "possible (with the right password, if the access rules allow it)".into(),
    }
}
