//! Kerberos password logins (`[servers.auth] method = "krb5"`) as the auth stage sees them:
//! the KDC's verdict (`krb/login.rs`) in the shape of a bind's result, so that the rest of
//! the stage is the same: an expired password leads to the same forced change (and message)
//! as an expired one under a password policy, a locked principal to the policy's "account
//! locked", no KDC to "unavailable".

use crate::krb::kpasswd::KpasswdOutcome;
use crate::krb::login::KrbOutcome;
use crate::ldap::ad_diagnostic::AdReason;
use crate::ldap::ppolicy::{PolicyError, PolicyResponse};
use crate::ldap::result_code as rc;
use crate::ldap::{BindOutcome, BindResult, ChangeOutcome, DirError};
use crate::{info, warn};

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
        // The right password, expired: logged in to change it, as AD's 532 (the same
        // must-change path and PAM message as a ppolicy expiry).
        KrbOutcome::Expired { principal } => {
            info!("server {server}: Kerberos: the password of {principal} has expired (KDC_ERR_KEY_EXPIRED, the password checked through kadmin/changepw): a change is required, as for AD's 532");
            BindResult {
                ad_reason: Some(AdReason::PasswordExpired),
                ..with(BindOutcome::InvalidCredentials, None)
            }
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
        assert_eq!(r.ad_reason, Some(AdReason::PasswordExpired));
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
