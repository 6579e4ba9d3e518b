//! Account state: may this account log in now, and must its password be changed first? Read
//! from the user entry, fetched fresh in the account stage (`pam_sm_acct_mgmt`).
//!
//! - POSIX schemas (rfc2307, rfc2307bis, ipa): the `shadowAccount` attributes with
//!   pam_unix's rules (Linux-PAM `passverify.c` `check_shadow_expiry`), OpenLDAP's password
//!   policy attributes `pwdAccountLockedTime` and `pwdReset`, and 389-ds/FreeIPA's
//!   `nsAccountLock`.
//! - AD: `userAccountControl` (and the computed `msDS-User-Account-Control-Computed`, where AD
//!   really reports lockouts and expired passwords), `accountExpires`, `pwdLastSet`.
//!
//! A value that cannot be read makes the account unusable (fail closed). Password expiry by
//! the password policy's `pwdMaxAge` is reported by the server at bind time (see
//! [`crate::ldap::ppolicy`]); a `pwdAccountLockedTime` is taken as a lock whatever its age (after a
//! temporary lockout the server removes it at the next successful bind, which precedes the
//! account stage of a password login).

use crate::ldap::Entry;
use ldaprs_common::config::Schema;

/// The attributes this module reads, per schema (the directory reads them with the user).
pub use crate::directory::queries::{
    account_state_attributes as attributes, AD_ATTRS, POSIX_ATTRS,
};

/// The verdict. `rule` is for the log, `message` for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// May log in; `warnings` are shown (the password expires soon).
    Usable { warnings: Vec<String> },
    /// May log in once the password is changed: `PAM_NEW_AUTHTOK_REQD`.
    MustChange { rule: String, message: String },
    /// The account has expired: `PAM_ACCT_EXPIRED`.
    Expired { rule: String, message: String },
    /// Disabled or locked: `PAM_PERM_DENIED`.
    Disabled { rule: String, message: String },
}

pub const MSG_EXPIRED: &str = "Your account has expired; please contact your system administrator.";
pub const MSG_ADMIN_CHANGE: &str =
    "You are required to change your password immediately (administrator enforced).";
pub const MSG_PASSWORD_EXPIRED: &str =
    "You are required to change your password immediately (password expired).";
pub const MSG_DISABLED: &str =
    "Your account is disabled; please contact your system administrator.";
pub const MSG_LOCKED: &str = "Your account is locked; please contact your system administrator.";
pub const MSG_UNREADABLE: &str =
    "Your account cannot be checked; please contact your system administrator.";

const DAY: i64 = 86_400;
/// Seconds between 1601-01-01 (Windows FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: i64 = 11_644_473_600;

const UAC_ACCOUNTDISABLE: u32 = 0x2;
const UAC_LOCKOUT: u32 = 0x10;
const UAC_PASSWORD_EXPIRED: u32 = 0x80_0000;

fn expired(rule: String) -> State {
    State::Expired {
        rule,
        message: MSG_EXPIRED.into(),
    }
}
fn disabled(rule: String, message: &str) -> State {
    State::Disabled {
        rule,
        message: message.into(),
    }
}
fn must_change(rule: String, message: &str) -> State {
    State::MustChange {
        rule,
        message: message.into(),
    }
}

/// An integer attribute: `Ok(None)` if absent or empty, `Err` (the state to return) if it is
/// not a number.
fn int(e: &Entry, attr: &str) -> Result<Option<i64>, State> {
    match e.first(attr).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
            disabled(
                format!("{attr} has the unreadable value {v:?}"),
                MSG_UNREADABLE,
            )
        }),
    }
}

fn is_true(e: &Entry, attr: &str) -> bool {
    e.first(attr)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("TRUE"))
}

/// Days since 1970-01-01 as a date, for the log.
fn date(days: i64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm), enough for log lines.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Evaluates the entry at `now` (seconds since 1970).
pub fn evaluate(e: &Entry, schema: Schema, now: i64) -> State {
    let r = match schema {
        Schema::Ad => ad(e, now),
        Schema::Rfc2307 | Schema::Rfc2307bis | Schema::Ipa | Schema::Auto => posix(e, now),
    };
    r.unwrap_or_else(|s| s)
}

