//! Users: by name (exactly one entry, byte-for-byte name), by uid, every user, and the fresh
//! read with the login attributes. Local names and ids are never answered from here.

use super::collect::Collect;
use super::local::LocalDb;
use super::records::{entry_to_passwd, Reject};
use super::state::{Directory, Lookup};
use crate::ldap::{DirError, Entry, ServerBlock};
use crate::warn;
use ldaprs_common::filter::{self, eq};
use ldaprs_common::names::valid_name;
use ldaprs_common::protocol::Passwd;

impl Directory {
    /// The entry as a passwd record we serve, or the rule that hides it.
    pub fn user_record(
        &self,
        b: &ServerBlock,
        e: &Entry,
        wanted: Option<&str>,
        local: &LocalDb,
    ) -> Result<Passwd, Reject> {
        let p = entry_to_passwd(e, &b.eff, &self.limits, wanted)?;
        if self.local.user(local, &p.name) {
            return Err(Reject::Local("name"));
        }
        if local.has_uid(p.uid) {
            return Err(Reject::Local("uid"));
        }
        self.limits.primary_gid_ok(p.gid, local.has_gid(p.gid))?;
        Ok(p)
    }

    /// The entries that are users we serve, with their DNs; the others are logged (once per
    /// cache period) with the rule that hides them.
    pub fn convert_users(
        &self,
        b: &ServerBlock,
        entries: &[Entry],
        wanted: Option<&str>,
    ) -> Vec<(Passwd, String)> {
        let local = self.local.db();
        entries
            .iter()
            .filter_map(|e| match self.user_record(b, e, wanted, &local) {
                Ok(p) => Some((p, e.dn.clone())),
                Err(r) => {
                    self.hidden(b, "user", &e.dn, &r);
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
            let f = match &b.eff.idmap {
                Some(_) => match b.sid_filter(&b.eff.attr_uid, uid).await? {
                    Some(f) => f,
                    None => return Ok(None),
                },
                None => eq(&b.eff.attr_uid, &uid.to_string()),
            };
            let entries = b.find_users(&f, false).await?;
            let mut users: Vec<(Passwd, String)> = self
                .convert_users(b, &entries, None)
                .into_iter()
                .filter(|(p, _)| p.uid == uid)
                .collect();
            if users.len() > 1 {
                // Two entries claim the uid: answering either could name the wrong person
                // as the owner of a file.
                for (_, dn) in &users {
                    self.hidden(b, "user", dn, &Reject::Duplicate("uidNumber"));
                }
                return Err(DirError::Server(format!("ambiguous uid {uid}")));
            }
            Ok(users.pop().map(|(p, _)| p))
        })
        .await
    }

    /// Every user of every block into `out`, each as its entry arrives (the first block to
    /// name a user wins). A block that fails is taken back and logged by the caller's error;
    /// an error only if no block gave anyone.
    pub async fn all_users_into(&self, out: &dyn Collect<Passwd>) -> Result<(), DirError> {
        let mut err = None;
        for b in &self.blocks {
            let local = self.local.db();
            let convert = |e: Entry| -> Option<()> {
                match self.user_record(b, &e, None, &local) {
                    Ok(p) => out.put(p),
                    Err(r) => self.hidden(b, "user", &e.dn, &r),
                }
                None
            };
            out.begin_block();
            if let Err(e) = b.all_user_entries(&convert).await {
                out.drop_block();
                err = Some(e);
            }
        }
        match err {
            Some(e) if out.is_empty() => Err(e),
            _ => Ok(()),
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
