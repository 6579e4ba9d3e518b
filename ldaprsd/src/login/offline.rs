//! Logins while no server answers (every URI of every block down): the password checked
//! against the cached Argon2id hash (`cached.rs`), offline login locked after
//! `[offline] failed_logins` wrong passwords for `[offline] lockout`, the hash unused after
//! `[offline] credentials_max_age` since the last online login, and the access rules and the
//! account state evaluated from the entry and groups of the last online account stage. Never
//! used while a server answers: online, a wrong password is final and removes the hash.

use super::access::{decide, Decision, Facts};
use super::account_state::{self, State};
use super::accounts::Accounts;
use super::cached::{hash_bounded, verify_bounded, CachedFacts, CachedLogin};
use super::logins::Logins;
use super::verdict::{Step, Verdict, MSG_RULES_UNCHECKED};
use crate::clock::{age_within, utc};
use crate::info;
use crate::ldap::Entry;
use crate::peer::Peer;
use ldaprs_common::filter;
use ldaprs_common::protocol::{AuthCode, PamContext, Passwd};
use zeroize::Zeroizing;

pub const MSG_CACHED_LOGIN: &str =
    "Logged in with cached credentials: the directory cannot be reached.";

pub fn msg_no_cached_login(user: &str) -> String {
    format!("The directory cannot be reached and no cached login is available for {user}.")
}

pub fn msg_locked(minutes: u64) -> String {
    format!("Too many wrong passwords while the directory cannot be reached: offline login is locked for {minutes} more minute(s).")
}

/// One offline password check under way: its number among the wrong passwords in a row, and
/// the lock it set (when it was the `failed_logins`-th).
struct Attempt {
    n: u32,
    locked: Option<i64>,
}

impl<A: Accounts> Logins<A> {
    /// "Unavailable", with the no-cached-login message; the log says why.
    fn no_cached_login(&self, user: &str, why: impl std::fmt::Display) -> Verdict {
        Verdict::warn(
            AuthCode::Unavailable,
            &msg_no_cached_login(user),
            format!("offline: no cached login: {why}"),
        )
    }

    /// The auth stage offline. The attempt is counted as a wrong password under the lock
    /// before the hash is verified (so parallel guesses cannot all pass one snapshot of the
    /// lockout), and a right password clears the count only if no other attempt locked
    /// offline login meanwhile.
    pub(super) async fn offline_authenticate(&self, user: &str, pw: &str, peer: Peer) -> Verdict {
        if !self.cached.enabled() {
            return self.no_cached_login(user, "[offline] cache_credentials is off");
        }
        let Some(rec) = self.cached.get(user) else {
            return self.no_cached_login(user, "the user never logged in online on this host");
        };
        let Some((phc, at)) = rec.hash.clone() else {
            return self.no_cached_login(
                user,
                "no cached password (never stored, or removed when the directory refused it)",
            );
        };
        let now = self.clock.unix_now();
        let max = self.cached.cfg.credentials_max_age;
        // From "the future" (the clock went back since) counts as expired.
        if age_within(now, at, i64::try_from(max).unwrap_or(i64::MAX)).is_none() {
            return self.no_cached_login(user, format!("the cached password is from the online login of {}, older than [offline] credentials_max_age = {max} s (or later than now: the clock went back)", utc(at)));
        }
        if let Err(v) = self.offline_caller(&rec, peer) {
            return v;
        }
        let attempt = match self.begin_attempt(user, now) {
            Ok(a) => a,
            Err(v) => return v,
        };
        let secret = Zeroizing::new(pw.as_bytes().to_vec());
        if !verify_bounded(secret, phc.clone()).await {
            return self.offline_wrong_password(&attempt);
        }
        if let Err(v) = self.end_attempt(user, &phc, &attempt) {
            return v;
        }
        if let Some(f) = &rec.facts {
            if let Err(v) = self.offline_rules(f, user, None) {
                return v;
            }
        }
        Verdict::info(
            AuthCode::Success,
            MSG_CACHED_LOGIN,
            format!(
                "success offline: cached credentials of the online login of {} (no server answers)",
                utc(at)
            ),
        )
    }

    fn locked(&self, until: i64, now: i64) -> Verdict {
        let minutes = u64::try_from(until.saturating_sub(now))
            .unwrap_or(0)
            .div_ceil(60);
        Verdict::info(
            AuthCode::Denied,
            &msg_locked(minutes),
            format!("offline: refused, offline login locked until {} after [offline] failed_logins = {} wrong passwords", utc(until), self.cached.cfg.failed_logins),
        )
    }

