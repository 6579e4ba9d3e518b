//! The persistent files: round trip, modes, and every way a file is refused (truncated,
//! corrupt, another version or kind, too open, a symlink, another owner).

use super::file::{PersistDir, ReadError, HEADER_LEN};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

fn tmpdir(tag: &str) -> String {
    let d = std::env::temp_dir().join(format!("ldaprs-persist-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d.join("state").display().to_string()
}

#[test]
fn round_trip_with_modes() {
    let path = tmpdir("rt");
    let (d, note) = PersistDir::open(&path).unwrap();
    assert!(note.is_none());
    let md = std::fs::metadata(&path).unwrap();
    assert_eq!(md.mode() & 0o777, 0o700);
    assert_eq!(d.read("x.db", b"TEST", 1).unwrap(), None);
    d.write("x.db", b"TEST", 1, b"hello").unwrap();
    let md = std::fs::metadata(d.file("x.db")).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600);
    assert_eq!(md.len(), (HEADER_LEN + 5) as u64);
    assert_eq!(
        d.read("x.db", b"TEST", 1).unwrap().as_deref(),
        Some(&b"hello"[..])
    );
    // Rewritten whole; no temporary file left.
    d.write("x.db", b"TEST", 1, b"bye").unwrap();
    assert_eq!(
        d.read("x.db", b"TEST", 1).unwrap().as_deref(),
        Some(&b"bye"[..])
    );
    let names: Vec<_> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    d.remove("x.db").unwrap();
    d.remove("x.db").unwrap();
    assert_eq!(d.read("x.db", b"TEST", 1).unwrap(), None);
    // An open directory is closed down to 0700, and said so.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_, note) = PersistDir::open(&path).unwrap();
    assert!(note.unwrap().contains("mode was 755, set to 700"));
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o700);
}

fn corrupt(r: Result<Option<Vec<u8>>, ReadError>) -> String {
    match r {
        Err(ReadError::Corrupt(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn damaged_files_are_refused() {
    let path = tmpdir("bad");
    let (d, _) = PersistDir::open(&path).unwrap();
    d.write("x.db", b"TEST", 1, b"some records").unwrap();
    let f = d.file("x.db");
    let good = std::fs::read(&f).unwrap();
    // Truncated anywhere: in the header, in the body.
    for n in [0, 10, HEADER_LEN - 1, HEADER_LEN, good.len() - 1] {
        std::fs::write(&f, &good[..n]).unwrap();
        let m = corrupt(d.read("x.db", b"TEST", 1));
        assert!(m.contains("truncated"), "{n}: {m}");
    }
    // One flipped bit in the body.
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    std::fs::write(&f, &bad).unwrap();
    assert!(corrupt(d.read("x.db", b"TEST", 1)).contains("checksum"));
    // Another version, another kind, not ours at all.
    std::fs::write(&f, &good).unwrap();
    assert!(corrupt(d.read("x.db", b"TEST", 2)).contains("version 1"));
    assert!(corrupt(d.read("x.db", b"OTHR", 1)).contains("another kind"));
    std::fs::write(
        &f,
        b"#!/bin/sh\necho this is not a cache file of ours, sixty bytes+",
    )
    .unwrap();
    assert!(corrupt(d.read("x.db", b"TEST", 1)).contains("magic"));
    // Set aside, it is gone from its name and kept beside it.
    let moved = d.set_aside("x.db");
    assert!(moved.ends_with("x.db.bad"), "{moved}");
    assert_eq!(d.read("x.db", b"TEST", 1).unwrap(), None);
}

#[test]
fn foreign_files_are_refused() {
    let path = tmpdir("foreign");
    let (d, _) = PersistDir::open(&path).unwrap();
    d.write("x.db", b"TEST", 1, b"data").unwrap();
    let f = d.file("x.db");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = d.read("x.db", b"TEST", 1).unwrap_err();
    assert!(
        matches!(&e, ReadError::Foreign(m) if m.contains("mode 644")),
        "{e:?}"
    );
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A symlink to a good file is never followed.
    std::os::unix::fs::symlink(&f, d.file("link.db")).unwrap();
    let e = d.read("link.db", b"TEST", 1).unwrap_err();
    assert!(
        matches!(&e, ReadError::Foreign(m) if m.contains("symlink")),
        "{e:?}"
    );
    // Another owner (needs root to arrange).
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&f, Some(65534), None).unwrap();
        let e = d.read("x.db", b"TEST", 1).unwrap_err();
        assert!(
            matches!(&e, ReadError::Foreign(m) if m.contains("owned by uid 65534")),
            "{e:?}"
        );
        let other = tmpdir("foreign-dir");
        std::fs::create_dir_all(&other).unwrap();
        std::os::unix::fs::chown(&other, Some(65534), None).unwrap();
        let e = PersistDir::open(&other).unwrap_err();
        assert!(e.contains("owned by uid 65534"), "{e}");
    }
    // A file where the directory should be.
    let e = PersistDir::open(&f.display().to_string()).unwrap_err();
    assert!(e.contains("not a directory"), "{e}");
}

/// Two writers of one file at once (two instances, or a save racing a stop) never unlink or
/// rename each other's temporary file; a temporary file another process left is removed at
/// the next open.
#[test]
fn parallel_writers_each_have_their_own_temporary_file() {
    let path = tmpdir("par");
    let (d, _) = PersistDir::open(&path).unwrap();
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..4u8)
            .map(|i| {
                let d = d.clone();
                s.spawn(move || {
                    (0..40)
                        .filter(|_| d.write("x.db", b"TEST", 1, &[i; 4096]).is_err())
                        .count()
                })
            })
            .collect();
        let failed: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(failed, 0, "writes failed");
    });
    let body = d.read("x.db", b"TEST", 1).unwrap().unwrap();
    assert!(body.iter().all(|b| *b == body[0]) && body.len() == 4096);
    let left = std::path::Path::new(&path).join(".x.db.1.2.tmp");
    std::fs::write(&left, b"half").unwrap();
    PersistDir::open(&path).unwrap();
    assert!(!left.exists(), "a stale temporary file was kept");
    let names: Vec<_> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}
