//! `[[servers.group_mappings]]`: the first mapping whose group the user is in (Grafana's
//! "first match wins"), for the access rules and for the local group initgroups adds.

use super::membership::FoundGroup;
use crate::ldap::normalize_dn;
use ldaprs_common::config::GroupMapping;

/// The first group mapping that applies to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingMatch {
    /// 1-based position in its server block, as an admin counts them.
    pub number: usize,
    pub server: String,
    /// The group (name or DN) that matched.
    pub group: String,
    pub allow_login: bool,
    pub local_group: Option<String>,
}

/// The first mapping (in config order) whose group the user is in. `group_dn = "*"` matches
/// every user.
pub fn first_mapping(
    server: &str,
    mappings: &[GroupMapping],
    groups: &[FoundGroup],
) -> Option<MappingMatch> {
    mappings.iter().enumerate().find_map(|(i, m)| {
        let matched = match (&m.group_dn, &m.group) {
            (Some(dn), _) if dn == "*" => Some("*".to_string()),
            (Some(dn), _) => {
                let want = normalize_dn(dn);
                groups
                    .iter()
                    .find(|g| normalize_dn(&g.dn) == want)
                    .map(|_| dn.clone())
            }
            (None, Some(name)) => groups
                .iter()
                .find(|g| g.name.as_deref() == Some(name.as_str()))
                .map(|_| name.clone()),
            (None, None) => None,
        }?;
        Some(MappingMatch {
            number: i + 1,
            server: server.to_string(),
            group: matched,
            allow_login: m.allow_login,
            local_group: m.local_group.clone(),
        })
    })
}
