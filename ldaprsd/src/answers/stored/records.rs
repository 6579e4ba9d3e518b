//! What the persistent cache holds and its encoding in `answers.db`.

use crate::persist::codec::{Decoder, Encoder, Truncated};
use ldaprs_common::protocol::{Group, Passwd};
use std::collections::HashMap;

/// A value and the Unix time the directory gave it.
pub type Stamped<T> = (T, i64);

/// What is kept, by name; each value with the Unix time the directory answered it.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct Records {
    /// The SHA-256 of the settings the answers were made under (`[nss]` and the server
    /// blocks): answers made under other settings are not used.
    pub settings: Vec<u8>,
    pub users: HashMap<String, (Passwd, i64)>,
    pub groups: HashMap<String, (StoredGroup, i64)>,
    /// A user's supplementary gids (initgroups), by user name.
    pub groups_of: HashMap<String, (Vec<u32>, i64)>,
}

/// A group as kept: its member names joined by newlines in one string (a name never holds
/// one), so that keeping a 5,000-member group is one allocation and not 5,000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGroup {
    pub name: String,
    pub gid: u32,
    members: String,
}

impl StoredGroup {
    pub fn new(g: &Group) -> StoredGroup {
        StoredGroup {
            name: g.name.clone(),
            gid: g.gid,
            members: g.members.join("\n"),
        }
    }

    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.members.split('\n').filter(|m| !m.is_empty())
    }

    /// The group as answered.
    pub fn group(&self) -> Group {
        Group {
            name: self.name.clone(),
            gid: self.gid,
            members: self.members().map(str::to_string).collect(),
        }
    }
}

impl Records {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::default();
        e.bytes(&self.settings);
        e.u32(self.users.len() as u32);
        for (p, t) in self.users.values() {
            e.str(&p.name);
            e.u32(p.uid);
            e.u32(p.gid);
            e.str(&p.gecos);
            e.str(&p.dir);
            e.str(&p.shell);
            e.i64(*t);
        }
        e.u32(self.groups.len() as u32);
        for (g, t) in self.groups.values() {
            e.str(&g.name);
            e.u32(g.gid);
            let members: Vec<&str> = g.members().collect();
            e.u32(u32::try_from(members.len()).unwrap_or(u32::MAX));
            for m in members {
                e.str(m);
            }
            e.i64(*t);
        }
        e.u32(self.groups_of.len() as u32);
        for (name, (gids, t)) in &self.groups_of {
            e.str(name);
            e.u32(gids.len() as u32);
            for g in gids {
                e.u32(*g);
            }
            e.i64(*t);
        }
        e.buf
    }

    pub fn decode(body: &[u8]) -> Result<Records, Truncated> {
        let mut d = Decoder::new(body);
        let mut r = Records {
            settings: d.bytes()?.to_vec(),
            ..Records::default()
        };
        for _ in 0..d.count(36)? {
            let p = Passwd {
                name: d.str()?,
                uid: d.u32()?,
                gid: d.u32()?,
                gecos: d.str()?,
                dir: d.str()?,
                shell: d.str()?,
            };
            let t = d.i64()?;
            r.users.insert(p.name.clone(), (p, t));
        }
        for _ in 0..d.count(20)? {
            let name = d.str()?;
            let gid = d.u32()?;
            let members = d.strs()?;
            if members.iter().any(|m| m.is_empty() || m.contains('\n')) {
                return Err(Truncated);
            }
            let g = StoredGroup {
                name,
                gid,
                members: members.join("\n"),
            };
            let t = d.i64()?;
            r.groups.insert(g.name.clone(), (g, t));
        }
        for _ in 0..d.count(16)? {
            let name = d.str()?;
            let gids = (0..d.count(4)?)
                .map(|_| d.u32())
                .collect::<Result<Vec<u32>, _>>()?;
            let t = d.i64()?;
            r.groups_of.insert(name, (gids, t));
        }
        if !d.is_empty() {
            return Err(Truncated);
        }
        Ok(r)
    }
}
