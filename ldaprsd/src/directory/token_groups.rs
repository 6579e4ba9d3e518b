//! A user's groups from AD's `tokenGroups` (`[servers.groups] token_groups = true`, SSSD's
//! `ldap_use_tokengroups`): the DC computes every group the user is in, nested ones and the
//! primary group included, as a list of SIDs on the user entry, given only to a base-scope
//! search. One read of the user entry, then the SIDs not in the cache resolved to groups with
//! one search per [`SID_BATCH`] (and one more for which of them are POSIX groups), cached for
//! the entry TTL. Users in thousands of groups cost a handful of searches, not one per level.

use super::membership::{any_of, found, BlockGroups, FoundGroup};
use super::state::{Directory, SidGroup};
use crate::debug;
use crate::ldap::{DirError, ServerBlock};
use ldaprs_common::filter;
use std::collections::HashSet;

/// SIDs per OR filter.
pub const SID_BATCH: usize = 100;

fn key(b: &ServerBlock, sid: &str) -> String {
    format!("{}|{}", b.cfg.name, sid.to_ascii_uppercase())
}

impl Directory {
    /// The user's groups in block `b` from the tokenGroups of the entry `dn`.
    pub(super) async fn groups_by_token(
        &self,
        b: &ServerBlock,
        dn: &str,
    ) -> Result<BlockGroups, DirError> {
        let attrs = ["tokenGroups".to_string()];
        let e = b.read_entry(dn, "(objectClass=*)", &attrs).await?;
        let Some(sids) = e
            .as_ref()
            .map(|e| e.values("tokenGroups"))
            .filter(|v| !v.is_empty())
        else {
            return Err(DirError::Server(format!(
                "server {}: {dn} has no tokenGroups (not an AD, or the service account may not read it): token_groups needs AD",
                b.cfg.name
            )));
        };
        let now = self.clock.now();
        let missing: Vec<String> = sids
            .iter()
            .filter(|s| self.sid_groups.get(&key(b, s), now).is_none())
            .cloned()
            .collect();
        debug!(
            "server {}: {dn}: {} tokenGroups SIDs, {} not cached",
            b.cfg.name,
            sids.len(),
            missing.len()
        );
        for chunk in missing.chunks(SID_BATCH) {
            self.resolve_sids(b, chunk).await?;
        }
        let mut out = BlockGroups {
            complete: true,
            ..Default::default()
        };
        let mut seen = HashSet::new();
        for s in sids {
            let Some((Some((dn, name, gid)), posix)) = self.sid_groups.get(&key(b, s), now) else {
                continue;
            };
            if !seen.insert(dn.to_ascii_lowercase()) {
                continue;
            }
            let g = FoundGroup { dn, name, gid };
            if posix {
                out.posix.push(g.clone());
            }
            out.all.push(g);
        }
        Ok(out)
    }

    /// Looks up one batch of SIDs under the group base and caches what each names.
    async fn resolve_sids(&self, b: &ServerBlock, sids: &[String]) -> Result<(), DirError> {
        let any = any_of("objectSid", sids);
        let attrs = vec![
            b.eff.attr_group_name.clone(),
            b.eff.attr_group_gid.clone(),
            "objectSid".to_string(),
        ];
        let base = &b.eff.group_base;
        let all = b.search(base, &any, &attrs, true).await?;
        let posix = b
            .search(
                base,
                &filter::and(&b.eff.group_filter, &any),
                &["1.1".into()],
                true,
            )
            .await?;
        let posix: HashSet<String> = posix.iter().map(|e| e.dn.to_ascii_lowercase()).collect();
        let now = self.clock.now();
        let mut named = HashSet::new();
        for e in &all {
            let Some(sid) = e.first("objectSid") else {
                continue;
            };
            let g = found(b, e);
            let is_posix = posix.contains(&e.dn.to_ascii_lowercase());
            let v: SidGroup = (Some((g.dn, g.name, g.gid)), is_posix);
            self.sid_groups.put(key(b, sid), v, self.entry_ttl, now);
            named.insert(sid.to_ascii_uppercase());
        }
        // SIDs that name no group here (builtin aliases, other domains): remembered too.
        for s in sids
            .iter()
            .filter(|s| !named.contains(&s.to_ascii_uppercase()))
        {
            self.sid_groups
                .put(key(b, s), (None, false), self.entry_ttl, now);
        }
        Ok(())
    }
}
