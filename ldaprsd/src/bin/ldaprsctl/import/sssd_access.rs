//! The access rules of an sssd.conf domain → `[pam]`: `access_provider = permit | deny |
//! simple | ldap`, with `simple_allow_*`/`simple_deny_*` or `ldap_access_order` and
//! `ldap_access_filter`.

use super::authz;
use super::draft::Value;
use super::sssd::{Global, St};
use super::sssd_ini::Key;

/// The keys this file handles (the domain translation leaves them alone).
pub const KEYS: &[&str] = &[
    "access_provider",
    "ldap_access_order",
    "ldap_access_filter",
    "ldap_user_authorized_host",
    "ldap_user_authorized_service",
    "ldap_user_authorized_rhost",
    "simple_allow_users",
    "simple_deny_users",
    "simple_allow_groups",
    "simple_deny_groups",
];

/// Translates the access keys of domain `dom`; `name_attr` is the user name attribute.
pub fn import(st: &mut St, dom: &str, name_attr: &str, keys: &[Key]) {
    let get = |n: &str| keys.iter().find(|k| k.key == n).cloned();
    let provider = get("access_provider");
    let kind = provider
        .as_ref()
        .map(|k| k.value.to_ascii_lowercase())
        .unwrap_or_else(|| "permit".into());
    let used: &[&str] = match kind.as_str() {
        "simple" => &[
            "simple_allow_users",
            "simple_deny_users",
            "simple_allow_groups",
            "simple_deny_groups",
        ],
        "ldap" => &[
            "ldap_access_order",
            "ldap_access_filter",
            "ldap_user_authorized_host",
            "ldap_user_authorized_service",
            "ldap_user_authorized_rhost",
        ],
        _ => &[],
    };
    let filter = match kind.as_str() {
        "permit" => {
            if let Some(k) = &provider {
                st.ok(
                    k,
                    "every user the directory has may log in (no [pam] rule; nothing to write)",
                );
            }
            None
        }
        "deny" => {
            if let Some(k) = &provider {
                st.ok(
                    k,
                    "[pam] access_filter = \"(!(objectClass=*))\": nobody may log in",
                );
            }
            Some(("(!(objectClass=*))".to_string(), provider.clone()))
        }
        "simple" => simple(st, dom, name_attr, provider.as_ref(), &get),
        "ldap" => ldap(st, provider.as_ref(), &get),
        _ => {
            if let Some(k) = &provider {
                st.no(k, "ldaprs's access rules are [pam] allow_groups, deny_groups and access_filter; this provider has no equivalent");
            }
            None
        }
    };
    for k in keys {
        if KEYS.contains(&k.key.as_str())
            && k.key != "access_provider"
            && !used.contains(&k.key.as_str())
        {
            st.no(
                k,
                format!("not used with access_provider = {kind} (SSSD ignores it too)"),
            );
        }
    }
    if let Some((f, Some(k))) = filter {
        if let Err(e) = authz::check(&f) {
            return st.no(
                &k,
                format!(
                    "the access filter does not check ({e}): write [pam] access_filter by hand"
                ),
            );
        }
        st.set_global(dom, Global::Pam, "access_filter", Value::Str(f), &k);
    }
}

type Get<'a> = dyn Fn(&str) -> Option<Key> + 'a;