    /// Under the lock: refused while offline login is locked; else the attempt counted as a
    /// wrong password (locking at `failed_logins` in a row) until its hash check says better.
    fn begin_attempt(&self, user: &str, now: i64) -> Step<Attempt> {
        let cfg = &self.cached.cfg;
        let (limit, lockout) = (cfg.failed_logins, cfg.lockout);
        let started = self.cached.try_update(user, |u| {
            if u.locked_until > now {
                return (Err(u.locked_until), false);
            }
            u.failures = u.failures.saturating_add(1);
            let mut a = Attempt {
                n: u.failures,
                locked: None,
            };
            if limit > 0 && u.failures >= limit {
                u.failures = 0;
                u.locked_until = now.saturating_add(i64::try_from(lockout).unwrap_or(0));
                a.locked = Some(u.locked_until);
            }
            (Ok(a), true)
        });
        match started {
            None => Err(self.no_cached_login(user, "the cached login was removed meanwhile")),
            Some(Err(until)) => Err(self.locked(until, now)),
            Some(Ok(a)) => Ok(a),
        }
    }

    /// The right password: the count cleared (and the lock this attempt set), unless another
    /// attempt locked offline login during the check or the hash changed meanwhile.
    fn end_attempt(&self, user: &str, phc: &str, a: &Attempt) -> Step<()> {
        let now = self.clock.unix_now();
        let ended = self.cached.try_update(user, |u| {
            if u.hash.as_ref().map(|h| h.0.as_str()) != Some(phc) {
                return (Err(None), false);
            }
            if u.locked_until > now && Some(u.locked_until) != a.locked {
                return (Err(Some(u.locked_until)), false);
            }
            u.failures = 0;
            u.locked_until = 0;
            (Ok(()), true)
        });
        match ended {
            Some(Ok(())) => Ok(()),
            Some(Err(Some(until))) => Err(self.locked(until, now)),
            None | Some(Err(None)) => {
                Err(self.no_cached_login(user, "the cached password was removed meanwhile"))
            }
        }
    }

    /// A non-root caller only for its own uid (known from the cached entry).
    fn offline_caller(&self, rec: &CachedLogin, peer: Peer) -> Step<()> {
        match &rec.facts {
            _ if peer.is_root() => Ok(()),
            Some(f) if f.passwd.uid == peer.uid => Ok(()),
            _ => Err(Verdict::warn(
                AuthCode::Refused,
                "",
                "offline: refused: a non-root caller may only authenticate its own account",
            )),
        }
    }

    /// A wrong offline password (already counted by [`Self::begin_attempt`]).
    fn offline_wrong_password(&self, a: &Attempt) -> Verdict {
        let cfg = &self.cached.cfg;
        let (n, limit, lockout) = (a.n, cfg.failed_logins, cfg.lockout);
        let rule = match a.locked {
            Some(_) => format!(
                "offline: wrong password ({n} of {limit}): offline login locked for {lockout} s"
            ),
            None => format!("offline: wrong password ({n} of {limit} before offline login locks)"),
        };
        Verdict::info(AuthCode::Denied, "", rule)
    }

    /// The account stage offline: the rules and the account state from the cached facts.
    pub(super) fn offline_account(&self, user: &str, ctx: &PamContext, peer: Peer) -> Verdict {
        let rec = self.cached.get(user).filter(|_| self.cached.enabled());
        let Some(f) = rec.as_ref().and_then(|r| r.facts.clone()) else {
            return self.no_cached_login(
                user,
                "no account facts cached (the account stage never ran online on this host)",
            );
        };
        if !peer.is_root() && peer.uid != f.passwd.uid {
            return Verdict::warn(
                AuthCode::Refused,
                "",
                "offline: refused: a non-root caller may only check its own account",
            );
        }
        match self.offline_rules(&f, user, Some(ctx)) {
            Ok(why) => Verdict::info(
                AuthCode::Success,
                "",
                format!(
                    "allowed offline ({why}; from the account stage of {})",
                    utc(f.at)
                ),
            ),
            Err(v) => v,
        }
    }

    /// The access rules and the account state, evaluated from `f`. `ctx` None (the auth
    /// stage): the access filter is left to the account stage.
    fn offline_rules(&self, f: &CachedFacts, user: &str, ctx: Option<&PamContext>) -> Step<String> {
        let mut why = "no access rules".to_string();
        if self.rules_configured() {
            let facts = self.offline_facts(f, user, ctx)?;
            match decide(&facts, &self.pam.allow_groups, &self.pam.deny_groups) {
                Decision::Deny(rule) => {
                    return Err(Verdict::info(
                        AuthCode::AccountDenied,
                        &format!("Access denied: {rule}."),
                        format!("denied offline ({rule}; facts of {})", utc(f.at)),
                    ))
                }
                Decision::Allow(w) => why = w,
            }
        }
        let schema = self.accounts.schema(f.block as usize);
        let (code, message, rule) =
            match account_state::evaluate(&f.entry, schema, self.clock.unix_now()) {
                State::Usable { .. } => return Ok(why),
                State::Disabled { rule, message } => (AuthCode::AccountDenied, message, rule),
                State::Expired { rule, message } => (AuthCode::Expired, message, rule),
                // No password can be changed while the directory cannot be reached.
                State::MustChange { rule, message } => (AuthCode::AccountDenied, message, rule),
            };
        Err(Verdict::info(
            code,
            &message,
            format!("denied offline (account state: {rule})"),
        ))
    }

