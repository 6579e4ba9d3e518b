//! The auth stage: a bind as the user with the password policy control. The user's DN comes
//! from a search (exactly one entry, byte-for-byte name) or from `user_dn_pattern`; a wrong
//! password is final; a non-root caller may only authenticate its own account.

use super::account_state::{MSG_ADMIN_CHANGE, MSG_PASSWORD_EXPIRED};
use super::accounts::{Accounts, EntryRefusal};
use super::logins::{Logins, MustChange, MEMO_TTL};
use super::verdict::{Step, Verdict};
use crate::info;
use crate::ldap::ppolicy::PolicyError;
use crate::ldap::{BindOutcome, BindResult, DirError};
use crate::peer::Peer;
use crate::warn;
use ldaprs_common::filter;
use ldaprs_common::names::valid_name;
use ldaprs_common::protocol::{AuthCode, PamContext, Passwd, Secret};

/// How one block ended the attempt.
enum Tried {
    Decided(Verdict),
    /// The block could not be asked (logged).
    Unavailable,
    /// Wrong password for a DN from the pattern: another block may hold the user.
    WrongPassword,
    /// No such user in this block.
    NoUser,
}

/// Where to bind: the DN, and the user's record when a search found it.
struct Target {
    dn: String,
    known: Option<Passwd>,
}

fn caller_may(peer: Peer, p: &Passwd) -> Step<()> {
    if !peer.is_root() && peer.uid != p.uid {
        return Err(Verdict::warn(
            AuthCode::Refused,
            "",
            "refused: a non-root caller may only authenticate its own account",
        ));
    }
    Ok(())
}

/// The name and password rules that hold before anything is sent.
fn precheck(local: bool, password: &Secret) -> Step<&str> {
    if local {
        return Err(Verdict::info(
            AuthCode::UserUnknown,
            "",
            "a local user (/etc/passwd or ignore_users): not asked to the directory",
        ));
    }
    if password.is_empty() {
        // RFC 4513 §5.1.2: an empty password is an unauthenticated bind. Never send it.
        return Err(Verdict::info(
            AuthCode::Denied,
            "",
            "empty password refused, no bind sent",
        ));
    }
    std::str::from_utf8(password.expose())
        .map_err(|_| Verdict::info(AuthCode::Denied, "", "password is not UTF-8, refused"))
}

/// What the password policy says about a successful bind: whether a new password is due.
fn must_change(r: &BindResult) -> Step<Option<(String, &'static str)>> {
    if let Some(m) = r.ad_reason.and_then(super::ad_reasons::must_change) {
        return Ok(Some(m));
    }
    let policy_error = r.policy.as_ref().and_then(|p| p.error);
    match (
        policy_error,
        r.policy.as_ref().and_then(|x| x.grace_remaining),
    ) {
        (Some(PolicyError::ChangeAfterReset), _) => Ok(Some((
            "password policy: changeAfterReset (the password was reset by an administrator)"
                .to_string(),
            MSG_ADMIN_CHANGE,
        ))),
        // A success that carries another policy error is not something a server should send:
        // refuse rather than guess.
        (Some(other), _) => Err(Verdict::warn(
            AuthCode::Denied,
            "",
            format!("bind succeeded with password policy error {other:?}: denied"),
        )),
        (None, Some(n)) => Ok(Some((
            format!("password policy: the password has expired, grace login used ({n} left)"),
            MSG_PASSWORD_EXPIRED,
        ))),
        (None, None) => Ok(None),
    }
}

impl<A: Accounts> Logins<A> {
    pub async fn authenticate(
        &self,
        id: u64,
        user: &str,
        password: &Secret,
        ctx: &PamContext,
        peer: Peer,
    ) -> ldaprs_common::protocol::Response {
        let who = format!(
            "req={id} auth user={user} service={} rhost={} peer_uid={}",
            ctx.service, ctx.rhost, peer.uid
        );
        if !valid_name(user) {
            info!("req={id} auth: invalid user name refused");
            return Verdict::silent(AuthCode::UserUnknown, "").conclude(&who);
        }
        let verdict = match precheck(self.accounts.is_local_user(user), password) {
            Err(v) => v,
            // Offline (no URI of any block answers): never wait for a server.
            Ok(pw) if self.accounts.offline() => self.offline_authenticate(user, pw, peer).await,
            Ok(pw) => match self.bind_in_blocks(&who, user, pw, peer).await {
                // The servers went dark during this attempt.
                v if v.code == AuthCode::Unavailable && self.accounts.offline() => {
                    v.conclude(&who);
                    self.offline_authenticate(user, pw, peer).await
                }
                v => {
                    if v.code == AuthCode::Success {
                        self.learn_password(user, pw);
                    }
                    v
                }
            },
        };
        verdict.conclude(&who)
    }

