//! The stored records with an index of which names hold each uid and gid, so that keeping an
//! answer is a few hash operations and not a scan of every stored entry (a scan cost tens of
//! microseconds per cold lookup once thousands of users were stored).

use super::records::{Records, StoredGroup};
use ldaprs_common::protocol::{Group, Passwd};
use std::collections::HashMap;

/// Which stored names hold an id: one, except in a file written by an older build, where an
/// id may have moved to another name without the first being dropped.
#[derive(Default, Debug)]
pub struct IdIndex(HashMap<u32, Vec<String>>);

impl IdIndex {
    fn add(&mut self, id: u32, name: &str) {
        let names = self.0.entry(id).or_default();
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }

    fn remove(&mut self, id: u32, name: &str) {
        if let Some(names) = self.0.get_mut(&id) {
            names.retain(|n| n != name);
            if names.is_empty() {
                self.0.remove(&id);
            }
        }
    }

    fn take(&mut self, id: u32) -> Vec<String> {
        self.0.remove(&id).unwrap_or_default()
    }

    /// The names holding `id`.
    pub fn names(&self, id: u32) -> &[String] {
        self.0.get(&id).map_or(&[], |v| v.as_slice())
    }
}

/// The records and their id indexes, changed only together.
#[derive(Default, Debug)]
pub struct Held {
    pub rec: Records,
    pub uids: IdIndex,
    pub gids: IdIndex,
}

impl Held {
    /// Indexes records as read from a file (duplicated ids included).
    pub fn new(rec: Records) -> Held {
        let mut h = Held {
            rec,
            ..Held::default()
        };
        for (n, (p, _)) in &h.rec.users {
            h.uids.add(p.uid, n);
        }
        for (n, (g, _)) in &h.rec.groups {
            h.gids.add(g.gid, n);
        }
        h
    }

    /// Keeps a user; any other name holding its uid is dropped (the id was given to someone
    /// else: offline by-id answers must never name the departed owner).
    pub fn put_user(&mut self, p: &Passwd, now: i64) {
        for other in self.uids.take(p.uid) {
            if other != p.name {
                self.rec.users.remove(&other);
            }
        }
        if let Some((old, _)) = self.rec.users.insert(p.name.clone(), (p.clone(), now)) {
            if old.uid != p.uid {
                self.uids.remove(old.uid, &p.name);
            }
        }
        self.uids.add(p.uid, &p.name);
    }

    /// As [`Held::put_user`], for a group and its gid.
    pub fn put_group(&mut self, g: &Group, now: i64) {
        for other in self.gids.take(g.gid) {
            if other != g.name {
                self.rec.groups.remove(&other);
            }
        }
        let kept = StoredGroup::new(g);
        if let Some((old, _)) = self.rec.groups.insert(g.name.clone(), (kept, now)) {
            if old.gid != g.gid {
                self.gids.remove(old.gid, &g.name);
            }
        }
        self.gids.add(g.gid, &g.name);
    }

    /// Drops a user by name; whether it was kept.
    pub fn drop_user(&mut self, name: &str) -> bool {
        match self.rec.users.remove(name) {
            Some((p, _)) => {
                self.uids.remove(p.uid, name);
                true
            }
            None => false,
        }
    }

    /// Drops every user holding `uid`.
    pub fn drop_uid(&mut self, uid: u32) {
        for n in self.uids.take(uid) {
            self.rec.users.remove(&n);
        }
    }

    /// Drops a group by name.
    pub fn drop_group(&mut self, name: &str) {
        if let Some((g, _)) = self.rec.groups.remove(name) {
            self.gids.remove(g.gid, name);
        }
    }

    /// Drops every group holding `gid`.
    pub fn drop_gid(&mut self, gid: u32) {
        for n in self.gids.take(gid) {
            self.rec.groups.remove(&n);
        }
    }

    /// Forgets everything but the settings fingerprint.
    pub fn clear(&mut self) {
        *self = Held::new(Records {
            settings: std::mem::take(&mut self.rec.settings),
            ..Records::default()
        });
    }
}
