//! The search settings a server block really uses: its schema's presets with the admin's
//! overrides applied ([`Effective`]).

use super::server::{Schema, Server};

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
    /// The schema's (or the admin's) primary form.
    pub membership: Membership,
    /// Every form read from group entries and searched for a user's groups: the primary form
    /// first. By default all three (`memberUid`, `member`, `uniqueMember`), of which searches
    /// use only those the directory has (`detect_forms`); `member_attributes` or an explicit
    /// `attributes.member_uid` / `member` names them instead.
    pub member_forms: Vec<Membership>,
    /// Whether searches first find out which of `member_forms` the directory uses (an
    /// unindexed attribute in an OR filter makes slapd scan every entry).
    pub detect_forms: bool,
    /// The user attribute listing the user's group DNs, if groups are read from it.
    pub attr_member_of: Option<String>,
    /// Follow nested groups, at most this many levels (None: direct membership only).
    pub nesting: Option<u32>,
    /// Nested groups are resolved by the server (AD's in-chain matching rule).
    pub in_chain: bool,
    /// A user's groups from AD's tokenGroups (`[servers.groups] token_groups`).
    pub token_groups: bool,
    /// Grafana's group search: the filter with `%s`, and the user attribute (None: the name;
    /// `dn`: the entry's DN) that replaces it.
    pub group_search: Option<(String, Option<String>)>,
    /// The user attribute with the SSH public keys (None: keys are not read).
    pub attr_ssh_key: Option<String>,
    /// `[servers.idmap] mode = "sid"`: uid and gid from objectSid (None: from the attributes).
    pub idmap: Option<super::idmap::IdmapSection>,
    /// The schema the defaults came from (it also decides which account-state attributes
    /// are read: shadow and password policy, or AD's userAccountControl).
    pub schema: Schema,
}

/// What a schema preset gives when the admin names no attribute, filter or base.
struct SchemaDefaults {
    user_filter: &'static str,
    name: &'static str,
    gecos: &'static str,
    home: &'static str,
    group_filter: &'static str,
    membership: Membership,
    user_base: String,
    group_base: String,
    ssh_key: &'static str,
}

fn schema_defaults(schema: Schema, base: &str) -> SchemaDefaults {
    match schema {
        // Auto is replaced by what the daemon detected before any search; until then (no
        // server answered) the block answers nothing, and these are placeholders.
        Schema::Rfc2307 | Schema::Auto => SchemaDefaults {
            user_filter: "(objectClass=posixAccount)",
            name: "uid",
            gecos: "gecos",
            home: "homeDirectory",
            group_filter: "(objectClass=posixGroup)",
            membership: Membership::Names("memberUid".into()),
            user_base: base.to_string(),
            group_base: base.to_string(),
            ssh_key: "sshPublicKey",
        },
        Schema::Rfc2307bis => SchemaDefaults {
            user_filter: "(objectClass=posixAccount)",
            name: "uid",
            gecos: "gecos",
            home: "homeDirectory",
            group_filter: "(objectClass=posixGroup)",
            membership: Membership::Dns("member".into()),
            user_base: base.to_string(),
            group_base: base.to_string(),
            ssh_key: "sshPublicKey",
        },
        Schema::Ad => SchemaDefaults {
            user_filter: "(&(objectClass=user)(uidNumber=*))",
            name: "sAMAccountName",
            gecos: "displayName",
            home: "unixHomeDirectory",
            group_filter: "(&(objectClass=group)(gidNumber=*))",
            membership: Membership::Dns("member".into()),
            user_base: base.to_string(),
            group_base: base.to_string(),
            // AD has no SSH key attribute: sites add openssh-lpk's (altSecurityIdentities
            // maps certificates and Kerberos principals, never SSH keys).
            ssh_key: "sshPublicKey",
        },
        Schema::Ipa => SchemaDefaults {
            user_filter: "(objectClass=posixAccount)",
            name: "uid",
            gecos: "gecos",
            home: "homeDirectory",
            group_filter: "(objectClass=posixGroup)",
            membership: Membership::Dns("member".into()),
            user_base: format!("cn=users,cn=accounts,{base}"),
            group_base: format!("cn=groups,cn=accounts,{base}"),
            ssh_key: "ipaSshPubKey",
        },
    }
}

