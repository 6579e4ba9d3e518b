//! Who may log in. The rules add up the way users expect:
//!
//! 1. `[pam] deny_groups`: a member of any of them is denied, whatever else says yes;
//! 2. `[pam] access_filter`: the user's own entry must match it;
//! 3. allow rules: `[pam] allow_groups` and the `[[servers.group_mappings]]` with
//!    `allow_login = true` (the first mapping whose group the user is in decides, Grafana's
//!    "first match wins"); if any allow rule exists, the user needs one of them;
//! 4. no allow rule at all: every user that exists may log in.
//!
//! Group names are compared exactly (no case folding, no prefixes: security.md AZ-05), group
//! DNs after normalising spaces and case. The account's state (expired, locked, disabled) is
//! checked after these rules (`account.rs`).

use crate::directory::mappings::MappingMatch;

/// The verdict and the rule that made it (logged, and shown to the user when it denies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Why the user may log in (for the log).
    Allow(String),
    Deny(DenyRule),
}

/// The rule that denied a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyRule {
    /// A member of this `[pam] deny_groups` group.
    DeniedGroup(String),
    /// The user's entry does not match `[pam] access_filter`.
    AccessFilter,
    /// Allow rules exist and none lets the user in.
    NoAllowedGroup,
}

impl std::fmt::Display for DenyRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DenyRule::DeniedGroup(g) => write!(f, "member of denied group {g}"),
            DenyRule::AccessFilter => f.write_str("the account does not match the access_filter"),
            DenyRule::NoAllowedGroup => f.write_str("not a member of any allowed group"),
        }
    }
}

/// What is known about the user when the rules are applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Names of every group the user is in (nested ones, non-POSIX ones, the primary group).
    pub groups: Vec<String>,
    /// The first group mapping that matched, if any.
    pub mapping: Option<MappingMatch>,
    /// Whether some configured mapping can allow a login (then it is an allow rule).
    pub mappings_can_allow: bool,
    /// The access filter's verdict (None: no access filter configured).
    pub filter_matches: Option<bool>,
}

pub fn decide(f: &Facts, allow: &[String], deny: &[String]) -> Decision {
    match decide_groups(f, allow, deny) {
        // Say that the filter was checked too, so the log names every rule that let the
        // user in.
        Decision::Allow(why) if f.filter_matches == Some(true) => {
            Decision::Allow(format!("{why}; access_filter matched"))
        }
        d => d,
    }
}

