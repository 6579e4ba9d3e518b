//! Offline logins against a fake directory that never answers, with a clock the tests move:
//! the cached-credentials message, wrong passwords and the lockout, expiry, the rules from
//! the cached facts, the caller check, and the file surviving a restart.

use super::accounts::{AccessGroups, Accounts, EntryRefusal, Found};
use super::cached::{hash_password, CachedFacts, Credentials};
use super::logins::Logins;
use super::offline::{msg_no_cached_login, MSG_CACHED_LOGIN};
use crate::clock::Clock;
use crate::ldap::{BindResult, ChangeOutcome, DirError, Entry, PasswordChange};
use crate::peer::Peer;
use ldaprs_common::config::{OfflineSection, PamSection, Schema};
use ldaprs_common::protocol::{AuthCode, PamContext, Passwd, Response, Secret};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

struct MovingClock(AtomicI64, Instant);

impl Clock for MovingClock {
    fn now(&self) -> Instant {
        self.1
    }
    fn unix_now(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every server is down.
struct Dark;

fn down() -> DirError {
    DirError::Unreachable("ldap://x: connect: refused".into())
}

impl Accounts for Dark {
    fn blocks(&self) -> usize {
        1
    }
    fn block_name(&self, _: usize) -> String {
        "test".into()
    }
    fn schema(&self, _: usize) -> Schema {
        Schema::Rfc2307
    }
    fn dn_pattern(&self, _: usize) -> Option<String> {
        None
    }
    fn admin(&self, _: usize) -> Option<(String, String)> {
        None
    }
    fn mappings(&self) -> (bool, bool) {
        (false, false)
    }
    fn is_local_user(&self, _: &str) -> bool {
        false
    }
    async fn find_user(&self, _: usize, _: &str) -> Result<Vec<(Passwd, String)>, DirError> {
        Err(down())
    }
    async fn known_user(&self, _: &str) -> Option<Passwd> {
        None
    }
    async fn bind(&self, _: usize, _: &str, _: &str, _: bool) -> Result<BindResult, DirError> {
        panic!("offline: no password may be sent")
    }
    fn accept_entry(&self, _: usize, _: &Entry, _: &str) -> Result<Passwd, EntryRefusal> {
        Err(EntryRefusal::Local)
    }
    fn remember_login(&self, _: &str, _: usize, _: &str, _: &Passwd, _: Option<Entry>) {}
    async fn fresh_user(&self, _: &str) -> Result<Option<Found>, DirError> {
        Err(down())
    }
    fn bound_user(&self, _: &str) -> Option<Found> {
        None
    }
    async fn access_groups(
        &self,
        _: &str,
        _: usize,
        _: &Entry,
        _: u32,
    ) -> Result<AccessGroups, DirError> {
        Err(down())
    }
    async fn entry_matches(&self, _: usize, _: &str, _: &str) -> Result<bool, DirError> {
        Err(down())
    }
    async fn change_password(
        &self,
        _: usize,
        _: &PasswordChange<'_>,
    ) -> Result<ChangeOutcome, DirError> {
        Err(down())
    }
    fn forget_user(&self, _: &str) {}
    fn offline(&self) -> bool {
        true
    }
}

const T0: i64 = 1_796_083_200;

fn offline_cfg(tag: &str) -> OfflineSection {
    let d = std::env::temp_dir().join(format!("ldaprs-cred-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    OfflineSection {
        dir: d.display().to_string(),
        cache_credentials: true,
        credentials_max_age: 86_400,
        failed_logins: 3,
        lockout: 300,
        ..OfflineSection::default()
    }
}

fn alice_facts(groups: &[&str]) -> CachedFacts {
    CachedFacts {
        block: 0,
        passwd: Passwd {
            name: "alice".into(),
            uid: 10001,
            gid: 10001,
            gecos: String::new(),
            dir: "/home/alice".into(),
            shell: "/bin/sh".into(),
        },
        entry: Entry {
            dn: "uid=alice,dc=x".into(),
            attrs: vec![("uid".into(), vec!["alice".into()])],
        },
        groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        mapping: None,
        filter: None,
        at: T0,
    }
}

fn logins(cfg: &OfflineSection, pam: PamSection) -> (Logins<Dark>, Arc<MovingClock>) {
    let clock = Arc::new(MovingClock(AtomicI64::new(T0), Instant::now()));
    let creds = Arc::new(Credentials::open(cfg, b"settings"));
    let l = Logins::new(Dark, pam, "host".into(), clock.clone()).with_credentials(creds);
    (l, clock)
}

fn seed(l: &Logins<Dark>, groups: &[&str]) {
    let h = hash_password(b"alice-pw").unwrap();
    assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    assert!(!h.contains("alice-pw"));
    l.credentials().update("alice", |u| {
        u.hash = Some((h, T0));
        u.facts = Some(alice_facts(groups));
    });
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn auth(l: &Logins<Dark>, user: &str, pw: &str, peer: Peer) -> (AuthCode, String) {
    let s = Secret::from_slice(pw.as_bytes());
    match rt().block_on(l.authenticate(1, user, &s, &PamContext::default(), peer)) {
        Response::Auth { code, message } => (code, message),
        other => panic!("{other:?}"),
    }
}

fn account(l: &Logins<Dark>, user: &str) -> (AuthCode, String) {
    match rt().block_on(l.account(1, user, &PamContext::default(), ROOT)) {
        Response::Auth { code, message } => (code, message),
        other => panic!("{other:?}"),
    }
}

const ROOT: Peer = Peer { uid: 0, pid: 1 };

#[test]
fn cached_login_right_wrong_lockout_and_expiry() {
    let cfg = offline_cfg("lock");
    let (l, clock) = logins(&cfg, PamSection::default());
    assert_eq!(
        auth(&l, "alice", "alice-pw", ROOT),
        (AuthCode::Unavailable, msg_no_cached_login("alice"))
    );
    seed(&l, &[]);
    assert_eq!(
        auth(&l, "alice", "alice-pw", ROOT),
        (AuthCode::Success, MSG_CACHED_LOGIN.to_string())
    );
    assert_eq!(account(&l, "alice").0, AuthCode::Success);
    assert_eq!(
        auth(&l, "bob", "bob-pw", ROOT),
        (AuthCode::Unavailable, msg_no_cached_login("bob"))
    );
    // Wrong twice, right: the count starts again.
    for _ in 0..2 {
        assert_eq!(
            auth(&l, "alice", "nope", ROOT),
            (AuthCode::Denied, String::new())
        );
    }
    assert_eq!(auth(&l, "alice", "alice-pw", ROOT).0, AuthCode::Success);
    // Three wrong in a row lock offline login, even for the right password, for 300 s.
    for _ in 0..3 {
        assert_eq!(auth(&l, "alice", "nope", ROOT).0, AuthCode::Denied);
    }
    let (code, msg) = auth(&l, "alice", "alice-pw", ROOT);
    assert_eq!(code, AuthCode::Denied);
    assert!(
        msg.contains("offline login is locked for 5 more minute(s)"),
        "{msg}"
    );
    clock.0.store(T0 + 301, Ordering::Relaxed);
    assert_eq!(auth(&l, "alice", "alice-pw", ROOT).0, AuthCode::Success);
    // The lockout and the hash outlive a restart (the file), and expire with the clock.
    let (l2, clock2) = logins(&cfg, PamSection::default());
    clock2.0.store(T0 + 86_400, Ordering::Relaxed);
    assert_eq!(auth(&l2, "alice", "alice-pw", ROOT).0, AuthCode::Success);
    clock2.0.store(T0 + 86_401, Ordering::Relaxed);
    assert_eq!(
        auth(&l2, "alice", "alice-pw", ROOT),
        (AuthCode::Unavailable, msg_no_cached_login("alice"))
    );
}

#[test]
fn cached_login_obeys_the_rules_and_the_caller_check() {
    let cfg = offline_cfg("rules");
    let pam = PamSection {
        allow_groups: vec!["staff".into()],
        deny_groups: vec!["banned".into()],
        ..PamSection::default()
    };
    let (l, _) = logins(&cfg, pam);
    seed(&l, &["staff"]);
    assert_eq!(auth(&l, "alice", "alice-pw", ROOT).0, AuthCode::Success);
    assert_eq!(account(&l, "alice").0, AuthCode::Success);
    // Another uid may not try alice's password; alice herself may.
    let other = Peer { uid: 10002, pid: 2 };
    assert_eq!(auth(&l, "alice", "alice-pw", other).0, AuthCode::Refused);
    let own = Peer { uid: 10001, pid: 2 };
    assert_eq!(auth(&l, "alice", "alice-pw", own).0, AuthCode::Success);
    // Removed from staff at the last online account stage: refused offline.
    seed(&l, &[]);
    let (code, msg) = auth(&l, "alice", "alice-pw", ROOT);
    assert_eq!(
        (code, msg.as_str()),
        (
            AuthCode::AccountDenied,
            "Access denied: not a member of any allowed group."
        )
    );
    assert_eq!(account(&l, "alice").0, AuthCode::AccountDenied);
    seed(&l, &["staff", "banned"]);
    assert_eq!(
        account(&l, "alice").1,
        "Access denied: member of denied group banned."
    );
    // Groups not evaluated last time: the rules cannot be checked, so no.
    l.credentials()
        .update("alice", |u| u.facts.as_mut().unwrap().groups = None);
    assert_eq!(account(&l, "alice").0, AuthCode::AccountDenied);
}

#[test]
fn cache_credentials_off_removes_the_file() {
    let mut cfg = offline_cfg("off");
    let (l, _) = logins(&cfg, PamSection::default());
    seed(&l, &[]);
    let file = std::path::Path::new(&cfg.dir).join(super::cached::FILE);
    assert!(file.exists());
    cfg.cache_credentials = false;
    let (l, _) = logins(&cfg, PamSection::default());
    assert!(!file.exists());
    assert_eq!(auth(&l, "alice", "alice-pw", ROOT).0, AuthCode::Unavailable);
}

/// Parallel guesses (N `su alice` or ssh connections at once, root peers that are not
/// serialised): no more than `failed_logins` of them get their password checked before
/// offline login locks, and a right password checked meanwhile does not undo the lock.
#[test]
fn parallel_guesses_get_no_more_than_failed_logins_checks() {
    let cfg = offline_cfg("race");
    let (l, _) = logins(&cfg, PamSection::default());
    seed(&l, &[]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let guess = |pw: &'static str| {
        let l = &l;
        async move {
            let s = Secret::from_slice(pw.as_bytes());
            match l
                .authenticate(1, "alice", &s, &PamContext::default(), ROOT)
                .await
            {
                Response::Auth { code, message } => (code, message),
                other => panic!("{other:?}"),
            }
        }
    };
    let wrong: Vec<_> = (0..10).map(|_| guess("nope")).collect();
    let answers = rt.block_on(futures_util::future::join_all(wrong));
    let checked = answers.iter().filter(|(_, m)| m.is_empty()).count();
    let locked = answers
        .iter()
        .filter(|(_, m)| m.contains("offline login is locked"))
        .count();
    assert!(
        answers.iter().all(|(c, _)| *c == AuthCode::Denied),
        "{answers:?}"
    );
    assert_eq!((checked, locked), (3, 7), "{answers:?}");
    // Locked: the right password is refused too.
    assert!(auth(&l, "alice", "alice-pw", ROOT).1.contains("locked"));

    // One right and three wrong at once: the third wrong locks while the right one is being
    // checked, so the right one does not clear the lock.
    let (l, _) = logins(&offline_cfg("race2"), PamSection::default());
    seed(&l, &[]);
    let guess = |pw: &'static str| {
        let l = &l;
        async move {
            let s = Secret::from_slice(pw.as_bytes());
            match l
                .authenticate(1, "alice", &s, &PamContext::default(), ROOT)
                .await
            {
                Response::Auth { code, message } => (code, message),
                other => panic!("{other:?}"),
            }
        }
    };
    let mixed = vec![guess("alice-pw"), guess("a"), guess("b"), guess("c")];
    let answers = rt.block_on(futures_util::future::join_all(mixed));
    assert!(
        answers[0].1.contains("offline login is locked"),
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|(c, _)| *c == AuthCode::Denied),
        "{answers:?}"
    );
    assert!(l.credentials().get("alice").unwrap().locked_until > T0);
}

/// At most [`ARGON2_AT_ONCE`] hashes are computed or checked at once.
#[test]
fn argon2_jobs_wait_for_a_turn() {
    use super::cached::{verify_bounded, ARGON2_AT_ONCE, ARGON2_TURNS};
    let h = hash_password(b"pw").unwrap();
    let rt = rt();
    rt.block_on(async {
        let all = ARGON2_TURNS
            .acquire_many(ARGON2_AT_ONCE as u32)
            .await
            .unwrap();
        let pw = || zeroize::Zeroizing::new(b"pw".to_vec());
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            verify_bounded(pw(), h.clone()),
        );
        assert!(waiting.await.is_err(), "checked without a turn");
        drop(all);
        assert!(verify_bounded(pw(), h.clone()).await);
    });
}

/// The clock set back before the online login (BOOT-06): the hash looks as if it came from
/// the future, and counts as expired rather than valid for ever.
#[test]
fn a_hash_from_the_future_is_expired() {
    let (l, clock) = logins(&offline_cfg("future"), PamSection::default());
    seed(&l, &[]);
    assert_eq!(auth(&l, "alice", "alice-pw", ROOT).0, AuthCode::Success);
    clock.0.store(T0 - 1, Ordering::Relaxed);
    assert_eq!(
        auth(&l, "alice", "alice-pw", ROOT),
        (AuthCode::Unavailable, msg_no_cached_login("alice"))
    );
}

/// `cache forget` and `cache flush` while the hash of an online login is still being made:
/// it is not stored afterwards (a forgotten record used to come back with generation 0, the
/// one the pending hash was made for).
#[test]
fn forget_and_flush_drop_a_hash_still_being_made() {
    let (l, _) = logins(&offline_cfg("pending"), PamSection::default());
    let hashed = |l: &Logins<Dark>, then: &dyn Fn(&Logins<Dark>)| {
        rt().block_on(async {
            l.learn_password("alice", "alice-pw");
            then(l);
            // The hash is made in the background (tens of ms): wait for it to be done.
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        });
        l.credentials().get("alice").and_then(|u| u.hash)
    };
    assert!(hashed(&l, &|_| {}).is_some(), "learned without a forget");
    l.credentials().flush();
    assert_eq!(
        hashed(&l, &|l| {
            l.forget_cached("alice");
        }),
        None,
        "stored after cache forget"
    );
    assert_eq!(
        hashed(&l, &|l| l.credentials().flush()),
        None,
        "stored after cache flush"
    );
}
