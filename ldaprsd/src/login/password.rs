//! The password stage: a change with the current password (bound as the user), or root's
//! reset through `admin_dn`, sent as the Password Modify extended operation (RFC 3062) with the
//! password policy control, so "too short" or "used before" reach the user in plain words.

use super::accounts::Accounts;
use super::logins::Logins;
use super::verdict::{Step, Verdict, MSG_CONTACT_ADMIN, MSG_NO_ADMIN_DN};
use crate::ldap::ppolicy::{PolicyError, PolicyResponse};
use crate::ldap::result_code as rc;
use crate::ldap::{BindOutcome, BindResult, ChangeOutcome, DirError, Entry, PasswordChange};
use crate::peer::Peer;
use ldaprs_common::names::valid_name;
use ldaprs_common::pam_flow::MAX_PASSWORD;
use ldaprs_common::protocol::{AuthCode, PamContext, Response, Secret};

/// The passwords of a change, checked: the new one, and the current one (None: root's reset).
struct Passwords<'p> {
    new: &'p str,
    old: Option<&'p str>,
}

fn check_passwords<'p>(
    old: Option<&'p Secret>,
    new: &'p Secret,
    peer: Peer,
) -> Step<Passwords<'p>> {
    if new.is_empty() || new.expose().len() > MAX_PASSWORD {
        return Err(Verdict::info(
            AuthCode::PasswordRejected,
            "The new password is empty or too long.",
            "empty or over-long new password refused",
        ));
    }
    let Ok(new) = std::str::from_utf8(new.expose()) else {
        return Err(Verdict::silent(
            AuthCode::PasswordRejected,
            "The new password must be valid UTF-8 text.",
        ));
    };
    let old = match old.map(|o| std::str::from_utf8(o.expose())) {
        None => None,
        Some(Ok(o)) if !o.is_empty() => Some(o),
        Some(_) => {
            return Err(Verdict::info(
                AuthCode::Denied,
                "",
                "empty or non-UTF-8 current password refused",
            ))
        }
    };
    if old.is_none() && !peer.is_root() {
        return Err(Verdict::warn(
            AuthCode::Refused,
            "",
            "refused: only root may set a password without the current one",
        ));
    }
    Ok(Passwords { new, old })
}

/// What a refused bind before the change means for the user.
fn bind_failed(r: &BindResult, reset: bool, server: &str, bind_dn: &str) -> Verdict {
    if let Some(v) = r
        .ad_reason
        .and_then(|reason| super::ad_reasons::verdict(reason, server, bind_dn))
    {
        return v;
    }
    let pe = r.policy.as_ref().and_then(|x| x.error);
    match (&r.outcome, pe) {
        (BindOutcome::InvalidCredentials, Some(PolicyError::AccountLocked)) => Verdict::info(
            AuthCode::AccountDenied,
            &PolicyError::AccountLocked.message(),
            "refused by the password policy: account locked",
        ),
        (BindOutcome::InvalidCredentials, Some(PolicyError::PasswordExpired)) => Verdict::info(
            AuthCode::Expired,
            &PolicyError::PasswordExpired.message(),
            "refused by the password policy: password expired, no grace logins left",
        ),
        (BindOutcome::InvalidCredentials, _) if reset => Verdict::warn(
            AuthCode::Refused,
            MSG_CONTACT_ADMIN,
            format!("the admin_dn {bind_dn} was refused (wrong admin password?)"),
        ),
        (BindOutcome::InvalidCredentials, _) => Verdict::info(
            AuthCode::Denied,
            "The current password is wrong.",
            format!("wrong current password (dn {bind_dn})"),
        ),
        (other, _) => Verdict::info(AuthCode::Denied, "", format!("bind refused: {other:?}")),
    }
}

/// What the server's refusal of the change means for the user: the policy's words where it
/// gave a reason, else the result code's.
fn refused_change(server: &str, code: u32, text: &str, policy: Option<&PolicyResponse>) -> Verdict {
    if let Some((for_user, message)) = super::ad_reasons::change_refusal(text) {
        return Verdict::info(
            for_user,
            &message,
            format!("refused by server {server}: resultCode {code} {text}"),
        );
    }
    let pe = policy.and_then(|x| x.error);
    let message = match (pe, code) {
        (Some(e), _) => e.message(),
        (None, rc::CONSTRAINT_VIOLATION) => format!("The directory refused the new password: {text}"),
        (None, rc::INSUFFICIENT_ACCESS_RIGHTS) => "You may not change this password.".to_string(),
        (None, rc::PROTOCOL_ERROR | rc::UNAVAILABLE_CRITICAL_EXTENSION) => "The directory does not support password changes (no RFC 3062 Password Modify operation).".to_string(),
        (None, _) => format!("The directory refused the change: {text}"),
    };
    let code_for_user = match (pe, code) {
        (Some(PolicyError::PasswordModNotAllowed | PolicyError::MustSupplyOldPassword), _)
        | (
            None,
            rc::INSUFFICIENT_ACCESS_RIGHTS
            | rc::PROTOCOL_ERROR
            | rc::UNAVAILABLE_CRITICAL_EXTENSION,
        ) => AuthCode::Refused,
        _ => AuthCode::PasswordRejected,
    };
    let rule = pe
        .map(|e| format!(", password policy error {e:?}"))
        .unwrap_or_default();
    Verdict::info(
        code_for_user,
        &message,
        format!("refused by server {server}: resultCode {code} {text}{rule}"),
    )
}