fn decide_groups(f: &Facts, allow: &[String], deny: &[String]) -> Decision {
    if let Some(g) = deny.iter().find(|d| f.groups.contains(d)) {
        return Decision::Deny(DenyRule::DeniedGroup(g.clone()));
    }
    if f.filter_matches == Some(false) {
        return Decision::Deny(DenyRule::AccessFilter);
    }
    if allow.is_empty() && !f.mappings_can_allow {
        return Decision::Allow("no allow rule configured".into());
    }
    if let Some(g) = allow.iter().find(|a| f.groups.contains(a)) {
        return Decision::Allow(format!("member of allowed group {g}"));
    }
    if let Some(m) = f.mapping.as_ref().filter(|m| m.allow_login) {
        return Decision::Allow(format!(
            "group mapping #{} of server {}: member of {}",
            m.number, m.server, m.group
        ));
    }
    Decision::Deny(DenyRule::NoAllowedGroup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::mappings::first_mapping;
    use crate::directory::membership::FoundGroup;
    use ldaprs_common::config::GroupMapping;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    fn facts(groups: &[&str]) -> Facts {
        Facts {
            groups: v(groups),
            ..Default::default()
        }
    }

    fn g(dn: &str, name: &str) -> FoundGroup {
        FoundGroup {
            dn: dn.into(),
            name: Some(name.into()),
            gid: None,
        }
    }

    #[test]
    fn deny_wins_over_allow() {
        let d = decide(
            &facts(&["devs", "contractors"]),
            &v(&["devs"]),
            &v(&["contractors"]),
        );
        assert_eq!(
            d,
            Decision::Deny(DenyRule::DeniedGroup("contractors".into()))
        );
        // Also over a mapping that allows.
        let mut f = facts(&["contractors"]);
        f.mappings_can_allow = true;
        f.mapping = Some(MappingMatch {
            number: 1,
            server: "s".into(),
            group: "x".into(),
            allow_login: true,
            local_group: None,
        });
        assert!(matches!(
            decide(&f, &[], &v(&["contractors"])),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn allow_list_restricts() {
        assert!(matches!(
            decide(&facts(&["devs"]), &v(&["admins"]), &[]),
            Decision::Deny(_)
        ));
        assert!(matches!(
            decide(&facts(&["admins"]), &v(&["admins"]), &[]),
            Decision::Allow(_)
        ));
        assert!(matches!(decide(&facts(&[]), &[], &[]), Decision::Allow(_)));
        // Exact comparison: no case folding, no prefixes.
        assert!(matches!(
            decide(&facts(&["Admins"]), &v(&["admins"]), &[]),
            Decision::Deny(_)
        ));
        assert!(matches!(
            decide(&facts(&["admins2"]), &v(&["admins"]), &[]),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn access_filter_denies_even_allowed_members() {
        let mut f = facts(&["admins"]);
        f.filter_matches = Some(false);
        assert_eq!(
            decide(&f, &v(&["admins"]), &[]),
            Decision::Deny(DenyRule::AccessFilter)
        );
        f.filter_matches = Some(true);
        assert_eq!(
            decide(&f, &v(&["admins"]), &[]),
            Decision::Allow("member of allowed group admins; access_filter matched".into())
        );
    }

    #[test]
    fn mappings_are_allow_rules_and_first_match_wins() {
        let maps = vec![
            GroupMapping {
                group: Some("devs".into()),
                local_group: Some("docker".into()),
                ..Default::default()
            },
            GroupMapping {
                group_dn: Some("CN=Linux-Admins, ou=groups,dc=x".into()),
                allow_login: true,
                local_group: Some("sudo".into()),
                ..Default::default()
            },
            GroupMapping {
                group_dn: Some("*".into()),
                allow_login: true,
                ..Default::default()
            },
        ];
        let admins = g("cn=linux-admins,ou=groups,dc=x", "linux-admins");
        let devs = g("cn=devs,ou=groups,dc=x", "devs");
        let m = first_mapping("corp", &maps, std::slice::from_ref(&admins)).unwrap();
        assert_eq!(
            (m.number, m.local_group.as_deref(), m.allow_login),
            (2, Some("sudo"), true)
        );
        // In both: the first mapping (devs) wins, and it does not allow login.
        let m = first_mapping("corp", &maps, &[admins.clone(), devs.clone()]).unwrap();
        assert_eq!((m.number, m.allow_login), (1, false));
        let f = Facts {
            groups: v(&["linux-admins", "devs"]),
            mapping: Some(m),
            mappings_can_allow: true,
            filter_matches: None,
        };
        assert_eq!(
            decide(&f, &[], &[]),
            Decision::Deny(DenyRule::NoAllowedGroup)
        );
        // "*" matches anyone.
        assert_eq!(first_mapping("corp", &maps, &[]).unwrap().number, 3);
        let m = first_mapping("corp", &maps[..2], std::slice::from_ref(&admins));
        let f = Facts {
            groups: v(&["linux-admins"]),
            mapping: m,
            mappings_can_allow: true,
            filter_matches: None,
        };
        assert_eq!(
            decide(&f, &[], &[]),
            Decision::Allow(
                "group mapping #2 of server corp: member of CN=Linux-Admins, ou=groups,dc=x".into()
            )
        );
        // Allow rules add up: allow_groups or a mapping.
        let f = Facts {
            groups: v(&["staff"]),
            mapping: None,
            mappings_can_allow: true,
            filter_matches: None,
        };
        assert!(matches!(
            decide(&f, &v(&["staff"]), &[]),
            Decision::Allow(_)
        ));
        assert!(first_mapping("corp", &maps[..2], &[]).is_none());
    }
}
