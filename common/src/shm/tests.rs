//! Unit tests of the map: the reader against the writer, corruption, concurrency, and the
//! file checks of `open`.
#![allow(clippy::undocumented_unsafe_blocks)] // test buffers: aligned, owned, alive for the test

use super::*;
use crate::protocol::{decode_response, frame_response, Passwd, Response, HEADER_LEN};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// An 8-byte aligned buffer standing in for the mapping.
struct Buf(Vec<u64>);

impl Buf {
    fn new(len: usize) -> Buf {
        Buf(vec![0u64; len / 8])
    }
    fn ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr().cast()
    }
    fn len(&self) -> usize {
        self.0.len() * 8
    }
}

fn payload(p: &Passwd) -> Vec<u8> {
    frame_response(&Response::User(p.clone()))[HEADER_LEN..].to_vec()
}

fn user(name: &str, uid: u32, tag: &str) -> Passwd {
    Passwd {
        name: name.into(),
        uid,
        gid: uid,
        gecos: format!("{name} {tag}"),
        dir: format!("/home/{name}"),
        shell: "/bin/sh".into(),
    }
}

fn far() -> u64 {
    now_ms() + 3_600_000
}

#[test]
fn insert_and_find_by_name_and_id_and_negative() {
    let mut b = Buf::new(1 << 20);
    let w = unsafe { MapWriter::create(b.ptr(), b.len(), 1024) }.unwrap();
    let v = w.view();
    assert!(v.valid());
    let alice = user("alice", 10001, "a");
    w.insert(
        Kind::Passwd,
        Some("alice"),
        Some(10001),
        false,
        &payload(&alice),
        far(),
        far(),
    )
    .unwrap();
    w.insert(Kind::Passwd, Some("ghost"), None, true, &[], far(), far())
        .unwrap();
    let got = |h: Hit| match h {
        Hit::Found(p) => decode_response(&p).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        got(v.lookup(Kind::Passwd, Some("alice"), None)),
        Response::User(alice.clone())
    );
    assert_eq!(
        got(v.lookup(Kind::Passwd, None, Some(10001))),
        Response::User(alice)
    );
    assert_eq!(v.lookup(Kind::Passwd, Some("ghost"), None), Hit::Negative);
    assert_eq!(v.lookup(Kind::Passwd, Some("bob"), None), Hit::Miss);
    assert_eq!(v.lookup(Kind::Group, Some("alice"), None), Hit::Miss);
    assert_eq!(v.lookup(Kind::Passwd, None, Some(1)), Hit::Miss);
    // A newer record shadows the older one.
    let alice2 = user("alice", 10001, "b");
    w.insert(
        Kind::Passwd,
        Some("alice"),
        Some(10001),
        false,
        &payload(&alice2),
        far(),
        far(),
    )
    .unwrap();
    assert_eq!(
        got(v.lookup(Kind::Passwd, Some("alice"), None)),
        Response::User(alice2)
    );
    // Reset empties it and bumps the generation.
    let g = v.generation();
    w.reset();
    assert_eq!(v.generation(), g + 1);
    assert_eq!(v.lookup(Kind::Passwd, Some("alice"), None), Hit::Miss);
}

#[test]
fn expired_and_refresh_due_records_are_not_served() {
    let mut b = Buf::new(1 << 16);
    let w = unsafe { MapWriter::create(b.ptr(), b.len(), 64) }.unwrap();
    let p = payload(&user("old", 1, "x"));
    let now = now_ms();
    w.insert(Kind::Passwd, Some("old"), None, false, &p, now, now)
        .unwrap();
    assert_eq!(w.view().lookup(Kind::Passwd, Some("old"), None), Hit::Miss);
    w.insert(
        Kind::Passwd,
        Some("due"),
        None,
        false,
        &p,
        now.saturating_sub(1),
        far(),
    )
    .unwrap();
    assert_eq!(w.view().lookup(Kind::Passwd, Some("due"), None), Hit::Miss);
}

#[test]
fn full_map_is_reset_and_oversize_refused() {
    let mut b = Buf::new(3 * 4096);
    let w = unsafe { MapWriter::create(b.ptr(), b.len(), 8) }.unwrap();
    let p = payload(&user("u", 1, &"x".repeat(200)));
    for i in 0..100 {
        w.insert(
            Kind::Passwd,
            Some(&format!("u{i}")),
            None,
            false,
            &p,
            far(),
            far(),
        )
        .unwrap();
    }
    assert!(matches!(
        w.view().lookup(Kind::Passwd, Some("u99"), None),
        Hit::Found(_)
    ));
    assert_eq!(w.view().lookup(Kind::Passwd, Some("u0"), None), Hit::Miss);
    assert_eq!(
        w.insert(
            Kind::Passwd,
            Some("big"),
            None,
            false,
            &vec![0; 8192],
            far(),
            far()
        ),
        Err(WriteError::TooLarge)
    );
}

