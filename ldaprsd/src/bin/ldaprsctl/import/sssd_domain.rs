//! One `[domain/NAME]` of sssd.conf with `id_provider = ldap` → one `[[servers]]` block: the
//! `ldap_*` options about servers, binds, TLS, bases, filters and attribute maps. Options
//! that are not about LDAP (caches, ids, offline) are in `sssd_domain_misc`, access rules in
//! `sssd_access`.

use super::draft::{ServerDraft, Value};
use super::sssd::St;
use super::sssd_ini::Key;
use super::{sssd_access, sssd_domain_misc, BIND_PASSWORD_FILE};

const SASL: &str = "ldaprs binds with simple binds only (no SASL or Kerberos yet): a service account (bind_dn and a password file) or anonymous searches";
const ONLY: &str = "ldaprs serves passwd, group and PAM only";

/// A domain being translated.
#[derive(Debug)]
pub struct Dom {
    pub name: String,
    pub s: ServerDraft,
    /// ldaprs's schema name (rfc2307, rfc2307bis, ad, ipa).
    pub schema: &'static str,
    pub uris: Vec<String>,
    pub backup: Vec<String>,
    pub base: Option<(String, Key)>,
    /// A filter from `ldap_search_base`'s `?filter` part (ANDed into both kinds' filters).
    pub base_filter: Option<String>,
    pub user_class: Option<String>,
    pub group_class: Option<String>,
    pub user_extra: Option<String>,
    pub group_extra: Option<String>,
    pub bind_dn: Option<Key>,
    pub authtok: Option<Key>,
    pub obfuscated: bool,
    pub tls_cert: Option<Key>,
    pub tls_key: Option<Key>,
    pub starttls: Option<Key>,
    pub nesting: Option<Key>,
}

/// Translates one active domain.
pub fn import(st: &mut St, name: &str, keys: &[Key]) {
    let get = |n: &str| keys.iter().find(|k| k.key == n);
    match get("id_provider").map(|k| k.value.as_str()) {
        Some("ldap") => {}
        other => return skip(st, name, other, keys),
    }
    let schema = match get("ldap_schema")
        .map(|k| k.value.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("rfc2307") => "rfc2307",
        Some("rfc2307bis") => "rfc2307bis",
        Some("ad") => "ad",
        Some("ipa") => "ipa",
        Some(_) => "rfc2307",
    };
    let mut dom = Dom {
        name: name.to_string(),
        s: ServerDraft::new(name, &format!("[domain/{name}]")),
        schema,
        uris: Vec::new(),
        backup: Vec::new(),
        base: None,
        base_filter: None,
        user_class: None,
        group_class: None,
        user_extra: None,
        group_extra: None,
        bind_dn: None,
        authtok: None,
        obfuscated: false,
        tls_cert: None,
        tls_key: None,
        starttls: None,
        nesting: None,
    };
    let misc = sssd_domain_misc::Ctx::new(name, keys);
    for k in keys {
        if sssd_access::KEYS.contains(&k.key.as_str()) {
            continue;
        }
        let done = conn(st, &mut dom, k)
            || search(st, &mut dom, k)
            || sssd_domain_misc::handle(st, &misc, &mut dom, k);
        if !done {
            st.no(k, "not translated: ldaprs has no equivalent (or an SSSD option this importer does not know)");
        }
    }
    finish(st, &mut dom, keys);
    let name_attr = dom
        .s
        .user_attrs
        .str("name")
        .map(str::to_string)
        .unwrap_or_else(|| default_name_attr(schema).to_string());
    sssd_access::import(st, name, &name_attr, keys);
    st.d.servers.push(dom.s);
}

fn skip(st: &mut St, name: &str, provider: Option<&str>, keys: &[Key]) {
    let why = match provider {
        None => "it has no id_provider (SSSD refuses such a domain)".to_string(),
        Some("ad") | Some("ipa") => format!("id_provider = {} joins the domain with Kerberos (a machine account, SASL/GSSAPI binds), which ldaprs does not do yet: describe the directory with id_provider = ldap, ldap_schema = {} and a service account, then import again", provider.unwrap_or(""), provider.unwrap_or("")),
        Some("files") | Some("proxy") | Some("local") => "ldaprs reads /etc/passwd and /etc/group itself (local names first); it serves the directory only".to_string(),
        Some(p) => format!("id_provider = {p} is not an LDAP directory ldaprs can ask"),
    };
    for k in keys {
        st.no(k, format!("domain {name} is not imported: {why}"));
    }
}

