//! The checks of a server block's keys for groups (nesting, group search, filters), password
//! resets by root (`admin_dn`) and group mappings.

use super::errors::{semantic, ConfigError};
use super::server::Server;

/// The checks of the keys for groups, password resets and group mappings.
pub(super) fn validate_server_extras(
    path: &str,
    src: &str,
    i: usize,
    s: &Server,
) -> Result<(), ConfigError> {
    let idx = Some(i);
    check_nesting(path, src, idx, s)?;
    check_group_search(path, src, idx, s)?;
    check_member_attributes(path, src, idx, s)?;
    check_referral_hosts(path, src, idx, s)?;
    check_filters(path, src, idx, s)?;
    check_admin_pair(path, src, idx, s)?;
    let non_ad = match s.schema {
        super::server::Schema::Ad | super::server::Schema::Auto => None,
        other => Some(format!("{other:?}")),
    };
    super::idmap::check_idmap(path, src, idx, &s.idmap, non_ad.as_deref())?;
    check_group_mappings(path, src, idx, s)
}

const GROUPS: Option<&str> = Some("servers.groups");

fn check_nesting(path: &str, src: &str, idx: Option<usize>, s: &Server) -> Result<(), ConfigError> {
    let groups = GROUPS;
    let g = &s.groups;
    if !(1..=64).contains(&g.nesting_depth) {
        let msg = format!("{} is out of range (1 to 64)", g.nesting_depth);
        return Err(semantic(path, src, idx, groups, "nesting_depth", msg, None));
    }
    if g.in_chain == Some(true) && !g.nested {
        let msg = "in_chain = true only matters with nested = true".to_string();
        return Err(semantic(
            path,
            src,
            idx,
            groups,
            "in_chain",
            msg,
            Some("add nested = true"),
        ));
    }
    Ok(())
}

fn check_referral_hosts(
    path: &str,
    src: &str,
    idx: Option<usize>,
    s: &Server,
) -> Result<(), ConfigError> {
    for h in &s.referral_hosts {
        let (host, port) = h.rsplit_once(':').unwrap_or((h.as_str(), "389"));
        if host.is_empty() || host.contains('/') || port.parse::<u16>().is_err() {
            return Err(semantic(
                path,
                src,
                idx,
                None,
                "referral_hosts",
                format!("{h:?} is not a host or host:port"),
                Some("referral_hosts = [\"ldap2.example.com\", \"10.0.0.5:3389\"]"),
            ));
        }
    }
    Ok(())
}

fn check_member_attributes(
    path: &str,
    src: &str,
    idx: Option<usize>,
    s: &Server,
) -> Result<(), ConfigError> {
    let g = &s.groups;
    let Some(list) = &g.member_attributes else {
        return Ok(());
    };
    let bad = |m: &str, hint: Option<&str>| {
        semantic(
            path,
            src,
            idx,
            GROUPS,
            "member_attributes",
            m.to_string(),
            hint,
        )
    };
    if list.is_empty() {
        return Err(bad(
            "is empty: no group could name a member",
            Some("leave it out to read every form the directory uses"),
        ));
    }
    if let Some(a) = list
        .iter()
        .find(|a| a.is_empty() || !a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(bad(
            &format!("{a:?} is not an attribute name"),
            Some("member_attributes = [\"memberUid\", \"member\"]"),
        ));
    }
    if g.attributes.member_uid.is_some() || g.attributes.member.is_some() {
        return Err(bad(
            "cannot be combined with attributes.member_uid or attributes.member",
            Some("list every membership attribute in member_attributes"),
        ));
    }
    Ok(())
}

fn check_group_search(
    path: &str,
    src: &str,
    idx: Option<usize>,
    s: &Server,
) -> Result<(), ConfigError> {
    let groups = GROUPS;
    let g = &s.groups;
    if let Some(f) = &g.search_filter {
        let hint = Some("search_filter = \"(&(objectClass=posixGroup)(memberUid=%s))\"");
        if !f.contains("%s") {
            let msg =
                "must contain %s (the user name, or search_filter_user_attribute)".to_string();
            return Err(semantic(path, src, idx, groups, "search_filter", msg, hint));
        }
        let filled = crate::filter::normalize(&crate::filter::fill_percent_s(f, "x"));
        crate::filter::check_syntax(&filled)
            .map_err(|m| semantic(path, src, idx, groups, "search_filter", m, hint))?;
    } else if g.search_filter_user_attribute.is_some() {
        let msg = "search_filter_user_attribute is set but search_filter is not".to_string();
        return Err(semantic(
            path,
            src,
            idx,
            groups,
            "search_filter_user_attribute",
            msg,
            None,
        ));
    }
    Ok(())
}

fn check_filters(path: &str, src: &str, idx: Option<usize>, s: &Server) -> Result<(), ConfigError> {
    for (table, v) in [
        (GROUPS, &s.groups.filter),
        (Some("servers.users"), &s.users.filter),
    ] {
        if let Some(f) = v {
            crate::filter::check_syntax(&crate::filter::normalize(f))
                .map_err(|m| semantic(path, src, idx, table, "filter", m, None))?;
        }
    }
    Ok(())
}

fn check_admin_pair(
    path: &str,
    src: &str,
    idx: Option<usize>,
    s: &Server,
) -> Result<(), ConfigError> {
    if s.admin_dn.is_some() != s.admin_password_file.is_some() {
        let (key, msg) = if s.admin_dn.is_some() {
            ("admin_dn", "admin_dn is set but admin_password_file is not")
        } else {
            (
                "admin_password_file",
                "admin_password_file is set but admin_dn is not",
            )
        };
        return Err(semantic(path, src, idx, None, key, msg.into(), None));
    }
    Ok(())
}

fn check_group_mappings(
    path: &str,
    src: &str,
    idx: Option<usize>,
    s: &Server,
) -> Result<(), ConfigError> {
    let table = Some("servers.group_mappings");
    for (n, m) in s.group_mappings.iter().enumerate() {
        let which = format!("group mapping #{}", n + 1);
        if m.group_dn.is_some() == m.group.is_some() {
            let msg = format!("{which}: give exactly one of group_dn and group");
            let hint = Some("group_dn = \"cn=linux-admins,ou=groups,dc=example,dc=com\"");
            return Err(semantic(path, src, idx, table, "group_dn", msg, hint));
        }
        if let Some(l) = &m.local_group {
            if !crate::names::valid_name(l) {
                let msg = format!("{which}: `{l}` is not a valid group name");
                return Err(semantic(path, src, idx, table, "local_group", msg, None));
            }
        }
        if !m.allow_login && m.local_group.is_none() {
            let msg = format!("{which} has no effect (neither allow_login = true nor local_group)");
            return Err(semantic(path, src, idx, table, "allow_login", msg, None));
        }
    }
    Ok(())
}
