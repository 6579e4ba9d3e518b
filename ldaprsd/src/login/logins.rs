//! What the login room keeps: the directory behind [`Accounts`], the `[pam]` rules, this
//! host's name (for `$hostname` in the access filter), and what the last successful bind said
//! about a pending password change. `authenticate.rs`, `account.rs` and `password.rs` are the
//! three PAM stages, each an `impl Logins` of its own.

use super::accounts::{Accounts, Found};
use super::cached::Credentials;
use crate::clock::Clock;
use crate::debug;
use crate::ldap::DirError;
use crate::ttl_cache::TtlCache;
use ldaprs_common::config::{OfflineSection, PamSection};
use std::sync::Arc;
use std::time::Duration;

/// What a user's last successful bind said about its password: the DN it bound as, and, when
/// the password policy demands a new password (a grace login, a reset), why (for the log) and
/// what the user is told.
#[derive(Clone, Debug)]
pub struct MustChange {
    pub dn: String,
    pub why: Option<(String, &'static str)>,
}

/// How long what a bind taught is kept: long enough for the account and password stages of
/// the same login, whatever `[cache] entry_ttl` says (0 turns the answer cache off, not this).
pub const MEMO_TTL: Duration = Duration::from_secs(600);

pub struct Logins<A: Accounts> {
    pub(super) accounts: A,
    pub(super) pam: PamSection,
    /// For `$hostname` in the access filter (gethostname(2), never DNS).
    pub(super) hostname: String,
    pub(super) memo: TtlCache<String, MustChange>,
    pub(super) clock: Arc<dyn Clock>,
    /// The cached logins for offline mode (`cached.rs`; disabled unless given).
    pub(super) cached: Arc<Credentials>,
}

impl<A: Accounts> Logins<A> {
    pub fn new(accounts: A, pam: PamSection, hostname: String, clock: Arc<dyn Clock>) -> Self {
        Logins {
            accounts,
            pam,
            hostname,
            memo: TtlCache::default(),
            clock,
            cached: Arc::new(Credentials::disabled(&OfflineSection::default())),
        }
    }

    /// Uses `cached` for offline logins (`[offline] cache_credentials`).
    pub fn with_credentials(mut self, cached: Arc<Credentials>) -> Self {
        self.cached = cached;
        self
    }

    pub fn credentials(&self) -> &Arc<Credentials> {
        &self.cached
    }

    pub fn accounts(&self) -> &A {
        &self.accounts
    }

    /// Forgets the pending password changes (cache flush).
    pub fn flush(&self) {
        self.memo.clear();
    }

    /// Whether any rule restricts logins (then not being able to evaluate it denies).
    pub(super) fn rules_configured(&self) -> bool {
        self.pam.has_rules() || self.accounts.mappings().0
    }

    /// The user for the account and password stages: fresh from the directory, or, where the
    /// daemon cannot search (`user_dn_pattern` without a service account), the entry the
    /// user's own bind read a moment ago.
    pub(super) async fn account_user(&self, user: &str) -> Result<Option<Found>, DirError> {
        let fresh = self.accounts.fresh_user(user).await;
        if let Ok(Some(found)) = fresh {
            return Ok(Some(found));
        }
        match (self.accounts.bound_user(user), fresh) {
            (Some(found), Err(e)) => {
                debug!("{user}: the directory cannot be searched ({e}); using the entry read by the user's own bind");
                Ok(Some(found))
            }
            (Some(found), _) => Ok(Some(found)),
            (None, fresh) => fresh,
        }
    }
}
