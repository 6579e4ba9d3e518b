//! Group membership in every shape the schemas use: which groups a user is in (initgroups,
//! access rules, group mappings) and who is in a group (getgrnam).
//!
//! - rfc2307 `memberUid` (user names): one search.
//! - rfc2307bis `member` / `uniqueMember` (DNs): one search, and with `nested = true` one
//!   search per level for the parents of the groups found so far (`(|(member=G1)(member=G2)…)`),
//!   a visited set against cycles and a depth bound; then one search for the POSIX groups
//!   among them.
//! - `memberOf` on the user entry: the DNs it lists (and, nested, theirs), each read once.
//! - Grafana's `search_filter` with `%s`: the direct groups, then nesting as above.
//! - AD's LDAP_MATCHING_RULE_IN_CHAIN: the server follows the chain in one search.
//!
//! Groups outside the configured group base never count (a group in a subtree someone else
//! can write is not a group of ours: security.md AZ-04). Size limits and timeouts make the
//! whole answer an error: a partial membership could drop a group of `deny_groups`. References
//! are followed to the block's URIs and `referral_hosts`; a continuation reference elsewhere is
//! skipped (issue 10: AD's DNS partitions), so a deny group held only there is not seen —
//! ldaprs.toml(5) says so.

use super::state::Directory;
use crate::ldap::{is_under, normalize_dn, DirError, Entry, ServerBlock};
use ldaprs_common::config::{Membership, IN_CHAIN_RULE};
use ldaprs_common::filter::{self, eq, escape_filter_value};
use ldaprs_common::names::valid_name;
use std::collections::HashSet;

/// Most groups followed for one user (a bound on work and memory, not a real-world size).
pub const MAX_CLOSURE: usize = 10_000;
/// Values per `(|…)` filter.
const OR_BATCH: usize = 100;
/// Base-scope reads in flight at once (they share the one service connection).
const READ_CONCURRENCY: usize = 16;

/// One group as the directory showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundGroup {
    pub dn: String,
    pub name: Option<String>,
    pub gid: Option<u32>,
}

/// A user's groups in one server block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockGroups {
    /// POSIX groups (matching the group filter): what initgroups returns, after the id and
    /// name checks.
    pub posix: Vec<FoundGroup>,
    /// Every group reached, POSIX or not: what access rules and group mappings look at (only
    /// filled when asked for).
    pub all: Vec<FoundGroup>,
    /// False when the depth or size bound cut the search short; then `note` says where.
    pub complete: bool,
    pub note: Option<String>,
}

/// The user, as membership needs it.
pub struct UserRef<'a> {
    pub name: &'a str,
    pub dn: Option<&'a str>,
    /// The user's entry, read with [`ServerBlock::account_attrs`] (for `memberOf` and
    /// `search_filter_user_attribute`).
    pub entry: Option<&'a Entry>,
}

/// A `uniqueMember` value without its optional UID (`dn#'0101'B`, RFC 4517
/// nameAndOptionalUID): the DN part.
pub fn member_dn(value: &str) -> &str {
    match value.rsplit_once('#') {
        Some((dn, uid)) if uid.starts_with('\'') && uid.ends_with("'B") && uid.len() >= 3 => dn,
        _ => value,
    }
}

/// `(attr:1.2.840.113556.1.4.1941:=DN)`: AD's transitive membership test.
pub fn in_chain_filter(attr: &str, dn: &str) -> String {
    format!("({attr}:{IN_CHAIN_RULE}:={})", escape_filter_value(dn))
}

/// `(attr=v)` or `(|(attr=v1)(attr=v2)…)`, values escaped.
pub fn any_of(attr: &str, values: &[String]) -> String {
    match values {
        [one] => eq(attr, one),
        many => format!(
            "(|{})",
            many.iter().map(|v| eq(attr, v)).collect::<String>()
        ),
    }
}

pub(super) fn found(b: &ServerBlock, e: &Entry) -> FoundGroup {
    FoundGroup {
        dn: e.dn.clone(),
        name: e.first(&b.eff.attr_group_name).map(str::to_string),
        gid: match super::idmap::group_gid(e, &b.eff) {
            Some(mapped) => mapped.ok(),
            None => e
                .first(&b.eff.attr_group_gid)
                .and_then(|g| g.trim().parse::<u32>().ok()),
        },
    }
}

