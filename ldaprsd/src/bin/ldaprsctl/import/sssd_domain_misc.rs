//! The options of an sssd.conf `[domain/NAME]` that are not about reaching LDAP: providers
//! other than id, id ranges, caches and enumeration, offline mode, name formats, overrides,
//! account policies, paging and nesting.

use super::draft::Value;
use super::sssd::{self, Global, St};
use super::sssd_domain::Dom;
use super::sssd_ini::Key;

const OFFLINE: &str = "offline login is not supported yet (planned): with no server reachable, ldaprs answers from its cache until entry_ttl ends and logins fail";
const OVERRIDE: &str = "ldaprs serves the directory's values as they are (no override setting)";
const SHORT_NAMES: &str =
    "ldaprs serves short names only, as the directory has them (no name@domain forms)";
const ONLY: &str = "ldaprs serves passwd, group and PAM only";

/// What the handlers need to know about the whole domain.
#[derive(Debug)]
pub struct Ctx {
    pub name: String,
    has_entry_cache_timeout: bool,
    /// The smaller of entry_cache_user_timeout and entry_cache_group_timeout.
    user_group_ttl: Option<i64>,
}

impl Ctx {
    pub fn new(name: &str, keys: &[Key]) -> Ctx {
        let ttl = |n: &str| keys.iter().find(|k| k.key == n).and_then(Key::integer);
        Ctx {
            name: name.to_string(),
            has_entry_cache_timeout: ttl("entry_cache_timeout").is_some(),
            user_group_ttl: [
                ttl("entry_cache_user_timeout"),
                ttl("entry_cache_group_timeout"),
            ]
            .into_iter()
            .flatten()
            .min(),
        }
    }
}

/// Handles `k` if it is one of this file's options.
pub fn handle(st: &mut St, ctx: &Ctx, dom: &mut Dom, k: &Key) -> bool {
    let v = k.value.to_ascii_lowercase();
    match k.key.as_str() {
        "auth_provider" => match v.as_str() {
            "ldap" => st.ok(k, "ldaprs authenticates by binding as the user (nothing to write)"),
            "none" => st.no(k, "ldaprs always authenticates users by binding as them"),
            _ => st.no(k, "ldaprs authenticates by LDAP binds only (no Kerberos yet)"),
        },
        "chpass_provider" => match v.as_str() {
            "ldap" => st.ok(k, "ldaprs changes passwords with the LDAP Password Modify operation (nothing to write)"),
            "none" => st.no(k, "ldaprs has no setting to forbid password changes"),
            _ => st.no(k, "ldaprs changes passwords by LDAP only"),
        },
        key if key.ends_with("_provider") => match v.as_str() {
            "none" => st.ok(k, "ldaprs does not serve it either (nothing to write)"),
            _ => st.no(k, ONLY),
        },
        "min_id" => min_id(st, ctx, k),
        "max_id" => st.no(k, "ldaprs has no upper id limit (no max_uid setting)"),
        "enumerate" => match k.boolean() {
            Some(true) => st.ok(k, "ldaprs answers enumerations on request, with paged searches (nothing to write)"),
            _ => st.no(k, "ldaprs always answers enumerations (getent passwd lists every user); there is no setting to turn them off"),
        },
        "cache_credentials" => match k.boolean() {
            Some(false) => st.ok(k, "ldaprs keeps no passwords either (nothing to write)"),
            _ => st.no(k, OFFLINE),
        },
        "account_cache_expiration" | "offline_timeout" | "offline_timeout_max"
        | "offline_timeout_random_offset" | "cached_auth_timeout" => st.no(k, OFFLINE),
        "entry_cache_timeout" | "entry_cache_user_timeout" | "entry_cache_group_timeout" => ttl(st, ctx, k),
        key if key.starts_with("entry_cache_") => st.no(k, ONLY),
        "refresh_expired_interval" => st.ok(k, "ldaprs refreshes entries in use ahead of their expiry (fixed; nothing to write)"),
        "case_sensitive" => match k.boolean() {
            Some(true) => st.ok(k, "ldaprs matches names byte for byte (nothing to write)"),
            _ => st.no(k, "ldaprs matches names byte for byte (ALICE is not alice): a case-insensitive match would let ALICE log in as alice"),
        },
        "use_fully_qualified_names" => match k.boolean() {
            Some(false) => st.ok(k, "ldaprs serves short names (nothing to write)"),
            _ => st.no(k, SHORT_NAMES),
        },
        "full_name_format" | "re_expression" | "default_domain_suffix" => st.no(k, SHORT_NAMES),
        "override_homedir" | "fallback_homedir" | "homedir_substring" | "override_shell"
        | "default_shell" | "override_gid" | "shell_fallback" | "allowed_shells"
        | "vetoed_shells" => st.no(k, OVERRIDE),
        "debug_level" => sssd::debug_level(st, k),
        "enabled" | "description" => st.ok(k, "nothing to write"),
        _ => return policies(st, dom, k),
    }
    true
}

