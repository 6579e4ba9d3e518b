//! Groups: by name, by gid, every group, and their members (names directly, or member DNs
//! resolved to user names, nested groups' users included).

use super::collect::Collect;
use super::records::Reject;
use super::state::{Directory, Lookup};
use crate::ldap::{first_rdn, DirError, Entry, ServerBlock};
use ldaprs_common::config::Membership;
use ldaprs_common::filter::{self, eq};
use ldaprs_common::names::valid_name;
use ldaprs_common::protocol::Group;
use std::collections::HashSet;

/// Most member DNs resolved by lookup (those whose RDN is not the name attribute) per group.
const MAX_DN_LOOKUPS: usize = 5000;

impl Directory {
    /// A group is read with its name, its gid and every membership attribute it may carry.
    fn group_attrs(b: &ServerBlock) -> Vec<String> {
        let e = &b.eff;
        let mut v = vec![e.attr_group_name.clone(), e.attr_group_gid.clone()];
        v.extend(e.member_forms.iter().map(|f| match f {
            Membership::Names(a) | Membership::Dns(a) => a.clone(),
        }));
        v
    }

    async fn find_groups(
        &self,
        b: &ServerBlock,
        extra: &str,
        paged: bool,
    ) -> Result<Vec<Entry>, DirError> {
        let f = filter::and(&b.eff.group_filter, extra);
        b.search(&b.eff.group_base, &f, &Self::group_attrs(b), paged)
            .await
    }

    /// Member DN → user name: the RDN when it is the name attribute, else a lookup (cached).
    pub(super) async fn member_name(
        &self,
        b: &ServerBlock,
        dn: &str,
        lookups: &mut usize,
    ) -> Option<String> {
        if let Some((t, v)) = first_rdn(dn) {
            if t.eq_ignore_ascii_case(&b.eff.attr_name) {
                return valid_name(v).then(|| v.to_string());
            }
        }
        if let Some(n) = self.dn_names.get(&dn.to_string(), self.clock.now()) {
            return n;
        }
        if *lookups >= MAX_DN_LOOKUPS {
            return None;
        }
        *lookups += 1;
        let name = match b
            .search(
                dn,
                &b.eff.user_filter,
                std::slice::from_ref(&b.eff.attr_name),
                false,
            )
            .await
        {
            Ok(entries) => entries
                .first()
                .and_then(|e| e.first(&b.eff.attr_name))
                .filter(|n| valid_name(n))
                .map(str::to_string),
            Err(_) => None,
        };
        self.dn_names.put(
            dn.to_string(),
            name.clone(),
            self.entry_ttl,
            self.clock.now(),
        );
        name
    }

