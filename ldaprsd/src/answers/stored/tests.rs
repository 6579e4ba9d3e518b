//! The persistent answers: the codec and every truncation, `max_age`, what "not found"
//! removes, the file saved, loaded and set aside, and ids claimed by more than one record.

use super::*;
use ldaprs_common::config::OfflineSection;

fn alice() -> Passwd {
    Passwd {
        name: "alice".into(),
        uid: 10001,
        gid: 10001,
        gecos: "Alice".into(),
        dir: "/home/alice".into(),
        shell: "/bin/bash".into(),
    }
}

fn devs() -> Group {
    Group {
        name: "devs".into(),
        gid: 20001,
        members: vec!["alice".into(), "bob".into()],
    }
}

fn cfg(tag: &str) -> OfflineSection {
    let d = std::env::temp_dir().join(format!("ldaprs-stored-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    OfflineSection {
        dir: d.display().to_string(),
        max_age: 100,
        ..OfflineSection::default()
    }
}

#[test]
fn records_round_trip_and_reject_every_truncation() {
    let s = Stored::open(&cfg("codec"), b"s");
    s.record(
        &Key::UserName("alice".into()),
        &Response::User(alice()),
        1000,
    );
    s.record(
        &Key::GroupsOf("alice".into()),
        &Response::Groups(vec![devs()]),
        1001,
    );
    let r = s.snapshot();
    let body = r.encode();
    assert_eq!(Records::decode(&body), Ok(r));
    for n in 0..body.len() {
        assert_eq!(Records::decode(&body[..n]), Err(Truncated), "prefix {n}");
    }
    let mut longer = body.clone();
    longer.push(0);
    assert_eq!(Records::decode(&longer), Err(Truncated));
}

#[test]
fn answers_until_max_age_and_forgets_what_the_directory_lost() {
    let s = Stored::open(&cfg("age"), b"s");
    s.record(&Key::UserUid(10001), &Response::User(alice()), 1000);
    s.record(
        &Key::GroupsOf("alice".into()),
        &Response::Groups(vec![devs()]),
        1000,
    );
    // Only its gids are kept from an initgroups answer; the group itself from its lookup.
    assert_eq!(s.answer(&Key::GroupGid(20001), 1050), None);
    s.record(&Key::GroupGid(20001), &Response::Group(devs()), 1000);
    let by_name = Key::UserName("alice".into());
    assert_eq!(
        s.answer(&by_name, 1100),
        Some((Response::User(alice()), 100))
    );
    assert_eq!(s.answer(&by_name, 1101), None);
    assert_eq!(s.answer(&Key::UserUid(10001), 1050).map(|x| x.1), Some(50));
    assert_eq!(
        s.answer(&Key::GroupGid(20001), 1050).map(|x| x.0),
        Some(Response::Group(devs()))
    );
    assert_eq!(
        s.answer(&Key::GroupsOf("alice".into()), 1050).map(|x| x.0),
        Some(Response::Groups(vec![Group {
            members: vec![],
            ..devs()
        }]))
    );
    assert_eq!(s.answer(&Key::UserName("bob".into()), 1050), None);
    // The directory says alice is gone: so is her stored entry and group list.
    s.record(&by_name, &Response::NotFound, 1060);
    assert_eq!(s.answer(&by_name, 1061), None);
    assert_eq!(s.answer(&Key::GroupsOf("alice".into()), 1061), None);
    s.record(&Key::GroupGid(20001), &Response::NotFound, 1060);
    assert_eq!(s.answer(&Key::GroupName("devs".into()), 1061), None);
    // Errors are never stored.
    s.record(
        &by_name,
        &Response::Error {
            code: ldaprs_common::protocol::ErrorCode::Unavailable,
            message: "x".into(),
        },
        1,
    );
    assert_eq!(s.counts(), (0, 0, 0));
}

#[test]
fn saved_loaded_and_a_corrupt_file_set_aside() {
    let c = cfg("file");
    let s = Stored::open(&c, b"s");
    s.record(
        &Key::UserName("alice".into()),
        &Response::User(alice()),
        1000,
    );
    s.save();
    assert!(s.take_changes().is_none(), "saved: nothing left to write");
    let again = Stored::open(&c, b"s");
    assert_eq!(again.snapshot(), s.snapshot());
    // Damaged on disk: the next start has nothing, and the file is kept as answers.db.bad.
    let f = std::path::Path::new(&c.dir).join(FILE);
    let mut bytes = std::fs::read(&f).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&f, &bytes).unwrap();
    let fresh = Stored::open(&c, b"s");
    assert_eq!(fresh.counts(), (0, 0, 0));
    assert!(!f.exists());
    assert!(std::path::Path::new(&c.dir).join("answers.db.bad").exists());
    // Flushed: gone from memory and disk.
    s.save();
    s.flush();
    assert!(!f.exists());
    assert_eq!(s.counts(), (0, 0, 0));
}

