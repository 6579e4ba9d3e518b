//! The account stage: the access rules (deny groups, the access filter, allow groups and
//! group mappings; `access.rs`), then the account's state (`account_state.rs`) and a password
//! change the last bind was told is due. A rule that cannot be evaluated denies.

use super::access::{decide, Decision, DenyRule, Facts};
use super::account_state::{self, State};
use super::accounts::{Accounts, Found};
use super::logins::Logins;
use super::offline::fill_filter;
use super::verdict::{Step, Verdict, MSG_RULES_UNCHECKED};
use crate::debug;
use crate::ldap::{DirError, Entry};
use crate::peer::Peer;
use ldaprs_common::names::valid_name;
use ldaprs_common::protocol::{AuthCode, PamContext, Passwd, Response};

impl<A: Accounts> Logins<A> {
    pub async fn account(&self, id: u64, user: &str, ctx: &PamContext, peer: Peer) -> Response {
        let who = format!(
            "req={id} account user={user} service={} rhost={} peer_uid={}",
            ctx.service, ctx.rhost, peer.uid
        );
        // Offline with cached logins: never wait for a server (without them, the steps below
        // end as they always did: unavailable, or denied when rules cannot be checked).
        let cached = self.cached.enabled();
        if cached && self.accounts.offline() {
            return self.offline_account(user, ctx, peer).conclude(&who);
        }
        match self.account_steps(&who, user, ctx, peer, true).await {
            // The servers went dark during this check.
            Ok((v, _)) | Err(v)
                if cached
                    && matches!(v.code, AuthCode::Unavailable | AuthCode::AccountDenied)
                    && self.accounts.offline() =>
            {
                v.conclude(&who);
                self.offline_account(user, ctx, peer).conclude(&who)
            }
            Ok((v, _)) | Err(v) => v.conclude(&who),
        }
    }

    /// The account stage of service `sshd` for sshd's `AuthorizedKeysCommand`: the same
    /// steps, without the caller check (sshd asks as `nobody`, for any user; the answer holds
    /// public keys only, never the verdict's words). The logged verdict, and the user's block
    /// and entry (read with the key attribute) when the user may log in.
    pub async fn account_for_keys(
        &self,
        id: u64,
        user: &str,
        peer: Peer,
    ) -> (AuthCode, Option<(usize, Entry)>) {
        let ctx = PamContext {
            service: "sshd".into(),
            ..PamContext::default()
        };
        let who = format!(
            "req={id} ssh keys user={user} service=sshd peer_uid={}",
            peer.uid
        );
        match self.account_steps(&who, user, &ctx, peer, false).await {
            Ok((v, (bi, _, entry))) if v.code == AuthCode::Success => {
                v.conclude(&who);
                (AuthCode::Success, Some((bi, entry)))
            }
            Ok((v, _)) | Err(v) => {
                let code = v.code;
                v.conclude(&who);
                (code, None)
            }
        }
    }

    /// The verdict, and the user it is about. `check_caller`: a non-root peer may only ask
    /// about its own account.
    async fn account_steps(
        &self,
        who: &str,
        user: &str,
        ctx: &PamContext,
        peer: Peer,
        check_caller: bool,
    ) -> Step<(Verdict, Found)> {
        if !valid_name(user) {
            return Err(Verdict::silent(AuthCode::UserUnknown, ""));
        }
        if self.accounts.is_local_user(user) {
            return Err(Verdict::info(
                AuthCode::UserUnknown,
                "",
                "a local user (/etc/passwd or ignore_users): not asked to the directory",
            ));
        }
        let rules = self.rules_configured();
        let (bi, p, entry) = match self.account_user(user).await {
            Ok(Some(x)) => x,
            Ok(None) => {
                return Err(Verdict::info(AuthCode::UserUnknown, "", "no such user in the directory"))
            }
            Err(e) if rules => return Err(Verdict::warn(AuthCode::AccountDenied, MSG_RULES_UNCHECKED, format!("denied: the user could not be read, so the access rules could not be checked: {e}"))),
            Err(e) => {
                return Err(Verdict::warn(AuthCode::Unavailable, "", format!("directory unavailable: {e}")))
            }
        };
        self.learn_entry(user, bi, &p, &entry);
        if check_caller && !peer.is_root() && peer.uid != p.uid {
            return Err(Verdict::warn(
                AuthCode::Refused,
                "",
                "refused: a non-root caller may only check its own account",
            ));
        }
        let allowed_by = if rules {
            self.apply_rules(who, user, &p, bi, &entry, ctx).await?
        } else {
            "no access rules".to_string()
        };
        let verdict = self.account_state(user, bi, &entry, &allowed_by);
        Ok((verdict, (bi, p, entry)))
    }