    /// The group's name and gid if we serve it, or the rule that hides it.
    pub fn group_header<'e>(
        &self,
        b: &ServerBlock,
        e: &'e Entry,
        wanted: Option<&str>,
    ) -> Result<(&'e String, u32), Reject> {
        let names = e.values(&b.eff.attr_group_name);
        let name = match wanted {
            Some(w) => names
                .iter()
                .find(|n| n.as_str() == w)
                .ok_or(Reject::NameMismatch)?,
            None => names.first().ok_or(Reject::Missing("group name"))?,
        };
        if !valid_name(name) {
            return Err(Reject::BadName(name.clone()));
        }
        let gid = match super::idmap::group_gid(e, &b.eff) {
            Some(mapped) => mapped.map_err(|x| Reject::IdMap(x.0))?,
            None => e
                .first(&b.eff.attr_group_gid)
                .ok_or(Reject::Missing("gidNumber"))?
                .trim()
                .parse::<u32>()
                .map_err(|_| Reject::BadNumber("gidNumber"))?,
        };
        if gid < self.limits.min_gid {
            return Err(Reject::GroupBelowMinimum(gid));
        }
        if self.local.group(&self.local.db(), name, gid) {
            return Err(Reject::Local("group name or gid"));
        }
        Ok((name, gid))
    }

    async fn convert_group(
        &self,
        b: &ServerBlock,
        mut e: Entry,
        wanted: Option<&str>,
    ) -> Option<Group> {
        let (name, gid) = match self.group_header(b, &e, wanted) {
            Ok((n, g)) => (n.clone(), g),
            Err(r) => {
                self.hidden(b, "group", &e.dn, &r);
                return None;
            }
        };
        Some(Group {
            name,
            gid,
            members: self.members_of(b, &mut e).await,
        })
    }

    /// The member names of a group entry, from every membership form it carries: names as
    /// they are, member DNs resolved to user names (nested groups' users included). The
    /// names are moved out of the entry, not copied (a 5,000-member group is 5,000 strings).
    async fn members_of(&self, b: &ServerBlock, e: &mut Entry) -> Vec<String> {
        let mut members: Vec<String> = Vec::new();
        let mut lists = 0;
        for f in &b.eff.member_forms {
            if let Membership::Names(attr) = f {
                let vals = e.take_values(attr);
                lists += usize::from(!vals.is_empty());
                members.extend(vals.into_iter().filter(|m| valid_name(m)));
            }
        }
        // The values of one attribute are a set (the server keeps them unique): only names
        // from two attributes can repeat.
        if lists > 1 {
            dedup_in_order(&mut members);
        }
        let has_dns = b
            .eff
            .member_forms
            .iter()
            .any(|f| matches!(f, Membership::Dns(a) if !e.values(a).is_empty()));
        if !has_dns {
            return members;
        }
        let mut added: Vec<String> = Vec::new();
        {
            let unique: HashSet<&str> = members.iter().map(String::as_str).collect();
            let mut seen: HashSet<String> = HashSet::new();
            for f in &b.eff.member_forms {
                let Membership::Dns(attr) = f else { continue };
                if e.values(attr).is_empty() {
                    continue;
                }
                for m in self.dn_members(b, e, attr).await {
                    if !unique.contains(m.as_str()) && seen.insert(m.clone()) {
                        added.push(m);
                    }
                }
            }
        }
        members.append(&mut added);
        members
    }

    pub async fn group_by_name(&self, name: &str) -> Lookup<Group> {
        if !valid_name(name) || self.local.group(&self.local.db(), name, u32::MAX) {
            return Ok(None);
        }
        self.first_hit(|_, b| async move {
            let entries = self
                .find_groups(b, &eq(&b.eff.attr_group_name, name), false)
                .await?;
            for e in entries {
                if let Some(g) = self.convert_group(b, e, Some(name)).await {
                    return Ok(Some(g));
                }
            }
            Ok(None)
        })
        .await
    }

    pub async fn group_by_gid(&self, gid: u32) -> Lookup<Group> {
        if gid < self.limits.min_gid || self.local.db().has_gid(gid) {
            return Ok(None);
        }
        self.first_hit(|_, b| async move {
            let f = match &b.eff.idmap {
                Some(_) => match b.sid_filter(&b.eff.attr_group_gid, gid).await? {
                    Some(f) => f,
                    None => return Ok(None),
                },
                None => eq(&b.eff.attr_group_gid, &gid.to_string()),
            };
            let entries = self.find_groups(b, &f, false).await?;
            for e in entries {
                if let Some(g) = self.convert_group(b, e, None).await {
                    return Ok(Some(g));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Every group of every block into `out`: a group whose members are names as its entry
    /// arrives, one with member DNs once the search is over and the DNs are resolved (the
    /// first block to name a group wins). A block that fails is taken back; an error only if
    /// no block gave any group.
    pub async fn all_groups_into(&self, out: &dyn Collect<Group>) -> Result<(), DirError> {
        let mut err = None;
        for b in &self.blocks {
            let attrs = Self::group_attrs(b);
            let convert = |e: Entry| match self.group_as_it_arrives(b, e) {
                Some(Part::Done(g)) => {
                    out.put(g);
                    None
                }
                Some(Part::Later(e)) => Some(e),
                None => None,
            };
            out.begin_block();
            match b
                .search_all(
                    &b.eff.group_base,
                    &b.eff.group_filter,
                    &b.eff.attr_group_name,
                    &attrs,
                    &convert,
                )
                .await
            {
                Ok(later) => {
                    for e in later {
                        if let Some(g) = self.convert_group(b, e, None).await {
                            out.put(g);
                        }
                    }
                }
                Err(e) => {
                    out.drop_block();
                    err = Some(e);
                }
            }
        }
        match err {
            Some(e) if out.is_empty() => Err(e),
            _ => Ok(()),
        }
    }

    /// An enumerated group entry, turned into its group at once when its members are names
    /// only (the entry's strings are moved, not copied); one with member DNs waits for the
    /// searches that resolve them.
    fn group_as_it_arrives(&self, b: &ServerBlock, mut e: Entry) -> Option<Part> {
        let has_dns = b
            .eff
            .member_forms
            .iter()
            .any(|f| matches!(f, Membership::Dns(a) if !e.values(a).is_empty()));
        if has_dns {
            return Some(Part::Later(e));
        }
        let (name, gid) = match self.group_header(b, &e, None) {
            Ok((n, g)) => (n.clone(), g),
            Err(r) => {
                self.hidden(b, "group", &e.dn, &r);
                return None;
            }
        };
        let mut members: Vec<String> = Vec::new();
        let mut lists = 0;
        for f in &b.eff.member_forms {
            let Membership::Names(attr) = f else { continue };
            let mut vals = e.take_values(attr);
            lists += usize::from(!vals.is_empty());
            members.append(&mut vals);
        }
        members.retain(|m| valid_name(m));
        // As in `members_of`: one attribute's values never repeat.
        if lists > 1 {
            dedup_in_order(&mut members);
        }
        Some(Part::Done(Group { name, gid, members }))
    }
}

/// An enumerated group: done, or its entry waiting for member DNs to be resolved.
pub enum Part {
    Done(Group),
    Later(Entry),
}

/// Drops repeated names, keeping the first of each, without copying any of them.
fn dedup_in_order(names: &mut Vec<String>) {
    let keep: Vec<bool> = {
        let mut seen: HashSet<&str> = HashSet::with_capacity(names.len());
        names.iter().map(|m| seen.insert(m.as_str())).collect()
    };
    if keep.iter().all(|k| *k) {
        return;
    }
    let mut k = keep.into_iter();
    names.retain(|_| k.next().unwrap_or(false));
}

#[cfg(test)]
mod tests {
    use super::dedup_in_order;

    #[test]
    fn repeated_member_names_keep_their_first_place() {
        let mut v: Vec<String> = ["bob", "alice", "bob", "carol", "alice"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        dedup_in_order(&mut v);
        assert_eq!(v, ["bob", "alice", "carol"]);
        let mut none: Vec<String> = Vec::new();
        dedup_in_order(&mut none);
        assert!(none.is_empty());
    }
}
