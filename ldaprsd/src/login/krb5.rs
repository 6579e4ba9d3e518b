//! Kerberos password logins (`[servers.auth] method = "krb5"`) as the auth stage sees them:
//! the KDC's verdict (`krb/login.rs`) in the shape of a bind's result, so that the rest of
//! the stage is the same: a locked principal leads to the policy's "account locked", no KDC
//! to "unavailable". An expired password never logs in (`expired_verdict`): the KDC's
//! KEY_EXPIRED and the kadmin/changepw ticket that proves the password cannot be checked
//! against the host keytab, so a spoofed KDC could send both.

use super::verdict::Verdict;
use crate::krb::kpasswd::KpasswdOutcome;
use crate::krb::login::KrbOutcome;
use crate::ldap::ppolicy::{PolicyError, PolicyResponse};
use crate::ldap::result_code as rc;
use crate::ldap::{BindOutcome, BindResult, ChangeOutcome, DirError};
use crate::{info, warn};
use ldaprs_common::protocol::AuthCode;

/// What a user whose Kerberos password has expired is told at login.
pub const MSG_KRB_EXPIRED: &str = "Your password has expired. Change it with kpasswd (or passwd in a session you already have), or ask your system administrator, then log in again.";

fn with(outcome: BindOutcome, error: Option<PolicyError>) -> BindResult {
    BindResult {
        outcome,
        entry: None,
        policy: error.map(|e| PolicyResponse {
            time_before_expiration: None,
            grace_remaining: None,
            error: Some(e),
        }),
        ad_reason: None,
    }
}

/// The KDC's verdict for a user of block `server` as a bind's result.
pub fn as_bind_result(o: KrbOutcome, server: &str) -> Result<BindResult, DirError> {
    Ok(match o {
        KrbOutcome::Verified { .. } => with(BindOutcome::Success, None),
        KrbOutcome::WrongPassword { .. } => with(BindOutcome::InvalidCredentials, None),
        // Expired, the password right as far as the (unverifiable) changepw ticket says:
        // refused as an expired policy password is, never the must-change success.
        KrbOutcome::Expired { principal } => {
            info!("server {server}: Kerberos: the password of {principal} has expired (KDC_ERR_KEY_EXPIRED, the password checked through kadmin/changepw, which our keytab cannot verify): not logged in");
            with(
                BindOutcome::InvalidCredentials,
                Some(PolicyError::PasswordExpired),
            )
        }
        KrbOutcome::Revoked { .. } => with(
            BindOutcome::InvalidCredentials,
            Some(PolicyError::AccountLocked),
        ),
        KrbOutcome::NoPrincipal { principal } => with(
            BindOutcome::Refused(format!(
                "server {server}: the KDC has no principal {principal}"
            )),
            None,
        ),
        KrbOutcome::NotVerified(m) => {
            warn!("server {server}: Kerberos login refused: {m}");
            with(BindOutcome::Refused(format!("Kerberos: {m}")), None)
        }
        KrbOutcome::Unavailable(m) => {
            return Err(DirError::Unreachable(format!("server {server}: {m}")))
        }
    })
}

/// A user whose entry names no usable principal: refused, the reason logged.
pub fn no_principal(why: String, server: &str) -> BindResult {
    warn!("server {server}: Kerberos login refused: {why}");
    with(BindOutcome::Refused(format!("Kerberos: {why}")), None)
}

/// The auth stage's answer to an expired Kerberos password: `NewAuthtokRequired`, which
/// `pam_sm_authenticate` turns into a failure and a password change's first pass accepts as
/// "the current password may be used for the change" (the change itself is believed only
/// when the new password gives a ticket the keytab verifies, `backend.rs`). Never Success,
/// never learned for offline logins.
pub fn expired_verdict(r: &BindResult, server: &str) -> Option<Verdict> {
    let expired = r.policy.as_ref().and_then(|p| p.error) == Some(PolicyError::PasswordExpired);
    (r.outcome == BindOutcome::InvalidCredentials && expired).then(|| {
        Verdict::info(
            AuthCode::NewAuthtokRequired,
            MSG_KRB_EXPIRED,
            format!("refused: the Kerberos password has expired (server {server}); a login needs a changed password"),
        )
    })
}

/// The kpasswd server's verdict as the directory's answer to a change: a policy refusal is a
/// constraint violation in its own words (the user sees them), a wrong current password the
/// failed bind before a change.
pub fn as_change_outcome(o: KpasswdOutcome, server: &str) -> Result<ChangeOutcome, DirError> {
    let answered = |rc: u32, text: String| ChangeOutcome::Answered {
        rc,
        text,
        policy: None,
        shadow_note: None,
    };
    match o {
        KpasswdOutcome::Changed => Ok(answered(rc::SUCCESS, String::new())),
        KpasswdOutcome::WrongPassword => Ok(ChangeOutcome::BindFailed(with(
            BindOutcome::InvalidCredentials,
            None,
        ))),
        KpasswdOutcome::Rejected(words) => Ok(answered(rc::CONSTRAINT_VIOLATION, words)),
        KpasswdOutcome::Failed(m) => Err(DirError::Server(format!("server {server}: {m}"))),
        KpasswdOutcome::Unavailable(m) => {
            Err(DirError::Unreachable(format!("server {server}: {m}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_the_policy_shapes() {
        let p = || "alice@R".to_string();
        let r = as_bind_result(KrbOutcome::Verified { principal: p() }, "s").unwrap();
        assert_eq!(r.outcome, BindOutcome::Success);
        let r = as_bind_result(KrbOutcome::Expired { principal: p() }, "s").unwrap();
        assert_eq!(r.ad_reason, None, "never AD's must-change success");
        assert_ne!(r.outcome, BindOutcome::Success);
        let v = expired_verdict(&r, "s").unwrap();
        assert_eq!(v.code, AuthCode::NewAuthtokRequired);
        let ok = as_bind_result(KrbOutcome::Verified { principal: p() }, "s").unwrap();
        assert!(expired_verdict(&ok, "s").is_none());
        let r = as_bind_result(KrbOutcome::Revoked { principal: p() }, "s").unwrap();
        assert_eq!(r.policy.unwrap().error, Some(PolicyError::AccountLocked));
        let r = as_bind_result(KrbOutcome::NotVerified("spoof".into()), "s").unwrap();
        assert!(matches!(r.outcome, BindOutcome::Refused(m) if m.contains("spoof")));
        assert!(as_bind_result(KrbOutcome::Unavailable("x".into()), "s").is_err());
    }

    #[test]
    fn kpasswd_outcomes_map_to_change_outcomes() {
        let c = as_change_outcome(KpasswdOutcome::Changed, "s").unwrap();
        assert!(matches!(c, ChangeOutcome::Answered { rc: 0, .. }));
        let c = as_change_outcome(KpasswdOutcome::Rejected("too short".into()), "s").unwrap();
        assert!(
            matches!(c, ChangeOutcome::Answered { rc: rc::CONSTRAINT_VIOLATION, ref text, .. } if text == "too short")
        );
        let c = as_change_outcome(KpasswdOutcome::WrongPassword, "s").unwrap();
        assert!(
            matches!(c, ChangeOutcome::BindFailed(r) if r.outcome == BindOutcome::InvalidCredentials)
        );
        assert!(matches!(
            as_change_outcome(KpasswdOutcome::Unavailable("x".into()), "s"),
            Err(DirError::Unreachable(_))
        ));
        assert!(matches!(
            as_change_outcome(KpasswdOutcome::Failed("x".into()), "s"),
            Err(DirError::Server(_))
        ));
    }
}
