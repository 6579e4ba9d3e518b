//! Users: by name (exactly one entry, byte-for-byte name), by uid, every user, and the fresh
//! read with the login attributes. Local names and ids are never answered from here.

use super::records::entry_to_passwd;
use super::state::{Directory, Lookup};
use crate::ldap::{DirError, Entry, ServerBlock};
use crate::{debug, warn};
use ldaprs_common::filter::{self, eq};
use ldaprs_common::names::valid_name;
use ldaprs_common::protocol::Passwd;
use std::collections::HashSet;

impl Directory {
    pub fn convert_users(
        &self,
        b: &ServerBlock,
        entries: &[Entry],
        wanted: Option<&str>,
    ) -> Vec<(Passwd, String)> {
        let local = self.local.db();
        entries
            .iter()
            .filter_map(|e| match entry_to_passwd(e, &b.eff, self.limits, wanted) {
                Ok(p) if self.local.user(&local, &p.name) || local.has_uid(p.uid) => {
                    debug!(
                        "server {}: skipping {}: name or uid {} is local (or ignored)",
                        b.name(),
                        e.dn,
                        p.uid
                    );
                    None
                }
                Ok(p) => Some((p, e.dn.clone())),
                Err(r) => {
                    debug!("server {}: skipping {}: {r:?}", b.name(), e.dn);
                    None
                }
            })
            .collect()
    }

    pub async fn user_by_name(&self, name: &str) -> Lookup<Passwd> {
        Ok(self.user_by_name_full(name).await?.map(|(p, _)| p))
    }

    /// The user and its DN, fresh from the directory.
    pub async fn user_by_name_full(&self, name: &str) -> Lookup<(Passwd, String)> {
        if !valid_name(name) || self.is_local_user(name) {
            return Ok(None);
        }
        let hit = self
            .first_hit(|i, b| async move {
                let entries = b.find_users(&eq(&b.eff.attr_name, name), false).await?;
                let mut users = self.convert_users(b, &entries, Some(name));
                if users.len() > 1 {
                    // Two entries claim the name: answering either could be the wrong person.
                    warn!(
                        "server {}: {} entries match user {name}; refusing to pick one",
                        b.name(),
                        users.len()
                    );
                    return Err(DirError::Server(format!("ambiguous user {name}")));
                }
                Ok(users.pop().map(|(p, dn)| (i, p, dn)))
            })
            .await?;
        Ok(hit.map(|(i, p, dn)| {
            self.user_dns.put(
                name.to_string(),
                (i, dn.clone()),
                self.entry_ttl,
                self.clock.now(),
            );
            (p, dn)
        }))
    }

    pub async fn user_by_uid(&self, uid: u32) -> Lookup<Passwd> {
        if uid < self.limits.min_uid || self.local.db().has_uid(uid) {
            return Ok(None);
        }
        self.first_hit(|_, b| async move {
            let entries = b
                .find_users(&eq(&b.eff.attr_uid, &uid.to_string()), false)
                .await?;
            Ok(self
                .convert_users(b, &entries, None)
                .into_iter()
                .map(|(p, _)| p)
                .find(|p| p.uid == uid))
        })
        .await
    }

    pub async fn all_users(&self) -> Result<Vec<Passwd>, DirError> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut err = None;
        for b in &self.blocks {
            match b.all_user_entries().await {
                Ok(entries) => {
                    for (p, _) in self.convert_users(b, &entries, None) {
                        if seen.insert(p.name.clone()) {
                            out.push(p);
                        }
                    }
                }
                Err(e) => err = Some(e),
            }
        }
        match err {
            Some(e) if out.is_empty() => Err(e),
            _ => Ok(out),
        }
    }

    /// The user, fresh from the directory, with the attributes a login needs
    /// ([`ServerBlock::account_attrs`]): block index, passwd record and entry.
    pub async fn user_entry_fresh(&self, name: &str) -> Lookup<(usize, Passwd, Entry)> {
        if !valid_name(name) || self.is_local_user(name) {
            return Ok(None);
        }
        self.first_hit(|i, b| async move {
            let f = filter::and(&b.eff.user_filter, &eq(&b.eff.attr_name, name));
            let entries = b
                .search(&b.eff.user_base, &f, &b.account_attrs(), false)
                .await?;
            let mut users: Vec<(Passwd, Entry)> = self
                .convert_users(b, &entries, Some(name))
                .into_iter()
                .filter_map(|(p, dn)| entries.iter().find(|e| e.dn == dn).map(|e| (p, e.clone())))
                .collect();
            if users.len() > 1 {
                warn!(
                    "server {}: {} entries match user {name}; refusing to pick one",
                    b.name(),
                    users.len()
                );
                return Err(DirError::Server(format!("ambiguous user {name}")));
            }
            Ok(users.pop().map(|(p, e)| {
                self.user_dns.put(
                    name.to_string(),
                    (i, e.dn.clone()),
                    self.entry_ttl,
                    self.clock.now(),
                );
                (i, p, e)
            }))
        })
        .await
    }
}