fn default_name_attr(schema: &str) -> &'static str {
    if schema == "ad" {
        "sAMAccountName"
    } else {
        "uid"
    }
}

/// Servers, binds, TLS and time limits.
fn conn(st: &mut St, dom: &mut Dom, k: &Key) -> bool {
    match k.key.as_str() {
        "id_provider" => st.ok(k, format!("[[servers]] block \"{}\"", dom.name)),
        "ldap_schema" => ldap_schema(st, dom, k),
        "ldap_uri" | "ldap_backup_uri" => uris(st, dom, k),
        "ldap_default_bind_dn" => dom.bind_dn = Some(k.clone()),
        "ldap_default_authtok" => dom.authtok = Some(k.clone()),
        "ldap_default_authtok_type" => match k.value.as_str() {
            "password" => st.ok(k, "the password goes into bind_password_file (nothing to write)"),
            "obfuscated_password" => {
                dom.obfuscated = true;
                st.ok(k, "the password goes into bind_password_file, in clear (see the step above)");
            }
            _ => st.no(k, "ldaprs reads a password from a root-only file; other token types are not supported"),
        },
        "ldap_id_use_start_tls" => match k.boolean() {
            Some(true) => dom.starttls = Some(k.clone()),
            Some(false) => st.ok(k, "no StartTLS: [servers.tls] mode = \"auto\" (the default)"),
            None => st.no(k, "not a boolean"),
        },
        "ldap_tls_reqcert" => match k.value.to_ascii_lowercase().as_str() {
            "never" | "allow" => {
                dom.s.tls.set("verify", Value::Bool(false), &k.from());
                st.ok(k, "[servers.tls] verify = false (ldaprsd warns about it at every start)");
            }
            "try" | "demand" | "hard" => st.ok(k, "[servers.tls] verify = true (the default: chain and host name are checked)"),
            _ => st.no(k, "not a value SSSD accepts (never, allow, try, demand, hard)"),
        },
        "ldap_tls_cacert" => {
            dom.s.tls.set("ca_file", Value::Str(k.value.clone()), &k.from());
            st.ok(k, "[servers.tls] ca_file");
        }
        "ldap_tls_cacertdir" => st.no(k, "ldaprs reads CA certificates from one bundle file: name it in [servers.tls] ca_file (default: the system bundle)"),
        "ldap_tls_cert" => dom.tls_cert = Some(k.clone()),
        "ldap_tls_key" => dom.tls_key = Some(k.clone()),
        "ldap_tls_cipher_suite" => st.no(k, "ldaprs uses rustls's fixed set of modern cipher suites (TLS 1.2 and 1.3)"),
        "ldap_search_timeout" | "ldap_opt_timeout" => seconds(st, dom, k, "timeout"),
        "ldap_network_timeout" => seconds(st, dom, k, "connect_timeout"),
        "ldap_auth_disable_tls_never_use_in_production" => match k.boolean() {
            Some(true) => {
                dom.s.main.set("allow_cleartext_passwords", Value::Bool(true), &k.from());
                st.ok(k, "[[servers]] allow_cleartext_passwords = true (ldaprsd says so loudly at every start)");
            }
            _ => st.ok(k, "user passwords only over TLS or ldapi:// (the default; nothing to write)"),
        },
        "ldap_referrals" => match k.boolean() {
            Some(false) => st.no(k, super::REFERRALS_OFF),
            _ => st.ok(k, super::REFERRALS_ON),
        },
        key if key.starts_with("ldap_sasl_") || key.starts_with("ldap_krb5_") || key.starts_with("krb5_") => st.no(k, SASL),
        key if key.starts_with("ldap_chpass_") => st.no(k, "ldaprs changes passwords on the servers it searches (uri)"),
        _ => return false,
    }
    true
}

fn ldap_schema(st: &mut St, dom: &mut Dom, k: &Key) {
    if dom.schema == "rfc2307" && !k.value.eq_ignore_ascii_case("rfc2307") {
        return st.no(
            k,
            "not a schema ldaprs knows (rfc2307, rfc2307bis, ad, ipa): rfc2307 is used",
        );
    }
    dom.s
        .main
        .set("schema", Value::Str(dom.schema.into()), &k.from());
    st.ok(k, format!("[[servers]] schema = \"{}\"", dom.schema));
    if dom.schema == "ad" {
        st.r.note(format!("domain {}: ldaprs's ad schema reads the gecos from displayName (SSSD: gecos); add gecos = \"gecos\" to [servers.users.attributes] if your directory fills gecos", dom.name));
    }
}

