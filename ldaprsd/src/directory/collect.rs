//! Where an enumeration puts what it finds, one entry at a time as the entries arrive: straight
//! into the answer's frame (`answers/frames.rs`, whose tests hold the rules below), so that
//! 100,000 users are never held as records and again as their encoded answer.

use ldaprs_common::protocol::{Group, Passwd};

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
