//! Logins: authentication (a bind as the user, with the password policy control), the
//! account stage (access rules, then the account's state) and password changes (RFC 3062).
//! Each decision is one log line that names the rule; the user is told in plain words.

use crate::access::{decide, first_mapping, Decision, Facts};
use crate::account_state::{self, State, MSG_ADMIN_CHANGE, MSG_PASSWORD_EXPIRED};
use crate::directory::{entry_to_passwd, BindOutcome, ChangeOutcome, DirError, Entry};
use crate::ppolicy::PolicyError;
use crate::service::{Peer, Service};
use crate::{debug, info, warn};
use ldaprs_common::filter::{self, eq};
use ldaprs_common::names::valid_name;
use ldaprs_common::pam_flow::MAX_PASSWORD;
use ldaprs_common::protocol::{AuthCode, PamContext, Passwd, Response, Secret};

/// What the last successful bind of a user taught us, for the account stage: where the user
/// lives, its entry when the daemon can only read it as the user (`user_dn_pattern`), and
/// whether the password policy demands a new password (a grace login, a reset).
#[derive(Clone, Debug)]
pub struct AuthMemo {
    pub block: usize,
    pub dn: String,
    pub entry: Option<Entry>,
    /// (why, for the log; what the user is told).
    pub must_change: Option<(String, &'static str)>,
}

const MSG_RULES_UNCHECKED: &str = "Access denied: the access rules could not be checked.";

/// How long what a bind taught is kept: long enough for the account and password stages of
/// the same login, whatever `[cache] entry_ttl` says (0 turns the answer cache off, not this).
const MEMO_TTL: std::time::Duration = std::time::Duration::from_secs(600);

fn auth(code: AuthCode, message: &str) -> Response {
    Response::Auth {
        code,
        message: message.to_string(),
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Service {
    /// Whether any rule restricts logins (then not being able to evaluate it denies).
    fn rules_configured(&self) -> bool {
        self.pam.has_rules() || self.mappings_can_allow()
    }

    fn mappings_can_allow(&self) -> bool {
        self.blocks
            .iter()
            .any(|b| b.cfg.group_mappings.iter().any(|m| m.allow_login))
    }

    pub(crate) async fn authenticate(
        &self,
        id: u64,
        user: &str,
        password: &Secret,
        ctx: &PamContext,
        peer: Peer,
    ) -> Response {
        let who = format!(
            "req={id} auth user={user} service={} rhost={} peer_uid={}",
            ctx.service, ctx.rhost, peer.uid
        );
        if !valid_name(user) {
            info!("req={id} auth: invalid user name refused");
            return auth(AuthCode::UserUnknown, "");
        }
        if self.local_user(&self.local_db(), user) {
            info!("{who}: a local user (/etc/passwd or ignore_users): not asked to the directory");
            return auth(AuthCode::UserUnknown, "");
        }
        if password.is_empty() {
            // RFC 4513 §5.1.2: an empty password is an unauthenticated bind. Never send it.
            info!("{who}: empty password refused, no bind sent");
            return auth(AuthCode::Denied, "");
        }
        let Ok(pw) = std::str::from_utf8(password.expose()) else {
            info!("{who}: password is not UTF-8, refused");
            return auth(AuthCode::Denied, "");
        };
        let mut unavailable = false;
        let mut denied = false;
        for (i, b) in self.blocks.iter().enumerate() {
            let (dn, known) = match &b.cfg.user_dn_pattern {
                // Single bind: the DN comes from the pattern, the entry is read as the user.
                Some(pattern) => (
                    pattern.replacen("%s", &filter::escape_dn_value(user), 1),
                    None,
                ),
                // Search first (always fresh: a cached DN could belong to a deleted entry).
                None => {
                    let entries = match b.find_users(&eq(&b.eff.attr_name, user), false).await {
                        Ok(e) => e,
                        Err(e) => {
                            warn!("{who}: {e}");
                            unavailable = true;
                            continue;
                        }
                    };
                    let mut users = self.convert_users(b, &entries, Some(user));
                    if users.len() > 1 {
                        warn!(
                            "{who}: server {}: {} entries match; refusing",
                            b.name(),
                            users.len()
                        );
                        return auth(AuthCode::Denied, "");
                    }
                    let Some((p, dn)) = users.pop() else { continue };
                    (dn, Some(p))
                }
            };
            if let Some(p) = &known {
                if peer.uid != 0 && peer.uid != p.uid {
                    warn!(
                        "{who}: refused: a non-root caller may only authenticate its own account"
                    );
                    return auth(AuthCode::Refused, "");
                }
            }
            let r = match b.user_bind(&dn, pw, known.is_none()).await {
                Ok(r) => r,
                Err(DirError::Server(m)) => {
                    warn!("{who}: {m}");
                    return auth(AuthCode::Denied, "");
                }
                Err(e) => {
                    warn!("{who}: {e}");
                    unavailable = true;
                    continue;
                }
            };
            let policy_error = r.policy.as_ref().and_then(|p| p.error);
            match r.outcome {
                BindOutcome::Success => {
                    let p = match (known, &r.entry) {
                        (Some(p), _) => p,
                        (None, Some(e)) => {
                            match entry_to_passwd(e, &b.eff, self.limits, Some(user)) {
                                Ok(p)
                                    if !self
                                        .convert_users(b, std::slice::from_ref(e), Some(user))
                                        .is_empty() =>
                                {
                                    p
                                }
                                Ok(_) => {
                                    info!("{who}: bind as {dn} succeeded but the name or uid is local: denied");
                                    return auth(AuthCode::Denied, "");
                                }
                                Err(why) => {
                                    info!("{who}: bind as {dn} succeeded but the entry is not an acceptable user ({why:?}): denied");
                                    return auth(AuthCode::Denied, "");
                                }
                            }
                        }
                        (None, None) => return auth(AuthCode::Denied, ""),
                    };
                    if peer.uid != 0 && peer.uid != p.uid {
                        warn!("{who}: refused: a non-root caller may only authenticate its own account");
                        return auth(AuthCode::Refused, "");
                    }
                    let must_change = match (policy_error, r.policy.as_ref().and_then(|x| x.grace_remaining)) {
                        (Some(PolicyError::ChangeAfterReset), _) => Some(("password policy: changeAfterReset (the password was reset by an administrator)".to_string(), MSG_ADMIN_CHANGE)),
                        (Some(other), _) => {
                            // A success that carries another policy error is not something
                            // a server should send: refuse rather than guess.
                            warn!("{who}: bind succeeded with password policy error {other:?}: denied");
                            return auth(AuthCode::Denied, "");
                        }
                        (None, Some(n)) => Some((format!("password policy: the password has expired, grace login used ({n} left)"), MSG_PASSWORD_EXPIRED)),
                        (None, None) => None,
                    };
                    let warning = r
                        .policy
                        .as_ref()
                        .and_then(|x| x.warning())
                        .unwrap_or_default();
                    // Remember the user (the account stage and NSS may not be able to search
                    // without a service account) and what the policy said.
                    self.user_dns.put(
                        user.to_string(),
                        (i, dn.clone()),
                        self.entry_ttl,
                        self.clock.now(),
                    );
                    self.remember_user(user, &p);
                    let memo = AuthMemo {
                        block: i,
                        dn: dn.clone(),
                        entry: r.entry.clone(),
                        must_change: must_change.clone(),
                    };
                    self.memo
                        .put(user.to_string(), memo, MEMO_TTL, self.clock.now());
                    let extra = match (&must_change, warning.is_empty()) {
                        (Some((why, _)), _) => format!("; {why}"),
                        (None, false) => format!("; told: {warning}"),
                        (None, true) => String::new(),
                    };
                    info!("{who}: success (server {}, dn {dn}){extra}", b.name());
                    return auth(AuthCode::Success, &warning);
                }
                BindOutcome::InvalidCredentials => {
                    match policy_error {
                        Some(PolicyError::AccountLocked) => {
                            info!("{who}: refused by the password policy: account locked (server {}, dn {dn})", b.name());
                            return auth(
                                AuthCode::AccountDenied,
                                &PolicyError::AccountLocked.message(),
                            );
                        }
                        Some(PolicyError::PasswordExpired) => {
                            info!("{who}: refused by the password policy: password expired, no grace logins left (server {}, dn {dn})", b.name());
                            return auth(
                                AuthCode::Expired,
                                &PolicyError::PasswordExpired.message(),
                            );
                        }
                        _ => {}
                    }
                    info!("{who}: wrong password (server {}, dn {dn})", b.name());
                    if known.is_some() {
                        return auth(AuthCode::Denied, "");
                    }
                    denied = true; // with a pattern, another block may hold the user
                }
                BindOutcome::Refused(m) => {
                    info!("{who}: refused: {m}");
                    return auth(AuthCode::Denied, "");
                }
            }
        }
        if denied {
            auth(AuthCode::Denied, "")
        } else if unavailable {
            warn!("{who}: no directory could be asked");
            auth(AuthCode::Unavailable, "")
        } else {
            info!("{who}: no such user in the directory");
            auth(AuthCode::UserUnknown, "")
        }
    }

    /// The user for the account stage: fresh from the directory, or, where the daemon cannot
    /// search (`user_dn_pattern` without a service account), the entry the user's own bind
    /// read a moment ago.
    async fn account_user(&self, user: &str) -> Result<Option<(usize, Passwd, Entry)>, DirError> {
        let fresh = self.user_entry_fresh(user).await;
        if let Ok(Some(found)) = fresh {
            return Ok(Some(found));
        }
        let remembered = self
            .memo
            .get(&user.to_string(), self.clock.now())
            .and_then(|memo| {
                let entry = memo.entry?;
                let b = self.blocks.get(memo.block)?;
                self.convert_users(b, std::slice::from_ref(&entry), Some(user))
                    .pop()
                    .map(|(p, _)| (memo.block, p, entry))
            });
        match (remembered, fresh) {
            (Some(found), Err(e)) => {
                debug!("{user}: the directory cannot be searched ({e}); using the entry read by the user's own bind");
                Ok(Some(found))
            }
            (Some(found), _) => Ok(Some(found)),
            (None, fresh) => fresh,
        }
    }

    /// Everything the access rules look at. The second value is the access filter as sent
    /// (for the log).
    async fn access_facts(
        &self,
        user: &str,
        p: &Passwd,
        bi: usize,
        entry: &Entry,
        ctx: &PamContext,
    ) -> Result<(Facts, Option<String>), DirError> {
        let mut facts = Facts {
            mappings_can_allow: self.mappings_can_allow(),
            ..Default::default()
        };
        let any_mapping = self.blocks.iter().any(|b| !b.cfg.group_mappings.is_empty());
        if !self.pam.allow_groups.is_empty() || !self.pam.deny_groups.is_empty() || any_mapping {
            let per_block = self
                .all_block_groups(user, Some((bi, &entry.dn, Some(entry))), true)
                .await?;
            for (b, bg) in self.blocks.iter().zip(&per_block) {
                if !bg.complete {
                    // The bound cut the membership short: a deny group could be beyond it.
                    return Err(DirError::Server(format!(
                        "server {}: {}",
                        b.name(),
                        bg.note.as_deref().unwrap_or("incomplete membership")
                    )));
                }
                for g in bg.all.iter().chain(&bg.posix) {
                    if let Some(n) = &g.name {
                        if !facts.groups.contains(n) {
                            facts.groups.push(n.clone());
                        }
                    }
                }
            }
            if let Some(n) = self.primary_group_name(p.gid).await? {
                if !facts.groups.contains(&n) {
                    facts.groups.push(n);
                }
            }
            facts.mapping = self
                .blocks
                .iter()
                .zip(&per_block)
                .find_map(|(b, bg)| first_mapping(b.name(), &b.cfg.group_mappings, &bg.all));
        }
        let mut sent = None;
        if let Some(t) = &self.pam.access_filter {
            let uid = p.uid.to_string();
            let vars = [
                ("username", user),
                ("hostname", self.hostname.as_str()),
                ("service", ctx.service.as_str()),
                ("rhost", ctx.rhost.as_str()),
                ("tty", ctx.tty.as_str()),
                ("uid", uid.as_str()),
                ("dn", entry.dn.as_str()),
            ];
            let f = filter::fill_template(t, &vars).map_err(DirError::Server)?;
            let b = self
                .blocks
                .get(bi)
                .ok_or_else(|| DirError::Server("no such server block".into()))?;
            // Base scope on the user's own DN: a filter matching some other entry never lets
            // this user in (security.md AZ-07).
            let m = b.read_entry(&entry.dn, &f, &["1.1".to_string()]).await?;
            facts.filter_matches = Some(m.is_some());
            sent = Some(f);
        }
        Ok((facts, sent))
    }

    pub(crate) async fn account(
        &self,
        id: u64,
        user: &str,
        ctx: &PamContext,
        peer: Peer,
    ) -> Response {
        let who = format!(
            "req={id} account user={user} service={} rhost={} peer_uid={}",
            ctx.service, ctx.rhost, peer.uid
        );
        if !valid_name(user) {
            return auth(AuthCode::UserUnknown, "");
        }
        if self.local_user(&self.local_db(), user) {
            info!("{who}: a local user (/etc/passwd or ignore_users): not asked to the directory");
            return auth(AuthCode::UserUnknown, "");
        }
        let rules = self.rules_configured();
        let (bi, p, entry) = match self.account_user(user).await {
            Ok(Some(x)) => x,
            Ok(None) => {
                info!("{who}: no such user in the directory");
                return auth(AuthCode::UserUnknown, "");
            }
            Err(e) if rules => {
                warn!("{who}: denied: the user could not be read, so the access rules could not be checked: {e}");
                return auth(AuthCode::AccountDenied, MSG_RULES_UNCHECKED);
            }
            Err(e) => {
                warn!("{who}: directory unavailable: {e}");
                return auth(AuthCode::Unavailable, "");
            }
        };
        if peer.uid != 0 && peer.uid != p.uid {
            warn!("{who}: refused: a non-root caller may only check its own account");
            return auth(AuthCode::Refused, "");
        }
        let mut allowed_by = "no access rules".to_string();
        if rules {
            match self.access_facts(user, &p, bi, &entry, ctx).await {
                Ok((facts, sent)) => {
                    let shown_filter = sent.map(|f| format!(" {f}")).unwrap_or_default();
                    match decide(&facts, &self.pam.allow_groups, &self.pam.deny_groups) {
                        Decision::Allow(why) => allowed_by = why,
                        Decision::Deny(why) => {
                            let rule = if why.contains("access_filter") {
                                format!("{why}{shown_filter}")
                            } else {
                                why.clone()
                            };
                            info!("{who}: denied ({rule})");
                            return auth(
                                AuthCode::AccountDenied,
                                &format!("Access denied: {why}."),
                            );
                        }
                    }
                    debug!(
                        "{who}: groups {:?}, mapping {:?}{shown_filter}",
                        facts.groups, facts.mapping
                    );
                }
                Err(e) => {
                    warn!("{who}: denied: the access rules could not be evaluated: {e}");
                    return auth(AuthCode::AccountDenied, MSG_RULES_UNCHECKED);
                }
            }
        }
        let schema = self
            .blocks
            .get(bi)
            .map(|b| b.eff.schema)
            .unwrap_or_default();
        let memo = self
            .memo
            .get(&user.to_string(), self.clock.now())
            .filter(|m| m.dn == entry.dn);
        match account_state::evaluate(&entry, schema, now_unix()) {
            State::Disabled { rule, message } => {
                info!("{who}: denied (account state: {rule})");
                auth(AuthCode::AccountDenied, &message)
            }
            State::Expired { rule, message } => {
                info!("{who}: expired (account state: {rule})");
                auth(AuthCode::Expired, &message)
            }
            State::MustChange { rule, message } => {
                info!("{who}: password change required ({rule})");
                auth(AuthCode::NewAuthtokRequired, &message)
            }
            State::Usable { warnings } => match memo.and_then(|m| m.must_change) {
                Some((rule, message)) => {
                    info!("{who}: password change required ({rule})");
                    auth(AuthCode::NewAuthtokRequired, message)
                }
                None => {
                    let told = if warnings.is_empty() {
                        String::new()
                    } else {
                        format!("; told: {}", warnings.join(" "))
                    };
                    info!("{who}: allowed ({allowed_by}){told}");
                    auth(AuthCode::Success, &warnings.join("\n"))
                }
            },
        }
    }

    pub(crate) async fn change_password(
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
        if !valid_name(user) || self.local_user(&self.local_db(), user) {
            info!("{who}: not a directory user");
            return auth(AuthCode::UserUnknown, "");
        }
        if new.is_empty() || new.expose().len() > MAX_PASSWORD {
            info!("{who}: empty or over-long new password refused");
            return auth(
                AuthCode::PasswordRejected,
                "The new password is empty or too long.",
            );
        }
        let Ok(new_pw) = std::str::from_utf8(new.expose()) else {
            return auth(
                AuthCode::PasswordRejected,
                "The new password must be valid UTF-8 text.",
            );
        };
        let old_pw = match old.map(|o| std::str::from_utf8(o.expose())) {
            None => None,
            Some(Ok(o)) if !o.is_empty() => Some(o),
            Some(_) => {
                info!("{who}: empty or non-UTF-8 current password refused");
                return auth(AuthCode::Denied, "");
            }
        };
        if old_pw.is_none() && peer.uid != 0 {
            warn!("{who}: refused: only root may set a password without the current one");
            return auth(AuthCode::Refused, "");
        }
        let (bi, p, entry) = match self.account_user(user).await {
            Ok(Some(x)) => x,
            Ok(None) => {
                info!("{who}: no such user in the directory");
                return auth(AuthCode::UserUnknown, "");
            }
            Err(e) => {
                warn!("{who}: directory unavailable: {e}");
                return auth(AuthCode::Unavailable, "");
            }
        };
        if peer.uid != 0 && peer.uid != p.uid {
            warn!("{who}: refused: a non-root caller may only change its own password");
            return auth(AuthCode::Refused, "");
        }
        let Some(b) = self.blocks.get(bi) else {
            return auth(AuthCode::Unavailable, "");
        };
        let (bind_dn, bind_pw, target) = match old_pw {
            Some(o) => (entry.dn.as_str(), o, None),
            None => match b.admin() {
                Some((dn, pw)) => (dn, pw, Some(entry.dn.as_str())),
                None => {
                    info!(
                        "{who}: refused: server {} has no admin_dn for password resets",
                        b.name()
                    );
                    return auth(AuthCode::Refused, "Password resets by root need admin_dn and admin_password_file in the server block; without them, give the current password.");
                }
            },
        };
        // Keep shadow ageing in step where the entry uses it (nslcd does the same; a failure
        // is only logged: the ACL may not allow it).
        let shadow = entry
            .first("shadowLastChange")
            .map(|_| now_unix().div_euclid(86_400));
        let shadow_dn = shadow.map(|_| entry.dn.as_str());
        let outcome = b
            .change_password(bind_dn, bind_pw, target, old_pw, new_pw, shadow_dn, shadow)
            .await;
        match outcome {
            Err(e @ DirError::Unreachable(_)) => {
                warn!("{who}: {e}");
                auth(AuthCode::Unavailable, "")
            }
            Err(e) => {
                warn!("{who}: {e}");
                auth(
                    AuthCode::Refused,
                    "The password could not be changed; please contact your system administrator.",
                )
            }
            Ok(ChangeOutcome::BindFailed(r)) => {
                let pe = r.policy.as_ref().and_then(|x| x.error);
                match (&r.outcome, pe) {
                    (BindOutcome::InvalidCredentials, Some(PolicyError::AccountLocked)) => {
                        info!("{who}: refused by the password policy: account locked");
                        auth(
                            AuthCode::AccountDenied,
                            &PolicyError::AccountLocked.message(),
                        )
                    }
                    (BindOutcome::InvalidCredentials, Some(PolicyError::PasswordExpired)) => {
                        info!("{who}: refused by the password policy: password expired, no grace logins left");
                        auth(AuthCode::Expired, &PolicyError::PasswordExpired.message())
                    }
                    (BindOutcome::InvalidCredentials, _) if target.is_some() => {
                        warn!("{who}: the admin_dn {bind_dn} was refused (wrong admin password?)");
                        auth(AuthCode::Refused, "The password could not be changed; please contact your system administrator.")
                    }
                    (BindOutcome::InvalidCredentials, _) => {
                        info!("{who}: wrong current password (dn {bind_dn})");
                        auth(AuthCode::Denied, "The current password is wrong.")
                    }
                    (other, _) => {
                        info!("{who}: bind refused: {other:?}");
                        auth(AuthCode::Denied, "")
                    }
                }
            }
            Ok(ChangeOutcome::Answered {
                rc: 0, shadow_note, ..
            }) => {
                self.memo.remove(&user.to_string());
                self.forget_user(user);
                let note = shadow_note.map(|n| format!("; {n}")).unwrap_or_default();
                info!(
                    "{who}: password changed (server {}, dn {}){note}",
                    b.name(),
                    entry.dn
                );
                auth(AuthCode::Success, "")
            }
            Ok(ChangeOutcome::Answered {
                rc, text, policy, ..
            }) => {
                let pe = policy.as_ref().and_then(|x| x.error);
                let message = match (pe, rc) {
                    (Some(e), _) => e.message(),
                    (None, 19) => format!("The directory refused the new password: {text}"),
                    (None, 50) => "You may not change this password.".to_string(),
                    (None, 2) | (None, 12) => "The directory does not support password changes (no RFC 3062 Password Modify operation).".to_string(),
                    (None, _) => format!("The directory refused the change: {text}"),
                };
                let code = match (pe, rc) {
                    (
                        Some(
                            PolicyError::PasswordModNotAllowed | PolicyError::MustSupplyOldPassword,
                        ),
                        _,
                    )
                    | (None, 50 | 2 | 12) => AuthCode::Refused,
                    _ => AuthCode::PasswordRejected,
                };
                let rule = pe
                    .map(|e| format!(", password policy error {e:?}"))
                    .unwrap_or_default();
                info!(
                    "{who}: refused by server {}: resultCode {rc} {text}{rule}",
                    b.name()
                );
                auth(code, &message)
            }
        }
    }
}
