//! The top-level tables of the config file (`[daemon]`, `[cache]`, `[nss]`, `[pam]`) and the
//! whole file ([`Config`]), as serde structs with their defaults.

use super::server::Server;
use serde::Deserialize;

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
    pub offline: super::offline::OfflineSection,
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
    /// smaller are dropped unless it is in `allow_primary_gids`. Defaults to `min_uid`.
    #[serde(default)]
    pub min_gid: Option<u32>,
    /// User names never answered from the directory (SSSD's `filter_users`). Names found in
    /// `/etc/passwd` are never answered anyway.
    #[serde(default)]
    pub ignore_users: Vec<String>,
    /// Group names never answered from the directory. Names in `/etc/group` never are.
    #[serde(default)]
    pub ignore_groups: Vec<String>,
    /// Primary gids served for users although they are below `min_gid` or belong to a local
    /// group (many sites put every user in `users`, gid 100). Groups themselves keep
    /// `min_gid`; gid 0 is never allowed.
    #[serde(default = "default_primary_gids")]
    pub allow_primary_gids: Vec<u32>,
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
            allow_primary_gids: default_primary_gids(),
        }
    }
}

fn default_min_id() -> u32 {
    1000
}

fn default_primary_gids() -> Vec<u32> {
    vec![100]
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
