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

/// A refusal that proves the password right but asks for a change first (773, 532): the
/// login goes on to the account stage, which asks for the change (`PAM_NEW_AUTHTOK_REQD`),
/// made on the service connection (`ldap/ad_passwd.rs`). The reason for the log and the words
/// for the user.
pub fn must_change(reason: AdReason) -> Option<(String, &'static str)> {
    let message = match reason {
        AdReason::MustChange => MSG_ADMIN_CHANGE,
        AdReason::PasswordExpired => MSG_PASSWORD_EXPIRED,
        _ => return None,
    };
    Some((
        format!("AD data {}: {}", reason.code(), reason.words()),
        message,
    ))
}

/// AD's refusal of a `unicodePwd` change, from the Win32 code that starts the diagnostic
/// (`0000052D: Constraint violation - check_password_restrictions: the password is too
/// short…`): the code for the module and the words for the user. None: not AD's words.
pub fn change_refusal(text: &str) -> Option<(AuthCode, String)> {
    let (code, rest) = text.split_once(':')?;
    let policy = |what: &str| {
        format!("The new password does not meet the domain's password policy: {what}.")
    };
    Some(match code.trim().to_ascii_uppercase().as_str() {
        // ERROR_INVALID_PASSWORD: the old value in the delete did not match.
        "00000056" => (
            AuthCode::Denied,
            "The current password is wrong.".to_string(),
        ),
        // ERROR_PASSWORD_RESTRICTION: length, complexity, history or minimum age.
        "0000052D" => {
            let r = rest.to_ascii_lowercase();
            let why = if r.contains("too short") {
                policy("it is too short")
            } else if r.contains("complexity") {
                policy("it is not complex enough (use upper and lower case letters, digits and symbols, and not your name)")
            } else if r.contains("already used") || r.contains("history") {
                "The new password was used before; choose another one.".to_string()
            } else if r.contains("too young") {
                "The password was changed too recently; try again later.".to_string()
            } else {
                policy("length, complexity, history or minimum age")
            };
            (AuthCode::PasswordRejected, why)
        }
        // ERROR_ACCESS_DENIED (the right to change or reset is missing).
        "00000005" => (
            AuthCode::Refused,
            "You may not change this password.".to_string(),
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_change_refusals_in_plain_words() {
        // Samba 4.17's texts.
        let c = |t: &str| change_refusal(t).unwrap();
        let short = c("0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!");
        assert_eq!(short.0, AuthCode::PasswordRejected);
        assert!(short.1.contains("too short"), "{}", short.1);
        let used = c("0000052D: Constraint violation - check_password_restrictions: the password was already used (previous password)!");
        assert!(used.1.contains("used before"));
        let complex = c("0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!");
        assert!(complex.1.contains("not complex enough"));
        let wrong = c("00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!");
        assert_eq!(
            wrong,
            (
                AuthCode::Denied,
                "The current password is wrong.".to_string()
            )
        );
        assert_eq!(
            change_refusal("Password fails quality checking policy"),
            None
        );
        assert!(must_change(AdReason::MustChange).is_some());
        assert!(must_change(AdReason::Disabled).is_none());
    }

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