#[test]
fn truncated_or_foreign_files_are_refused() {
    let mut b = Buf::new(1 << 16);
    let _w = unsafe { MapWriter::create(b.ptr(), b.len(), 64) }.unwrap();
    // The same bytes seen as a shorter file: the declared length does not match.
    let short = unsafe { MapView::new(b.ptr(), b.len() / 2) };
    assert!(!short.valid());
    let tiny = unsafe { MapView::new(b.ptr(), 100) };
    assert!(!tiny.valid());
    assert_eq!(tiny.lookup(Kind::Passwd, Some("a"), None), Hit::Miss);
    let mut zero = Buf::new(1 << 16);
    assert!(!unsafe { MapView::new(zero.ptr(), zero.len()) }.valid());
}

#[test]
fn random_corruption_never_panics_or_answers_wrong() {
    let mut b = Buf::new(1 << 16);
    let w = unsafe { MapWriter::create(b.ptr(), b.len(), 64) }.unwrap();
    let names: Vec<String> = (0..40).map(|i| format!("user{i}")).collect();
    for (i, n) in names.iter().enumerate() {
        w.insert(
            Kind::Passwd,
            Some(n),
            Some(1000 + i as u32),
            false,
            &payload(&user(n, 1000 + i as u32, "ok")),
            far(),
            far(),
        )
        .unwrap();
    }
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let len = b.len();
    for round in 0..4000 {
        // Flip a few random bytes outside the seq word.
        for _ in 0..3 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let off = (x as usize) % len;
            if !(8..16).contains(&off) {
                let p = b.ptr();
                unsafe { *p.add(off) ^= (x >> 32) as u8 | 1 };
            }
        }
        let v = unsafe { MapView::new(b.ptr(), len) };
        let n = &names[round % names.len()];
        if let Hit::Found(p) = v.lookup(Kind::Passwd, Some(n), None) {
            // Whatever is served decodes and is about the name asked (the checksum holds).
            match decode_response(&p) {
                Ok(Response::User(u)) => {
                    assert_eq!(&u.name, n);
                    assert_eq!(u.gecos, format!("{n} ok"));
                }
                other => panic!("served a corrupt record: {other:?}"),
            }
        }
        let _ = v.lookup(Kind::Passwd, None, Some((x % 2000) as u32));
    }
}