fn posix(e: &Entry, now: i64) -> Result<State, State> {
    if is_true(e, "nsAccountLock") {
        return Ok(disabled("nsAccountLock is TRUE".into(), MSG_DISABLED));
    }
    if let Some(t) = e.first("pwdAccountLockedTime") {
        return Ok(disabled(
            format!("password policy lock (pwdAccountLockedTime {t})"),
            MSG_LOCKED,
        ));
    }
    let today = now.div_euclid(DAY);
    let expire = int(e, "shadowExpire")?.filter(|v| *v != -1);
    if let Some(x) = expire {
        if today >= x {
            return Ok(expired(format!(
                "shadowExpire {x} ({}) has passed",
                date(x)
            )));
        }
    }
    let last = int(e, "shadowLastChange")?;
    let max = int(e, "shadowMax")?.filter(|v| *v != -1);
    let inactive = int(e, "shadowInactive")?.filter(|v| *v != -1);
    let warn = int(e, "shadowWarning")?.filter(|v| *v != -1);
    if let (Some(l), Some(m), Some(i)) = (last, max, inactive) {
        if l != 0 && today - l > m.saturating_add(i) {
            return Ok(expired(format!(
                "password expired on {} and the account was inactive for more than shadowInactive {i} days",
                date(l.saturating_add(m))
            )));
        }
    }
    if last == Some(0) {
        return Ok(must_change(
            "shadowLastChange is 0 (change forced by an administrator)".into(),
            MSG_ADMIN_CHANGE,
        ));
    }
    if is_true(e, "pwdReset") {
        return Ok(must_change(
            "pwdReset is TRUE (password reset by an administrator)".into(),
            MSG_ADMIN_CHANGE,
        ));
    }
    let mut warnings = Vec::new();
    if let (Some(l), Some(m)) = (last, max) {
        if today - l > m {
            return Ok(must_change(
                format!(
                    "password expired on {} (shadowLastChange {l} + shadowMax {m})",
                    date(l.saturating_add(m))
                ),
                MSG_PASSWORD_EXPIRED,
            ));
        }
        if let Some(w) = warn {
            if today - l > m - w {
                let left = l + m - today;
                warnings.push(match left {
                    0 => "Warning: your password will expire today.".to_string(),
                    1 => "Warning: your password will expire in 1 day.".to_string(),
                    n => format!("Warning: your password will expire in {n} days."),
                });
            }
        }
    }
    Ok(State::Usable { warnings })
}