fn min_id(st: &mut St, ctx: &Ctx, k: &Key) {
    let Some(n) = k.integer().filter(|n| *n >= 0) else {
        return st.no(k, "not a number");
    };
    let v = n.clamp(1, i64::from(u32::MAX));
    let a = st.set_global(&ctx.name, Global::Nss, "min_uid", Value::Int(v), k);
    let b = st.set_global(&ctx.name, Global::Nss, "min_gid", Value::Int(v), k);
    if a && b {
        st.ok(k, format!("[nss] min_uid = {v} and min_gid = {v}"));
    }
}

fn ttl(st: &mut St, ctx: &Ctx, k: &Key) {
    let Some(n) = k.integer().filter(|n| *n >= 0) else {
        return st.no(k, "not a number of seconds");
    };
    let v = if k.key == "entry_cache_timeout" {
        n
    } else if ctx.has_entry_cache_timeout {
        return st.no(k, "ldaprs has one TTL for users and groups ([cache] entry_ttl): entry_cache_timeout is used");
    } else {
        ctx.user_group_ttl.unwrap_or(n)
    };
    if st.set_global(&ctx.name, Global::Cache, "entry_ttl", Value::Int(v), k) {
        let smaller = if v != n {
            " (the smaller of the user and group timeouts)"
        } else {
            ""
        };
        st.ok(k, format!("[cache] entry_ttl = {v}{smaller}"));
    }
}

/// Account policies, paging, id mapping, nested groups' matching rule, connections.
fn policies(st: &mut St, dom: &mut Dom, k: &Key) -> bool {
    let v = k.value.to_ascii_lowercase();
    match k.key.as_str() {
        "ldap_account_expire_policy" => match v.as_str() {
            "shadow" | "ad" | "rhds" | "ipa" | "389ds" => st.ok(k, "ldaprs checks the account state its schema defines: shadowExpire and friends, pwdAccountLockedTime and nsAccountLock (rfc2307, rfc2307bis, ipa), userAccountControl and accountExpires (ad) (nothing to write)"),
            _ => st.no(k, "not a policy ldaprs knows"),
        },
        "ldap_pwd_policy" => match v.as_str() {
            "shadow" => st.ok(k, "ldaprs applies the shadow attributes with pam_unix's rules (nothing to write)"),
            "none" => st.no(k, "ldaprs always applies the shadow attributes and the password policy state"),
            _ => st.no(k, "ldaprs does not read Kerberos password policies"),
        },
        "ldap_page_size" => st.ok(k, "ldaprs pages large searches itself (RFC 2696, 400 entries a page; nothing to write)"),
        "ldap_disable_paging" => match k.boolean() {
            Some(false) => st.ok(k, "ldaprs pages large searches too (nothing to write)"),
            _ => st.no(k, "ldaprs uses paging wherever the server offers it"),
        },
        "ldap_deref" => match v.as_str() {
            "never" => st.ok(k, "ldaprs never dereferences aliases either (nothing to write)"),
            _ => st.no(k, "ldaprs never dereferences aliases"),
        },
        "ldap_id_mapping" => match k.boolean() {
            Some(false) => st.ok(k, "ldaprs reads uidNumber and gidNumber (nothing to write)"),
            Some(true) if dom.schema == "ad" => {
                dom.s.idmap.set("mode", Value::Str("sid".into()), &k.from());
                st.ok(k, "[servers.idmap] mode = \"sid\": SSSD's algorithm, so the same uids and gids with the same range (ldaprs refuses a RID at or above range_size, where SSSD adds helper slices)");
            }
            _ => st.no(k, "ids from objectSid need ldap_schema = ad"),
        },
        key @ ("ldap_idmap_range_min" | "ldap_idmap_range_max" | "ldap_idmap_range_size") => {
            let name = match key {
                "ldap_idmap_range_min" => "range_min",
                "ldap_idmap_range_max" => "range_max",
                _ => "range_size",
            };
            match k.value.trim().parse::<u32>() {
                Ok(n) => {
                    dom.s.idmap.set(name, Value::Int(i64::from(n)), &k.from());
                    st.ok(k, format!("[servers.idmap] {name} = {n}"));
                }
                Err(_) => st.no(k, "not a number from 0 to 4294967295"),
            }
        }
        key if key.starts_with("ldap_idmap_") => st.no(k, "not implemented: ldaprs maps every domain by its SID's hash alone (no default domain in slice 0, no autorid compatibility, no helper slices); check that no uid changes before switching"),
        "ldap_min_id" | "ldap_max_id" => st.no(k, "ldaprs has no id window per block: [nss] min_uid and min_gid apply to every answer"),
        "ldap_groups_use_matching_rule_in_chain" | "ldap_initgroups_use_matching_rule_in_chain" => match k.boolean() {
            Some(true) => {
                dom.s.groups.set("in_chain", Value::Bool(true), &k.from());
                st.ok(k, "[servers.groups] in_chain = true (with nested = true)");
            }
            _ => st.ok(k, "ldaprs follows nesting level by level unless in_chain (nothing to write)"),
        },
        "ldap_use_tokengroups" if dom.schema == "ad" => match k.boolean() {
            Some(true) => {
                dom.s.groups.set("token_groups", Value::Bool(true), &k.from());
                st.ok(k, "[servers.groups] token_groups = true");
            }
            _ => st.ok(k, "ldaprs searches the groups' member attribute (nothing to write)"),
        },
        "ldap_use_tokengroups" => st.no(k, "tokenGroups is AD's; ldaprs searches the groups"),
        "ignore_group_members" => match k.boolean() {
            Some(false) => st.ok(k, "ldaprs lists a group's members too (nothing to write)"),
            _ => st.no(k, "ldaprs always lists a group's members"),
        },
        "ldap_enumeration_search_timeout" => st.no(k, "ldaprs applies [[servers]] timeout to each page of an enumeration"),
        "ldap_connection_expire_timeout" | "ldap_connection_expire_offset" | "ldap_connection_idle_timeout"
        | "ldap_enumeration_refresh_timeout" | "ldap_purge_cache_timeout" => st.no(k, "ldaprs manages its connections and cache itself (no such setting)"),
        "failover_primary_timeout" => st.no(k, "ldaprs tries the URIs in order and probes a down one in the background ([[servers]] retry_dead_after)"),
        key if key.starts_with("dns_") || key == "lookup_family_order" || key == "ldap_dns_service_name" => {
            st.no(k, "ldaprs resolves the host names in uri with the system resolver (no DNS settings, no SRV discovery)")
        }
        "auto_private_groups" => st.no(k, "ldaprs serves the groups the directory has (no private groups made up)"),
        "ldap_rfc2307_fallback_to_local_users" => st.no(k, "ldaprs lists a group's directory members only"),
        _ => return false,
    }
    true
}

