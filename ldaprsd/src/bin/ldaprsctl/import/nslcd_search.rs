//! nslcd.conf options about where and how entries are searched: `base`, `scope`, `deref`,
//! `referrals`, `filter`, `map`, `pagesize`; and the schema they add up to.

use super::draft::Value;
use super::nslcd::St;
use super::nslcd_conf::{boolean, split_map, Opt};

const ONLY_TWO_MAPS: &str = "ldaprs serves the passwd and group maps only";
const SHADOW: &str = "ldaprs reads the account state from the user's own entry (found with the users base and filter): the shadowAccount attributes under their RFC 2307 names, and the password policy ones";
const EXPR: &str =
    "ldaprs maps an attribute to an attribute; nslcd's expressions have no equivalent";
const PASSWORD: &str = "ldaprs always shows \"x\" in the password field and never serves password hashes (passwords are checked by binding as the user)";

/// Handles `o` if it is one of this file's options.
pub fn handle(st: &mut St, o: &Opt) -> bool {
    match o.keyword.as_str() {
        "base" => base(st, o),
        "scope" => {
            let (_, v) = split_map(&o.rest);
            match v.to_ascii_lowercase().as_str() {
                "sub" | "subtree" => st.ok(o, "ldaprs searches the subtree below the base (nothing to write)"),
                _ => st.no(o, "ldaprs always searches the whole subtree below the base"),
            }
        }
        "deref" => match o.rest.to_ascii_lowercase().as_str() {
            "never" => st.ok(o, "ldaprs never dereferences aliases either (nothing to write)"),
            _ => st.no(o, "ldaprs never dereferences aliases"),
        },
        "referrals" => match boolean(&o.rest) {
            Some(false) => st.no(o, super::REFERRALS_OFF),
            _ => st.ok(o, super::REFERRALS_ON),
        },
        "filter" => filter(st, o),
        "map" => map(st, o),
        "pagesize" => st.ok(o, "ldaprs pages large searches itself (RFC 2696, 400 entries a page) where the server offers it (nothing to write)"),
        _ => return false,
    }
    true
}

fn base(st: &mut St, o: &Opt) {
    let (map, value) = split_map(&o.rest);
    let value = value.trim().to_string();
    if value.eq_ignore_ascii_case("domain") {
        return st.no(
            o,
            "base DOMAIN (the host's DNS domain as a DN) is not supported: write the DN",
        );
    }
    if value.is_empty() || value == "\"\"" {
        return st.no(o, "an empty base is not possible: ldaprs needs a base DN");
    }
    let slot = match map {
        None => &mut st.base,
        Some("passwd") => &mut st.passwd_base,
        Some("group") => &mut st.group_base,
        Some("shadow") => return st.no(o, SHADOW),
        Some(_) => return st.no(o, ONLY_TWO_MAPS),
    };
    if slot.is_some() {
        return st.no(o, "ldaprs searches one base per kind of entry: the first one is used (a second directory tree needs a second [[servers]] block)");
    }
    *slot = Some((value, o.clone()));
    let what = match map {
        None => "[[servers]] base",
        Some("passwd") => {
            "[servers.users] base (and [[servers]] base if there is no plain base line)"
        }
        _ => "[servers.groups] base (and [[servers]] base if there is no plain base line)",
    };
    st.ok(o, what);
}

fn filter(st: &mut St, o: &Opt) {
    let (map, f) = split_map(&o.rest);
    let f = f.trim().to_string();
    match map {
        Some("passwd") => {
            st.s.users.set("filter", Value::Str(f), &o.from());
            st.ok(o, "[servers.users] filter");
        }
        Some("group") => {
            st.s.groups.set("filter", Value::Str(f), &o.from());
            st.ok(o, "[servers.groups] filter");
        }
        Some("shadow") => st.no(o, SHADOW),
        Some(_) => st.no(o, ONLY_TWO_MAPS),
        None => st.no(
            o,
            "a filter without a map: nslcd stops at start with \"unknown map\"",
        ),
    }
}

fn map(st: &mut St, o: &Opt) {
    let (map, rest) = split_map(&o.rest);
    let rest = rest.trim();
    let (attr, new) = match rest.find([' ', '\t']) {
        Some(p) => {
            let (a, n) = rest.split_at(p);
            (a.to_ascii_lowercase(), n.trim().to_string())
        }
        None => return st.no(o, "map needs an attribute and what it maps to"),
    };
    match map {
        Some("passwd") => passwd_attr(st, o, &attr, &new),
        Some("group") => group_attr(st, o, &attr, &new),
        Some("shadow") => st.no(o, SHADOW),
        Some(_) => st.no(o, ONLY_TWO_MAPS),
        None => st.no(o, "unknown map: nslcd stops at start"),
    }
}

