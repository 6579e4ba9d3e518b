//! A user's groups for `initgroups`: the POSIX groups of every block (after the id and
//! local-name checks) and the local group of the first matching group mapping.

use super::mappings::first_mapping;
use super::membership::{BlockGroups, UserRef};
use super::state::Directory;
use crate::ldap::{DirError, Entry};
use crate::{debug, warn};
use ldaprs_common::config::Membership;
use ldaprs_common::names::valid_name;
use ldaprs_common::protocol::Group;
use std::collections::HashSet;

/// Where the user lives: block index, DN and (when membership needs it) the entry.
type Home = (usize, String, Option<Entry>);

impl Directory {
    /// The supplementary groups (name and gid, members left empty) of a user known to exist.
    /// The local group of the first matching `[[servers.group_mappings]]` is added (its gid
    /// from `/etc/group`).
    pub async fn groups_of_user(&self, name: &str) -> Result<Vec<Group>, DirError> {
        let home = self.home_of(name).await?;
        let home_ref = home
            .as_ref()
            .map(|(i, dn, e)| (*i, dn.as_str(), e.as_ref()));
        let per_block = self.all_block_groups(name, home_ref, false).await?;
        let mut seen = HashSet::new();
        let mut out = self.posix_groups(name, &per_block, &mut seen);
        if let Some(g) = self.mapped_local_group(name, &per_block) {
            if seen.insert(g.gid) {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// Whether a user's groups can be found from the name alone (every block's membership is
    /// by member names, `memberUid`): then the search for the groups needs nothing from the
    /// user's entry and may go out together with the lookup that shows the user exists.
    pub async fn groups_by_name_only(&self) -> bool {
        for b in &self.blocks {
            let e = &b.eff;
            let by_entry = e.attr_member_of.is_some()
                || e.token_groups
                || matches!(&e.group_search, Some((_, Some(_))))
                || !b.cfg.group_mappings.is_empty();
            if by_entry {
                return false;
            }
            if e.group_search.is_none()
                && self
                    .member_forms(b)
                    .await
                    .iter()
                    .any(|f| !matches!(f, Membership::Names(_)))
            {
                return false;
            }
        }
        true
    }

    /// As [`Directory::groups_of_user`], for membership by names only (see
    /// [`Directory::groups_by_name_only`]): no DN, no entry.
    pub async fn groups_of_named_user(&self, name: &str) -> Result<Vec<Group>, DirError> {
        let per_block = self.all_block_groups(name, None, false).await?;
        let mut seen = HashSet::new();
        Ok(self.posix_groups(name, &per_block, &mut seen))
    }

    /// Where the user lives. Membership by `memberOf` or by a user attribute needs the entry
    /// itself (fresh, or as the user's own bind read it); otherwise the DN is enough.
    async fn home_of(&self, name: &str) -> Result<Option<Home>, DirError> {
        let needs_entry = self.blocks.iter().any(|b| {
            b.eff.attr_member_of.is_some()
                || matches!(&b.eff.group_search, Some((_, Some(a))) if !a.eq_ignore_ascii_case("dn"))
        });
        if needs_entry {
            return Ok(match self.user_entry_fresh(name).await? {
                Some((i, _, e)) => Some((i, e.dn.clone(), Some(e))),
                None => self.bound_user(name).map(|m| (m.block, m.dn, m.entry)),
            });
        }
        if let Some((i, dn)) = self.user_dn(name) {
            return Ok(Some((i, dn, None)));
        }
        // Cached passwd without a cached DN (evicted, or caching off): ask again.
        Ok(self.user_by_name_full(name).await?.map(|(_, dn)| {
            let i = self.user_dn(name).map(|(i, _)| i).unwrap_or(0);
            (i, dn, None)
        }))
    }

    /// The POSIX groups that may be answered: valid names, gids at or above `min_gid`, not
    /// local, each gid once.
    fn posix_groups(
        &self,
        name: &str,
        per_block: &[BlockGroups],
        seen: &mut HashSet<u32>,
    ) -> Vec<Group> {
        let local = self.local.db();
        let mut out = Vec::new();
        for (b, bg) in self.blocks.iter().zip(per_block) {
            if !bg.complete {
                warn!(
                    "server {}: groups of {name}: {}; answering the groups found",
                    b.name(),
                    bg.note.as_deref().unwrap_or("incomplete")
                );
            }
            for g in &bg.posix {
                let (Some(gname), Some(gid)) = (&g.name, g.gid) else {
                    continue;
                };
                if gid >= self.limits.min_gid
                    && valid_name(gname)
                    && !self.local.group(&local, gname, gid)
                    && seen.insert(gid)
                {
                    out.push(Group {
                        name: gname.clone(),
                        gid,
                        members: Vec::new(),
                    });
                }
            }
        }
        out
    }

    /// The local group a group mapping adds, if the first matching mapping names one that
    /// exists in `/etc/group`.
    fn mapped_local_group(&self, name: &str, per_block: &[BlockGroups]) -> Option<Group> {
        let m = self
            .blocks
            .iter()
            .zip(per_block)
            .find_map(|(b, bg)| first_mapping(b.name(), &b.cfg.group_mappings, &bg.all))?;
        let lg = m.local_group.as_ref()?;
        match self.local.db().gid_of(lg) {
            Some(gid) => {
                debug!("groups of {name}: group mapping #{} of server {} (member of {}) adds local group {lg} ({gid})", m.number, m.server, m.group);
                Some(Group {
                    name: lg.clone(),
                    gid,
                    members: Vec::new(),
                })
            }
            None => {
                warn!("group mapping #{} of server {}: local_group {lg} is not in /etc/group; not added", m.number, m.server);
                None
            }
        }
    }

    /// The user's groups in every block; the user's own block gets its DN and entry, the
    /// others its DN (for member DNs) or name (for memberUid). `force_all`: collect every
    /// group reached, POSIX or not (access rules).
    pub async fn all_block_groups(
        &self,
        name: &str,
        home: Option<(usize, &str, Option<&Entry>)>,
        force_all: bool,
    ) -> Result<Vec<BlockGroups>, DirError> {
        let mut out = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            let (dn, entry) = match home {
                Some((hi, dn, e)) => (Some(dn), if hi == i { e } else { None }),
                None => (None, None),
            };
            let user = UserRef { name, dn, entry };
            let need_all = force_all || !b.cfg.group_mappings.is_empty();
            out.push(self.block_groups(b, &user, need_all).await?);
        }
        Ok(out)
    }
}
