//! `/etc/ldaprs/ldaprs.toml`: the contract in DESIGN.md, parsed strictly.
//!
//! Unknown keys and wrong types are errors that name the file, the line, the key and, where we
//! can guess it, the key that was meant. Values that parse but make no sense (an empty `uri`
//! list, an unknown URI scheme, a `bind_dn` without a password file) are reported the same way.

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// A config mistake, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(k) = &self.key {
            write!(f, ": key `{k}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub daemon: DaemonSection,
    #[serde(default)]
    pub cache: CacheSection,
    #[serde(default)]
    pub nss: NssSection,
    #[serde(default)]
    pub pam: PamSection,
    #[serde(default)]
    pub servers: Vec<Server>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warning,
    Info,
    Debug,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DaemonSection {
    /// Where the daemon listens. The modules always use `/run/ldaprs/socket`; change this only
    /// for tests or a second instance.
    #[serde(default = "default_socket")]
    pub socket: String,
    #[serde(default = "default_log_level")]
    pub log_level: LogLevel,
    /// Started as root, the daemon reads its secrets, opens its socket and shared map, then
    /// runs as this system user (looked up in /etc/passwd, never through NSS).
    #[serde(default)]
    pub user: Option<String>,
}

impl Default for DaemonSection {
    fn default() -> Self {
        DaemonSection {
            socket: default_socket(),
            log_level: default_log_level(),
            user: None,
        }
    }
}

fn default_socket() -> String {
    crate::DEFAULT_SOCKET.to_string()
}
fn default_log_level() -> LogLevel {
    LogLevel::Info
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    /// Seconds a found user or group is answered from the cache.
    #[serde(default = "default_entry_ttl")]
    pub entry_ttl: u64,
    /// Seconds a "no such user/group" answer is remembered.
    #[serde(default = "default_negative_ttl")]
    pub negative_ttl: u64,
    /// Size of the shared-memory map the NSS module reads cached answers from, in MiB
    /// (`/run/ldaprs/cache.map`); 0 turns the fast path off.
    #[serde(default = "default_map_size_mb")]
    pub map_size_mb: u64,
}

impl Default for CacheSection {
    fn default() -> Self {
        CacheSection {
            entry_ttl: default_entry_ttl(),
            negative_ttl: default_negative_ttl(),
            map_size_mb: default_map_size_mb(),
        }
    }
}

fn default_entry_ttl() -> u64 {
    600
}
fn default_negative_ttl() -> u64 {
    30
}
fn default_map_size_mb() -> u64 {
    32
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NssSection {
    /// Users with a smaller uidNumber are never answered (an LDAP entry with uidNumber 0 must
    /// never become root).
    #[serde(default = "default_min_id")]
    pub min_uid: u32,
    /// Groups with a smaller gidNumber are never answered, and users whose primary gid is
    /// smaller are dropped. Defaults to `min_uid`.
    #[serde(default)]
    pub min_gid: Option<u32>,
    /// User names never answered from the directory (SSSD's `filter_users`). Names found in
    /// `/etc/passwd` are never answered anyway.
    #[serde(default)]
    pub ignore_users: Vec<String>,
    /// Group names never answered from the directory. Names in `/etc/group` never are.
    #[serde(default)]
    pub ignore_groups: Vec<String>,
}

impl NssSection {
    pub fn min_gid(&self) -> u32 {
        self.min_gid.unwrap_or(self.min_uid)
    }
}

impl Default for NssSection {
    fn default() -> Self {
        NssSection {
            min_uid: default_min_id(),
            min_gid: None,
            ignore_users: Vec::new(),
            ignore_groups: Vec::new(),
        }
    }
}

fn default_min_id() -> u32 {
    1000
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PamSection {
    /// Empty: any user that exists may log in; else only members of one of these groups.
    #[serde(default)]
    pub allow_groups: Vec<String>,
    /// Members of any of these groups may not log in; deny wins over allow.
    #[serde(default)]
    pub deny_groups: Vec<String>,
    /// An LDAP filter the user's own entry must match to log in (read with a base-scope search
    /// on the user's DN, like SSSD's `ldap_access_filter`), with nslcd's `pam_authz_search`
    /// variables: `$username`, `$hostname`, `$service`, `$rhost`, `$tty`, `$uid`, `$dn`
    /// (each RFC 4515-escaped); `$$` is a literal `$`.
    #[serde(default)]
    pub access_filter: Option<String>,
}

/// The variables an `access_filter` may use.
pub const ACCESS_FILTER_VARS: &[&str] = &[
    "username", "hostname", "service", "rhost", "tty", "uid", "dn",
];

impl PamSection {
    /// Whether any rule restricts who may log in (then a failure to evaluate denies).
    pub fn has_rules(&self) -> bool {
        !self.allow_groups.is_empty()
            || !self.deny_groups.is_empty()
            || self.access_filter.is_some()
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Schema {
    #[default]
    Rfc2307,
    Rfc2307bis,
    Ad,
    Ipa,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub name: String,
    /// Tried in order; `ldap://`, `ldaps://` or `ldapi://`.
    pub uri: OneOrMany,
    #[serde(default)]
    pub schema: Schema,
    pub base: String,
    #[serde(default)]
    pub bind_dn: Option<String>,
    #[serde(default)]
    pub bind_password_file: Option<PathBuf>,
    /// Seconds allowed for each LDAP operation (bind, search, each page of a paged search).
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// Seconds allowed to open a connection (TCP, and TLS or StartTLS).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: f64,
    /// Seconds to wait for a server's answer before asking the next URI in parallel. The
    /// server that did not answer in time is marked dead and probed in the background.
    #[serde(default = "default_failover_delay")]
    pub failover_delay: f64,
    /// Seconds before a dead URI is probed again; doubles on each failed probe (±10 % jitter)
    /// up to `retry_dead_max`.
    #[serde(default = "default_retry_dead_after")]
    pub retry_dead_after: f64,
    #[serde(default = "default_retry_dead_max")]
    pub retry_dead_max: f64,
    /// Send user passwords over a connection that is neither TLS nor ldapi://. Off by default:
    /// logins then fail with a log line that says why.
    #[serde(default)]
    pub allow_cleartext_passwords: bool,
    /// Bind as this DN (`%s` = the RFC 4514-escaped user name) to authenticate, without
    /// searching first: no service account needed (Grafana's single bind).
    #[serde(default)]
    pub user_dn_pattern: Option<String>,
    #[serde(default)]
    pub tls: TlsSection,
    #[serde(default)]
    pub users: UsersSection,
    #[serde(default)]
    pub groups: GroupsSection,
    /// Used only when root resets a user's password without the old one (`passwd alice` as
    /// root): the daemon binds as this DN to send the Password Modify operation (nslcd's
    /// `rootpwmoddn`). Without it, root must know the user's current password.
    #[serde(default)]
    pub admin_dn: Option<String>,
    /// File with `admin_dn`'s password; same rules as `bind_password_file`.
    #[serde(default)]
    pub admin_password_file: Option<PathBuf>,
    /// Grafana-style mappings of LDAP groups to local effects, tried in order: the first
    /// mapping whose group the user is in applies.
    #[serde(default)]
    pub group_mappings: Vec<GroupMapping>,
}

/// `[[servers.group_mappings]]`: what membership of one LDAP group means on this host.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    /// The group's DN (Grafana's `group_dn`; `"*"` matches every user).
    #[serde(default)]
    pub group_dn: Option<String>,
    /// Or the group's name, as `getent group` shows it.
    #[serde(default)]
    pub group: Option<String>,
    /// Members may log in (counts like `[pam] allow_groups`; `deny_groups`, `access_filter`
    /// and the account's state still apply).
    #[serde(default)]
    pub allow_login: bool,
    /// A group from `/etc/group` added to the member's supplementary groups (initgroups),
    /// e.g. `sudo` for the directory's linux-admins.
    #[serde(default)]
    pub local_group: Option<String>,
}

fn default_timeout() -> f64 {
    5.0
}
fn default_connect_timeout() -> f64 {
    2.0
}
fn default_failover_delay() -> f64 {
    0.4
}
fn default_retry_dead_after() -> f64 {
    10.0
}
fn default_retry_dead_max() -> f64 {
    300.0
}

/// Seconds from the config as a Duration (validated to be finite and in range).
pub fn seconds(v: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(v).unwrap_or(std::time::Duration::from_secs(5))
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// `ldaps://` URIs use TLS from the first byte, `ldap://` ones plain LDAP.
    #[default]
    Auto,
    Ldaps,
    Starttls,
    None,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    #[serde(default)]
    pub mode: TlsMode,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_true")]
    pub verify: bool,
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

impl Default for TlsSection {
    fn default() -> Self {
        TlsSection {
            mode: TlsMode::Auto,
            ca_file: None,
            verify: true,
            client_cert: None,
            client_key: None,
        }
    }
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UserAttributes {
    pub name: Option<String>,
    pub uid_number: Option<String>,
    pub gid_number: Option<String>,
    pub gecos: Option<String>,
    pub home: Option<String>,
    pub shell: Option<String>,
    /// Attribute of the user entry listing the DNs of its groups (`memberOf`: OpenLDAP's
    /// memberof overlay, AD, 389-ds, FreeIPA). When set, a user's groups are read from it
    /// instead of searching the groups.
    pub member_of: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UsersSection {
    pub base: Option<String>,
    pub filter: Option<String>,
    #[serde(default)]
    pub attributes: UserAttributes,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GroupAttributes {
    pub name: Option<String>,
    pub gid_number: Option<String>,
    /// Attribute holding member user names (RFC 2307 `memberUid`).
    pub member_uid: Option<String>,
    /// Attribute holding member DNs (`member`, `uniqueMember`).
    pub member: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GroupsSection {
    pub base: Option<String>,
    pub filter: Option<String>,
    /// Follow groups that are members of groups (member DNs): a user in `inner`, which is a
    /// member of `outer`, is in both.
    #[serde(default)]
    pub nested: bool,
    /// How many levels of nesting are followed; cycles are detected. A chain longer than
    /// this leaves the membership unknown: `id` shows what was found, logins that depend on
    /// group rules are denied.
    #[serde(default = "default_nesting_depth")]
    pub nesting_depth: u32,
    /// Let the server follow nested groups with AD's LDAP_MATCHING_RULE_IN_CHAIN
    /// (`member:1.2.840.113556.1.4.1941:=DN`) instead of searching level by level. Defaults
    /// to true for `schema = "ad"`, false otherwise (OpenLDAP does not implement the rule).
    #[serde(default)]
    pub in_chain: Option<bool>,
    /// Grafana's `group_search_filter`: the groups of a user are those matching this filter
    /// (ANDed with `filter`), `%s` replaced by the user's name or by the value of
    /// `search_filter_user_attribute`.
    #[serde(default)]
    pub search_filter: Option<String>,
    /// Grafana's `group_search_filter_user_attribute`: which attribute of the user entry
    /// replaces `%s` (`dn` for the entry's DN). Default: the user name.
    #[serde(default)]
    pub search_filter_user_attribute: Option<String>,
    #[serde(default)]
    pub attributes: GroupAttributes,
}

impl Default for GroupsSection {
    fn default() -> Self {
        GroupsSection {
            base: None,
            filter: None,
            nested: false,
            nesting_depth: default_nesting_depth(),
            in_chain: None,
            search_filter: None,
            search_filter_user_attribute: None,
            attributes: GroupAttributes::default(),
        }
    }
}

fn default_nesting_depth() -> u32 {
    10
}

/// The matching rule OID of AD's LDAP_MATCHING_RULE_IN_CHAIN.
pub const IN_CHAIN_RULE: &str = "1.2.840.113556.1.4.1941";

/// How group membership is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// Member user names (`memberUid`).
    Names(String),
    /// Member DNs (`member`, `uniqueMember`).
    Dns(String),
}

/// The effective search settings of a server block: the schema's defaults with the admin's
/// overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub user_base: String,
    pub user_filter: String,
    pub attr_name: String,
    pub attr_uid: String,
    pub attr_gid: String,
    pub attr_gecos: String,
    pub attr_home: String,
    pub attr_shell: String,
    pub group_base: String,
    pub group_filter: String,
    pub attr_group_name: String,
    pub attr_group_gid: String,
    pub membership: Membership,
    /// The user attribute listing the user's group DNs, if groups are read from it.
    pub attr_member_of: Option<String>,
    /// Follow nested groups, at most this many levels (None: direct membership only).
    pub nesting: Option<u32>,
    /// Nested groups are resolved by the server (AD's in-chain matching rule).
    pub in_chain: bool,
    /// Grafana's group search: the filter with `%s`, and the user attribute (None: the name;
    /// `dn`: the entry's DN) that replaces it.
    pub group_search: Option<(String, Option<String>)>,
    /// The schema the defaults came from (it also decides which account-state attributes
    /// are read: shadow and password policy, or AD's userAccountControl).
    pub schema: Schema,
}

impl Server {
    pub fn uris(&self) -> Vec<String> {
        self.uri.to_vec()
    }

    pub fn effective(&self) -> Effective {
        let (uf, name, gecos, home, gf, member, ubase, gbase) = match self.schema {
            Schema::Rfc2307 => (
                "(objectClass=posixAccount)",
                "uid",
                "gecos",
                "homeDirectory",
                "(objectClass=posixGroup)",
                Membership::Names("memberUid".into()),
                self.base.clone(),
                self.base.clone(),
            ),
            Schema::Rfc2307bis => (
                "(objectClass=posixAccount)",
                "uid",
                "gecos",
                "homeDirectory",
                "(objectClass=posixGroup)",
                Membership::Dns("member".into()),
                self.base.clone(),
                self.base.clone(),
            ),
            Schema::Ad => (
                "(&(objectClass=user)(uidNumber=*))",
                "sAMAccountName",
                "displayName",
                "unixHomeDirectory",
                "(&(objectClass=group)(gidNumber=*))",
                Membership::Dns("member".into()),
                self.base.clone(),
                self.base.clone(),
            ),
            Schema::Ipa => (
                "(objectClass=posixAccount)",
                "uid",
                "gecos",
                "homeDirectory",
                "(objectClass=posixGroup)",
                Membership::Dns("member".into()),
                format!("cn=users,cn=accounts,{}", self.base),
                format!("cn=groups,cn=accounts,{}", self.base),
            ),
        };
        let u = &self.users;
        let ua = &u.attributes;
        let g = &self.groups;
        let ga = &g.attributes;
        let membership = match (&ga.member_uid, &ga.member) {
            (Some(a), _) => Membership::Names(a.clone()),
            (None, Some(a)) => Membership::Dns(a.clone()),
            (None, None) => member,
        };
        Effective {
            user_base: u.base.clone().unwrap_or(ubase),
            user_filter: crate::filter::normalize(u.filter.as_deref().unwrap_or(uf)),
            attr_name: ua.name.clone().unwrap_or_else(|| name.into()),
            attr_uid: ua.uid_number.clone().unwrap_or_else(|| "uidNumber".into()),
            attr_gid: ua.gid_number.clone().unwrap_or_else(|| "gidNumber".into()),
            attr_gecos: ua.gecos.clone().unwrap_or_else(|| gecos.into()),
            attr_home: ua.home.clone().unwrap_or_else(|| home.into()),
            attr_shell: ua.shell.clone().unwrap_or_else(|| "loginShell".into()),
            group_base: g.base.clone().unwrap_or(gbase),
            group_filter: crate::filter::normalize(g.filter.as_deref().unwrap_or(gf)),
            attr_group_name: ga.name.clone().unwrap_or_else(|| "cn".into()),
            attr_group_gid: ga.gid_number.clone().unwrap_or_else(|| "gidNumber".into()),
            membership,
            attr_member_of: ua.member_of.clone(),
            nesting: g.nested.then_some(g.nesting_depth),
            in_chain: g.nested && g.in_chain.unwrap_or(self.schema == Schema::Ad),
            group_search: g.search_filter.as_deref().map(|f| {
                (
                    crate::filter::normalize(f),
                    g.search_filter_user_attribute.clone(),
                )
            }),
            schema: self.schema,
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(src: &str, offset: usize) -> usize {
    src.get(..offset.min(src.len()))
        .map(|s| s.matches('\n').count() + 1)
        .unwrap_or(1)
}

/// The key path at a line: the nearest table header above plus the key on the line.
fn key_at_line(src: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = src.lines().collect();
    let text = lines.get(line.checked_sub(1)?)?.trim();
    let header = |t: &str| -> Option<String> {
        let t = t.split('#').next().unwrap_or("").trim();
        if t.starts_with('[') {
            Some(t.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        } else {
            None
        }
    };
    if let Some(h) = header(text) {
        return Some(h);
    }
    let key = text
        .split('=')
        .next()
        .map(str::trim)
        .filter(|k| !k.is_empty())?;
    let section = lines
        .iter()
        .take(line.saturating_sub(1))
        .rev()
        .find_map(|l| header(l.trim()));
    Some(match section {
        Some(s) => format!("{s}.{key}"),
        None => key.to_string(),
    })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// Turns serde's "unknown field `x`, expected one of `a`, `b`" into a "did you mean" hint.
fn hint_for(message: &str) -> Option<String> {
    let ticks: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if message.starts_with("unknown field") || message.starts_with("unknown variant") {
        let (wrong, expected) = ticks.split_first()?;
        let best = expected.iter().min_by_key(|e| edit_distance(wrong, e))?;
        if edit_distance(wrong, best) <= 3 {
            return Some(format!("did you mean `{best}`?"));
        }
        return Some(format!("valid here: {}", expected.join(", ")));
    }
    if message.contains("invalid type: string")
        && ["u64", "u32", "f64"].iter().any(|t| message.contains(t))
    {
        return Some("write the number without quotes".into());
    }
    if message.contains("invalid type") && message.contains("expected a sequence") {
        return Some("write a list: [\"a\", \"b\"]".into());
    }
    if message.starts_with("missing field") {
        return ticks
            .first()
            .map(|k| format!("add `{k} = ...` to this table"));
    }
    None
}

/// Finds the line of `key` inside the `index`-th `[[servers]]` block (or at the top level and
/// in named tables when `index` is None).
fn locate(src: &str, index: Option<usize>, table: Option<&str>, key: &str) -> Option<usize> {
    let mut block: Option<usize> = None;
    let mut current_table = String::new();
    for (n, raw) in src.lines().enumerate() {
        let t = raw.split('#').next().unwrap_or("").trim();
        if t.starts_with("[[servers]]") {
            block = Some(block.map_or(0, |b| b + 1));
            current_table = "servers".into();
            continue;
        }
        if t.starts_with('[') {
            current_table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            continue;
        }
        let in_block = match index {
            Some(i) => block == Some(i) && current_table.starts_with("servers"),
            None => true,
        };
        let in_table = table.is_none_or(|tb| current_table == tb);
        if in_block && in_table {
            let k = t.split('=').next().unwrap_or("").trim();
            if k == key && t.contains('=') {
                return Some(n + 1);
            }
        }
    }
    None
}

fn semantic(
    path: &str,
    src: &str,
    idx: Option<usize>,
    table: Option<&str>,
    key: &str,
    message: String,
    hint: Option<&str>,
) -> ConfigError {
    let full_key = match (idx, table) {
        (Some(i), Some(t)) => format!("servers[{i}].{}.{key}", t.trim_start_matches("servers.")),
        (Some(i), None) => format!("servers[{i}].{key}"),
        (None, Some(t)) => format!("{t}.{key}"),
        (None, None) => key.to_string(),
    };
    let table_in_src = match (idx, table) {
        (Some(_), None) => Some("servers"),
        (_, t) => t,
    };
    ConfigError {
        path: path.into(),
        line: locate(src, idx, table_in_src, key),
        key: Some(full_key),
        message,
        hint: hint.map(str::to_string),
    }
}

/// Parses and checks a config text; `path` is only used in messages.
pub fn parse(path: &str, src: &str) -> Result<Config, ConfigError> {
    let cfg: Config = toml::from_str(src).map_err(|e| {
        let line = e.span().map(|s| line_of(src, s.start));
        let message = e.message().trim().to_string();
        ConfigError {
            path: path.into(),
            line,
            key: line.and_then(|l| key_at_line(src, l)),
            hint: hint_for(&message),
            message,
        }
    })?;
    validate(path, src, &cfg)?;
    Ok(cfg)
}

fn validate(path: &str, src: &str, cfg: &Config) -> Result<(), ConfigError> {
    if cfg.servers.is_empty() {
        return Err(ConfigError {
            path: path.into(),
            line: None,
            key: Some("servers".into()),
            message: "no [[servers]] block: there is no directory to ask".into(),
            hint: Some("add a [[servers]] block with name, uri and base".into()),
        });
    }
    if !cfg.daemon.socket.starts_with('/') {
        return Err(semantic(
            path,
            src,
            None,
            Some("daemon"),
            "socket",
            "must be an absolute path".into(),
            None,
        ));
    }
    if let Some(f) = &cfg.pam.access_filter {
        let bad = |m: String| semantic(path, src, None, Some("pam"), "access_filter", m, None);
        crate::filter::check_template(f, ACCESS_FILTER_VARS).map_err(bad)?;
        let sample: Vec<(&str, &str)> = ACCESS_FILTER_VARS.iter().map(|v| (*v, "x")).collect();
        let filled = crate::filter::fill_template(f, &sample).map_err(bad)?;
        crate::filter::check_syntax(&filled).map_err(bad)?;
    }
    for (i, s) in cfg.servers.iter().enumerate() {
        validate_server_extras(path, src, i, s)?;
    }
    for (i, s) in cfg.servers.iter().enumerate() {
        let idx = Some(i);
        let uris = s.uris();
        if uris.is_empty() {
            return Err(semantic(
                path,
                src,
                idx,
                None,
                "uri",
                "empty list".into(),
                Some("uri = [\"ldaps://ldap.example.com\"]"),
            ));
        }
        for u in &uris {
            let ok = ["ldap://", "ldaps://", "ldapi://"]
                .iter()
                .any(|p| u.starts_with(p));
            if !ok {
                return Err(semantic(
                    path,
                    src,
                    idx,
                    None,
                    "uri",
                    format!("`{u}` is not an ldap://, ldaps:// or ldapi:// URI"),
                    None,
                ));
            }
            if s.tls.mode == TlsMode::Ldaps && !u.starts_with("ldaps://") {
                return Err(semantic(
                    path,
                    src,
                    idx,
                    Some("servers.tls"),
                    "mode",
                    format!("mode = \"ldaps\" but `{u}` is not an ldaps:// URI"),
                    Some("use ldaps:// URIs or mode = \"auto\""),
                ));
            }
        }
        if s.base.trim().is_empty() {
            return Err(semantic(
                path,
                src,
                idx,
                None,
                "base",
                "empty search base".into(),
                Some("base = \"dc=example,dc=com\""),
            ));
        }
        for (key, v, lo, hi) in [
            ("timeout", s.timeout, 0.05, 120.0),
            ("connect_timeout", s.connect_timeout, 0.05, 120.0),
            ("failover_delay", s.failover_delay, 0.0, 60.0),
            ("retry_dead_after", s.retry_dead_after, 0.1, 3600.0),
            ("retry_dead_max", s.retry_dead_max, 0.1, 86400.0),
        ] {
            if !(v.is_finite() && v >= lo && v <= hi) {
                let msg = format!("{v} is out of range ({lo} to {hi} seconds)");
                return Err(semantic(path, src, idx, None, key, msg, None));
            }
        }
        if let Some(p) = &s.user_dn_pattern {
            if p.matches("%s").count() != 1 {
                let hint = Some("user_dn_pattern = \"uid=%s,ou=people,dc=example,dc=com\"");
                let msg = "must contain %s exactly once".to_string();
                return Err(semantic(path, src, idx, None, "user_dn_pattern", msg, hint));
            }
        }
        if s.bind_dn.is_some() && s.bind_password_file.is_none() {
            return Err(semantic(
                path,
                src,
                idx,
                None,
                "bind_dn",
                "bind_dn is set but bind_password_file is not".into(),
                Some("put the password in a root-only file and name it in bind_password_file"),
            ));
        }
        if s.bind_dn.is_none() && s.bind_password_file.is_some() {
            return Err(semantic(
                path,
                src,
                idx,
                None,
                "bind_password_file",
                "bind_password_file is set but bind_dn is not".into(),
                None,
            ));
        }
        if s.tls.client_cert.is_some() != s.tls.client_key.is_some() {
            return Err(semantic(
                path,
                src,
                idx,
                Some("servers.tls"),
                if s.tls.client_cert.is_some() {
                    "client_cert"
                } else {
                    "client_key"
                },
                "client_cert and client_key go together".into(),
                None,
            ));
        }
        let names: Vec<&String> = cfg.servers.iter().map(|x| &x.name).collect();
        if names.iter().filter(|n| **n == &s.name).count() > 1 {
            return Err(semantic(
                path,
                src,
                idx,
                None,
                "name",
                format!("server name `{}` is used twice", s.name),
                None,
            ));
        }
    }
    Ok(())
}

/// The checks of the keys for groups, password resets and group mappings.
fn validate_server_extras(path: &str, src: &str, i: usize, s: &Server) -> Result<(), ConfigError> {
    let idx = Some(i);
    let groups = Some("servers.groups");
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
    for (table, v) in [
        (groups, &g.filter),
        (Some("servers.users"), &s.users.filter),
    ] {
        if let Some(f) = v {
            crate::filter::check_syntax(&crate::filter::normalize(f))
                .map_err(|m| semantic(path, src, idx, table, "filter", m, None))?;
        }
    }
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

/// Reads and parses a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: shown.clone(),
        line: None,
        key: None,
        message: format!("cannot read: {e}"),
        hint: None,
    })?;
    parse(&shown, &src)
}

/// Reads the service bind password. The file must be a regular file that neither group nor
/// others can read or write (DESIGN.md: secrets in a separate root-only file).
pub fn read_secret(path: &Path) -> Result<String, ConfigError> {
    read_secret_for(path, "bind_password_file")
}

/// [`read_secret`] for the file named by `key` (`admin_password_file`).
pub fn read_secret_for(path: &Path, key: &str) -> Result<String, ConfigError> {
    use std::os::unix::fs::MetadataExt;
    let shown = path.display().to_string();
    // "the bind password file", "the admin password file".
    let what = key.replace('_', " ");
    let err = |message: String, hint: Option<&str>| ConfigError {
        path: shown.clone(),
        line: None,
        key: Some(key.into()),
        message,
        hint: hint.map(str::to_string),
    };
    let meta =
        std::fs::metadata(path).map_err(|e| err(format!("cannot read the {what}: {e}"), None))?;
    if !meta.is_file() {
        return Err(err(format!("the {what} is not a regular file"), None));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(err(
            format!("the {what} is readable or writable by group or others (mode {mode:04o}); refusing to use it"),
            Some(&format!("chmod 600 {shown}")),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(format!("cannot read the {what}: {e}"), None))?;
    let pw = text.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        return Err(err(
            format!("the {what} is empty (an empty password is an anonymous bind)"),
            None,
        ));
    }
    Ok(pw)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[daemon]
socket = "/run/ldaprs/socket"

[cache]
entry_ttl = 600
negative_ttl = 30

[nss]
min_uid = 1000

[pam]
allow_groups = []
deny_groups = []

[[servers]]
name = "corp"
uri = ["ldaps://ldap1.example.com", "ldaps://ldap2.example.com"]
schema = "rfc2307bis"
base = "dc=example,dc=com"
bind_dn = "cn=reader,dc=example,dc=com"
bind_password_file = "/etc/ldaprs/bind_password"
timeout = 5

[servers.tls]
mode = "auto"
ca_file = "/etc/ssl/certs/ca-certificates.crt"
verify = true

[servers.users]
base = "ou=people,dc=example,dc=com"
filter = "(objectClass=posixAccount)"
attributes = { name = "uid", gecos = "cn", home = "homeDirectory", shell = "loginShell" }

[servers.groups]
base = "ou=groups,dc=example,dc=com"
nested = true
"#;

    #[test]
    fn design_contract_parses() {
        let c = parse("t.toml", GOOD).unwrap();
        assert_eq!(c.servers.len(), 1);
        let s = &c.servers[0];
        assert_eq!(s.uris().len(), 2);
        let e = s.effective();
        assert_eq!(e.user_base, "ou=people,dc=example,dc=com");
        assert_eq!(e.attr_gecos, "cn");
        assert_eq!(e.membership, Membership::Dns("member".into()));
        assert_eq!(c.nss.min_gid(), 1000);
    }

    #[test]
    fn example_config_in_packaging_parses() {
        let src = include_str!("../../packaging/ldaprs.toml");
        let c = parse("packaging/ldaprs.toml", src).unwrap();
        assert!(!c.servers.is_empty());
    }

    #[test]
    fn example_config_commented_keys_parse() {
        // The commented examples of the packaged config, uncommented, are valid too.
        let src = include_str!("../../packaging/ldaprs.toml");
        let mut on = String::new();
        for l in src.lines() {
            let keyish = l.strip_prefix("# ").filter(|r| {
                r.starts_with('[')
                    || r.split('=')
                        .next()
                        .is_some_and(|k| !k.trim().is_empty() && !k.trim().contains(' '))
                        && r.contains(" = ")
            });
            on.push_str(keyish.unwrap_or(l));
            on.push('\n');
        }
        let c = parse("packaging/ldaprs.toml (uncommented)", &on).unwrap();
        let s = &c.servers[0];
        assert_eq!(s.group_mappings.len(), 1);
        assert_eq!(s.group_mappings[0].local_group.as_deref(), Some("sudo"));
        assert!(s.admin_dn.is_some());
        assert!(c.pam.access_filter.is_some());
        let e = s.effective();
        assert_eq!(
            e.attr_member_of, None,
            "member_of is described in prose only"
        );
        assert!(e.group_search.is_some());
        assert_eq!(c.nss.min_gid, Some(1000));
    }

    #[test]
    fn unknown_key_names_file_line_key_and_hint() {
        let src = "[daemon]\nsockt = \"/x\"\n";
        let e = parse("/etc/ldaprs/ldaprs.toml", src).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("daemon.sockt"));
        assert_eq!(e.hint.as_deref(), Some("did you mean `socket`?"));
        let shown = e.to_string();
        assert!(
            shown.starts_with("/etc/ldaprs/ldaprs.toml:2: key `daemon.sockt`: unknown field"),
            "{shown}"
        );
    }

    #[test]
    fn wrong_type_is_located() {
        let src = GOOD.replace("timeout = 5", "timeout = \"5\"");
        let e = parse("c.toml", &src).unwrap_err();
        let line = src.lines().position(|l| l.starts_with("timeout")).unwrap() + 1;
        assert_eq!(e.line, Some(line));
        assert_eq!(e.key.as_deref(), Some("servers.timeout"));
        assert_eq!(e.hint.as_deref(), Some("write the number without quotes"));
    }

    #[test]
    fn unknown_schema_suggests() {
        let src = GOOD.replace("schema = \"rfc2307bis\"", "schema = \"rfc2307b\"");
        let e = parse("c.toml", &src).unwrap_err();
        assert!(e.message.contains("unknown variant"), "{e}");
        assert!(e.hint.unwrap().contains("rfc2307"));
    }

    #[test]
    fn semantic_errors_are_located() {
        let src = GOOD.replace("ldaps://ldap2.example.com", "http://x");
        let e = parse("c.toml", &src).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("servers[0].uri"));
        let line = src.lines().position(|l| l.starts_with("uri")).unwrap() + 1;
        assert_eq!(e.line, Some(line));

        let src = GOOD.replace("bind_password_file = \"/etc/ldaprs/bind_password\"\n", "");
        let e = parse("c.toml", &src).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("servers[0].bind_dn"));
        assert!(e.line.is_some());

        let e = parse("c.toml", "[cache]\nentry_ttl = 5\n").unwrap_err();
        assert!(e.message.contains("no [[servers]]"));
    }

    #[test]
    fn minimal_config_and_defaults() {
        let c = parse(
            "c",
            "[[servers]]\nname = \"a\"\nuri = \"ldap://127.0.0.1\"\nbase = \"dc=x\"\n",
        )
        .unwrap();
        assert_eq!(c.cache.entry_ttl, 600);
        assert_eq!(c.cache.negative_ttl, 30);
        assert_eq!(c.nss.min_uid, 1000);
        assert_eq!(c.daemon.socket, "/run/ldaprs/socket");
        let s = &c.servers[0];
        assert_eq!(s.timeout, 5.0);
        assert_eq!(s.connect_timeout, 2.0);
        assert_eq!(s.failover_delay, 0.4);
        assert!(!s.allow_cleartext_passwords);
        assert!(s.tls.verify);
        assert_eq!(
            s.effective().membership,
            Membership::Names("memberUid".into())
        );
        assert_eq!(s.effective().user_filter, "(objectClass=posixAccount)");
    }

    #[test]
    fn ad_and_ipa_presets() {
        let c = parse("c", "[[servers]]\nname = \"a\"\nuri = \"ldap://x\"\nbase = \"dc=x\"\nschema = \"ad\"\n[servers.users]\nattributes = { shell = \"msSFU30LoginShell\" }\n").unwrap();
        let e = c.servers[0].effective();
        assert_eq!(e.attr_name, "sAMAccountName");
        assert_eq!(e.attr_home, "unixHomeDirectory");
        assert_eq!(e.attr_shell, "msSFU30LoginShell");
        let c = parse(
            "c",
            "[[servers]]\nname = \"a\"\nuri = \"ldap://x\"\nbase = \"dc=x\"\nschema = \"ipa\"\n",
        )
        .unwrap();
        assert_eq!(
            c.servers[0].effective().user_base,
            "cn=users,cn=accounts,dc=x"
        );
    }

    #[test]
    fn secret_file_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ldaprs-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("pw");
        std::fs::write(&p, "s3cret\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_secret(&p).unwrap_err();
        assert!(
            e.message
                .contains("readable or writable by group or others"),
            "{e}"
        );
        assert!(e.message.contains("0644"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret(&p).unwrap(), "s3cret");
        std::fs::write(&p, "\n").unwrap();
        assert!(read_secret(&p).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    const MIN: &str = "[[servers]]\nname = \"a\"\nuri = \"ldap://x\"\nbase = \"dc=x\"\n";

    #[test]
    fn group_keys_and_their_defaults() {
        let e = parse("c", MIN).unwrap().servers[0].effective();
        assert_eq!(e.nesting, None);
        assert!(!e.in_chain);
        assert_eq!(e.group_search, None);
        assert_eq!(e.attr_member_of, None);
        let src = format!("{MIN}[servers.groups]\nnested = true\nnesting_depth = 3\nsearch_filter = \"memberUid=%s\"\nsearch_filter_user_attribute = \"dn\"\n[servers.users.attributes]\nmember_of = \"memberOf\"\n");
        let e = parse("c", &src).unwrap().servers[0].effective();
        assert_eq!(e.nesting, Some(3));
        assert!(!e.in_chain);
        assert_eq!(
            e.group_search,
            Some(("(memberUid=%s)".to_string(), Some("dn".to_string())))
        );
        assert_eq!(e.attr_member_of.as_deref(), Some("memberOf"));
        // AD: the server follows the chain unless told otherwise.
        let ad = MIN.replace("base", "schema = \"ad\"\nbase");
        let e = parse("c", &format!("{ad}[servers.groups]\nnested = true\n"))
            .unwrap()
            .servers[0]
            .effective();
        assert!(e.in_chain);
        assert_eq!(e.nesting, Some(10));
        let e = parse(
            "c",
            &format!("{ad}[servers.groups]\nnested = true\nin_chain = false\n"),
        )
        .unwrap()
        .servers[0]
            .effective();
        assert!(!e.in_chain);
        let e = parse("c", &ad).unwrap().servers[0].effective();
        assert!(!e.in_chain, "no nesting, no in-chain");
    }

    #[test]
    fn group_key_mistakes_are_located() {
        let src = format!("{MIN}[servers.groups]\nsearch_filter = \"(memberUid=alice)\"\n");
        let e = parse("c", &src).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("servers[0].groups.search_filter"));
        assert_eq!(e.line, Some(6));
        assert!(e.message.contains("%s"));
        let src = format!("{MIN}[servers.groups]\nsearch_filter = \"(&(memberUid=%s)\"\n");
        assert!(parse("c", &src).unwrap_err().message.contains("unbalanced"));
        let src = format!("{MIN}[servers.groups]\nnesting_depth = 0\nnested = true\n");
        assert_eq!(parse("c", &src).unwrap_err().line, Some(6));
        let src = format!("{MIN}[servers.groups]\nin_chain = true\n");
        assert!(parse("c", &src)
            .unwrap_err()
            .hint
            .unwrap()
            .contains("nested"));
        let src = format!("{MIN}[servers.groups]\nfilter = \"(objectClass=posixGroup\"\n");
        assert_eq!(
            parse("c", &src).unwrap_err().key.as_deref(),
            Some("servers[0].groups.filter")
        );
    }

    #[test]
    fn access_filter_variables_are_checked() {
        let ok = format!("[pam]\naccess_filter = \"(&(host=$hostname)(authorizedService=$service)(!(rhost=$rhost)))\"\n{MIN}");
        assert!(parse("c", &ok).is_ok());
        let bad = format!("[pam]\naccess_filter = \"(host=$hostnme)\"\n{MIN}");
        let e = parse("c", &bad).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("pam.access_filter"));
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("unknown variable $hostnme"), "{e}");
        let bad = format!("[pam]\naccess_filter = \"(&(host=$hostname)\"\n{MIN}");
        assert!(parse("c", &bad).unwrap_err().message.contains("unbalanced"));
        let c = parse("c", &ok).unwrap();
        assert!(c.pam.has_rules());
        assert!(!parse("c", MIN).unwrap().pam.has_rules());
    }

    #[test]
    fn group_mappings_and_admin_dn() {
        let src = format!("{MIN}admin_dn = \"cn=pwadmin,dc=x\"\nadmin_password_file = \"/etc/ldaprs/admin_password\"\n[[servers.group_mappings]]\ngroup_dn = \"cn=linux-admins,ou=groups,dc=x\"\nallow_login = true\nlocal_group = \"sudo\"\n[[servers.group_mappings]]\ngroup = \"devs\"\nlocal_group = \"docker\"\n");
        let c = parse("c", &src).unwrap();
        let s = &c.servers[0];
        assert_eq!(s.group_mappings.len(), 2);
        assert_eq!(s.group_mappings[0].local_group.as_deref(), Some("sudo"));
        assert!(s.group_mappings[0].allow_login);
        assert_eq!(s.group_mappings[1].group.as_deref(), Some("devs"));
        assert!(!s.group_mappings[1].allow_login);
        let e = parse("c", &format!("{MIN}admin_dn = \"cn=x\"\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("servers[0].admin_dn"));
        let e = parse("c", &format!("{MIN}[[servers.group_mappings]]\ngroup = \"a\"\ngroup_dn = \"cn=a\"\nallow_login = true\n")).unwrap_err();
        assert!(
            e.message.contains("exactly one of group_dn and group"),
            "{e}"
        );
        let e = parse(
            "c",
            &format!("{MIN}[[servers.group_mappings]]\ngroup = \"a\"\n"),
        )
        .unwrap_err();
        assert!(e.message.contains("no effect"), "{e}");
        let e = parse(
            "c",
            &format!(
                "{MIN}[[servers.group_mappings]]\ngroup = \"a\"\nlocal_group = \"bad name\"\n"
            ),
        )
        .unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("servers[0].group_mappings.local_group")
        );
        let e = parse(
            "c",
            &format!("{MIN}[[servers.group_mappings]]\ngroup = \"a\"\nlocal_gruop = \"x\"\n"),
        )
        .unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean `local_group`?"));
    }

    #[test]
    fn ignore_lists() {
        let c = parse(
            "c",
            &format!("[nss]\nignore_users = [\"backup\"]\nignore_groups = [\"staff\"]\n{MIN}"),
        )
        .unwrap();
        assert_eq!(c.nss.ignore_users, vec!["backup".to_string()]);
        assert_eq!(c.nss.ignore_groups, vec!["staff".to_string()]);
    }
}