/// A uid or gid given to another name: the old record is dropped at once, and one claimed
/// by several stored records (a file written before this rule) is not answered offline.
#[test]
fn an_id_belongs_to_one_stored_name() {
    let s = Stored::open(&cfg("ids"), b"s");
    s.record(
        &Key::UserName("alice".into()),
        &Response::User(alice()),
        1000,
    );
    let bob = Passwd {
        name: "bob".into(),
        ..alice()
    };
    s.record(
        &Key::UserName("bob".into()),
        &Response::User(bob.clone()),
        1010,
    );
    assert_eq!(
        s.answer(&Key::UserUid(10001), 1020).map(|x| x.0),
        Some(Response::User(bob.clone()))
    );
    assert_eq!(s.answer(&Key::UserName("alice".into()), 1020), None);
    let ops = Group {
        name: "ops".into(),
        ..devs()
    };
    s.record(
        &Key::GroupName("devs".into()),
        &Response::Group(devs()),
        1000,
    );
    s.record(&Key::GroupGid(20001), &Response::Group(ops.clone()), 1010);
    assert_eq!(
        s.answer(&Key::GroupGid(20001), 1020).map(|x| x.0),
        Some(Response::Group(ops))
    );
    assert_eq!(s.answer(&Key::GroupName("devs".into()), 1020), None);
    assert_eq!(s.counts(), (1, 1, 0));
    // Two names with one uid (and gid) in the records, as an older file may hold them.
    {
        let mut h = s.records.lock().unwrap();
        let mut r = h.rec.clone();
        r.users.insert("alice".into(), (alice(), 1000));
        r.groups
            .insert("devs".into(), (StoredGroup::new(&devs()), 1000));
        *h = Held::new(r);
    }
    assert_eq!(s.answer(&Key::UserUid(10001), 1020), None);
    assert_eq!(s.answer(&Key::GroupGid(20001), 1020), None);
    assert_eq!(
        s.answer(&Key::UserName("bob".into()), 1020).map(|x| x.0),
        Some(Response::User(bob))
    );
}

/// The clock set back (BOOT-06): what was stored "in the future" is expired, not fresh.
#[test]
fn answers_stored_in_the_future_are_expired() {
    let s = Stored::open(&cfg("future"), b"s");
    s.record(
        &Key::UserName("alice".into()),
        &Response::User(alice()),
        1000,
    );
    s.record(&Key::GroupGid(20001), &Response::Group(devs()), 1000);
    assert!(s.answer(&Key::UserName("alice".into()), 1000).is_some());
    assert_eq!(s.answer(&Key::UserName("alice".into()), 999), None);
    assert_eq!(s.answer(&Key::UserUid(10001), 999), None);
    assert_eq!(s.answer(&Key::GroupGid(20001), 999), None);
    assert_eq!(
        s.answer(&Key::AllUsers, 999).map(|x| x.0),
        Some(Response::Users(vec![]))
    );
}

/// A save that was under way (waiting for the writing lock) when `cache flush` ran does not
/// write the flushed records back: the body is taken under the lock.
#[test]
fn a_save_under_way_does_not_undo_a_flush() {
    let c = cfg("flushrace");
    let s = std::sync::Arc::new(Stored::open(&c, b"s"));
    let f = std::path::Path::new(&c.dir).join(FILE);
    for _ in 0..20 {
        s.record(
            &Key::UserName("alice".into()),
            &Response::User(alice()),
            1000,
        );
        let held = s.writing.lock().unwrap();
        let saver = {
            let s = s.clone();
            std::thread::spawn(move || s.save())
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(held);
        s.flush();
        saver.join().unwrap();
        assert!(!f.exists(), "the flushed records were written back");
        assert_eq!(s.counts(), (0, 0, 0));
    }
}

/// A user whose uid changed is found by its new uid only; "no such uid" drops whoever held
/// it; the index follows every change (it replaced a scan of all stored users per lookup).
#[test]
fn the_id_index_follows_renumbering_and_removal() {
    let s = Stored::open(&cfg("renumber"), b"s");
    let name = Key::UserName("alice".into());
    s.record(&name, &Response::User(alice()), 1000);
    let moved = Passwd {
        uid: 10099,
        ..alice()
    };
    s.record(&name, &Response::User(moved.clone()), 1010);
    assert_eq!(s.answer(&Key::UserUid(10001), 1020), None);
    assert_eq!(
        s.answer(&Key::UserUid(10099), 1020).map(|x| x.0),
        Some(Response::User(moved.clone()))
    );
    // Someone else gets alice's old uid: alice (now 10099) stays.
    let carol = Passwd {
        name: "carol".into(),
        ..alice()
    };
    s.record(&Key::UserUid(10001), &Response::User(carol.clone()), 1020);
    assert_eq!(s.counts().0, 2);
    s.record(&Key::UserUid(10099), &Response::NotFound, 1030);
    assert_eq!(s.answer(&name, 1030), None);
    assert_eq!(
        s.answer(&Key::UserUid(10001), 1030).map(|x| x.0),
        Some(Response::User(carol))
    );
    s.record(&Key::GroupGid(20001), &Response::Group(devs()), 1030);
    s.record(
        &Key::GroupsOf("carol".into()),
        &Response::Groups(vec![devs()]),
        1030,
    );
    let of = s.answer(&Key::GroupsOf("carol".into()), 1030).map(|x| x.0);
    assert!(matches!(of, Some(Response::Groups(ref g)) if g.len() == 1 && g[0].name == "devs"));
    s.record(&Key::GroupGid(20001), &Response::NotFound, 1040);
    assert_eq!(s.answer(&Key::GroupName("devs".into()), 1040), None);
    assert_eq!(s.counts(), (1, 0, 1));
}