    /// Tries the blocks in order until one decides.
    async fn bind_in_blocks(&self, who: &str, user: &str, pw: &str, peer: Peer) -> Verdict {
        let (mut unavailable, mut denied) = (false, false);
        for i in 0..self.accounts.blocks() {
            match self.try_block(who, i, user, pw, peer).await {
                Tried::Decided(v) => return v,
                Tried::Unavailable => unavailable = true,
                Tried::WrongPassword => denied = true,
                Tried::NoUser => {}
            }
        }
        if denied {
            self.forget_password(user);
            Verdict::silent(AuthCode::Denied, "")
        } else if unavailable {
            Verdict::warn(AuthCode::Unavailable, "", "no directory could be asked")
        } else {
            Verdict::info(AuthCode::UserUnknown, "", "no such user in the directory")
        }
    }

    /// The DN to bind as in block `i`: from the pattern (the entry is then read as the user),
    /// or from a search (always fresh: a cached DN could belong to a deleted entry).
    async fn target(&self, who: &str, i: usize, user: &str) -> Result<Option<Target>, Tried> {
        if let Some(pattern) = self.accounts.dn_pattern(i) {
            let dn = pattern.replacen("%s", &filter::escape_dn_value(user), 1);
            return Ok(Some(Target { dn, known: None }));
        }
        let mut users = match self.accounts.find_user(i, user).await {
            Ok(u) => u,
            Err(e) => {
                warn!("{who}: {e}");
                return Err(Tried::Unavailable);
            }
        };
        if users.len() > 1 {
            let rule = format!(
                "server {}: {} entries match; refusing",
                self.accounts.block_name(i),
                users.len()
            );
            return Err(Tried::Decided(Verdict::warn(AuthCode::Denied, "", rule)));
        }
        Ok(users.pop().map(|(p, dn)| Target { dn, known: Some(p) }))
    }

    async fn try_block(&self, who: &str, i: usize, user: &str, pw: &str, peer: Peer) -> Tried {
        let t = match self.target(who, i, user).await {
            Ok(Some(t)) => t,
            Ok(None) => return Tried::NoUser,
            Err(tried) => return tried,
        };
        if let Err(v) = self.caller_may_try(&t, user, peer).await {
            return Tried::Decided(v);
        }
        let attempt = if self.accounts.kerberos(i) {
            // The principal comes from the entry found (its name, or principal_attribute).
            let name = t.known.as_ref().map_or(user, |p| p.name.as_str());
            self.accounts.kerberos_login(i, &t.dn, name, pw).await
        } else {
            self.accounts.bind(i, &t.dn, pw, t.known.is_none()).await
        };
        let r = match attempt {
            Ok(r) => r,
            Err(DirError::Server(m)) => {
                return Tried::Decided(Verdict::warn(AuthCode::Denied, "", m));
            }
            // The password was sent and no answer came: never send it again elsewhere (not
            // even to another block holding the same entry), or a wrong one counts twice.
            Err(DirError::Interrupted(m)) => {
                return Tried::Decided(Verdict::warn(AuthCode::Unavailable, "", m));
            }
            Err(e) => {
                warn!("{who}: {e}");
                return Tried::Unavailable;
            }
        };
        let server = self.accounts.block_name(i);
        if self.accounts.kerberos(i) {
            if let Some(v) = super::krb5::expired_verdict(&r, &server) {
                return Tried::Decided(v);
            }
        }
        match &r.outcome {
            BindOutcome::Success => {
                Tried::Decided(self.bound(i, user, t, &r, peer).unwrap_or_else(|v| v))
            }
            // AD confirmed the password and asks for a change first (data 773, 532): the
            // account stage asks for it. Only for a user the search found (a pattern DN is
            // not known to be the user's until its entry is read).
            BindOutcome::InvalidCredentials
                if t.known.is_some()
                    && r.ad_reason
                        .and_then(super::ad_reasons::must_change)
                        .is_some() =>
            {
                Tried::Decided(self.bound(i, user, t, &r, peer).unwrap_or_else(|v| v))
            }
            BindOutcome::InvalidCredentials => {
                let tried = wrong_password(who, &server, &t, &r);
                // The directory refused this password (or the account): the cached login goes.
                if matches!(&tried, Tried::Decided(v) if v.code != AuthCode::Success) {
                    self.forget_password(user);
                }
                tried
            }
            BindOutcome::Refused(m) => {
                Tried::Decided(Verdict::info(AuthCode::Denied, "", format!("refused: {m}")))
            }
        }
    }