fn uris(st: &mut St, dom: &mut Dom, k: &Key) {
    for u in k.list() {
        let shown = format!("{} = {u}", k.key);
        if u.contains("_srv_") {
            st.r.unsupported(
                &k.at(),
                &shown,
                "ldaprs has no DNS SRV discovery yet: list the servers' URIs",
            );
        } else if ["ldap://", "ldaps://", "ldapi://"]
            .iter()
            .any(|p| u.to_ascii_lowercase().starts_with(p))
        {
            let what = if k.key == "ldap_uri" {
                "[[servers]] uri (tried in order, with failover)"
            } else {
                "[[servers]] uri, after the ldap_uri ones (ldaprs tries URIs in order and probes a down one in the background)"
            };
            st.r.translated(&k.at(), &shown, what);
            if k.key == "ldap_uri" {
                dom.uris.push(u);
            } else {
                dom.backup.push(u);
            }
        } else {
            st.r.unsupported(&k.at(), &shown, "not an ldap://, ldaps:// or ldapi:// URI");
        }
    }
}

fn seconds(st: &mut St, dom: &mut Dom, k: &Key, key: &'static str) {
    let Some(n) = k.integer().filter(|n| *n > 0) else {
        return st.no(k, "not a positive number of seconds");
    };
    if k.key == "ldap_opt_timeout" && dom.s.main.get("timeout").is_some() {
        return st.no(
            k,
            "ldaprs has one timeout per operation: ldap_search_timeout is used",
        );
    }
    let v = (n as f64).clamp(0.05, 120.0);
    dom.s.main.set(key, Value::Float(v), &k.from());
    st.ok(k, format!("[[servers]] {key} = {v}"));
}

/// Bases, filters, attribute maps, nesting.
fn search(st: &mut St, dom: &mut Dom, k: &Key) -> bool {
    match k.key.as_str() {
        "ldap_search_base" | "ldap_user_search_base" | "ldap_group_search_base" => search_base(st, dom, k),
        "ldap_user_object_class" => class(st, dom, k, true),
        "ldap_group_object_class" => class(st, dom, k, false),
        "ldap_group_nesting_level" => dom.nesting = Some(k.clone()),
        "ldap_user_member_of" if matches!(dom.schema, "ad" | "ipa") => attr(st, dom, k, true, "member_of"),
        "ldap_user_member_of" => st.no(k, "SSSD searches the groups for rfc2307(bis), as ldaprs does ([servers.users.attributes] member_of would read the groups from the user's entry instead)"),
        "ldap_group_member" => {
            dom.s.groups.set("member_attributes", Value::List(vec![k.value.clone()]), &k.from());
            st.ok(k, "[servers.groups] member_attributes (SSSD read this one attribute)");
        }
        key => {
            let user = [("ldap_user_name", "name"), ("ldap_user_uid_number", "uid_number"), ("ldap_user_gid_number", "gid_number"), ("ldap_user_gecos", "gecos"), ("ldap_user_home_directory", "home"), ("ldap_user_shell", "shell")];
            let group = [("ldap_group_name", "name"), ("ldap_group_gid_number", "gid_number")];
            if let Some((_, a)) = user.iter().find(|(s, _)| *s == key) {
                attr(st, dom, k, true, a);
            } else if let Some((_, a)) = group.iter().find(|(s, _)| *s == key) {
                attr(st, dom, k, false, a);
            } else if key.starts_with("ldap_user_shadow_") {
                st.no(k, "ldaprs reads the shadowAccount attributes under their RFC 2307 names");
            } else if key.starts_with("ldap_user_") || key.starts_with("ldap_group_") {
                st.no(k, "ldaprs does not read this attribute");
            } else if key.ends_with("_search_base") {
                st.no(k, ONLY);
            } else {
                return false;
            }
        }
    }
    true
}

fn attr(st: &mut St, dom: &mut Dom, k: &Key, user: bool, key: &'static str) {
    let (t, table) = if user {
        (&mut dom.s.user_attrs, "servers.users.attributes")
    } else {
        (&mut dom.s.group_attrs, "servers.groups.attributes")
    };
    t.set(key, Value::Str(k.value.clone()), &k.from());
    st.ok(k, format!("[{table}] {key}"));
}

