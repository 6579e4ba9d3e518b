//! Where an enumeration puts what it finds, one entry at a time as the entries arrive: into a
//! list ([`ListCollect`]: lookups the daemon makes for itself, tests), or straight into the
//! answer's frame (`answers/enumeration.rs`), so that 100,000 users are never held as records
//! and again as their encoded answer.

use ldaprs_common::protocol::{Group, Passwd};
use std::collections::HashSet;
use std::sync::Mutex;

/// An entry with the name that identifies it in an enumeration (the first one wins).
pub trait Named {
    fn name(&self) -> &str;
}

impl Named for Passwd {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for Group {
    fn name(&self) -> &str {
        &self.name
    }
}

/// Receives the entries of an enumeration in order. A name already received is dropped (a
/// later server block, or a search repeated on another URI after a failure, gives it again).
/// `begin_block`/`drop_block` bracket one server block: a block that failed is taken back
/// whole, as if it had answered nothing.
pub trait Collect<T>: Sync {
    /// Keeps `item` unless its name was kept already.
    fn put(&self, item: T);
    /// Entries kept so far.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn begin_block(&self);
    fn drop_block(&self);
}

struct Listed<T> {
    items: Vec<T>,
    seen: HashSet<String>,
    block_start: usize,
}

/// Collects into a list.
pub struct ListCollect<T>(Mutex<Listed<T>>);

impl<T> Default for ListCollect<T> {
    fn default() -> Self {
        ListCollect(Mutex::new(Listed {
            items: Vec::new(),
            seen: HashSet::new(),
            block_start: 0,
        }))
    }
}

impl<T> ListCollect<T> {
    pub fn into_vec(self) -> Vec<T> {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner()).items
    }
}

impl<T: Named + Send> Collect<T> for ListCollect<T> {
    fn put(&self, item: T) {
        let mut l = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if l.seen.insert(item.name().to_string()) {
            l.items.push(item);
        }
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).items.len()
    }

    fn begin_block(&self) {
        let mut l = self.0.lock().unwrap_or_else(|p| p.into_inner());
        l.block_start = l.items.len();
    }

    fn drop_block(&self) {
        let mut l = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let start = l.block_start;
        let dropped: Vec<T> = l.items.drain(start..).collect();
        for d in &dropped {
            l.seen.remove(d.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: &str, uid: u32) -> Passwd {
        Passwd {
            name: n.into(),
            uid,
            gid: 100,
            gecos: String::new(),
            dir: "/".into(),
            shell: "/bin/sh".into(),
        }
    }

    #[test]
    fn first_name_wins_and_a_failed_block_is_taken_back() {
        let c = ListCollect::default();
        c.begin_block();
        c.put(user("alice", 1));
        c.put(user("alice", 2));
        c.begin_block();
        c.put(user("bob", 3));
        c.put(user("alice", 4));
        c.drop_block();
        c.begin_block();
        c.put(user("bob", 5));
        assert_eq!(c.len(), 2);
        let v = c.into_vec();
        assert_eq!((v[0].uid, v[1].uid), (1, 5));
    }
}
