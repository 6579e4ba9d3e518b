//! The searches the schema implies for one block: which attributes a user is read with, and
//! the user searches under the user base.

use crate::ldap::{DirError, Entry, ServerBlock};
use ldaprs_common::config::Schema;
use ldaprs_common::filter;

/// Account-state attributes read for the POSIX schemas (see `login/account_state.rs`).
pub const POSIX_ATTRS: &[&str] = &[
    "shadowExpire",
    "shadowLastChange",
    "shadowMax",
    "shadowWarning",
    "shadowInactive",
    "pwdAccountLockedTime",
    "pwdReset",
    "nsAccountLock",
];

/// Account-state attributes read for AD.
pub const AD_ATTRS: &[&str] = &[
    "userAccountControl",
    "msDS-User-Account-Control-Computed",
    "accountExpires",
    "pwdLastSet",
];

/// The account-state attributes of a schema.
pub fn account_state_attributes(schema: Schema) -> &'static [&'static str] {
    match schema {
        Schema::Ad => AD_ATTRS,
        Schema::Rfc2307 | Schema::Rfc2307bis | Schema::Ipa | Schema::Auto => POSIX_ATTRS,
    }
}

impl ServerBlock {
    pub fn user_attrs(&self) -> Vec<String> {
        let e = &self.eff;
        vec![
            e.attr_name.clone(),
            e.attr_uid.clone(),
            e.attr_gid.clone(),
            e.attr_gecos.clone(),
            "cn".into(),
            e.attr_home.clone(),
            e.attr_shell.clone(),
        ]
    }

    /// The attributes read for a login: the passwd fields, the account-state attributes of
    /// the schema, `memberOf` and the attribute a group `search_filter` uses, if configured,
    /// and the SSH key attribute.
    pub fn account_attrs(&self) -> Vec<String> {
        let mut v = self.user_attrs();
        v.extend(
            account_state_attributes(self.eff.schema)
                .iter()
                .map(|a| a.to_string()),
        );
        if let Some(a) = &self.eff.attr_member_of {
            v.push(a.clone());
        }
        if let Some((_, Some(a))) = &self.eff.group_search {
            if !a.eq_ignore_ascii_case("dn") {
                v.push(a.clone());
            }
        }
        // The SSH keys, for sshd's AuthorizedKeysCommand (`directory/ssh_keys.rs`): read with
        // the login, not with every lookup (an enumeration of 100,000 users would carry
        // ~60 MB of keys nobody asked for).
        if let Some(a) = &self.eff.attr_ssh_key {
            v.push(a.clone());
        }
        v
    }

    /// The user entries matching `extra` (already escaped) under the user base.
    pub async fn find_users(&self, extra: &str, paged: bool) -> Result<Vec<Entry>, DirError> {
        let f = filter::and(&self.eff.user_filter, extra);
        self.search(&self.eff.user_base, &f, &self.user_attrs(), paged)
            .await
    }

    /// Every user entry (enumeration), converted as it arrives.
    pub async fn all_user_entries<T: Send>(
        &self,
        convert: crate::ldap::enumerate::Convert<'_, T>,
    ) -> Result<Vec<T>, DirError> {
        self.search_all(
            &self.eff.user_base,
            &self.eff.user_filter,
            &self.eff.attr_name,
            &self.user_attrs(),
            convert,
        )
        .await
    }
}