    fn offline_facts(&self, f: &CachedFacts, user: &str, ctx: Option<&PamContext>) -> Step<Facts> {
        let unchecked = |why: String| {
            Verdict::warn(
                AuthCode::AccountDenied,
                MSG_RULES_UNCHECKED,
                format!("denied offline: {why}"),
            )
        };
        let (can_allow, any_mapping) = self.accounts.mappings();
        let need_groups =
            !self.pam.allow_groups.is_empty() || !self.pam.deny_groups.is_empty() || any_mapping;
        let groups = match (&f.groups, need_groups) {
            (Some(g), _) => g.clone(),
            (None, false) => Vec::new(),
            (None, true) => {
                return Err(unchecked(
                    "the groups were not evaluated at the last online account stage".into(),
                ))
            }
        };
        let filter_matches = match (&self.pam.access_filter, ctx) {
            (None, _) | (Some(_), None) => None,
            (Some(t), Some(ctx)) => {
                let filled = fill_filter(t, user, &self.hostname, ctx, &f.passwd, &f.entry)
                    .map_err(unchecked)?;
                match &f.filter {
                    Some((sent, m)) if *sent == filled => Some(*m),
                    _ => {
                        return Err(unchecked(format!(
                        "access_filter {filled} was not evaluated online for this service and host"
                    )))
                    }
                }
            }
        };
        Ok(Facts {
            groups,
            mapping: f.mapping.clone(),
            mappings_can_allow: can_allow,
            filter_matches,
        })
    }

    /// After a successful online login: the password's hash, made off the request thread
    /// (in one of the Argon2 turns, `cached.rs`).
    pub(super) fn learn_password(&self, user: &str, pw: &str) {
        if !self.cached.enabled() {
            return;
        }
        let (cached, name, now) = (self.cached.clone(), user.to_string(), self.clock.unix_now());
        let secret = Zeroizing::new(pw.as_bytes().to_vec());
        let generation = cached.generation(user);
        tokio::spawn(async move {
            if let Some(h) = hash_bounded(secret).await {
                cached.update(&name, |u| {
                    if u.generation != generation {
                        return; // refused online since this login: not stored
                    }
                    u.hash = Some((h, now));
                    u.failures = 0;
                    u.locked_until = 0;
                });
            }
        });
    }

    /// The directory refused the password (online): the cached one is removed.
    pub(super) fn forget_password(&self, user: &str) {
        if !self.cached.enabled() {
            return;
        }
        let had = self.cached.get(user).is_some_and(|u| u.hash.is_some());
        // Also when no hash is stored yet: one being made for an earlier login is dropped.
        let next = self.cached.next_generation();
        self.cached.update(user, |u| {
            u.hash = None;
            u.generation = next;
        });
        if had {
            info!("{user}: cached password removed: the directory refused the password");
        }
    }

    /// The online account stage read the user: its entry is what offline login looks at
    /// (the groups and filter follow in [`Self::learn_facts`]; until then, none).
    pub(super) fn learn_entry(&self, user: &str, bi: usize, p: &Passwd, entry: &Entry) {
        if !self.cached.enabled() {
            return;
        }
        let at = self.clock.unix_now();
        self.cached.update(user, |u| {
            u.facts = Some(CachedFacts {
                block: bi as u32,
                passwd: p.clone(),
                entry: entry.clone(),
                groups: None,
                mapping: None,
                filter: None,
                at,
            });
        });
    }

    /// The online account stage evaluated the rules' facts (`groups`: whether the groups
    /// were among them; `filter`: the access filter as sent).
    pub(super) fn learn_facts(
        &self,
        user: &str,
        facts: &Facts,
        groups: bool,
        filter: Option<&str>,
    ) {
        if !self.cached.enabled() {
            return;
        }
        self.cached.update(user, |u| {
            if let Some(f) = u.facts.as_mut() {
                if groups {
                    f.groups = Some(facts.groups.clone());
                    f.mapping = facts.mapping.clone();
                }
                f.filter = filter
                    .zip(facts.filter_matches)
                    .map(|(s, m)| (s.to_string(), m));
            }
        });
    }
}

/// `[pam] access_filter` filled in as the account stage fills it.
pub(super) fn fill_filter(
    t: &str,
    user: &str,
    hostname: &str,
    ctx: &PamContext,
    p: &Passwd,
    entry: &Entry,
) -> Result<String, String> {
    let uid = p.uid.to_string();
    let vars = [
        ("username", user),
        ("hostname", hostname),
        ("service", ctx.service.as_str()),
        ("rhost", ctx.rhost.as_str()),
        ("tty", ctx.tty.as_str()),
        ("uid", uid.as_str()),
        ("dn", entry.dn.as_str()),
    ];
    filter::fill_template(t, &vars)
}
