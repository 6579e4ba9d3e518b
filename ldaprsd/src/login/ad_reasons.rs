//! AD's reason for a refused bind (`ldap/ad_diagnostic.rs`) as a login verdict: a disabled,
//! expired, locked or restricted account is told so and logged with AD's code, instead of
//! being a "wrong password". The user is told the account state: Samba and Windows give those
//! codes only for the right password (a locked account, like OpenLDAP ppolicy's
//! `accountLocked`, is told with any password; the lockout itself is no secret from someone
//! who is locked out).

use super::account_state::{
    MSG_ADMIN_CHANGE, MSG_DISABLED, MSG_EXPIRED, MSG_LOCKED, MSG_PASSWORD_EXPIRED,
};
use super::verdict::Verdict;
use crate::ldap::AdReason;
use ldaprs_common::protocol::AuthCode;

pub const MSG_LOGON_HOURS: &str =
    "You may not log in at this time; please contact your system administrator.";
pub const MSG_WORKSTATION: &str =
    "You may not log in from this computer; please contact your system administrator.";

/// The verdict for an AD refusal that names an account state; None for a wrong password or
/// an unknown user (the caller's ordinary path).
pub fn verdict(reason: AdReason, server: &str, dn: &str) -> Option<Verdict> {
    let (code, message) = match reason {
        AdReason::WrongPassword | AdReason::NoSuchUser => return None,
        AdReason::LogonHours => (AuthCode::AccountDenied, MSG_LOGON_HOURS),
        AdReason::Workstation => (AuthCode::AccountDenied, MSG_WORKSTATION),
        AdReason::Disabled => (AuthCode::AccountDenied, MSG_DISABLED),
        AdReason::Locked => (AuthCode::AccountDenied, MSG_LOCKED),
        AdReason::AccountExpired => (AuthCode::Expired, MSG_EXPIRED),
        // AD refuses the bind itself until the password is changed, so the change cannot
        // be made with this password over LDAP as the user (see docs): told, and final.
        AdReason::PasswordExpired => (AuthCode::Expired, MSG_PASSWORD_EXPIRED),
        AdReason::MustChange => (AuthCode::Expired, MSG_ADMIN_CHANGE),
    };
    Some(Verdict::info(
        code,
        message,
        format!(
            "refused by the directory: {} (AD data {}; server {server}, dn {dn})",
            reason.words(),
            reason.code()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_states_are_not_wrong_passwords() {
        assert!(verdict(AdReason::WrongPassword, "dc", "CN=a").is_none());
        assert!(verdict(AdReason::NoSuchUser, "dc", "CN=a").is_none());
        let v = verdict(AdReason::Disabled, "dc", "CN=dis,DC=bars,DC=ad").unwrap();
        assert_eq!(v.code, AuthCode::AccountDenied);
        assert_eq!(v.message, MSG_DISABLED);
        assert_eq!(v.rule, "refused by the directory: account disabled (userAccountControl ACCOUNTDISABLE) (AD data 533; server dc, dn CN=dis,DC=bars,DC=ad)");
        let expected = [
            (
                AdReason::LogonHours,
                AuthCode::AccountDenied,
                MSG_LOGON_HOURS,
            ),
            (
                AdReason::Workstation,
                AuthCode::AccountDenied,
                MSG_WORKSTATION,
            ),
            (AdReason::Locked, AuthCode::AccountDenied, MSG_LOCKED),
            (AdReason::AccountExpired, AuthCode::Expired, MSG_EXPIRED),
            (
                AdReason::PasswordExpired,
                AuthCode::Expired,
                MSG_PASSWORD_EXPIRED,
            ),
            (AdReason::MustChange, AuthCode::Expired, MSG_ADMIN_CHANGE),
        ];
        for (r, code, msg) in expected {
            let v = verdict(r, "dc", "CN=x").unwrap();
            assert_eq!((v.code, v.message.as_str()), (code, msg), "{r:?}");
            assert!(
                v.rule.contains(&format!("AD data {}", r.code())),
                "{}",
                v.rule
            );
        }
    }
}
