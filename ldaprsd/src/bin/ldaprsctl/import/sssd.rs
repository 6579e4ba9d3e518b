//! `ldaprsctl import sssd`: sssd.conf(5) → ldaprs.toml. Each active `[domain/NAME]` with
//! `id_provider = ldap` becomes a `[[servers]]` block (`sssd_domain`, `sssd_domain_misc`,
//! `sssd_access`); `[sssd]`, `[nss]` and `[pam]` become ldaprs's global tables (here); the
//! other sections (sudo, autofs, ssh, ifp …) have no ldaprs equivalent.

use super::draft::{raise_log_level, Draft, Table, Value};
use super::report::Report;
use super::sssd_ini::{self, Ini, Key};

/// The global tables a domain's option may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    Nss,
    Pam,
    Cache,
}

#[derive(Debug, Default)]
pub struct St {
    pub d: Draft,
    pub r: Report,
    /// Which domain set which global key (`nss.min_uid` → `corp`).
    owners: Vec<(String, String)>,
}

impl St {
    pub fn ok(&mut self, k: &Key, what: impl Into<String>) {
        self.r.translated(&k.at(), &k.shown(), what);
    }

    pub fn no(&mut self, k: &Key, why: impl Into<String>) {
        self.r.unsupported(&k.at(), &k.shown(), why);
    }

    pub fn table(&mut self, g: Global) -> &mut Table {
        match g {
            Global::Nss => &mut self.d.nss,
            Global::Pam => &mut self.d.pam,
            Global::Cache => &mut self.d.cache,
        }
    }

    /// Sets a global key from domain `dom`. ldaprs has one `[nss]`, `[pam]` and `[cache]`
    /// for all server blocks: the first domain that sets a key wins, and a later domain with
    /// another value is reported. True if the value is now the one written.
    pub fn set_global(
        &mut self,
        dom: &str,
        g: Global,
        key: &'static str,
        v: Value,
        k: &Key,
    ) -> bool {
        let id = format!("{g:?}.{key}");
        let owner = self
            .owners
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, d)| d.clone());
        match owner {
            Some(o) if o != dom => {
                if self.table(g).get(key) == Some(&v) {
                    return true;
                }
                let table = format!("{g:?}").to_ascii_lowercase();
                self.no(k, format!("ldaprs has one [{table}] {key} for all server blocks; domain {o} set it first"));
                false
            }
            _ => {
                self.owners.push((id, dom.to_string()));
                self.table(g).set(key, v, &k.from());
                true
            }
        }
    }
}

/// Translates sssd.conf text.
pub fn import(text: &str) -> (Draft, Report) {
    let ini = sssd_ini::parse(text);
    let mut st = St::default();
    for (line, e) in &ini.errors {
        st.r.unsupported(
            &format!("line {line}"),
            "(unreadable line)",
            format!("{e}; SSSD stops at start on it"),
        );
    }
    for k in &ini.replaced {
        st.no(
            k,
            "set again later in the same section: SSSD keeps the last value",
        );
    }
    let active = active_domains(&ini, &mut st);
    for section in ini.sections() {
        let keys: Vec<Key> = ini.section(&section).into_iter().cloned().collect();
        match section.as_str() {
            "sssd" => keys.iter().for_each(|k| sssd_key(&mut st, k)),
            "nss" => keys.iter().for_each(|k| nss_key(&mut st, k)),
            "pam" => keys.iter().for_each(|k| pam_key(&mut st, k)),
            s if s.starts_with("domain/") => {
                let name = s.trim_start_matches("domain/");
                if active.iter().any(|a| a == name) {
                    super::sssd_domain::import(&mut st, name, &keys);
                } else {
                    for k in &keys {
                        st.no(k, format!("domain {name} is not in [sssd] domains and not enabled: SSSD does not use it either"));
                    }
                }
            }
            "" => keys
                .iter()
                .for_each(|k| st.no(k, "outside any section: SSSD does not use it")),
            s => {
                let why = format!(
                    "ldaprs serves passwd, group and PAM only: the [{s}] section has no equivalent"
                );
                keys.iter().for_each(|k| st.no(k, why.clone()));
            }
        }
    }
    if st.d.servers.is_empty() {
        st.r.note("no domain with id_provider = ldap was imported: the [[servers]] block is a placeholder to fill in");
        placeholder_server(&mut st);
    }
    (st.d, st.r)
}