fn passwd_attr(st: &mut St, o: &Opt, attr: &str, new: &str) {
    let expr = new.starts_with('"');
    let key = match attr {
        "uid" => "name",
        "uidnumber" => "uid_number",
        "gidnumber" => "gid_number",
        "gecos" => "gecos",
        "homedirectory" => "home",
        "loginshell" => "shell",
        "userpassword" if new == "\"x\"" => {
            st.password_x = true;
            return st.ok(
                o,
                "ldaprs always shows \"x\" in the password field (nothing to write)",
            );
        }
        "userpassword" => return st.no(o, PASSWORD),
        _ => return st.no(o, "not a passwd attribute nslcd maps"),
    };
    if key == "gecos" && new == "\"${gecos:-$cn}\"" {
        return st.ok(o, "ldaprs's default: gecos, else cn (nothing to write)");
    }
    if expr {
        return st.no(o, EXPR);
    }
    if new.to_ascii_lowercase().starts_with("objectsid:") {
        return st.no(o, "ldaprs reads uidNumber/gidNumber attributes; ids derived from objectSid are not supported");
    }
    st.s.user_attrs
        .set(key, Value::Str(new.to_string()), &o.from());
    st.ok(o, format!("[servers.users.attributes] {key}"));
}

fn group_attr(st: &mut St, o: &Opt, attr: &str, new: &str) {
    if new.starts_with('"') {
        return match attr {
            "userpassword" if new == "\"x\"" => st.ok(
                o,
                "ldaprs always shows \"x\" in the password field (nothing to write)",
            ),
            "userpassword" => st.no(o, PASSWORD),
            _ => st.no(o, EXPR),
        };
    }
    match attr {
        "cn" => {
            st.s.group_attrs
                .set("name", Value::Str(new.to_string()), &o.from());
            st.ok(o, "[servers.groups.attributes] name");
        }
        "gidnumber" if new.to_ascii_lowercase().starts_with("objectsid:") => st.no(
            o,
            "ldaprs reads gidNumber attributes; ids derived from objectSid are not supported",
        ),
        "gidnumber" => {
            st.s.group_attrs
                .set("gid_number", Value::Str(new.to_string()), &o.from());
            st.ok(o, "[servers.groups.attributes] gid_number");
        }
        "memberuid" => st.member_uid = Some((new.to_string(), o.clone())),
        "member" => st.member = Some((new.to_string(), o.clone())),
        "userpassword" => st.no(o, PASSWORD),
        _ => st.no(o, "not a group attribute nslcd maps"),
    }
}

/// nslcd reads memberUid and member (each renamed by `map group`); ldaprs reads memberUid,
/// member and uniqueMember, whichever the directory uses, unless `member_attributes` names
/// them. The schema's primary form: member DNs (rfc2307bis) when `map group member` or
/// `nss_nested_groups yes` says so, names (rfc2307) otherwise.
pub fn finish_schema(st: &mut St) {
    let bis = st.member.is_some() || st.nested.is_some();
    let schema = if bis { "rfc2307bis" } else { "rfc2307" };
    let from = match (&st.member, &st.nested) {
        (Some((_, o)), _) | (None, Some(o)) => o.from(),
        (None, None) => "nslcd reads memberUid first".to_string(),
    };
    st.s.main.set("schema", Value::Str(schema.into()), &from);
    let uid_attr = st
        .member_uid
        .as_ref()
        .map(|(a, _)| a.clone())
        .unwrap_or_else(|| "memberUid".into());
    let dn_attr = st
        .member
        .as_ref()
        .map(|(a, _)| a.clone())
        .unwrap_or_else(|| "member".into());
    let renamed = uid_attr != "memberUid" || dn_attr != "member";
    if renamed {
        let list = vec![uid_attr.clone(), dn_attr.clone()];
        let from = [&st.member_uid, &st.member]
            .into_iter()
            .flatten()
            .map(|(_, o)| o.from())
            .collect::<Vec<_>>()
            .join(", ");
        st.s.groups
            .set("member_attributes", Value::List(list), &from);
    }
    let what = |attr: &str| {
        if renamed {
            format!("[servers.groups] member_attributes = [\"{uid_attr}\", \"{dn_attr}\"] (the two forms nslcd read)")
        } else {
            format!("ldaprs reads {attr} too (with memberUid, member and uniqueMember, whichever the directory uses; nothing to write)")
        }
    };
    for slot in [st.member_uid.clone(), st.member.clone()]
        .into_iter()
        .flatten()
    {
        let (attr, o) = slot;
        let mut w = what(&attr);
        if bis && st.member.as_ref().is_some_and(|(_, m)| m.line == o.line) {
            w.push_str("; schema = \"rfc2307bis\" (member DNs first)");
        }
        st.ok(&o, w);
    }
    if let Some(o) = st.nested.clone() {
        st.s.groups.set("nested", Value::Bool(true), &o.from());
        st.ok(&o, "[servers.groups] nested = true (at most nesting_depth = 10 levels; cycles are detected); schema = \"rfc2307bis\"");
    }
}