fn class(st: &mut St, dom: &mut Dom, k: &Key, user: bool) {
    if user {
        dom.user_class = Some(k.value.clone());
        st.ok(k, "[servers.users] filter");
    } else {
        dom.group_class = Some(k.value.clone());
        st.ok(k, "[servers.groups] filter");
    }
}

/// `base?scope?filter[?base?scope?filter…]`: the first base, a subtree scope, the filter.
fn search_base(st: &mut St, dom: &mut Dom, k: &Key) {
    let parts: Vec<&str> = k.value.split('?').collect();
    let base = parts
        .first()
        .map(|b| b.trim().to_string())
        .unwrap_or_default();
    let scope = parts
        .get(1)
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let filter = parts
        .get(2)
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty());
    if base.is_empty() {
        return st.no(k, "an empty base is not possible: ldaprs needs a base DN");
    }
    if !matches!(scope.as_str(), "" | "sub" | "subtree") {
        return st.no(k, "ldaprs always searches the whole subtree below the base");
    }
    if parts.len() > 3 {
        st.no(k, "ldaprs searches one base per kind of entry: only the first base is used (a second tree needs a second [[servers]] block)");
    }
    let filter = filter.map(|f| ldaprs_common::filter::normalize(&f));
    let what = match k.key.as_str() {
        "ldap_search_base" => {
            dom.base = Some((base, k.clone()));
            dom.base_filter = filter;
            "[[servers]] base"
        }
        "ldap_user_search_base" => {
            dom.s.users.set("base", Value::Str(base), &k.from());
            dom.user_extra = filter;
            "[servers.users] base"
        }
        _ => {
            dom.s.groups.set("base", Value::Str(base), &k.from());
            dom.group_extra = filter;
            "[servers.groups] base"
        }
    };
    st.ok(
        k,
        format!(
            "{what}{}",
            if parts.len() > 2 {
                " (its filter is ANDed into the filter)"
            } else {
                ""
            }
        ),
    );
}

/// What needs several keys: URIs, base, bind, TLS, filters, nesting.
fn finish(st: &mut St, dom: &mut Dom, keys: &[Key]) {
    let from = format!("[domain/{}]", dom.name);
    let mut uris: Vec<String> = dom.uris.iter().chain(dom.backup.iter()).cloned().collect();
    if uris.is_empty() {
        uris.push("ldap://ldap.example.com".into());
        st.r.todo(format!("domain {}: no ldap_uri (SSSD would look up DNS SRV records): replace the placeholder uri", dom.name));
    }
    if let Some(k) = dom.starttls.clone() {
        if uris.iter().all(|u| u.starts_with("ldap://")) {
            dom.s
                .tls
                .set("mode", Value::Str("starttls".into()), &k.from());
            st.ok(&k, "[servers.tls] mode = \"starttls\"");
        } else {
            st.no(&k, "StartTLS applies to ldap:// URIs only; the ldaps:// ones use TLS anyway (mode = \"auto\")");
        }
    }
    let plain = dom.starttls.is_none() && uris.iter().any(|u| u.starts_with("ldap://"));
    let cleartext_allowed = dom.s.main.get("allow_cleartext_passwords") == Some(&Value::Bool(true));
    if plain && !cleartext_allowed && dom.bind_dn.is_some() && dom.authtok.is_some() {
        st.r.todo(format!("domain {}: SSSD sent the service account's password over plain ldap://; ldaprs does not send it in clear text, so searches fail until the URIs are ldaps:// or StartTLS is on (allow_cleartext_passwords = true would also send users' passwords in clear text, which SSSD refused)", dom.name));
    }
    dom.s.main.set("uri", Value::List(uris), &from);
    if dom.s.main.get("schema").is_none() {
        dom.s.main.set(
            "schema",
            Value::Str(dom.schema.into()),
            "SSSD's default ldap_schema",
        );
    }
    finish_base(st, dom);
    finish_bind(st, dom);
    finish_client_cert(st, dom);
    finish_filters(dom);
    if dom.s.groups.get("member_attributes").is_none() {
        let one = if dom.schema == "rfc2307" {
            "memberUid"
        } else {
            "member"
        };
        st.r.note(format!("domain {}: SSSD read the members from {one} only; ldaprs reads memberUid, member and uniqueMember, whichever the directory uses ([servers.groups] member_attributes = [\"{one}\"] restricts it)", dom.name));
    }
    sssd_domain_misc::finish_nesting(st, dom, keys);
}