fn ad(e: &Entry, now: i64) -> Result<State, State> {
    // userAccountControl is a 32-bit flag set that AD writes as a signed decimal.
    let uac = int(e, "userAccountControl")?.unwrap_or(0) as u32;
    let computed = int(e, "msDS-User-Account-Control-Computed")?.unwrap_or(0) as u32;
    if uac & UAC_ACCOUNTDISABLE != 0 {
        return Ok(disabled(
            format!("userAccountControl {uac:#x} has ACCOUNTDISABLE (0x2)"),
            MSG_DISABLED,
        ));
    }
    if (uac | computed) & UAC_LOCKOUT != 0 {
        return Ok(disabled(
            format!(
                "userAccountControl {:#x} has LOCKOUT (0x10)",
                uac | computed
            ),
            MSG_LOCKED,
        ));
    }
    if let Some(v) = int(e, "accountExpires")? {
        // 0 and 0x7FFFFFFFFFFFFFFF mean "never" (MS-ADA1 accountExpires).
        if v != 0 && v != i64::MAX {
            let at = v / 10_000_000 - FILETIME_UNIX_OFFSET;
            if now >= at {
                return Ok(expired(format!(
                    "accountExpires {v} ({}) has passed",
                    date(at.div_euclid(DAY))
                )));
            }
        }
    }
    if int(e, "pwdLastSet")? == Some(0) {
        return Ok(must_change(
            "pwdLastSet is 0 (user must change password at next logon)".into(),
            MSG_ADMIN_CHANGE,
        ));
    }
    if (uac | computed) & UAC_PASSWORD_EXPIRED != 0 {
        return Ok(must_change(
            "userAccountControl has PASSWORD_EXPIRED (0x800000)".into(),
            MSG_PASSWORD_EXPIRED,
        ));
    }
    Ok(State::Usable {
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pairs: &[(&str, &str)]) -> Entry {
        let mut e = Entry {
            dn: "uid=a,dc=x".into(),
            ..Default::default()
        };
        for (k, v) in pairs {
            match e.attrs.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(k)) {
                Some((_, vals)) => vals.push(v.to_string()),
                None => e.attrs.push((k.to_string(), vec![v.to_string()])),
            }
        }
        e
    }

    /// 2024-01-11 12:00 UTC: day 19733.
    const NOW: i64 = 19_733 * DAY + 43_200;

    fn posix_state(pairs: &[(&str, &str)]) -> State {
        evaluate(&entry(pairs), Schema::Rfc2307bis, NOW)
    }

    #[test]
    fn shadow_rules_follow_pam_unix() {
        assert_eq!(posix_state(&[]), State::Usable { warnings: vec![] });
        // Account expiry: on the day itself it is expired.
        assert!(matches!(
            posix_state(&[("shadowExpire", "19733")]),
            State::Expired { .. }
        ));
        assert_eq!(
            posix_state(&[("shadowExpire", "19734")]),
            State::Usable { warnings: vec![] }
        );
        assert_eq!(
            posix_state(&[("shadowExpire", "-1")]),
            State::Usable { warnings: vec![] }
        );
        match posix_state(&[("shadowExpire", "1")]) {
            State::Expired { rule, message } => {
                assert_eq!(rule, "shadowExpire 1 (1970-01-02) has passed");
                assert_eq!(message, MSG_EXPIRED);
            }
            other => panic!("{other:?}"),
        }
        // Forced change.
        assert!(
            matches!(posix_state(&[("shadowLastChange", "0")]), State::MustChange { message, .. } if message == MSG_ADMIN_CHANGE)
        );
        // Password age: expired when more than shadowMax days have passed.
        assert!(
            matches!(posix_state(&[("shadowLastChange", "19700"), ("shadowMax", "30")]), State::MustChange { message, .. } if message == MSG_PASSWORD_EXPIRED)
        );
        assert_eq!(
            posix_state(&[("shadowLastChange", "19703"), ("shadowMax", "30")]),
            State::Usable { warnings: vec![] }
        );
        // Warning period: pam_unix warns once fewer than shadowWarning days are left.
        assert_eq!(
            posix_state(&[
                ("shadowLastChange", "19709"),
                ("shadowMax", "30"),
                ("shadowWarning", "7")
            ]),
            State::Usable {
                warnings: vec!["Warning: your password will expire in 6 days.".into()]
            }
        );
        assert_eq!(
            posix_state(&[
                ("shadowLastChange", "19710"),
                ("shadowMax", "30"),
                ("shadowWarning", "7")
            ]),
            State::Usable { warnings: vec![] }
        );
        assert_eq!(
            posix_state(&[
                ("shadowLastChange", "19703"),
                ("shadowMax", "30"),
                ("shadowWarning", "7")
            ]),
            State::Usable {
                warnings: vec!["Warning: your password will expire today.".into()]
            }
        );
        assert_eq!(
            posix_state(&[
                ("shadowLastChange", "19730"),
                ("shadowMax", "30"),
                ("shadowWarning", "7")
            ]),
            State::Usable { warnings: vec![] }
        );
        // Inactive after expiry: the account is expired, not just the password.
        assert!(matches!(
            posix_state(&[
                ("shadowLastChange", "19600"),
                ("shadowMax", "30"),
                ("shadowInactive", "10")
            ]),
            State::Expired { .. }
        ));
        assert!(matches!(
            posix_state(&[
                ("shadowLastChange", "19700"),
                ("shadowMax", "30"),
                ("shadowInactive", "10")
            ]),
            State::MustChange { .. }
        ));
        // shadowMax -1: no ageing.
        assert_eq!(
            posix_state(&[("shadowLastChange", "100"), ("shadowMax", "-1")]),
            State::Usable { warnings: vec![] }
        );
    }

    #[test]
    fn unreadable_values_fail_closed() {
        match posix_state(&[("shadowExpire", "soon")]) {
            State::Disabled { rule, message } => {
                assert!(rule.contains("shadowExpire"), "{rule}");
                assert_eq!(message, MSG_UNREADABLE);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            evaluate(&entry(&[("userAccountControl", "x")]), Schema::Ad, NOW),
            State::Disabled { .. }
        ));
    }

    #[test]
    fn password_policy_and_389_attributes() {
        assert!(
            matches!(posix_state(&[("pwdAccountLockedTime", "000001010000Z")]), State::Disabled { message, .. } if message == MSG_LOCKED)
        );
        assert!(
            matches!(posix_state(&[("pwdReset", "TRUE")]), State::MustChange { message, .. } if message == MSG_ADMIN_CHANGE)
        );
        assert_eq!(
            posix_state(&[("pwdReset", "FALSE")]),
            State::Usable { warnings: vec![] }
        );
        assert!(
            matches!(posix_state(&[("nsAccountLock", "true")]), State::Disabled { message, .. } if message == MSG_DISABLED)
        );
        // Lock beats expiry beats forced change.
        assert!(matches!(
            posix_state(&[
                ("pwdAccountLockedTime", "20240101000000Z"),
                ("shadowExpire", "1"),
                ("shadowLastChange", "0")
            ]),
            State::Disabled { .. }
        ));
        assert!(matches!(
            posix_state(&[("shadowExpire", "1"), ("shadowLastChange", "0")]),
            State::Expired { .. }
        ));
    }

    #[test]
    fn active_directory_flags_and_times() {
        let ad = |pairs: &[(&str, &str)]| evaluate(&entry(pairs), Schema::Ad, NOW);
        assert_eq!(
            ad(&[("userAccountControl", "512")]),
            State::Usable { warnings: vec![] }
        );
        assert!(
            matches!(ad(&[("userAccountControl", "514")]), State::Disabled { message, .. } if message == MSG_DISABLED)
        );
        assert!(
            matches!(ad(&[("userAccountControl", "528")]), State::Disabled { message, .. } if message == MSG_LOCKED)
        );
        assert!(
            matches!(ad(&[("userAccountControl", "512"), ("msDS-User-Account-Control-Computed", "16")]), State::Disabled { message, .. } if message == MSG_LOCKED)
        );
        // accountExpires: 2020-01-01 has passed; 0 and max mean never; 2100 is fine.
        assert!(
            matches!(ad(&[("accountExpires", "132223104000000000")]), State::Expired { rule, .. } if rule.contains("2020-01-01"))
        );
        assert_eq!(
            ad(&[("accountExpires", "0")]),
            State::Usable { warnings: vec![] }
        );
        assert_eq!(
            ad(&[("accountExpires", "9223372036854775807")]),
            State::Usable { warnings: vec![] }
        );
        assert_eq!(
            ad(&[("accountExpires", "159725664000000000")]),
            State::Usable { warnings: vec![] }
        );
        assert!(
            matches!(ad(&[("pwdLastSet", "0")]), State::MustChange { message, .. } if message == MSG_ADMIN_CHANGE)
        );
        assert!(
            matches!(ad(&[("msDS-User-Account-Control-Computed", "8388608")]), State::MustChange { message, .. } if message == MSG_PASSWORD_EXPIRED)
        );
        // Negative (signed 32-bit) flags are read bit for bit.
        assert!(matches!(
            ad(&[("userAccountControl", "-2147483646")]),
            State::Disabled { .. }
        ));
        assert_eq!(attributes(Schema::Ad), AD_ATTRS);
        assert_eq!(attributes(Schema::Ipa), POSIX_ATTRS);
    }

    #[test]
    fn dates_for_logs() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(19_733), "2024-01-11");
        assert_eq!(date(-1), "1969-12-31");
    }
}