    /// Whether the caller may have its password tried for this user, decided before any bind:
    /// root always; a non-root caller only for its own uid. With `user_dn_pattern` the bind
    /// itself would be the first look at the entry, so the name must already be known to
    /// belong to the caller (a lookup, usually from the cache); otherwise the bind would be an
    /// oracle for anybody's password, and each guess would count toward the victim's lockout.
    async fn caller_may_try(&self, t: &Target, user: &str, peer: Peer) -> Step<()> {
        if peer.is_root() {
            return Ok(());
        }
        match &t.known {
            Some(p) => caller_may(peer, p),
            None => match self.accounts.known_user(user).await {
                Some(p) => caller_may(peer, &p),
                None => Err(Verdict::warn(
                    AuthCode::Refused,
                    "",
                    "refused: a non-root caller may only authenticate its own account, and this name is not known to be one",
                )),
            },
        }
    }

    /// After a successful bind: the user's record, the caller check, the password policy,
    /// and what the account stage will need.
    fn bound(&self, i: usize, user: &str, t: Target, r: &BindResult, peer: Peer) -> Step<Verdict> {
        let dn = &t.dn;
        let p = match (t.known, &r.entry) {
            (Some(p), _) => p,
            (None, Some(e)) => match self.accounts.accept_entry(i, e, user) {
                Ok(p) => p,
                Err(EntryRefusal::Local) => {
                    return Err(Verdict::info(
                        AuthCode::Denied,
                        "",
                        format!("bind as {dn} succeeded but the name or uid is local: denied"),
                    ));
                }
                Err(EntryRefusal::Unacceptable(why)) => {
                    return Err(Verdict::info(AuthCode::Denied, "", format!("bind as {dn} succeeded but the entry is not an acceptable user ({why:?}): denied")));
                }
            },
            (None, None) => return Err(Verdict::silent(AuthCode::Denied, "")),
        };
        caller_may(peer, &p)?;
        let change = must_change(r)?;
        let warning = r
            .policy
            .as_ref()
            .and_then(|x| x.warning())
            .unwrap_or_default();
        self.accounts
            .remember_login(user, i, dn, &p, r.entry.clone());
        let memo = MustChange {
            dn: dn.clone(),
            why: change.clone(),
        };
        self.memo
            .put(user.to_string(), memo, MEMO_TTL, self.clock.now());
        let extra = match (&change, warning.is_empty()) {
            (Some((why, _)), _) => format!("; {why}"),
            (None, false) => format!("; told: {warning}"),
            (None, true) => String::new(),
        };
        let server = self.accounts.block_name(i);
        Ok(Verdict::info(
            AuthCode::Success,
            &warning,
            format!("success (server {server}, dn {dn}){extra}"),
        ))
    }
}

/// A refused password: the policy's reason when it gives one (locked, expired), else a wrong
/// password — final when the search found the user, and for a pattern DN only if no other
/// block holds the user.
fn wrong_password(who: &str, server: &str, t: &Target, r: &BindResult) -> Tried {
    let dn = &t.dn;
    match r.policy.as_ref().and_then(|p| p.error) {
        Some(PolicyError::AccountLocked) => {
            return Tried::Decided(Verdict::info(
                AuthCode::AccountDenied,
                &PolicyError::AccountLocked.message(),
                format!("refused by the password policy: account locked (server {server}, dn {dn})"),
            ))
        }
        Some(PolicyError::PasswordExpired) => {
            return Tried::Decided(Verdict::info(
                AuthCode::Expired,
                &PolicyError::PasswordExpired.message(),
                format!("refused by the password policy: password expired, no grace logins left (server {server}, dn {dn})"),
            ))
        }
        _ => {}
    }
    if let Some(v) = r
        .ad_reason
        .and_then(|reason| super::ad_reasons::verdict(reason, server, dn))
    {
        return Tried::Decided(v);
    }
    info!("{who}: wrong password (server {server}, dn {dn})");
    if t.known.is_some() {
        return Tried::Decided(Verdict::silent(AuthCode::Denied, ""));
    }
    Tried::WrongPassword
}