impl<A: Accounts> Logins<A> {
    pub async fn change_password(
        &self,
        id: u64,
        user: &str,
        old: Option<&Secret>,
        new: &Secret,
        ctx: &PamContext,
        peer: Peer,
    ) -> Response {
        let by = if old.is_none() {
            " (reset by root)"
        } else {
            ""
        };
        let who = format!(
            "req={id} passwd user={user}{by} service={} peer_uid={}",
            ctx.service, peer.uid
        );
        match self.change_steps(user, old, new, peer).await {
            Ok(v) | Err(v) => v.conclude(&who),
        }
    }

    async fn change_steps(
        &self,
        user: &str,
        old: Option<&Secret>,
        new: &Secret,
        peer: Peer,
    ) -> Step<Verdict> {
        if !valid_name(user) || self.accounts.is_local_user(user) {
            return Err(Verdict::info(
                AuthCode::UserUnknown,
                "",
                "not a directory user",
            ));
        }
        let pw = check_passwords(old, new, peer)?;
        let (bi, p, entry) = match self.account_user(user).await {
            Ok(Some(x)) => x,
            Ok(None) => {
                return Err(Verdict::info(
                    AuthCode::UserUnknown,
                    "",
                    "no such user in the directory",
                ))
            }
            Err(e) => {
                return Err(Verdict::warn(
                    AuthCode::Unavailable,
                    "",
                    format!("directory unavailable: {e}"),
                ))
            }
        };
        if !peer.is_root() && peer.uid != p.uid {
            return Err(Verdict::warn(
                AuthCode::Refused,
                "",
                "refused: a non-root caller may only change its own password",
            ));
        }
        if bi >= self.accounts.blocks() {
            return Err(Verdict::silent(AuthCode::Unavailable, ""));
        }
        if self.accounts.kerberos(bi) {
            return self.kerberos_change(user, bi, &entry, pw.old, pw.new).await;
        }
        let admin = self.accounts.admin(bi);
        let (bind_dn, bind_pw, target) = match (pw.old, &admin) {
            (Some(o), _) => (entry.dn.as_str(), o, None),
            (None, Some((dn, apw))) => (dn.as_str(), apw.as_str(), Some(entry.dn.as_str())),
            (None, None) => {
                let server = self.accounts.block_name(bi);
                return Err(Verdict::info(
                    AuthCode::Refused,
                    MSG_NO_ADMIN_DN,
                    format!("refused: server {server} has no admin_dn for password resets"),
                ));
            }
        };
        // Keep shadow ageing in step where the entry uses it (nslcd does the same; a failure
        // is only logged: the ACL may not allow it).
        let today = self.clock.unix_now().div_euclid(86_400);
        let c = PasswordChange {
            bind_dn,
            bind_pw,
            target,
            old: pw.old,
            new: pw.new,
            shadow: entry
                .first("shadowLastChange")
                .map(|_| (entry.dn.as_str(), today)),
        };
        let outcome = self.accounts.change_password(bi, &c).await;
        let v = self.changed(user, bi, &entry, bind_dn, target.is_some(), outcome);
        if v.code == AuthCode::Success {
            // The cached login follows the new password (offline mode).
            self.learn_password(user, pw.new);
        }
        Ok(v)
    }

    /// A user of a `[servers.auth] method = "krb5"` block changes the password at the KDC
    /// (kpasswd, `krb/kpasswd.rs`) with the current one; root's resets need kadmin rights the
    /// daemon does not have.
    async fn kerberos_change(
        &self,
        user: &str,
        bi: usize,
        entry: &Entry,
        old: Option<&str>,
        new: &str,
    ) -> Step<Verdict> {
        let Some(old) = old else {
            let server = self.accounts.block_name(bi);
            return Err(Verdict::info(
                AuthCode::Refused,
                MSG_CONTACT_ADMIN,
                format!("refused: server {server} checks passwords with Kerberos; a reset without the current password goes through kadmin"),
            ));
        };
        let outcome = self
            .accounts
            .kerberos_change(bi, &entry.dn, user, old, new)
            .await;
        Ok(self.changed(user, bi, entry, user, false, outcome))
    }

    /// The verdict on the change as the server answered it.
    fn changed(
        &self,
        user: &str,
        bi: usize,
        entry: &Entry,
        bind_dn: &str,
        reset: bool,
        outcome: Result<ChangeOutcome, DirError>,
    ) -> Verdict {
        let server = self.accounts.block_name(bi);
        match outcome {
            Err(e @ (DirError::Unreachable(_) | DirError::Interrupted(_))) => {
                Verdict::warn(AuthCode::Unavailable, "", e.to_string())
            }
            Err(e) => Verdict::warn(AuthCode::Refused, MSG_CONTACT_ADMIN, e.to_string()),
            Ok(ChangeOutcome::BindFailed(r)) => bind_failed(&r, reset, &server, bind_dn),
            Ok(ChangeOutcome::Answered {
                rc: rc::SUCCESS,
                shadow_note,
                ..
            }) => {
                self.memo.remove(&user.to_string());
                self.accounts.forget_user(user);
                let note = shadow_note.map(|n| format!("; {n}")).unwrap_or_default();
                Verdict::info(
                    AuthCode::Success,
                    "",
                    format!("password changed (server {server}, dn {}){note}", entry.dn),
                )
            }
            Ok(ChangeOutcome::Answered {
                rc, text, policy, ..
            }) => refused_change(&server, rc, &text, policy.as_ref()),
        }
    }
}
