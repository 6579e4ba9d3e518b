//! Who may log in: `[pam] allow_groups` and `deny_groups`. Deny wins over allow; an empty
//! allow list lets every existing user in. Group names are compared exactly.

/// The verdict and the rule that made it (logged, and shown to the user when it denies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow(String),
    Deny(String),
}

pub fn decide(user_groups: &[String], allow: &[String], deny: &[String]) -> Decision {
    if let Some(g) = deny.iter().find(|d| user_groups.contains(d)) {
        return Decision::Deny(format!("member of denied group {g}"));
    }
    if allow.is_empty() {
        return Decision::Allow("no allow_groups configured".into());
    }
    match allow.iter().find(|a| user_groups.contains(a)) {
        Some(g) => Decision::Allow(format!("member of allowed group {g}")),
        None => Decision::Deny("not a member of any allowed group".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn deny_wins_over_allow() {
        let d = decide(
            &v(&["devs", "contractors"]),
            &v(&["devs"]),
            &v(&["contractors"]),
        );
        assert_eq!(
            d,
            Decision::Deny("member of denied group contractors".into())
        );
    }

    #[test]
    fn allow_list_restricts() {
        assert!(matches!(
            decide(&v(&["devs"]), &v(&["admins"]), &[]),
            Decision::Deny(_)
        ));
        assert!(matches!(
            decide(&v(&["admins"]), &v(&["admins"]), &[]),
            Decision::Allow(_)
        ));
        assert!(matches!(decide(&[], &[], &[]), Decision::Allow(_)));
        // Exact comparison: no case folding.
        assert!(matches!(
            decide(&v(&["Admins"]), &v(&["admins"]), &[]),
            Decision::Deny(_)
        ));
    }
}
