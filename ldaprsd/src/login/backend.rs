//! The real [`Accounts`]: the directory for users, binds and groups, the answer cache for
//! what a login teaches (the user's record) and for the primary group's name.

use super::accounts::{AccessGroups, Accounts, EntryRefusal, Found};
use crate::answers::{Answers, Key};
use crate::directory::mappings::first_mapping;
use crate::directory::{BoundUser, Directory, Reject};
use crate::ldap::{BindResult, ChangeOutcome, DirError, Entry, PasswordChange, ServerBlock};
use ldaprs_common::config::Schema;
use ldaprs_common::filter::eq;
use ldaprs_common::protocol::{Passwd, Response};
use std::sync::Arc;

pub struct DirectoryAccounts {
    pub dir: Arc<Directory>,
    pub answers: Arc<Answers>,
}

fn no_block() -> DirError {
    DirError::Server("no such server block".into())
}

impl DirectoryAccounts {
    fn block(&self, i: usize) -> Result<&ServerBlock, DirError> {
        self.dir.blocks().get(i).ok_or_else(no_block)
    }

    /// The Kerberos principal of the user entry at `dn` named `name`: its
    /// `[servers.auth] principal_attribute` (exactly one value), else `name@realm`.
    /// `Ok(Err(why))`: the entry gives none.
    async fn principal(
        &self,
        b: &ServerBlock,
        dn: &str,
        name: &str,
    ) -> Result<Result<String, String>, DirError> {
        let auth = &b.cfg.auth;
        let Some(attr) = &auth.principal_attribute else {
            return Ok(Ok(crate::krb::login::principal_of(auth, name)));
        };
        let entry = b
            .read_entry(dn, "(objectClass=*)", std::slice::from_ref(attr))
            .await?;
        let values: Vec<&String> = entry
            .iter()
            .flat_map(|e| e.attrs.iter())
            .filter(|(k, _)| k.eq_ignore_ascii_case(attr))
            .flat_map(|(_, v)| v.iter())
            .collect();
        match values.as_slice() {
            [one] if !one.is_empty() => Ok(Ok(crate::krb::login::principal_from_value(auth, one))),
            [] => Ok(Err(format!("the entry {dn} has no {attr} ([servers.auth] principal_attribute): no Kerberos principal"))),
            many => Ok(Err(format!("the entry {dn} has {} values of {attr} ([servers.auth] principal_attribute): which principal is meant is unclear", many.len()))),
        }
    }
}

impl Accounts for DirectoryAccounts {
    fn blocks(&self) -> usize {
        self.dir.blocks().len()
    }

    fn block_name(&self, i: usize) -> String {
        self.block(i)
            .map(|b| b.name().to_string())
            .unwrap_or_default()
    }

    fn schema(&self, i: usize) -> Schema {
        self.block(i).map(|b| b.eff.schema).unwrap_or_default()
    }

    fn dn_pattern(&self, i: usize) -> Option<String> {
        self.block(i).ok()?.cfg.user_dn_pattern.clone()
    }

    fn admin(&self, i: usize) -> Option<(String, String)> {
        let (dn, pw) = self.block(i).ok()?.admin()?;
        Some((dn.to_string(), pw.to_string()))
    }

    fn mappings(&self) -> (bool, bool) {
        let blocks = self.dir.blocks();
        (
            blocks
                .iter()
                .any(|b| b.cfg.group_mappings.iter().any(|m| m.allow_login)),
            blocks.iter().any(|b| !b.cfg.group_mappings.is_empty()),
        )
    }

    fn is_local_user(&self, name: &str) -> bool {
        self.dir.is_local_user(name)
    }

    async fn find_user(&self, i: usize, name: &str) -> Result<Vec<(Passwd, String)>, DirError> {
        let b = self.block(i)?;
        let entries = b.find_users(&eq(&b.eff.attr_name, name), false).await?;
        Ok(self.dir.convert_users(b, &entries, Some(name)))
    }

    async fn known_user(&self, name: &str) -> Option<Passwd> {
        match &*self
            .answers
            .lookup(0, Key::UserName(name.to_string()))
            .await
        {
            Response::User(p) => Some(p.clone()),
            _ => None,
        }
    }

    async fn bind(
        &self,
        i: usize,
        dn: &str,
        password: &str,
        read_entry: bool,
    ) -> Result<BindResult, DirError> {
        let b = self.block(i)?;
        let attrs = read_entry.then(|| b.account_attrs());
        b.user_bind(dn, password, attrs.as_deref()).await
    }

    fn kerberos(&self, i: usize) -> bool {
        self.block(i)
            .is_ok_and(|b| b.cfg.auth.method == ldaprs_common::config::AuthMethod::Krb5)
    }