/// `access_provider = simple`: groups become allow/deny groups, users a filter on the name.
fn simple(
    st: &mut St,
    dom: &str,
    name_attr: &str,
    provider: Option<&Key>,
    get: &Get<'_>,
) -> Option<(String, Option<Key>)> {
    if let Some(k) = provider {
        st.ok(
            k,
            "[pam] allow_groups, deny_groups and access_filter from the simple_* lists",
        );
    }
    let allow_groups = get("simple_allow_groups");
    for (key, pam_key) in [
        ("simple_allow_groups", "allow_groups"),
        ("simple_deny_groups", "deny_groups"),
    ] {
        if let Some(k) = get(key) {
            if st.set_global(dom, Global::Pam, pam_key, Value::List(k.list()), &k) {
                st.ok(&k, format!("[pam] {pam_key}"));
            }
        }
    }
    let mut filter = String::new();
    let mut from = None;
    if let Some(k) = get("simple_allow_users") {
        if allow_groups.is_some() {
            st.no(&k, "SSSD lets in the allowed users or the members of the allowed groups; in ldaprs allow_groups and access_filter must both match: put these users into an allowed group, or write [pam] access_filter by hand");
        } else {
            filter = authz::any_of(name_attr, &k.list());
            st.ok(
                &k,
                format!("[pam] access_filter: the user's {name_attr} is one of them"),
            );
            from = Some(k);
        }
    }
    if let Some(k) = get("simple_deny_users") {
        filter = authz::and(
            &filter,
            &format!("(!{})", authz::any_of(name_attr, &k.list())),
        );
        st.ok(
            &k,
            format!("[pam] access_filter: the user's {name_attr} is none of them"),
        );
        from = from.or(Some(k));
    }
    (!filter.is_empty()).then_some((filter, from))
}

/// `access_provider = ldap`: each `ldap_access_order` rule becomes part of the filter or is
/// what ldaprs checks anyway.
fn ldap(st: &mut St, provider: Option<&Key>, get: &Get<'_>) -> Option<(String, Option<Key>)> {
    if let Some(k) = provider {
        st.ok(k, "[pam] access_filter from ldap_access_order");
    }
    let order_key = get("ldap_access_order");
    let order = order_key
        .as_ref()
        .map(Key::list)
        .unwrap_or_else(|| vec!["filter".into()]);
    let mut filter = String::new();
    let mut notes = Vec::new();
    let mut untranslated = Vec::new();
    for rule in &order {
        match rule.as_str() {
            "filter" => match get("ldap_access_filter") {
                Some(k) => {
                    let f = authz::literal_to_template(&ldaprs_common::filter::normalize(&k.value));
                    filter = authz::and(&filter, &f);
                    st.ok(&k, "[pam] access_filter (tested on the user's own entry, as SSSD does)");
                }
                None => notes.push("filter without ldap_access_filter: SSSD denies every login; ldaprs writes no rule".to_string()),
            },
            "expire" | "ppolicy" | "lockout" | "pwd_expire_policy_reject" | "pwd_expire_policy_warn" | "pwd_expire_policy_renew" => {}
            "host" | "authorized_service" | "rhost" => {
                let (key, default, var) = match rule.as_str() {
                    "host" => ("ldap_user_authorized_host", "host", "hostname"),
                    "rhost" => ("ldap_user_authorized_rhost", "rhost", "rhost"),
                    _ => ("ldap_user_authorized_service", "authorizedService", "service"),
                };
                let attr = get(key).map(|k| k.value.clone()).unwrap_or_else(|| default.into());
                filter = authz::and(&filter, &format!("(|({attr}=${var})({attr}=\\2a))"));
                notes.push(format!("{rule}: ({attr}=${var}) or ({attr}=*); SSSD's negated values (!name) are not honoured"));
                if let Some(k) = get(key) {
                    st.ok(&k, format!("the attribute of the {rule} rule in [pam] access_filter"));
                }
            }
            other => untranslated.push(other.to_string()),
        }
    }
    if let (Some(k), false) = (&order_key, untranslated.is_empty()) {
        st.no(
            k,
            format!(
                "the rules {} have no ldaprs equivalent; the others are in [pam] access_filter",
                untranslated.join(", ")
            ),
        );
    } else if let Some(k) = &order_key {
        let mut what = "[pam] access_filter; expire, ppolicy, lockout and pwd_expire_policy_* are the account state ldaprs always checks".to_string();
        if !notes.is_empty() {
            what.push_str(&format!(" ({})", notes.join("; ")));
        }
        st.ok(k, what);
    } else if !notes.is_empty() {
        st.r.note(notes.join("; "));
    }
    let from = get("ldap_access_filter")
        .or(order_key)
        .or(provider.cloned());
    (!filter.is_empty()).then_some((filter, from))
}