fn finish_base(st: &mut St, dom: &mut Dom) {
    let fallback = dom
        .s
        .users
        .str("base")
        .or_else(|| dom.s.groups.str("base"))
        .map(str::to_string);
    let base = match (&dom.base, fallback) {
        (Some((b, k)), _) => {
            let (b, from) = (b.clone(), k.from());
            dom.s.main.set("base", Value::Str(b), &from);
            return;
        }
        (None, Some(b)) => b,
        (None, None) => {
            st.r.todo(format!("domain {}: no ldap_search_base (SSSD read the server's default naming context): replace the placeholder base", dom.name));
            "dc=example,dc=com".to_string()
        }
    };
    dom.s
        .main
        .set("base", Value::Str(base), "no ldap_search_base");
}

fn finish_bind(st: &mut St, dom: &mut Dom) {
    match (dom.bind_dn.clone(), dom.authtok.clone()) {
        (Some(dn), Some(pw)) => {
            dom.s.main.set("bind_dn", Value::Str(dn.value.clone()), &dn.from());
            dom.s.main.set("bind_password_file", Value::Str(BIND_PASSWORD_FILE.into()), &pw.from());
            st.ok(&dn, "[[servers]] bind_dn");
            st.ok(&pw, format!("[[servers]] bind_password_file = \"{BIND_PASSWORD_FILE}\" (the password itself is not copied)"));
            let clear = if dom.obfuscated { " (the clear password: sss_obfuscate's output cannot be used)" } else { "" };
            st.r.todo(format!("put the bind password of domain {} (sssd.conf line {}, ldap_default_authtok){clear} on the first line of {BIND_PASSWORD_FILE}, owned by root, chmod 600; then remove it from sssd.conf", dom.name, pw.line));
        }
        (Some(dn), None) => st.no(&dn, "a bind DN without ldap_default_authtok: ldaprs needs the password in bind_password_file; searches stay anonymous until you add both"),
        (None, Some(pw)) => st.no(&pw, "ldap_default_authtok without ldap_default_bind_dn is not used by SSSD either"),
        (None, None) => {}
    }
}

fn finish_client_cert(st: &mut St, dom: &mut Dom) {
    match (dom.tls_cert.clone(), dom.tls_key.clone()) {
        (Some(c), Some(k)) => {
            dom.s
                .tls
                .set("client_cert", Value::Str(c.value.clone()), &c.from());
            dom.s
                .tls
                .set("client_key", Value::Str(k.value.clone()), &k.from());
            st.ok(&c, "[servers.tls] client_cert");
            st.ok(&k, "[servers.tls] client_key");
        }
        (Some(o), None) | (None, Some(o)) => st.no(
            &o,
            "ldaprs needs both ldap_tls_cert and ldap_tls_key (client_cert and client_key)",
        ),
        (None, None) => {}
    }
}

/// The object classes and the search bases' filters as `[servers.users]` / `[servers.groups]`
/// filters (only when one of them was given: otherwise the schema's filter stays).
fn finish_filters(dom: &mut Dom) {
    let (user_default, group_default) = match dom.schema {
        "ad" => ("user", "group"),
        _ => ("posixAccount", "posixGroup"),
    };
    let ad = dom.schema == "ad";
    for user in [true, false] {
        let (class, extra) = if user {
            (&dom.user_class, &dom.user_extra)
        } else {
            (&dom.group_class, &dom.group_extra)
        };
        if class.is_none() && extra.is_none() && dom.base_filter.is_none() {
            continue;
        }
        let c = class
            .clone()
            .unwrap_or_else(|| if user { user_default } else { group_default }.to_string());
        let id = if user { "uidNumber" } else { "gidNumber" };
        let mut f = ldaprs_common::filter::eq("objectClass", &c);
        // With ids from objectSid the entries need no uidNumber or gidNumber.
        if ad && dom.s.idmap.str("mode") != Some("sid") {
            f = ldaprs_common::filter::and(&f, &format!("({id}=*)"));
        }
        for x in [extra, &dom.base_filter].into_iter().flatten() {
            f = ldaprs_common::filter::and(&f, x);
        }
        let t = if user {
            &mut dom.s.users
        } else {
            &mut dom.s.groups
        };
        t.set(
            "filter",
            Value::Str(f),
            "ldap_*_object_class and the search bases' filters",
        );
    }
}
