//! The record types the NSS module answers, described once for the generic lookup
//! ([`crate::nss::lookup()`]) and enumeration ([`crate::nss::walk`]): which map table holds
//! them, which request asks the daemon for them, and how they are found in an answer.

use crate::nss::floor::Floor;
use crate::protocol::{GroupRef, PasswdRef, PayloadCursor, Request, Response, ResponseRef};
use crate::shm::Kind;
use std::borrow::Cow;

/// What a passwd or group lookup is by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'k> {
    Name(&'k str),
    Id(u32),
}

impl<'k> Key<'k> {
    /// The key as the map's lookup takes it.
    fn split(self) -> (Option<&'k str>, Option<u32>) {
        match self {
            Key::Name(n) => (Some(n), None),
            Key::Id(i) => (None, Some(i)),
        }
    }
}

/// A record type that is looked up in the map first, then asked of the daemon.
pub trait Record {
    /// The map table that holds it.
    const KIND: Kind;
    /// What a lookup is by.
    type Key<'k>: Copy;
    /// The entry handed to the caller's fill function, borrowing from the answer.
    type Entry<'a>;
    /// The key as the map's lookup takes it: (name, id).
    fn map_key<'k>(key: Self::Key<'k>) -> (Option<&'k str>, Option<u32>);
    /// The request that asks the daemon.
    fn request(key: Self::Key<'_>) -> Request;
    /// The entry in a map record, if the record is one and is about what was asked (the
    /// checksum guards the rest).
    fn from_map<'a>(resp: ResponseRef<'a>, key: Self::Key<'_>) -> Option<Self::Entry<'a>>;
    /// The entry in the daemon's answer, if the answer is one.
    fn from_daemon(resp: &Response) -> Option<Self::Entry<'_>>;
    /// The entry as far as it is above the id floor: None drops it (a user or group below
    /// it); a gid list loses the gids below it.
    fn bounded<'a>(entry: Self::Entry<'a>, floor: Floor) -> Option<Self::Entry<'a>>;
}

/// A record type that is also enumerated (`setXXent`/`getXXent_r`/`endXXent`).
pub trait Enumerable: Record {
    /// The request for the whole list.
    fn all() -> Request;
    /// Whether the list is a `Groups` payload (else `Users`), for [`PayloadCursor::new`].
    const GROUPS: bool;
    /// The entry at `cursor` and the cursor past it (None at the end or on bad data).
    fn entry<'a>(
        cursor: &PayloadCursor,
        payload: &'a [u8],
    ) -> Option<(Self::Entry<'a>, PayloadCursor)>;
}

/// `struct passwd` entries: `getpwnam_r`, `getpwuid_r`, `getpwent_r`.
pub struct Users;

/// `struct group` entries: `getgrnam_r`, `getgrgid_r`, `getgrent_r`.
pub struct Groups;

/// The gid list of a user: `initgroups_dyn`.
pub struct Initgroups;

impl Record for Users {
    const KIND: Kind = Kind::Passwd;
    type Key<'k> = Key<'k>;
    type Entry<'a> = PasswdRef<'a>;

    fn map_key<'k>(key: Self::Key<'k>) -> (Option<&'k str>, Option<u32>) {
        key.split()
    }

    fn request(key: Key<'_>) -> Request {
        match key {
            Key::Name(n) => Request::UserByName(n.to_string()),
            Key::Id(u) => Request::UserByUid(u),
        }
    }

    fn from_map<'a>(resp: ResponseRef<'a>, key: Key<'_>) -> Option<PasswdRef<'a>> {
        let ResponseRef::User(p) = resp else {
            return None;
        };
        let (name, id) = key.split();
        (name.is_none_or(|n| n == p.name) && id.is_none_or(|u| u == p.uid)).then_some(p)
    }

    fn from_daemon(resp: &Response) -> Option<PasswdRef<'_>> {
        match resp {
            Response::User(p) => Some(p.borrowed()),
            _ => None,
        }
    }

    /// The primary gid is not held to `min_gid` (`[nss] allow_primary_gids` serves gid 100),
    /// only never 0.
    fn bounded<'a>(p: Self::Entry<'a>, floor: Floor) -> Option<Self::Entry<'a>> {
        (p.uid >= floor.min_uid && p.gid != 0).then_some(p)
    }
}

impl Enumerable for Users {
    const GROUPS: bool = false;

    fn all() -> Request {
        Request::AllUsers
    }

    fn entry<'a>(
        cursor: &PayloadCursor,
        payload: &'a [u8],
    ) -> Option<(PasswdRef<'a>, PayloadCursor)> {
        cursor.user(payload)
    }
}

impl Record for Groups {
    const KIND: Kind = Kind::Group;
    type Key<'k> = Key<'k>;
    type Entry<'a> = GroupRef<'a>;

    fn map_key<'k>(key: Self::Key<'k>) -> (Option<&'k str>, Option<u32>) {
        key.split()
    }

    fn request(key: Key<'_>) -> Request {
        match key {
            Key::Name(n) => Request::GroupByName(n.to_string()),
            Key::Id(g) => Request::GroupByGid(g),
        }
    }

    fn from_map<'a>(resp: ResponseRef<'a>, key: Key<'_>) -> Option<GroupRef<'a>> {
        let ResponseRef::Group(g) = resp else {
            return None;
        };
        let (name, id) = key.split();
        (name.is_none_or(|n| n == g.name) && id.is_none_or(|i| i == g.gid)).then_some(g)
    }

    fn from_daemon(resp: &Response) -> Option<GroupRef<'_>> {
        match resp {
            Response::Group(g) => Some(g.borrowed()),
            _ => None,
        }
    }

    fn bounded<'a>(g: Self::Entry<'a>, floor: Floor) -> Option<Self::Entry<'a>> {
        (g.gid >= floor.min_gid).then_some(g)
    }
}

impl Enumerable for Groups {
    const GROUPS: bool = true;

    fn all() -> Request {
        Request::AllGroups
    }

    fn entry<'a>(
        cursor: &PayloadCursor,
        payload: &'a [u8],
    ) -> Option<(GroupRef<'a>, PayloadCursor)> {
        cursor.group(payload)
    }
}

impl Record for Initgroups {
    const KIND: Kind = Kind::Initgroups;
    /// The user's name.
    type Key<'k> = &'k str;
    type Entry<'a> = Cow<'a, [u32]>;

    fn map_key<'k>(name: Self::Key<'k>) -> (Option<&'k str>, Option<u32>) {
        (Some(name), None)
    }

    fn request(name: &str) -> Request {
        Request::GroupsOfUser(name.to_string())
    }

    /// A gid list carries no name: the record's key (checked by the map) is all there is.
    fn from_map<'a>(resp: ResponseRef<'a>, _name: &str) -> Option<Cow<'a, [u32]>> {
        match resp {
            ResponseRef::Gids(gids) => Some(Cow::Owned(gids)),
            _ => None,
        }
    }

    fn from_daemon(resp: &Response) -> Option<Cow<'_, [u32]>> {
        match resp {
            Response::Gids(gids) => Some(Cow::Borrowed(gids.as_slice())),
            _ => None,
        }
    }

    /// Only gid 0 goes: a `[[servers.group_mappings]]` `local_group` (a host group the admin
    /// chose, often below `min_gid`, like `docker`) is part of the answer by design.
    fn bounded<'a>(gids: Self::Entry<'a>, _floor: Floor) -> Option<Self::Entry<'a>> {
        if gids.contains(&0) {
            return Some(Cow::Owned(
                gids.iter().copied().filter(|g| *g != 0).collect(),
            ));
        }
        Some(gids)
    }
}
