//! Unit tests of the NSS logic: the lookup against a map in a buffer and a scripted daemon,
//! the enumeration walk, and the initgroups merge.
#![allow(clippy::undocumented_unsafe_blocks)] // test buffers: aligned, owned, alive for the test

use super::*;
use crate::client::ClientError;
use crate::protocol::{
    frame_response, Group, GroupRef, Passwd, PasswdRef, Request, Response, HEADER_LEN,
};
use crate::shm::{now_ms, Kind, MapView, MapWriter};
use std::cell::RefCell;

/// An 8-byte aligned buffer standing in for the mapping, with its writer.
struct Map {
    _buf: Vec<u64>,
    w: MapWriter,
}

impl Map {
    fn new() -> Map {
        let mut buf = vec![0u64; (1 << 16) / 8];
        let w = unsafe { MapWriter::create(buf.as_mut_ptr().cast(), 1 << 16, 64) }.unwrap();
        Map { _buf: buf, w }
    }
    fn put(&self, kind: Kind, name: Option<&str>, id: Option<u32>, resp: Option<&Response>) {
        let far = now_ms() + 3_600_000;
        let p = resp.map(payload).unwrap_or_default();
        self.w
            .insert(kind, name, id, resp.is_none(), &p, far, far)
            .unwrap();
    }
    fn view(&self) -> MapView {
        self.w.view()
    }
}

fn payload(r: &Response) -> Vec<u8> {
    frame_response(r)[HEADER_LEN..].to_vec()
}

fn user(name: &str, uid: u32) -> Passwd {
    Passwd {
        name: name.into(),
        uid,
        gid: 100,
        gecos: format!("{name} gecos"),
        dir: format!("/home/{name}"),
        shell: "/bin/sh".into(),
    }
}

fn group(name: &str, gid: u32) -> Group {
    Group {
        name: name.into(),
        gid,
        members: vec!["alice".into(), "bob".into()],
    }
}

/// A map (or none) and a daemon that gives one answer (None: unreachable), recording what it
/// was asked.
struct Fake {
    map: Option<MapView>,
    answer: Option<Response>,
    asked: RefCell<Vec<Request>>,
}

impl Fake {
    fn new(map: Option<MapView>, answer: Option<Response>) -> Fake {
        Fake {
            map,
            answer,
            asked: RefCell::new(Vec::new()),
        }
    }
    fn asked(&self) -> Vec<Request> {
        self.asked.borrow().clone()
    }
}

impl Sources for Fake {
    fn map(&self) -> Option<MapView> {
        self.map
    }
    fn ask(&self, req: &Request) -> Result<Response, ClientError> {
        self.asked.borrow_mut().push(req.clone());
        self.answer.clone().ok_or(ClientError::Timeout)
    }
    fn ask_raw(&self, req: &Request) -> Result<Vec<u8>, ClientError> {
        self.asked.borrow_mut().push(req.clone());
        self.answer
            .as_ref()
            .map(payload)
            .ok_or(ClientError::Timeout)
    }
}

/// Runs a user lookup, returning the outcome and the entry `fill` saw (as an owned Passwd).
fn user_lookup(src: &Fake, key: Key<'_>) -> (Outcome, Option<Passwd>) {
    let mut seen = None;
    let r = lookup::<Users, _>(src, key, |p: &PasswdRef<'_>| {
        seen = Some(Passwd {
            name: p.name.into(),
            uid: p.uid,
            gid: p.gid,
            gecos: p.gecos.into(),
            dir: p.dir.into(),
            shell: p.shell.into(),
        });
        OK
    });
    (r, seen)
}

#[test]
fn fresh_map_records_answer_without_asking_the_daemon() {
    let m = Map::new();
    let alice = user("alice", 10001);
    m.put(
        Kind::Passwd,
        Some("alice"),
        Some(10001),
        Some(&Response::User(alice.clone())),
    );
    m.put(Kind::Passwd, Some("ghost"), None, None);
    let src = Fake::new(Some(m.view()), None);
    assert_eq!(
        user_lookup(&src, Key::Name("alice")),
        (OK, Some(alice.clone()))
    );
    assert_eq!(user_lookup(&src, Key::Id(10001)), (OK, Some(alice)));
    assert_eq!(user_lookup(&src, Key::Name("ghost")), (NOT_FOUND, None));
    assert!(src.asked().is_empty());
}

#[test]
fn misses_and_records_about_something_else_ask_the_daemon() {
    let m = Map::new();
    // A record filed under "alice" whose payload is bob: never served as alice.
    m.put(
        Kind::Passwd,
        Some("alice"),
        None,
        Some(&Response::User(user("bob", 2))),
    );
    let alice = user("alice", 10001);
    let src = Fake::new(Some(m.view()), Some(Response::User(alice.clone())));
    assert_eq!(
        user_lookup(&src, Key::Name("alice")),
        (OK, Some(alice.clone()))
    );
    assert_eq!(user_lookup(&src, Key::Id(10001)), (OK, Some(alice)));
    assert_eq!(
        src.asked(),
        vec![
            Request::UserByName("alice".into()),
            Request::UserByUid(10001)
        ]
    );
}

