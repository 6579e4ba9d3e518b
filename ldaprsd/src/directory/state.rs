//! What the directory room keeps between requests: the server blocks, where each user's entry
//! lives (for membership by DN and for binds), member DN → name, and the local-names policy.
//! The lookups themselves are in `users.rs`, `groups.rs`, `membership.rs` and
//! `initgroups.rs`, each an `impl Directory` of its own concern.

use super::local::LocalFiles;
use super::local_policy::LocalPolicy;
use super::records::{IdLimits, Reject};
use crate::clock::Clock;
use crate::ldap::{DirError, Entry, ServerBlock};
use crate::ttl_cache::TtlCache;
use crate::{debug, warn};
use ldaprs_common::config::{Config, Membership};
use std::sync::Arc;
use std::time::Duration;

/// A failed lookup: `Err` when no block could answer.
pub type Lookup<T> = Result<Option<T>, DirError>;

pub struct Directory {
    pub(super) blocks: Vec<ServerBlock>,
    /// user name → (block index, DN), for membership by DN and for binds.
    pub(super) user_dns: TtlCache<String, (usize, String)>,
    /// member DN → user name (None: not a user).
    pub(super) dn_names: TtlCache<String, Option<String>>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) entry_ttl: Duration,
    pub(super) limits: IdLimits,
    /// `/etc/passwd`, `/etc/group` and the ignore lists: never answered from the directory.
    pub(super) local: LocalPolicy,
    /// What each user's own successful bind read (see [`BoundUser`]).
    pub(super) bound: TtlCache<String, BoundUser>,
    /// Hidden entries already warned about in this cache period.
    pub(super) warned: TtlCache<String, ()>,
    /// The membership forms each block's directory uses (see `forms.rs`).
    pub(super) forms: TtlCache<String, Vec<Membership>>,
    /// `block|SID` → the group it names as (DN, name, gid) (None: no group under the base),
    /// and whether it is a POSIX group (`token_groups.rs`).
    pub(super) sid_groups: TtlCache<String, SidGroup>,
}

/// A group found by its SID: (DN, name, gid) or None, and whether it is a POSIX group.
pub type SidGroup = (Option<(String, Option<String>, Option<u32>)>, bool);

/// What a user's own successful bind taught: where the user lives, and its entry when the
/// daemon can only read it as the user (`user_dn_pattern` without a service account).
#[derive(Clone, Debug)]
pub struct BoundUser {
    pub block: usize,
    pub dn: String,
    pub entry: Option<Entry>,
}

/// How long what a bind taught is kept: long enough for the account and password stages of
/// the same login, whatever `[cache] entry_ttl` says (0 turns the answer cache off, not this).
pub const BOUND_TTL: Duration = Duration::from_secs(600);

impl Directory {
    pub fn new(
        cfg: &Config,
        blocks: Vec<ServerBlock>,
        clock: Arc<dyn Clock>,
        local: LocalFiles,
    ) -> Directory {
        Directory {
            blocks,
            user_dns: TtlCache::default(),
            dn_names: TtlCache::default(),
            clock,
            entry_ttl: Duration::from_secs(cfg.cache.entry_ttl),
            limits: IdLimits {
                min_uid: cfg.nss.min_uid,
                min_gid: cfg.nss.min_gid(),
                allow_primary_gids: cfg.nss.allow_primary_gids.clone(),
            },
            local: LocalPolicy::new(local, &cfg.nss),
            bound: TtlCache::default(),
            warned: TtlCache::default(),
            forms: TtlCache::default(),
            sid_groups: TtlCache::default(),
        }
    }

    pub fn blocks(&self) -> &[ServerBlock] {
        &self.blocks
    }

    pub fn limits(&self) -> &IdLimits {
        &self.limits
    }

    /// Logs, once per cache period, that block `b` has an entry we do not serve, and why.
    pub(super) fn hidden(&self, b: &ServerBlock, what: &str, dn: &str, why: &Reject) {
        if !why.worth_warning() {
            debug!(
                "server {}: skipping {what} {dn}: {}",
                b.name(),
                why.reason()
            );
            return;
        }
        let key = format!("{}\0{dn}\0{why:?}", b.name());
        if self.warned.get(&key, self.clock.now()).is_some() {
            return;
        }
        // At least a minute, so a short TTL does not turn this into a flood.
        let period = self.entry_ttl.max(Duration::from_secs(60));
        self.warned.put(key, (), period, self.clock.now());
        let change = why
            .config_key()
            .map(|k| format!(" ({k} to change it)"))
            .unwrap_or_default();
        warn!(
            "server {}: {what} {dn} is not served: {}{change}",
            b.name(),
            why.reason()
        );
    }

    pub fn local(&self) -> &LocalPolicy {
        &self.local
    }

    /// A user name that only the local files (or `ignore_users`) may answer.
    pub fn is_local_user(&self, name: &str) -> bool {
        self.local.user(&self.local.db(), name)
    }

    /// Where the user's entry was last seen: block index and DN.
    pub fn user_dn(&self, name: &str) -> Option<(usize, String)> {
        self.user_dns.get(&name.to_string(), self.clock.now())
    }

    /// Remembers where a user's entry lives (learnt from a search or a bind).
    pub fn remember_dn(&self, name: &str, block: usize, dn: &str) {
        self.user_dns.put(
            name.to_string(),
            (block, dn.to_string()),
            self.entry_ttl,
            self.clock.now(),
        );
    }

    /// Remembers what a user's own bind read.
    pub fn remember_bound(&self, name: &str, b: BoundUser) {
        self.bound
            .put(name.to_string(), b, BOUND_TTL, self.clock.now());
    }

    /// What the user's last successful bind read, if it is recent.
    pub fn bound_user(&self, name: &str) -> Option<BoundUser> {
        self.bound.get(&name.to_string(), self.clock.now())
    }

    /// Forgets what a user's bind taught (after a password change).
    pub fn forget_bound(&self, name: &str) {
        self.bound.remove(&name.to_string());
    }

    /// Forgets the DN caches (cache flush).
    pub fn flush(&self) {
        self.user_dns.clear();
        self.dn_names.clear();
        self.bound.clear();
        self.warned.clear();
    }

    /// Background work: probe dead URIs so that requests never pay for it.
    pub async fn probe_dead(&self) {
        futures_util::future::join_all(self.blocks.iter().map(|b| b.probe_dead())).await;
    }

    /// Asks each block in order; the first block that finds something answers. `Err` only when
    /// nothing was found and at least one block could not be asked.
    pub(super) async fn first_hit<'s, T, F, Fut>(&'s self, mut ask: F) -> Lookup<T>
    where
        F: FnMut(usize, &'s ServerBlock) -> Fut,
        Fut: std::future::Future<Output = Lookup<T>> + 's,
    {
        let mut err = None;
        for (i, b) in self.blocks.iter().enumerate() {
            match ask(i, b).await {
                Ok(Some(t)) => return Ok(Some(t)),
                Ok(None) => {}
                Err(e) => {
                    warn!("{e}");
                    err = Some(e);
                }
            }
        }
        match err {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }
}