/// Nested groups: `ldap_group_nesting_level` (SSSD's default: 2 levels for rfc2307bis and
/// ipa; AD's tokenGroups follow every level). rfc2307 groups list names and do not nest.
pub fn finish_nesting(st: &mut St, dom: &mut Dom, _keys: &[Key]) {
    let level = dom.nesting.clone();
    if dom.schema == "rfc2307" {
        if let Some(k) = level {
            match k.integer() {
                Some(0) => st.ok(&k, "no nesting (nothing to write)"),
                _ => st.no(&k, "rfc2307 groups list member names: nesting needs member DNs (ldap_schema = rfc2307bis)"),
            }
        }
        return drop_in_chain(st, dom);
    }
    let depth = match &level {
        Some(k) => match k.integer().filter(|n| *n >= 0) {
            Some(n) => Some(n),
            None => {
                st.no(k, "not a number");
                return drop_in_chain(st, dom);
            }
        },
        None if dom.schema == "ad" => None,
        None => Some(2),
    };
    if depth == Some(0) {
        if let Some(k) = &level {
            st.ok(k, "no nesting (nothing to write)");
        }
        return drop_in_chain(st, dom);
    }
    let from = level
        .as_ref()
        .map(Key::from)
        .unwrap_or_else(|| "SSSD's default nesting".into());
    dom.s.groups.set("nested", Value::Bool(true), &from);
    if let Some(d) = depth {
        let d = d.clamp(1, 64);
        dom.s.groups.set("nesting_depth", Value::Int(d), &from);
        match &level {
            Some(k) => st.ok(k, format!("[servers.groups] nested = true, nesting_depth = {d}")),
            None => st.r.note(format!("domain {}: SSSD follows 2 levels of nested groups by default: written as nested = true, nesting_depth = 2", dom.name)),
        }
    } else {
        st.r.note(format!("domain {}: SSSD follows every level of AD's nested groups (tokenGroups): written as nested = true (in_chain, nesting_depth = 10)", dom.name));
        if let Some(k) = &level {
            st.ok(k, "[servers.groups] nested = true");
        }
    }
}

/// `in_chain = true` only with `nested = true` (the config check refuses it otherwise).
fn drop_in_chain(st: &mut St, dom: &mut Dom) {
    if dom.s.groups.get("in_chain").is_some() {
        dom.s.groups.remove("in_chain");
        st.r.note(format!("domain {}: the matching rule in chain needs nested groups, which this domain does not follow: in_chain left out", dom.name));
    }
}