/// The value that replaces `%s` in a Grafana-style `search_filter`.
fn search_value(user: &UserRef<'_>, attr: Option<&str>) -> Option<String> {
    match attr {
        None => Some(user.name.to_string()),
        Some(a) if a.eq_ignore_ascii_case("dn") => user.dn.map(str::to_string),
        Some(a) => user.entry.and_then(|e| e.first(a)).map(str::to_string),
    }
}

/// Appends the groups of `new` that are not in `seen` (by normalised DN) to `out`.
fn add_new(
    seen: &mut HashSet<String>,
    out: &mut Vec<FoundGroup>,
    new: Vec<FoundGroup>,
) -> Vec<String> {
    let mut added = Vec::new();
    for g in new {
        if seen.insert(normalize_dn(&g.dn)) {
            added.push(g.dn.clone());
            out.push(g);
        }
    }
    added
}

/// The filter for the groups that name the user directly, in every membership form the
/// directory uses (`forms`); None when the user has no value the groups could name.
fn direct_filter(b: &ServerBlock, user: &UserRef<'_>, forms: &[Membership]) -> Option<String> {
    let e = &b.eff;
    if let Some((sf, attr)) = &e.group_search {
        return search_value(user, attr.as_deref()).map(|v| filter::fill_percent_s(sf, &v));
    }
    let terms: Vec<String> = forms
        .iter()
        .filter_map(|f| match f {
            Membership::Names(a) => Some(eq(a, user.name)),
            Membership::Dns(a) if e.in_chain => user.dn.map(|dn| in_chain_filter(a, dn)),
            Membership::Dns(a) => user.dn.map(|dn| eq(a, dn)),
        })
        .collect();
    match terms.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(format!("(|{})", many.concat())),
    }
}

/// The attributes of `forms` that hold DNs (those that can name a group inside a group).
fn dn_attrs(forms: &[Membership]) -> Vec<&str> {
    forms
        .iter()
        .filter_map(|f| match f {
            Membership::Dns(a) => Some(a.as_str()),
            Membership::Names(_) => None,
        })
        .collect()
}

/// The note for a membership cut short by `nesting_depth`.
fn too_deep(depth: u32, next: &[String]) -> String {
    format!(
        "groups nested deeper than nesting_depth = {depth} (e.g. {})",
        next.first().map(String::as_str).unwrap_or("?")
    )
}

/// The DNs under the block's group base (a group in a subtree someone else can write is not
/// a group of ours: security.md AZ-04).
fn under_group_base(b: &ServerBlock, dns: &[String]) -> Vec<String> {
    dns.iter()
        .filter(|d| {
            let ok = is_under(d, &b.eff.group_base);
            if !ok {
                crate::debug!(
                    "server {}: ignoring {d}: outside the group base {}",
                    b.name(),
                    b.eff.group_base
                );
            }
            ok
        })
        .cloned()
        .collect()
}

impl Directory {
    fn group_attrs_min(b: &ServerBlock) -> Vec<String> {
        vec![b.eff.attr_group_name.clone(), b.eff.attr_group_gid.clone()]
    }

    /// Groups under the group base matching `f` (complete answers only).
    async fn groups_matching(&self, b: &ServerBlock, f: &str) -> Result<Vec<FoundGroup>, DirError> {
        let entries = b
            .search(&b.eff.group_base, f, &Self::group_attrs_min(b), true)
            .await?;
        Ok(entries.iter().map(|e| found(b, e)).collect())
    }

    /// Groups (any class) whose member attributes (`attrs`) hold one of `dns`.
    async fn parents_by_member(
        &self,
        b: &ServerBlock,
        attrs: &[&str],
        dns: &[String],
        class: Option<&str>,
    ) -> Result<Vec<FoundGroup>, DirError> {
        let mut out = Vec::new();
        for attr in attrs {
            for chunk in dns.chunks(OR_BATCH) {
                let f = any_of(attr, chunk);
                let f = match class {
                    Some(c) => filter::and(c, &f),
                    None => f,
                };
                out.extend(self.groups_matching(b, &f).await?);
            }
        }
        Ok(out)
    }