    /// The access rules' verdict: why the user may log in, or the denial.
    async fn apply_rules(
        &self,
        who: &str,
        user: &str,
        p: &Passwd,
        bi: usize,
        entry: &Entry,
        ctx: &PamContext,
    ) -> Step<String> {
        let (facts, sent) = match self.access_facts(user, p, bi, entry, ctx).await {
            Ok(x) => x,
            Err(e) => {
                return Err(Verdict::warn(
                    AuthCode::AccountDenied,
                    MSG_RULES_UNCHECKED,
                    format!("denied: the access rules could not be evaluated: {e}"),
                ))
            }
        };
        let shown_filter = sent.map(|f| format!(" {f}")).unwrap_or_default();
        match decide(&facts, &self.pam.allow_groups, &self.pam.deny_groups) {
            Decision::Deny(rule) => {
                // The filter as sent, so the admin sees what the user did not match.
                let logged = match rule {
                    DenyRule::AccessFilter => format!("{rule}{shown_filter}"),
                    _ => rule.to_string(),
                };
                Err(Verdict::info(
                    AuthCode::AccountDenied,
                    &format!("Access denied: {rule}."),
                    format!("denied ({logged})"),
                ))
            }
            Decision::Allow(why) => {
                debug!(
                    "{who}: groups {:?}, mapping {:?}{shown_filter}",
                    facts.groups, facts.mapping
                );
                Ok(why)
            }
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
        let (can_allow, any_mapping) = self.accounts.mappings();
        let mut facts = Facts {
            mappings_can_allow: can_allow,
            ..Default::default()
        };
        let groups =
            !self.pam.allow_groups.is_empty() || !self.pam.deny_groups.is_empty() || any_mapping;
        if groups {
            let g = self.accounts.access_groups(user, bi, entry, p.gid).await?;
            facts.groups = g.groups;
            facts.mapping = g.mapping;
        }
        let Some(t) = &self.pam.access_filter else {
            self.learn_facts(user, &facts, groups, None);
            return Ok((facts, None));
        };
        let f = fill_filter(t, user, &self.hostname, ctx, p, entry).map_err(DirError::Server)?;
        // Base scope on the user's own DN: a filter matching some other entry never lets this
        // user in (security.md AZ-07).
        facts.filter_matches = Some(self.accounts.entry_matches(bi, &entry.dn, &f).await?);
        self.learn_facts(user, &facts, groups, Some(&f));
        Ok((facts, Some(f)))
    }

    /// The account's state, then a password change the last bind was told is due.
    fn account_state(&self, user: &str, bi: usize, entry: &Entry, allowed_by: &str) -> Verdict {
        let schema = self.accounts.schema(bi);
        let memo = self
            .memo
            .get(&user.to_string(), self.clock.now())
            .filter(|m| m.dn == entry.dn);
        match account_state::evaluate(entry, schema, self.clock.unix_now()) {
            State::Disabled { rule, message } => Verdict::info(
                AuthCode::AccountDenied,
                &message,
                format!("denied (account state: {rule})"),
            ),
            State::Expired { rule, message } => Verdict::info(
                AuthCode::Expired,
                &message,
                format!("expired (account state: {rule})"),
            ),
            State::MustChange { rule, message } => Verdict::info(
                AuthCode::NewAuthtokRequired,
                &message,
                format!("password change required ({rule})"),
            ),
            State::Usable { warnings } => match memo.and_then(|m| m.why) {
                Some((rule, message)) => Verdict::info(
                    AuthCode::NewAuthtokRequired,
                    message,
                    format!("password change required ({rule})"),
                ),
                None => {
                    let told = if warnings.is_empty() {
                        String::new()
                    } else {
                        format!("; told: {}", warnings.join(" "))
                    };
                    Verdict::info(
                        AuthCode::Success,
                        &warnings.join("\n"),
                        format!("allowed ({allowed_by}){told}"),
                    )
                }
            },
        }
    }
}