    async fn kerberos_login(
        &self,
        i: usize,
        dn: &str,
        name: &str,
        password: &str,
    ) -> Result<BindResult, DirError> {
        let b = self.block(i)?;
        let principal = match self.principal(b, dn, name).await? {
            Ok(p) => p,
            Err(why) => return Ok(super::krb5::no_principal(why, b.name())),
        };
        // The AS exchange and the verification: two KDC round trips at most.
        let timeout = ldaprs_common::config::seconds(b.cfg.timeout) * 2;
        let o = crate::krb::login::password_login(&b.cfg.auth, &principal, password, timeout).await;
        super::krb5::as_bind_result(o, b.name())
    }

    async fn kerberos_change(
        &self,
        i: usize,
        dn: &str,
        user: &str,
        old: &str,
        new: &str,
    ) -> Result<ChangeOutcome, DirError> {
        let b = self.block(i)?;
        let principal = match self.principal(b, dn, user).await? {
            Ok(p) => p,
            Err(why) => return Err(DirError::Server(format!("server {}: {why}", b.name()))),
        };
        let timeout = ldaprs_common::config::seconds(b.cfg.timeout) * 2;
        let mut o = crate::krb::kpasswd::change(&principal, old, new, timeout).await;
        // A change is believed only when the new password then logs in with a ticket that
        // our keytab verifies (a spoofed KDC could "accept" any change).
        if o == crate::krb::kpasswd::KpasswdOutcome::Changed {
            let check =
                crate::krb::login::password_login(&b.cfg.auth, &principal, new, timeout).await;
            if !matches!(check, crate::krb::login::KrbOutcome::Verified { .. }) {
                o = crate::krb::kpasswd::KpasswdOutcome::Failed(format!(
                    "kpasswd said the password of {principal} was changed, but the new one does not give a verified ticket ({check:?}): refused"
                ));
            }
        }
        super::krb5::as_change_outcome(o, b.name())
    }

    fn accept_entry(&self, i: usize, entry: &Entry, name: &str) -> Result<Passwd, EntryRefusal> {
        let b = self
            .block(i)
            .map_err(|_| EntryRefusal::Unacceptable(Reject::NameMismatch))?;
        let local = self.dir.local().fresh_db();
        match self.dir.user_record(b, entry, Some(name), &local) {
            Ok(p) => Ok(p),
            Err(Reject::Local(_)) => Err(EntryRefusal::Local),
            Err(r) => Err(EntryRefusal::Unacceptable(r)),
        }
    }

    fn remember_login(&self, name: &str, i: usize, dn: &str, p: &Passwd, entry: Option<Entry>) {
        // The account stage and NSS may not be able to search without a service account.
        self.dir.remember_dn(name, i, dn);
        self.answers.remember_user(name, p);
        self.dir.remember_bound(
            name,
            BoundUser {
                block: i,
                dn: dn.to_string(),
                entry,
            },
        );
    }

    async fn fresh_user(&self, name: &str) -> Result<Option<Found>, DirError> {
        self.dir.user_entry_fresh(name).await
    }

    fn bound_user(&self, name: &str) -> Option<Found> {
        let memo = self.dir.bound_user(name)?;
        let entry = memo.entry?;
        let b = self.dir.blocks().get(memo.block)?;
        self.dir
            .convert_users(b, std::slice::from_ref(&entry), Some(name))
            .pop()
            .map(|(p, _)| (memo.block, p, entry))
    }

    async fn access_groups(
        &self,
        name: &str,
        i: usize,
        entry: &Entry,
        gid: u32,
    ) -> Result<AccessGroups, DirError> {
        let per_block = self
            .dir
            .all_block_groups(name, Some((i, &entry.dn, Some(entry))), true)
            .await?;
        let mut out = AccessGroups::default();
        for (b, bg) in self.dir.blocks().iter().zip(&per_block) {
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
                    if !out.groups.contains(n) {
                        out.groups.push(n.clone());
                    }
                }
            }
        }
        if let Some(n) = self.answers.primary_group_name(gid).await? {
            if !out.groups.contains(&n) {
                out.groups.push(n);
            }
        }
        out.mapping = self
            .dir
            .blocks()
            .iter()
            .zip(&per_block)
            .find_map(|(b, bg)| first_mapping(b.name(), &b.cfg.group_mappings, &bg.all));
        Ok(out)
    }

    async fn entry_matches(&self, i: usize, dn: &str, f: &str) -> Result<bool, DirError> {
        let b = self.block(i)?;
        Ok(b.read_entry(dn, f, &["1.1".to_string()]).await?.is_some())
    }

    async fn change_password(
        &self,
        i: usize,
        c: &PasswordChange<'_>,
    ) -> Result<ChangeOutcome, DirError> {
        self.block(i)?.change_password(c).await
    }

    fn forget_user(&self, name: &str) {
        self.answers.forget_user(name);
        self.dir.forget_bound(name);
    }

    fn offline(&self) -> bool {
        let offline = self.answers.is_offline();
        if offline {
            self.answers.probe_soon();
        }
        offline
    }
}