    /// Reads each DN (base scope) with filter `f` and `attrs`, a few at a time.
    async fn read_many(
        &self,
        b: &ServerBlock,
        dns: &[String],
        f: &str,
        attrs: &[String],
    ) -> Result<Vec<Entry>, DirError> {
        let mut out = Vec::new();
        for chunk in dns.chunks(READ_CONCURRENCY) {
            let reads = chunk.iter().map(|dn| b.read_entry(dn, f, attrs));
            for r in futures_util::future::join_all(reads).await {
                out.extend(r?);
            }
        }
        Ok(out)
    }

    /// The user's groups in block `b`. `need_all`: also every non-POSIX group reached (for
    /// access rules and group mappings).
    pub(crate) async fn block_groups(
        &self,
        b: &ServerBlock,
        user: &UserRef<'_>,
        need_all: bool,
    ) -> Result<BlockGroups, DirError> {
        let e = &b.eff;
        if let Some(attr) = &e.attr_member_of {
            return self.groups_by_member_of(b, attr, user, need_all).await;
        }
        if let (true, Some(dn)) = (e.token_groups, user.dn) {
            return self.groups_by_token(b, dn).await;
        }
        // Access rules and group mappings (need_all) search every configured form: a deny group
        // created in a form the directory did not use an hour ago must still deny.
        let forms = if need_all {
            e.member_forms.clone()
        } else {
            self.member_forms(b).await
        };
        let member_attrs = dn_attrs(&forms);
        let by_dn = !member_attrs.is_empty();
        let mut out = BlockGroups {
            complete: true,
            ..Default::default()
        };
        let Some(direct) = direct_filter(b, user, &forms) else {
            // No DN (or no value for search_filter_user_attribute): no group can name the user.
            return Ok(out);
        };
        let mut posix_seen = HashSet::new();
        let direct_posix = self
            .groups_matching(b, &filter::and(&e.group_filter, &direct))
            .await?;
        add_new(&mut posix_seen, &mut out.posix, direct_posix);
        let nesting = e.nesting.filter(|_| by_dn && !e.in_chain);
        if !need_all && nesting.is_none() {
            return Ok(out);
        }
        let mut all_seen = HashSet::new();
        let direct_all = self.groups_matching(b, &direct).await?;
        let frontier = add_new(&mut all_seen, &mut out.all, direct_all);
        let Some(depth) = nesting else { return Ok(out) };
        self.nest_up(b, &member_attrs, frontier, depth, &mut all_seen, &mut out)
            .await?;
        // The POSIX groups among the parents: those whose members include a group we reached.
        let reached: Vec<String> = out.all.iter().map(|g| g.dn.clone()).collect();
        if !reached.is_empty() {
            let parents_posix = self
                .parents_by_member(b, &member_attrs, &reached, Some(&e.group_filter))
                .await?;
            let known: HashSet<String> = reached.iter().map(|d| normalize_dn(d)).collect();
            // Only groups inside the closure count (a POSIX parent of the deepest level that
            // the bound cut off is not one of the user's groups).
            let inside = parents_posix
                .into_iter()
                .filter(|g| known.contains(&normalize_dn(&g.dn)))
                .collect();
            add_new(&mut posix_seen, &mut out.posix, inside);
        }
        Ok(out)
    }

    /// Level by level up the parents of `frontier` into `out.all`; one more level than
    /// allowed tells whether the bound cut anything off (then `out.complete` is false).
    async fn nest_up(
        &self,
        b: &ServerBlock,
        member_attrs: &[&str],
        mut frontier: Vec<String>,
        depth: u32,
        all_seen: &mut HashSet<String>,
        out: &mut BlockGroups,
    ) -> Result<(), DirError> {
        let mut level = 0u32;
        while !frontier.is_empty() {
            let parents = self
                .parents_by_member(b, member_attrs, &frontier, None)
                .await?;
            let before = out.all.len();
            let next = add_new(all_seen, &mut out.all, parents);
            if level >= depth {
                if !next.is_empty() {
                    out.all.truncate(before);
                    out.complete = false;
                    out.note = Some(too_deep(depth, &next));
                }
                break;
            }
            if out.all.len() > MAX_CLOSURE {
                out.complete = false;
                out.note = Some(format!("more than {MAX_CLOSURE} groups"));
                break;
            }
            frontier = next;
            level += 1;
        }
        Ok(())
    }