#[test]
fn daemon_answers_map_to_statuses() {
    // Not found.
    let src = Fake::new(None, Some(Response::NotFound));
    assert_eq!(user_lookup(&src, Key::Name("x")), (NOT_FOUND, None));
    // Unreachable: UNAVAIL, so that `files` keeps working.
    let src = Fake::new(None, None);
    assert_eq!(user_lookup(&src, Key::Name("x")), (UNAVAIL, None));
    // An answer of the wrong kind.
    let src = Fake::new(None, Some(Response::Group(group("g", 1))));
    assert_eq!(user_lookup(&src, Key::Name("x")), (UNAVAIL, None));
    // What `fill` answers (ERANGE here) is what the lookup answers.
    let src = Fake::new(None, Some(Response::User(user("x", 1))));
    assert_eq!(lookup::<Users, _>(&src, Key::Name("x"), |_| ERANGE), ERANGE);
}

#[test]
fn groups_and_initgroups_follow_the_same_path() {
    let m = Map::new();
    let devs = group("devs", 5000);
    m.put(
        Kind::Group,
        Some("devs"),
        Some(5000),
        Some(&Response::Group(devs.clone())),
    );
    m.put(
        Kind::Initgroups,
        Some("alice"),
        None,
        Some(&Response::Gids(vec![5000, 5001])),
    );
    m.put(Kind::Initgroups, Some("ghost"), None, None);
    let src = Fake::new(Some(m.view()), Some(Response::Gids(vec![7])));
    let mut name = String::new();
    let r = lookup::<Groups, _>(&src, Key::Id(5000), |g: &GroupRef<'_>| {
        name = format!("{}:{}", g.name, g.members.join(","));
        OK
    });
    assert_eq!((r, name.as_str()), (OK, "devs:alice,bob"));
    let mut got = Vec::new();
    let r = lookup::<Initgroups, _>(&src, "alice", |g| {
        got = g.to_vec();
        OK
    });
    assert_eq!((r, got), (OK, vec![5000, 5001]));
    assert_eq!(lookup::<Initgroups, _>(&src, "ghost", |_| OK), NOT_FOUND);
    assert!(src.asked().is_empty());
    // Not in the map: the daemon's list.
    let mut got = Vec::new();
    let r = lookup::<Initgroups, _>(&src, "carol", |g| {
        got = g.to_vec();
        OK
    });
    assert_eq!((r, got), (OK, vec![7]));
    assert_eq!(src.asked(), vec![Request::GroupsOfUser("carol".into())]);
    // A group lookup the daemon answers with a gid list is not a group.
    assert_eq!(lookup::<Groups, _>(&src, Key::Name("x"), |_| OK), UNAVAIL);
}

#[test]
fn a_walk_hands_out_each_entry_repeats_on_erange_and_ends_not_found() {
    let users = vec![user("a", 1), user("b", 2), user("c", 3)];
    let src = Fake::new(None, Some(Response::Users(users)));
    let walk: Walk<Users> = Walk::new();
    let mut names = Vec::new();
    let mut step = |answer: Outcome| {
        walk.step(&src, |p| {
            names.push(p.name.to_string());
            answer
        })
    };
    assert_eq!(step(OK), OK);
    assert_eq!(step(ERANGE), ERANGE); // "b" does not fit: handed out again
    assert_eq!(step(OK), OK);
    assert_eq!(step(OK), OK);
    assert_eq!(step(OK), NOT_FOUND);
    assert_eq!(names, ["a", "b", "b", "c"]);
    // One request for the whole walk; reset starts over with a new one.
    assert_eq!(src.asked(), vec![Request::AllUsers]);
    walk.reset();
    assert_eq!(
        walk.step(&src, |p| if p.name == "a" { OK } else { UNAVAIL }),
        OK
    );
    assert_eq!(src.asked().len(), 2);
}

#[test]
fn a_walk_without_a_list_is_unavail() {
    let walk: Walk<Groups> = Walk::new();
    assert_eq!(walk.step(&Fake::new(None, None), |_| OK), UNAVAIL);
    // A users list is not a groups list.
    let src = Fake::new(None, Some(Response::Users(vec![user("a", 1)])));
    assert_eq!(walk.step(&src, |_| OK), UNAVAIL);
    let src = Fake::new(None, Some(Response::Groups(vec![group("g", 9)])));
    let mut gids = Vec::new();
    let mut step = || {
        walk.step(&src, |g| {
            gids.push(g.gid);
            OK
        })
    };
    assert_eq!(step(), OK);
    assert_eq!(step(), NOT_FOUND);
    assert_eq!(gids, [9]);
}

fn array(present: &[u32], size: usize, limit: usize) -> GidArray<'_> {
    GidArray {
        present,
        used: present.len(),
        size,
        allocated: true,
        limit,
    }
}