#[test]
fn concurrent_writer_and_readers_never_see_a_torn_record() {
    let mut b = Buf::new(1 << 18);
    let w = unsafe { MapWriter::create(b.ptr(), b.len(), 256) }.unwrap();
    let view = w.view();
    let stop = Arc::new(AtomicBool::new(false));
    let hits = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            let hits = hits.clone();
            std::thread::spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let n = format!("user{}", i % 50);
                    let uid = 5000 + (i % 50) as u32;
                    for h in [
                        view.lookup(Kind::Passwd, Some(&n), None),
                        view.lookup(Kind::Passwd, None, Some(uid)),
                    ] {
                        if let Hit::Found(p) = h {
                            let Ok(Response::User(u)) = decode_response(&p) else {
                                panic!("undecodable record served")
                            };
                            assert_eq!(u.name, n);
                            assert_eq!(u.uid, uid);
                            // gecos is "<name> <generation>" and dir matches the name: a
                            // torn record would mix two writes.
                            assert!(u.gecos.starts_with(&format!("{n} ")), "{u:?}");
                            assert_eq!(u.dir, format!("/home/{n}"));
                            hits.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();
    for round in 0..20_000u32 {
        let i = round % 50;
        let n = format!("user{i}");
        w.insert(
            Kind::Passwd,
            Some(&n),
            Some(5000 + i),
            false,
            &payload(&user(&n, 5000 + i, &round.to_string())),
            far(),
            far(),
        )
        .unwrap();
        if round % 5000 == 4999 {
            w.reset();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert!(
        hits.load(Ordering::Relaxed) > 100,
        "readers saw too few hits to mean anything"
    );
}

/// A fresh directory for one test's files (removed at the end of the test).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("ldaprs-shm-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, name: &str) -> std::ffi::CString {
        std::ffi::CString::new(self.0.join(name).to_str().unwrap()).unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn map_path_constants_agree() {
    assert_eq!(MAP_PATH_C.to_str().unwrap(), MAP_PATH);
    assert_eq!(map_path_for_socket(crate::DEFAULT_SOCKET), MAP_PATH);
    assert_eq!(map_path_for_socket("/tmp/x/sock"), "/tmp/x/cache.map");
}

#[test]
fn created_map_opens_read_only_and_serves_what_the_writer_stores() {
    let d = TempDir::new("create");
    let path = d.path("cache.map");
    let w = MappedFile::create(&path, 1 << 16)
        .unwrap()
        .format(64)
        .unwrap();
    let alice = user("alice", 10001, "a");
    w.insert(
        Kind::Passwd,
        Some("alice"),
        Some(10001),
        false,
        &payload(&alice),
        far(),
        far(),
    )
    .unwrap();
    let r = MappedFile::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(r.len(), 1 << 16);
    let Hit::Found(p) = r.view().lookup(Kind::Passwd, None, Some(10001)) else {
        panic!("not served")
    };
    assert_eq!(decode_response(&p).unwrap(), Response::User(alice));
    // A read-only mapping never becomes a writer.
    assert_eq!(r.into_writer().err(), Some(OpenError::ReadOnly));
    // Creating over an existing file is refused (O_EXCL).
    assert_eq!(
        MappedFile::create(&path, 1 << 16).err(),
        Some(OpenError::Open(libc::EEXIST))
    );
}

#[test]
fn taking_over_clears_and_superseding_tells_readers() {
    let d = TempDir::new("takeover");
    let path = d.path("cache.map");
    let w = MappedFile::create(&path, 1 << 16)
        .unwrap()
        .format(64)
        .unwrap();
    w.insert(Kind::Passwd, Some("ghost"), None, true, &[], far(), far())
        .unwrap();
    let reader = MappedFile::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(
        reader.view().lookup(Kind::Passwd, Some("ghost"), None),
        Hit::Negative
    );
    let g = reader.view().generation();
    let w2 = MappedFile::open(&path, Access::ReadWrite)
        .unwrap()
        .into_writer()
        .unwrap();
    assert_eq!(reader.view().generation(), g + 1);
    assert_eq!(
        reader.view().lookup(Kind::Passwd, Some("ghost"), None),
        Hit::Miss
    );
    assert!(w2.view().valid());
    assert!(!reader.view().superseded());
    MappedFile::open(&path, Access::ReadWrite)
        .unwrap()
        .supersede()
        .unwrap();
    assert!(reader.view().superseded());
}

#[test]
fn unsafe_odd_or_foreign_files_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let d = TempDir::new("refuse");
    assert_eq!(
        MappedFile::open(&d.path("missing"), Access::ReadOnly).err(),
        Some(OpenError::Open(libc::ENOENT))
    );
    let good = d.path("good");
    MappedFile::create(&good, 1 << 16)
        .unwrap()
        .format(64)
        .unwrap();
    assert!(MappedFile::open(&good, Access::ReadOnly).is_ok());
    // A symlink to a good map (O_NOFOLLOW).
    let link = d.0.join("link");
    std::os::unix::fs::symlink(d.0.join("good"), &link).unwrap();
    assert_eq!(
        MappedFile::open(&d.path("link"), Access::ReadOnly).err(),
        Some(OpenError::Open(libc::ELOOP))
    );
    // Writable by group or others.
    for mode in [0o664, 0o646] {
        std::fs::set_permissions(d.0.join("good"), std::fs::Permissions::from_mode(mode)).unwrap();
        assert_eq!(
            MappedFile::open(&good, Access::ReadOnly).err(),
            Some(OpenError::Unsafe),
            "{mode:o}"
        );
    }
    // Not a regular file.
    assert_eq!(
        MappedFile::open(&d.path(""), Access::ReadOnly).err(),
        Some(OpenError::Unsafe)
    );
    // Too small.
    std::fs::write(d.0.join("small"), vec![0u8; 4096]).unwrap();
    std::fs::set_permissions(d.0.join("small"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        MappedFile::open(&d.path("small"), Access::ReadOnly).err(),
        Some(OpenError::Size(4096))
    );
    // Right size, not our header.
    std::fs::write(d.0.join("zero"), vec![0u8; 1 << 16]).unwrap();
    std::fs::set_permissions(d.0.join("zero"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        MappedFile::open(&d.path("zero"), Access::ReadOnly).err(),
        Some(OpenError::Invalid)
    );
}

#[test]
fn a_map_planted_by_another_user_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    // As root (the test suite runs as root): the directory belongs to root.
    let d = TempDir::new("owner");
    let path = d.path("cache.map");
    MappedFile::create(&path, 1 << 16)
        .unwrap()
        .format(64)
        .unwrap();
    assert!(MappedFile::open(&path, Access::ReadOnly).is_ok());
    // The same file owned by nobody, in root's directory: someone else's map.
    std::os::unix::fs::chown(d.0.join("cache.map"), Some(65534), Some(65534)).unwrap();
    assert_eq!(
        MappedFile::open(&path, Access::ReadOnly).err(),
        Some(OpenError::Unsafe)
    );
    // The directory handed to that user (as systemd's RuntimeDirectory= does): trusted.
    std::os::unix::fs::chown(&d.0, Some(65534), Some(65534)).unwrap();
    assert!(MappedFile::open(&path, Access::ReadOnly).is_ok());
    // A directory others may write: anyone could have put the file there.
    std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o1777)).unwrap();
    assert_eq!(
        MappedFile::open(&path, Access::ReadOnly).err(),
        Some(OpenError::Unsafe)
    );
}

#[test]
fn the_writers_id_floor_reaches_readers() {
    let d = TempDir::new("floor");
    let path = d.path("cache.map");
    let w = MappedFile::create(&path, 1 << 16)
        .unwrap()
        .format(64)
        .unwrap();
    let r = MappedFile::open(&path, Access::ReadOnly).unwrap();
    assert_eq!(r.view().limits(), (0, 0));
    w.set_limits(1000, 500);
    assert_eq!(r.view().limits(), (1000, 500));
}