    /// `memberOf` on the user entry; nested: `memberOf` on each group, level by level.
    async fn groups_by_member_of(
        &self,
        b: &ServerBlock,
        attr: &str,
        user: &UserRef<'_>,
        need_all: bool,
    ) -> Result<BlockGroups, DirError> {
        let e = &b.eff;
        let mut out = BlockGroups {
            complete: true,
            ..Default::default()
        };
        let Some(entry) = user.entry else {
            return Ok(out);
        };
        let mut frontier = under_group_base(b, entry.values(attr));
        let mut seen: HashSet<String> = HashSet::new();
        frontier.retain(|d| seen.insert(normalize_dn(d)));
        let mut reached: Vec<String> = Vec::new();
        let depth = e.nesting.unwrap_or(0);
        let mut attrs = Self::group_attrs_min(b);
        attrs.push(attr.to_string());
        let mut level = 0u32;
        while !frontier.is_empty() {
            reached.extend(frontier.iter().cloned());
            if !need_all && e.nesting.is_none() {
                break;
            }
            let entries = self
                .read_many(b, &frontier, "(objectClass=*)", &attrs)
                .await?;
            let mut next = Vec::new();
            for g in &entries {
                out.all.push(found(b, g));
                for p in under_group_base(b, g.values(attr)) {
                    if seen.insert(normalize_dn(&p)) {
                        next.push(p);
                    }
                }
            }
            if e.nesting.is_none() {
                break;
            }
            if level >= depth {
                if !next.is_empty() {
                    out.complete = false;
                    out.note = Some(too_deep(depth, &next));
                }
                break;
            }
            if reached.len() > MAX_CLOSURE {
                out.complete = false;
                out.note = Some(format!("more than {MAX_CLOSURE} groups"));
                break;
            }
            frontier = next;
            level += 1;
        }
        let posix = self
            .read_many(b, &reached, &e.group_filter, &Self::group_attrs_min(b))
            .await?;
        out.posix = posix.iter().map(|g| found(b, g)).collect();
        Ok(out)
    }

