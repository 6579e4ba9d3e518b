//! One `[[servers]]` block and its tables (`tls`, `users`, `groups`, `group_mappings`), as
//! serde structs with their defaults.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Schema {
    /// Decided by the daemon from the directory itself (RootDSE, subschema, one sample
    /// search): see `ldaprsd::ldap::detect`. The default when `schema` is absent.
    #[default]
    Auto,
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
    /// Defaults to the first URI's host (`ldapi` for a local socket).
    #[serde(default)]
    pub name: String,
    /// Tried in order; `ldap://`, `ldaps://` or `ldapi://`.
    pub uri: OneOrMany,
    #[serde(default)]
    pub schema: Schema,
    /// Empty (the default): the RootDSE's `defaultNamingContext`, or its only naming context
    /// (of several, the only one holding user entries).
    #[serde(default)]
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
    /// Hosts (`host` or `host:port`) whose referrals and continuation references are followed,
    /// besides the block's own URIs. A reference to any other host is skipped (one debug
    /// line): its part of the answer is missing, which for `[pam] deny_groups` means a deny
    /// group held only there does not deny. Also the DNS SRV targets outside a `dns-srv:`
    /// domain that may be used (`ldap/srv.rs`).
    #[serde(default)]
    pub referral_hosts: Vec<String>,
    #[serde(default)]
    pub tls: TlsSection,
    /// `[servers.sasl]`: the service bind over SASL (GSSAPI, EXTERNAL) instead of `bind_dn`.
    #[serde(default)]
    pub sasl: Option<super::sasl::SaslSection>,
    /// `[servers.idmap]`: uid and gid from objectSid (`idmap.rs`).
    #[serde(default)]
    pub idmap: super::idmap::IdmapSection,
    /// `[servers.auth]`: how user passwords are checked (a bind, or Kerberos).
    #[serde(default)]
    pub auth: super::sasl::AuthSection,
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
    /// The user attribute holding SSH public keys, one authorized_keys line per value, for
    /// `ldaprs-authorized-keys` (sshd's `AuthorizedKeysCommand`). Default `sshPublicKey`
    /// (openssh-lpk's attribute; also the usual extension of AD, which has no SSH key
    /// attribute of its own), `ipaSshPubKey` for `schema = "ipa"`; `""` reads no keys.
    #[serde(default)]
    pub ssh_key_attribute: Option<String>,
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
    /// AD: a user's groups (every nested one included) from the user's `tokenGroups` in one
    /// base search, the SIDs resolved to groups in batches and cached (SSSD's
    /// `ldap_use_tokengroups`), instead of searching by `member`.
    #[serde(default)]
    pub token_groups: bool,
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
    /// Which membership attributes are read (`memberUid` holds user names; any other, such
    /// as `member` or `uniqueMember`, holds DNs). Default: every form the directory uses —
    /// real directories mix a posixGroup with memberUid and a groupOfNames with member.
    #[serde(default)]
    pub member_attributes: Option<Vec<String>>,
    #[serde(default)]
    pub attributes: GroupAttributes,
}

impl Default for GroupsSection {
    fn default() -> Self {
        GroupsSection {
            base: None,
            filter: None,
            nested: false,
            token_groups: false,
            nesting_depth: default_nesting_depth(),
            in_chain: None,
            search_filter: None,
            search_filter_user_attribute: None,
            member_attributes: None,
            attributes: GroupAttributes::default(),
        }
    }
}

fn default_nesting_depth() -> u32 {
    10
}

impl Server {
    pub fn uris(&self) -> Vec<String> {
        self.uri.to_vec()
    }

    /// Whether the daemon must ask the directory for the schema or the base.
    pub fn needs_detection(&self) -> bool {
        self.schema == Schema::Auto || self.base.trim().is_empty()
    }

    /// The name given to a block without one: its first URI's host.
    pub fn default_name(&self) -> String {
        let first = self.uris().into_iter().next().unwrap_or_default();
        if first.starts_with("ldapi://") {
            return "ldapi".into();
        }
        if let Some(domain) = first.strip_prefix("dns-srv:") {
            return domain.trim_end_matches('.').to_string();
        }
        let rest = first.split_once("://").map(|x| x.1).unwrap_or(&first);
        let hostport = rest.split('/').next().unwrap_or_default();
        let host = match hostport.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => hostport.rsplit_once(':').map(|x| x.0).unwrap_or(hostport),
        };
        if host.is_empty() {
            "server".into()
        } else {
            host.to_string()
        }
    }
}