#[test]
fn initgroups_merge_grows_once_dedups_skips_and_honours_limit() {
    // The module test's case: [100] of 1, add [100, 5, 6, 7, 8] skipping 6.
    let m = merge_gids(&array(&[100], 1, 0), &[100, 5, 6, 7, 8], 6);
    assert_eq!(
        m,
        GidMerge {
            grow_to: Some(6),
            append: vec![5, 7, 8]
        }
    );
    // limit 2: only one more fits, and the array grows to the limit only.
    let m = merge_gids(&array(&[100], 1, 2), &[1, 2, 3], 0);
    assert_eq!(
        m,
        GidMerge {
            grow_to: Some(2),
            append: vec![1]
        }
    );
    // Room enough: no realloc.
    let m = merge_gids(&array(&[1], 8, 0), &[2, 3], 0);
    assert_eq!(
        m,
        GidMerge {
            grow_to: None,
            append: vec![2, 3]
        }
    );
    // A NULL array is allocated (at least one entry), even for nothing to add.
    let null = GidArray {
        present: &[],
        used: 0,
        size: 0,
        allocated: false,
        limit: 0,
    };
    assert_eq!(
        merge_gids(&null, &[], 0),
        GidMerge {
            grow_to: Some(1),
            append: vec![]
        }
    );
    // Already at the limit: nothing added, nothing grown.
    let m = merge_gids(&array(&[1, 2], 2, 2), &[3], 0);
    assert_eq!(
        m,
        GidMerge {
            grow_to: None,
            append: vec![]
        }
    );
}

#[test]
fn initgroups_merge_never_writes_past_the_array() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n) as usize
    };
    for _ in 0..2000 {
        let present: Vec<u32> = (0..next(6)).map(|i| i as u32 * 3).collect();
        let size = present.len() + next(4);
        let limit = next(10);
        let gids: Vec<u32> = (0..next(12)).map(|i| i as u32 * 2).collect();
        let skip = next(8) as u32;
        let a = array(&present, size, limit);
        let m = merge_gids(&a, &gids, skip);
        let cap = m.grow_to.unwrap_or(size);
        assert!(
            present.len() + m.append.len() <= cap,
            "{a:?} {gids:?} {m:?}"
        );
        if limit > 0 {
            assert!(m.grow_to.is_none_or(|g| g <= limit.max(1)));
        }
        for g in &m.append {
            assert!(*g != skip && !present.contains(g));
        }
    }
}

#[test]
fn answers_below_the_id_floor_are_never_handed_out() {
    // The map's writer said min_uid 1000, min_gid 1000: a record below it (a daemon bug, a
    // damaged map) is not served, from the map or from the daemon.
    let m = Map::new();
    m.w.set_limits(1000, 1000);
    let low = user("low", 500);
    m.put(
        Kind::Passwd,
        Some("low"),
        Some(500),
        Some(&Response::User(low.clone())),
    );
    let src = Fake::new(Some(m.view()), Some(Response::User(low.clone())));
    assert_eq!(user_lookup(&src, Key::Name("low")), (NOT_FOUND, None));
    assert_eq!(user_lookup(&src, Key::Id(500)), (NOT_FOUND, None));
    let src = Fake::new(Some(m.view()), Some(Response::Group(group("g", 27))));
    let r = lookup::<Groups, _>(&src, Key::Name("g"), |_| OK);
    assert_eq!(r, NOT_FOUND);
    // Without a map, uid 0 and a primary gid 0 still never are; gid 100 as a primary gid is.
    let mut root = user("toor", 0);
    let src = Fake::new(None, Some(Response::User(root.clone())));
    assert_eq!(user_lookup(&src, Key::Name("toor")), (NOT_FOUND, None));
    root.uid = 10005;
    root.gid = 0;
    let src = Fake::new(None, Some(Response::User(root.clone())));
    assert_eq!(user_lookup(&src, Key::Name("toor")), (NOT_FOUND, None));
    root.gid = 100;
    let src = Fake::new(None, Some(Response::User(root.clone())));
    assert_eq!(user_lookup(&src, Key::Name("toor")), (OK, Some(root)));
    // A gid list loses gid 0 only (a mapped local group below min_gid is the admin's choice).
    let src = Fake::new(Some(m.view()), Some(Response::Gids(vec![0, 27, 20001])));
    let mut got = Vec::new();
    let r = lookup::<Initgroups, _>(&src, "alice", |g| {
        got = g.to_vec();
        OK
    });
    assert_eq!((r, got), (OK, vec![27, 20001]));
    // An enumeration steps over entries below the floor.
    let src = Fake::new(
        Some(m.view()),
        Some(Response::Users(vec![user("a", 10), user("b", 10002)])),
    );
    let walk: Walk<Users> = Walk::new();
    let mut names = Vec::new();
    while walk.step(&src, |p| {
        names.push(p.name.to_string());
        OK
    }) == OK
    {}
    assert_eq!(names, ["b"]);
}