/// `[sssd] domains` in order, then `[domain/X] enabled = true`; if neither names any, every
/// domain section in file order (older SSSD needed `domains`, we do not guess less).
fn active_domains(ini: &Ini, st: &mut St) -> Vec<String> {
    let mut out: Vec<String> = ini
        .get("sssd", "domains")
        .map(|k| k.list())
        .unwrap_or_default();
    for s in ini.sections() {
        if let Some(name) = s.strip_prefix("domain/") {
            let enabled = ini.get(&s, "enabled").and_then(Key::boolean) == Some(true);
            if enabled && !out.iter().any(|d| d == name) {
                out.push(name.to_string());
            }
        }
    }
    if out.is_empty() {
        out = ini
            .sections()
            .iter()
            .filter_map(|s| s.strip_prefix("domain/").map(str::to_string))
            .collect();
        if !out.is_empty() {
            st.r.note(
                "[sssd] names no domains: every [domain/…] section was imported, in file order",
            );
        }
    }
    out
}

fn placeholder_server(st: &mut St) {
    let mut s = super::draft::ServerDraft::new("ldap", "placeholder");
    s.main.set(
        "uri",
        Value::List(vec!["ldap://ldap.example.com".into()]),
        "placeholder",
    );
    s.main.set(
        "base",
        Value::Str("dc=example,dc=com".into()),
        "placeholder",
    );
    st.d.servers.push(s);
    st.r.todo("fill in the placeholder [[servers]] block (uri, base)");
}

pub fn debug_level(st: &mut St, k: &Key) {
    let level = match k.integer() {
        Some(n) if n <= 2 => "error",
        Some(3) => "warning",
        Some(4) | Some(5) => "info",
        Some(_) => "debug",
        None if k.value.starts_with("0x") => "debug",
        None => return st.no(k, "not a debug level"),
    };
    raise_log_level(&mut st.d.daemon, level, &k.from());
    st.ok(
        k,
        format!(
            "[daemon] log_level = \"{level}\" (the most verbose level of all sections is kept)"
        ),
    );
}

fn sssd_key(st: &mut St, k: &Key) {
    match k.key.as_str() {
        "domains" => st.ok(k, "one [[servers]] block per domain with id_provider = ldap, asked in this order"),
        "config_file_version" => st.ok(k, "nothing to write"),
        "services" => {
            let others: Vec<String> = k.list().into_iter().filter(|s| s != "nss" && s != "pam").collect();
            if others.is_empty() {
                st.ok(k, "ldaprs serves NSS (passwd, group) and PAM (nothing to write)");
            } else {
                st.no(k, format!("ldaprs serves NSS (passwd, group) and PAM only, not {}", others.join(", ")));
            }
        }
        "debug_level" => debug_level(st, k),
        "user" => st.no(k, "the packaged systemd unit runs ldaprsd as the system user _ldaprs ([daemon] user is only for a daemon started as root outside systemd)"),
        _ => st.no(k, "ldaprs has no equivalent of this [sssd] option"),
    }
}

fn nss_key(st: &mut St, k: &Key) {
    match k.key.as_str() {
        "filter_users" | "filter_groups" => {
            let key = if k.key == "filter_users" { "ignore_users" } else { "ignore_groups" };
            st.d.nss.set(key, Value::List(k.list()), &k.from());
            st.ok(k, format!("[nss] {key} (names in /etc/passwd and /etc/group are never answered from the directory anyway)"));
        }
        "entry_negative_timeout" => match k.integer().filter(|n| *n >= 0) {
            Some(n) => {
                st.d.cache.set("negative_ttl", Value::Int(n), &k.from());
                st.ok(k, "[cache] negative_ttl");
            }
            None => st.no(k, "not a number of seconds"),
        },
        "entry_cache_nowait_percentage" => st.ok(k, "ldaprs refreshes an entry asked for in the last quarter of its TTL in the background (fixed; nothing to write)"),
        "memcache_timeout" => st.ok(k, "ldaprs's shared map holds each answer as long as the cache does ([cache] entry_ttl; nothing to write)"),
        "debug_level" => debug_level(st, k),
        "override_homedir" | "fallback_homedir" | "homedir_substring" | "override_shell"
        | "allowed_shells" | "vetoed_shells" | "shell_fallback" | "default_shell" => {
            st.no(k, "ldaprs serves the directory's home and shell as they are (no override setting)")
        }
        "filter_users_in_groups" => st.no(k, "ldaprs lists a group's members as the directory has them (no setting to drop filtered users)"),
        _ => st.no(k, "ldaprs has no equivalent of this [nss] option"),
    }
}

fn pam_key(st: &mut St, k: &Key) {
    match k.key.as_str() {
        "offline_credentials_expiration"
        | "offline_failed_login_attempts"
        | "offline_failed_login_delay" => st.no(
            k,
            "offline login is not supported yet (planned): with no server reachable, logins fail",
        ),
        "debug_level" => debug_level(st, k),
        _ => st.no(k, "ldaprs has no equivalent of this [pam] option"),
    }
}
