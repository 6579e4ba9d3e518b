//! What the login room needs from the directory, as a trait: the real implementation is
//! `backend.rs` (the directory and the answer cache); the unit tests use a fake, so every
//! login decision is tested without a server (as `pam_flow` is tested with a scripted daemon).

use crate::directory::mappings::MappingMatch;
use crate::directory::Reject;
use crate::ldap::{BindResult, ChangeOutcome, DirError, Entry, PasswordChange};
use ldaprs_common::config::Schema;
use ldaprs_common::protocol::Passwd;
use std::future::Future;

/// Why an entry that a bind read is not a user we answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryRefusal {
    /// The name or uid is local (or ignored).
    Local,
    /// The entry breaks a record rule.
    Unacceptable(Reject),
}

/// The groups the access rules look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessGroups {
    /// Names of every group the user is in (nested ones, non-POSIX ones, the primary group).
    pub groups: Vec<String>,
    /// The first group mapping that matched, if any.
    pub mapping: Option<MappingMatch>,
}

/// A user found for a login: block index, passwd record and entry.
pub type Found = (usize, Passwd, Entry);

pub trait Accounts: Send + Sync {
    /// How many `[[servers]]` blocks there are (indexes 0..n in config order).
    fn blocks(&self) -> usize;
    fn block_name(&self, i: usize) -> String;
    fn schema(&self, i: usize) -> Schema;
    /// The block's `user_dn_pattern`, if it binds without a search.
    fn dn_pattern(&self, i: usize) -> Option<String>;
    /// The block's `admin_dn` and its password, for root's password resets.
    fn admin(&self, i: usize) -> Option<(String, String)>;
    /// Whether some group mapping can allow a login, and whether any mapping exists.
    fn mappings(&self) -> (bool, bool);
    fn is_local_user(&self, name: &str) -> bool;

    /// The users named exactly `name` in block `i`, with their DNs (a fresh search).
    fn find_user(
        &self,
        i: usize,
        name: &str,
    ) -> impl Future<Output = Result<Vec<(Passwd, String)>, DirError>> + Send;
    /// The user's record as the daemon answers lookups (cache first), if it knows the name:
    /// what a non-root caller is checked against before a bind from `user_dn_pattern`.
    fn known_user(&self, name: &str) -> impl Future<Output = Option<Passwd>> + Send;
    /// Binds as `dn`; with `read_entry`, reads the entry as the user.
    fn bind(
        &self,
        i: usize,
        dn: &str,
        password: &str,
        read_entry: bool,
    ) -> impl Future<Output = Result<BindResult, DirError>> + Send;
    /// Whether block `i` checks passwords with Kerberos (`[servers.auth] method = "krb5"`).
    fn kerberos(&self, _i: usize) -> bool {
        false
    }
    /// The password of the user found at `dn` (named `name` there) checked by the KDC and
    /// the ticket verified against the host keytab (`login/krb5.rs`), as a bind's result.
    fn kerberos_login(
        &self,
        _i: usize,
        _dn: &str,
        _name: &str,
        _password: &str,
    ) -> impl Future<Output = Result<BindResult, DirError>> + Send {
        async { Err(DirError::Unreachable("no Kerberos logins here".into())) }
    }
    /// The password of the user at `dn` (named `user`) changed at the KDC with the current
    /// one (kpasswd).
    fn kerberos_change(
        &self,
        _i: usize,
        _dn: &str,
        _user: &str,
        _old: &str,
        _new: &str,
    ) -> impl Future<Output = Result<ChangeOutcome, DirError>> + Send {
        async { Err(DirError::Server("no Kerberos password changes here".into())) }
    }
    /// The passwd record of an entry a bind read, if it is a user we answer.
    fn accept_entry(&self, i: usize, entry: &Entry, name: &str) -> Result<Passwd, EntryRefusal>;
    /// Remembers a successful login: where the user lives, its record, its entry.
    fn remember_login(&self, name: &str, i: usize, dn: &str, p: &Passwd, entry: Option<Entry>);
    /// The user, fresh from the directory, with the login attributes.
    fn fresh_user(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Found>, DirError>> + Send;
    /// The user as its own recent bind read it (when the daemon cannot search).
    fn bound_user(&self, name: &str) -> Option<Found>;
    /// Every group of the user (complete, or an error), the primary group `gid` included.
    fn access_groups(
        &self,
        name: &str,
        i: usize,
        entry: &Entry,
        gid: u32,
    ) -> impl Future<Output = Result<AccessGroups, DirError>> + Send;
    /// Whether the entry `dn` of block `i` matches filter `f` (a base-scope read).
    fn entry_matches(
        &self,
        i: usize,
        dn: &str,
        f: &str,
    ) -> impl Future<Output = Result<bool, DirError>> + Send;
    fn change_password(
        &self,
        i: usize,
        c: &PasswordChange<'_>,
    ) -> impl Future<Output = Result<ChangeOutcome, DirError>> + Send;
    /// Forgets what is cached about the user (after a password change).
    fn forget_user(&self, name: &str);
    /// Whether every URI of every block is down (offline mode: cached logins are used).
    fn offline(&self) -> bool {
        false
    }
}