/// A membership attribute by name: `memberUid` holds names, every other one DNs.
pub fn membership_form(attr: &str) -> Membership {
    if attr.eq_ignore_ascii_case("memberUid") {
        Membership::Names(attr.to_string())
    } else {
        Membership::Dns(attr.to_string())
    }
}

/// The forms read, and whether to detect which of them the directory uses.
fn member_forms(
    primary: &Membership,
    g: &super::server::GroupsSection,
    ga: &super::server::GroupAttributes,
) -> (Vec<Membership>, bool) {
    if let Some(list) = &g.member_attributes {
        return (list.iter().map(|a| membership_form(a)).collect(), false);
    }
    let explicit: Vec<Membership> = [
        ga.member_uid.clone().map(Membership::Names),
        ga.member.clone().map(Membership::Dns),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !explicit.is_empty() {
        return (explicit, false);
    }
    let mut all = vec![primary.clone()];
    for a in ["memberUid", "member", "uniqueMember"] {
        let f = membership_form(a);
        if !all.contains(&f) {
            all.push(f);
        }
    }
    (all, true)
}

impl Server {
    pub fn effective(&self) -> Effective {
        let mut d = schema_defaults(self.schema, &self.base);
        // With id mapping, users and groups need no RFC 2307 attributes: every user entry
        // (computer accounts are users too in AD, and are left out) and every group, ids
        // from objectSid and the primary group from primaryGroupID.
        let idmap = self.idmap.enabled();
        if idmap {
            d.user_filter = "(&(objectClass=user)(!(objectClass=computer)))";
            d.group_filter = "(objectClass=group)";
        }
        let (uid_attr, gid_attr, group_gid_attr) = if idmap {
            ("objectSid", "primaryGroupID", "objectSid")
        } else {
            ("uidNumber", "gidNumber", "gidNumber")
        };
        let u = &self.users;
        let ua = &u.attributes;
        let g = &self.groups;
        let ga = &g.attributes;
        let membership = match (&ga.member_uid, &ga.member) {
            (Some(a), _) => Membership::Names(a.clone()),
            (None, Some(a)) => Membership::Dns(a.clone()),
            (None, None) => d.membership,
        };
        let (member_forms, detect_forms) = member_forms(&membership, g, ga);
        Effective {
            user_base: u.base.clone().unwrap_or(d.user_base),
            user_filter: crate::filter::normalize(u.filter.as_deref().unwrap_or(d.user_filter)),
            attr_name: ua.name.clone().unwrap_or_else(|| d.name.into()),
            attr_uid: ua.uid_number.clone().unwrap_or_else(|| uid_attr.into()),
            attr_gid: ua.gid_number.clone().unwrap_or_else(|| gid_attr.into()),
            attr_gecos: ua.gecos.clone().unwrap_or_else(|| d.gecos.into()),
            attr_home: ua.home.clone().unwrap_or_else(|| d.home.into()),
            attr_shell: ua.shell.clone().unwrap_or_else(|| "loginShell".into()),
            group_base: g.base.clone().unwrap_or(d.group_base),
            group_filter: crate::filter::normalize(g.filter.as_deref().unwrap_or(d.group_filter)),
            attr_group_name: ga.name.clone().unwrap_or_else(|| "cn".into()),
            attr_group_gid: ga
                .gid_number
                .clone()
                .unwrap_or_else(|| group_gid_attr.into()),
            membership,
            member_forms,
            detect_forms,
            attr_member_of: ua.member_of.clone(),
            attr_ssh_key: match u.ssh_key_attribute.as_deref() {
                Some("") => None,
                Some(a) => Some(a.to_string()),
                None => Some(d.ssh_key.to_string()),
            },
            nesting: g.nested.then_some(g.nesting_depth),
            token_groups: g.token_groups,
            in_chain: g.nested && g.in_chain.unwrap_or(self.schema == Schema::Ad),
            group_search: g.search_filter.as_deref().map(|f| {
                (
                    crate::filter::normalize(f),
                    g.search_filter_user_attribute.clone(),
                )
            }),
            idmap: self.idmap.enabled().then(|| self.idmap.clone()),
            schema: self.schema,
        }
    }
}
