//! Password changes with the Password Modify extended operation (RFC 3062); on AD through
//! `unicodePwd` (`ad_passwd.rs`).

use super::bind::{r_of, BindOutcome, BindResult};
use super::block::ServerBlock;
use super::error::{transport, DirError};
use super::failover::Attempt;
use super::ppolicy::{self, PolicyResponse};
use super::result_code as rc;
use crate::warn;
use std::time::Duration;

/// What a password change produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// The bind before the change failed (wrong current password, locked, ...).
    BindFailed(BindResult),
    /// The server answered the Password Modify operation: resultCode, diagnostic text and
    /// its password policy control.
    Answered {
        rc: u32,
        text: String,
        policy: Option<PolicyResponse>,
        shadow_note: Option<String>,
    },
}

/// One password change as asked: who binds, whose password changes, the old and new ones,
/// and the shadow ageing to keep in step (DN, days since the epoch).
pub struct PasswordChange<'a> {
    pub bind_dn: &'a str,
    pub bind_pw: &'a str,
    /// None: the bound user's own password.
    pub target: Option<&'a str>,
    pub old: Option<&'a str>,
    pub new: &'a str,
    pub shadow: Option<(&'a str, i64)>,
}

impl ServerBlock {
    /// Changes a password: binds as `c.bind_dn` (the user with the current password, or the
    /// admin DN for a reset), then asks for the change of `c.target` with the password policy
    /// control. After a success, sets `shadowLastChange` when `c.shadow` is given (a failure
    /// to do so is only noted). Never hedged: the same change is not sent to two servers.
    pub async fn change_password(&self, c: &PasswordChange<'_>) -> Result<ChangeOutcome, DirError> {
        self.failover(false, |i| -> Attempt<'_, ChangeOutcome> {
            Box::pin(async move { (i, self.change_on(i, c).await) })
        })
        .await
    }

    async fn change_on(&self, i: usize, c: &PasswordChange<'_>) -> Result<ChangeOutcome, DirError> {
        // AD has no RFC 3062: `unicodePwd` instead (`ad_passwd.rs`).
        if self.eff.schema == ldaprs_common::config::Schema::Ad {
            return self.change_on_ad(i, c).await;
        }
        let (mut conn, uri) = self.bound_user_conn(i, c.bind_dn, c.bind_pw).await?;
        let bind = r_of(&conn);
        if bind.outcome != BindOutcome::Success {
            let _ = tokio::time::timeout(Duration::from_millis(200), conn.0.unbind()).await;
            return Ok(ChangeOutcome::BindFailed(bind));
        }
        let pm = ldap3::exop::PasswordModify {
            user_id: c.target,
            old_pass: c.old,
            new_pass: Some(c.new),
        };
        let fut = conn
            .0
            .with_controls(ppolicy::request())
            .with_timeout(self.op_timeout)
            .extended(pm);
        let r = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => {
                return Err(DirError::Interrupted(format!(
                    "{uri}: password modify: no answer within {:.1}s; not retried on another URI",
                    self.op_timeout.as_secs_f64()
                )))
            }
            Ok(r) => r.map_err(|e| match transport(&uri, "password modify", &e) {
                DirError::Unreachable(m) => DirError::Interrupted(m),
                other => other,
            })?,
        };
        let ldap3::result::ExopResult(_, result) = r;
        let policy = ppolicy::from_controls(&result.ctrls).unwrap_or_else(|e| {
            warn!("{uri}: password modify: {e}");
            None
        });
        let shadow_note = match c.shadow {
            Some((dn, days)) if result.rc == rc::SUCCESS => {
                Some(self.set_shadow_last_change(&mut conn.0, dn, days).await)
            }
            _ => None,
        };
        let _ = tokio::time::timeout(Duration::from_millis(200), conn.0.unbind()).await;
        Ok(ChangeOutcome::Answered {
            rc: result.rc,
            text: result.text,
            policy,
            shadow_note,
        })
    }

    /// Keeps shadow ageing in step after a change; says what happened (for the log).
    async fn set_shadow_last_change(&self, ldap: &mut ldap3::Ldap, dn: &str, days: i64) -> String {
        let mods = vec![ldap3::Mod::Replace(
            "shadowLastChange".to_string(),
            std::collections::HashSet::from([days.to_string()]),
        )];
        let fut = ldap.with_timeout(self.op_timeout).modify(dn, mods);
        match tokio::time::timeout(self.op_timeout, fut).await {
            Ok(Ok(r)) if r.rc == rc::SUCCESS => format!("shadowLastChange set to {days}"),
            Ok(Ok(r)) => format!(
                "shadowLastChange not updated: resultCode {} {}",
                r.rc, r.text
            ),
            Ok(Err(e)) => format!("shadowLastChange not updated: {e}"),
            Err(_) => "shadowLastChange not updated: no answer".to_string(),
        }
    }
}