    /// The member names of a group entry whose members are DNs: users directly, and with
    /// nesting the users of member groups (glibc wants user names only in `gr_mem`).
    pub(crate) async fn dn_members(&self, b: &ServerBlock, e: &Entry, attr: &str) -> Vec<String> {
        let mut members = Vec::new();
        let mut seen_names = HashSet::new();
        let eff = &b.eff;
        if eff.in_chain && eff.nesting.is_some() {
            // AD: every user whose membership chain reaches this group, in one search.
            let f = in_chain_filter(eff.attr_member_of.as_deref().unwrap_or("memberOf"), &e.dn);
            match b.find_users(&f, true).await {
                Ok(users) => {
                    for u in users {
                        if let Some(n) = u.first(&eff.attr_name).filter(|n| valid_name(n)) {
                            if seen_names.insert(n.to_string()) {
                                members.push(n.to_string());
                            }
                        }
                    }
                    return members;
                }
                Err(err) => {
                    crate::warn!("server {}: in-chain members of {}: {err}", b.name(), e.dn)
                }
            }
        }
        let mut lookups = 0usize;
        let mut visited: HashSet<String> = HashSet::from([normalize_dn(&e.dn)]);
        let mut level_values: Vec<String> = e.values(attr).to_vec();
        let mut level = 0u32;
        loop {
            let mut groups_next = Vec::new();
            for value in &level_values {
                let dn = member_dn(value);
                if let Some(m) = self.member_name(b, dn, &mut lookups).await {
                    if seen_names.insert(m.clone()) {
                        members.push(m);
                    }
                } else if eff.nesting.is_some()
                    && is_under(dn, &eff.group_base)
                    && visited.insert(normalize_dn(dn))
                {
                    groups_next.push(dn.to_string());
                }
            }
            let depth = eff.nesting.unwrap_or(0);
            if groups_next.is_empty() || level >= depth {
                break;
            }
            level += 1;
            let attrs = vec![attr.to_string()];
            level_values = match self
                .read_many(b, &groups_next, "(objectClass=*)", &attrs)
                .await
            {
                Ok(entries) => entries
                    .iter()
                    .flat_map(|g| g.values(attr).to_vec())
                    .collect(),
                Err(err) => {
                    crate::warn!(
                        "server {}: members of nested groups of {}: {err}",
                        b.name(),
                        e.dn
                    );
                    break;
                }
            };
        }
        members
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_chain_filter_is_escaped_and_parses() {
        let f = in_chain_filter(
            "member",
            "CN=Smith\\, John,OU=People,DC=corp,DC=example,DC=com",
        );
        assert_eq!(f, "(member:1.2.840.113556.1.4.1941:=CN=Smith\\5c, John,OU=People,DC=corp,DC=example,DC=com)");
        // ldap3's own filter parser accepts it as an extensible match.
        assert!(ldap3::parse_filter(&f).is_ok());
        let f = in_chain_filter("memberOf", "cn=a*)(b,dc=x");
        assert_eq!(
            f,
            "(memberOf:1.2.840.113556.1.4.1941:=cn=a\\2a\\29\\28b,dc=x)"
        );
        assert!(ldap3::parse_filter(&f).is_ok());
    }

    #[test]
    fn the_ad_preset_builds_in_chain_searches() {
        let cfg = ldaprs_common::config::parse(
            "t",
            "[[servers]]\nname = \"ad\"\nuri = \"ldaps://dc1\"\nbase = \"DC=corp,DC=example,DC=com\"\nschema = \"ad\"\n[servers.groups]\nnested = true\n",
        )
        .unwrap();
        let e = cfg.servers[0].effective();
        assert!(e.in_chain);
        let user = "CN=Alice,OU=People,DC=corp,DC=example,DC=com";
        let Membership::Dns(attr) = &e.membership else {
            panic!("AD members are DNs")
        };
        let f = filter::and(&e.group_filter, &in_chain_filter(attr, user));
        assert_eq!(f, "(&(&(objectClass=group)(gidNumber=*))(member:1.2.840.113556.1.4.1941:=CN=Alice,OU=People,DC=corp,DC=example,DC=com))");
        assert!(ldap3::parse_filter(&f).is_ok());
        assert_eq!(e.attr_name, "sAMAccountName");
        assert_eq!(e.attr_home, "unixHomeDirectory");
        assert_eq!(e.user_filter, "(&(objectClass=user)(uidNumber=*))");
    }

    #[test]
    fn unique_member_uid_suffix() {
        assert_eq!(member_dn("uid=a,dc=x#'0101'B"), "uid=a,dc=x");
        assert_eq!(member_dn("uid=a,dc=x"), "uid=a,dc=x");
        assert_eq!(member_dn("cn=a\\#b,dc=x"), "cn=a\\#b,dc=x");
    }

    #[test]
    fn or_filters() {
        assert_eq!(
            any_of("member", &["cn=a,dc=x".into()]),
            "(member=cn=a,dc=x)"
        );
        assert_eq!(
            any_of("member", &["cn=a".into(), "cn=*".into()]),
            "(|(member=cn=a)(member=cn=\\2a))"
        );
    }

    #[test]
    fn search_filter_user_values() {
        let mut entry = Entry {
            dn: "uid=a,dc=x".into(),
            ..Default::default()
        };
        entry
            .attrs
            .push(("employeeNumber".into(), vec!["42".into()]));
        let u = UserRef {
            name: "a",
            dn: Some("uid=a,dc=x"),
            entry: Some(&entry),
        };
        assert_eq!(search_value(&u, None).as_deref(), Some("a"));
        assert_eq!(search_value(&u, Some("dn")).as_deref(), Some("uid=a,dc=x"));
        assert_eq!(search_value(&u, Some("DN")).as_deref(), Some("uid=a,dc=x"));
        assert_eq!(
            search_value(&u, Some("employeeNumber")).as_deref(),
            Some("42")
        );
        assert_eq!(search_value(&u, Some("mail")), None);
    }
}
