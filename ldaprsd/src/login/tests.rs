//! The login decisions against a fake directory: what the PAM module would be told, and what
//! was (or was not) sent to the directory.

use super::account_state::MSG_PASSWORD_EXPIRED;
use super::accounts::{AccessGroups, Accounts, EntryRefusal, Found};
use super::logins::Logins;
use super::verdict::MSG_RULES_UNCHECKED;
use crate::clock::Clock;
use crate::ldap::ppolicy::{PolicyError, PolicyResponse};
use crate::ldap::{BindOutcome, BindResult, ChangeOutcome, DirError, Entry, PasswordChange};
use crate::peer::Peer;
use ldaprs_common::config::{PamSection, Schema};
use ldaprs_common::protocol::{AuthCode, PamContext, Passwd, Response, Secret};
use std::sync::{Arc, Mutex};
use std::time::Instant;

struct FixedClock {
    mono: Instant,
    unix: i64,
}

impl Clock for FixedClock {
    fn now(&self) -> Instant {
        self.mono
    }
    fn unix_now(&self) -> i64 {
        self.unix
    }
}

/// 2026-12-01 in seconds since the epoch.
const NOW: i64 = 1_796_083_200;

#[derive(Clone)]
struct User {
    block: usize,
    passwd: Passwd,
    entry: Entry,
    password: String,
    policy: Option<PolicyResponse>,
}

#[derive(Default)]
struct Fake {
    users: Vec<User>,
    /// Block count (default 1).
    blocks: usize,
    pattern: Option<String>,
    unreachable: bool,
    groups: Vec<String>,
    filter_matches: bool,
    change_rc: u32,
    /// Names `known_user` knows (the daemon's cache, say).
    known_names: Vec<String>,
    /// Binds are sent and then no answer comes.
    interrupt: bool,
    binds: Mutex<Vec<String>>,
    searches: Mutex<usize>,
    remembered: Mutex<Vec<String>>,
    forgotten: Mutex<Vec<String>>,
    changes: Mutex<Vec<(String, Option<String>)>>,
}

fn passwd(name: &str, uid: u32) -> Passwd {
    Passwd {
        name: name.into(),
        uid,
        gid: 10000,
        gecos: String::new(),
        dir: format!("/home/{name}"),
        shell: "/bin/sh".into(),
    }
}

fn user(name: &str, uid: u32, attrs: &[(&str, &str)]) -> User {
    let mut a = vec![("uid".to_string(), vec![name.to_string()])];
    a.extend(
        attrs
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()])),
    );
    User {
        block: 0,
        passwd: passwd(name, uid),
        entry: Entry {
            dn: format!("uid={name},ou=people,dc=x"),
            attrs: a,
        },
        password: format!("{name}-pw"),
        policy: None,
    }
}

impl Fake {
    fn with(users: Vec<User>) -> Fake {
        Fake {
            users,
            blocks: 1,
            filter_matches: true,
            ..Default::default()
        }
    }
    fn unreachable(&self) -> Result<(), DirError> {
        if self.unreachable {
            return Err(DirError::Unreachable("ldap://x: connect: refused".into()));
        }
        Ok(())
    }
}

impl Accounts for Fake {
    fn blocks(&self) -> usize {
        self.blocks
    }
    fn block_name(&self, i: usize) -> String {
        format!("b{i}")
    }
    fn schema(&self, _: usize) -> Schema {
        Schema::Rfc2307
    }
    fn dn_pattern(&self, _: usize) -> Option<String> {
        self.pattern.clone()
    }
    fn admin(&self, _: usize) -> Option<(String, String)> {
        None
    }
    fn mappings(&self) -> (bool, bool) {
        (false, false)
    }
    fn is_local_user(&self, name: &str) -> bool {
        name == "root"
    }
    async fn find_user(&self, i: usize, name: &str) -> Result<Vec<(Passwd, String)>, DirError> {
        *self.searches.lock().unwrap() += 1;
        self.unreachable()?;
        Ok(self
            .users
            .iter()
            .filter(|u| u.block == i && u.passwd.name == name)
            .map(|u| (u.passwd.clone(), u.entry.dn.clone()))
            .collect())
    }
    async fn known_user(&self, name: &str) -> Option<Passwd> {
        self.users
            .iter()
            .find(|u| u.passwd.name == name && self.known_names.contains(&u.passwd.name))
            .map(|u| u.passwd.clone())
    }
    async fn bind(
        &self,
        _: usize,
        dn: &str,
        password: &str,
        read_entry: bool,
    ) -> Result<BindResult, DirError> {
        self.unreachable()?;
        self.binds.lock().unwrap().push(dn.to_string());
        if self.interrupt {
            return Err(DirError::Interrupted(format!("{dn}: bind: no answer")));
        }
        let u = self.users.iter().find(|u| u.entry.dn == dn);
        let ok = u.is_some_and(|u| u.password == password);
        Ok(BindResult {
            outcome: if ok {
                BindOutcome::Success
            } else {
                BindOutcome::InvalidCredentials
            },
            entry: u.filter(|_| ok && read_entry).map(|u| u.entry.clone()),
            policy: u.and_then(|u| u.policy.clone()),
            ad_reason: None,
        })
    }
    fn accept_entry(&self, _: usize, entry: &Entry, _: &str) -> Result<Passwd, EntryRefusal> {
        self.users
            .iter()
            .find(|u| u.entry.dn == entry.dn)
            .map(|u| u.passwd.clone())
            .ok_or(EntryRefusal::Local)
    }
    fn remember_login(&self, name: &str, _: usize, _: &str, _: &Passwd, _: Option<Entry>) {
        self.remembered.lock().unwrap().push(name.to_string());
    }
    async fn fresh_user(&self, name: &str) -> Result<Option<Found>, DirError> {
        self.unreachable()?;
        Ok(self
            .users
            .iter()
            .find(|u| u.passwd.name == name)
            .map(|u| (u.block, u.passwd.clone(), u.entry.clone())))
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
        Ok(AccessGroups {
            groups: self.groups.clone(),
            mapping: None,
        })
    }
    async fn entry_matches(&self, _: usize, _: &str, _: &str) -> Result<bool, DirError> {
        Ok(self.filter_matches)
    }
    async fn change_password(
        &self,
        _: usize,
        c: &PasswordChange<'_>,
    ) -> Result<ChangeOutcome, DirError> {
        self.changes
            .lock()
            .unwrap()
            .push((c.bind_dn.to_string(), c.target.map(str::to_string)));
        Ok(ChangeOutcome::Answered {
            rc: self.change_rc,
            text: "Password fails quality checking policy".into(),
            policy: None,
            shadow_note: None,
        })
    }
    fn forget_user(&self, name: &str) {
        self.forgotten.lock().unwrap().push(name.to_string());
    }
}

fn logins(fake: Fake, pam: PamSection) -> Logins<Fake> {
    let clock = Arc::new(FixedClock {
        mono: Instant::now(),
        unix: NOW,
    });
    Logins::new(fake, pam, "host1".into(), clock)
}

const ROOT: Peer = Peer { uid: 0, pid: 1 };

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn code(r: &Response) -> (AuthCode, String) {
    match r {
        Response::Auth { code, message } => (*code, message.clone()),
        other => panic!("not an auth answer: {other:?}"),
    }
}

fn auth(l: &Logins<Fake>, name: &str, pw: &str, peer: Peer) -> (AuthCode, String) {
    let ctx = PamContext::default();
    let secret = Secret::new(pw.as_bytes().to_vec());
    code(&run(l.authenticate(1, name, &secret, &ctx, peer)))
}

fn account(l: &Logins<Fake>, name: &str) -> (AuthCode, String) {
    code(&run(l.account(2, name, &PamContext::default(), ROOT)))
}

#[test]
fn right_password_succeeds_and_is_remembered() {
    let l = logins(
        Fake::with(vec![user("alice", 10001, &[])]),
        PamSection::default(),
    );
    assert_eq!(auth(&l, "alice", "alice-pw", ROOT).0, AuthCode::Success);
    assert_eq!(*l.accounts().remembered.lock().unwrap(), vec!["alice"]);
}

#[test]
fn wrong_password_is_final_and_never_tried_on_another_block() {
    let mut second = user("alice", 10001, &[]);
    second.block = 1;
    let mut fake = Fake::with(vec![user("alice", 10001, &[]), second]);
    fake.blocks = 2;
    let l = logins(fake, PamSection::default());
    assert_eq!(auth(&l, "alice", "guess", ROOT).0, AuthCode::Denied);
    assert_eq!(l.accounts().binds.lock().unwrap().len(), 1);
    assert!(l.accounts().remembered.lock().unwrap().is_empty());
}

#[test]
fn empty_password_and_local_users_send_nothing() {
    let l = logins(
        Fake::with(vec![user("alice", 10001, &[])]),
        PamSection::default(),
    );
    assert_eq!(auth(&l, "alice", "", ROOT).0, AuthCode::Denied);
    assert_eq!(auth(&l, "root", "x", ROOT).0, AuthCode::UserUnknown);
    assert_eq!(auth(&l, "ALICE ", "x", ROOT).0, AuthCode::UserUnknown);
    assert!(l.accounts().binds.lock().unwrap().is_empty());
    assert_eq!(*l.accounts().searches.lock().unwrap(), 0);
}

#[test]
fn non_root_caller_may_only_authenticate_itself() {
    let l = logins(
        Fake::with(vec![user("alice", 10001, &[])]),
        PamSection::default(),
    );
    let bob = Peer { uid: 10002, pid: 7 };
    assert_eq!(auth(&l, "alice", "alice-pw", bob).0, AuthCode::Refused);
    assert!(l.accounts().binds.lock().unwrap().is_empty());
    let alice = Peer { uid: 10001, pid: 8 };
    assert_eq!(auth(&l, "alice", "alice-pw", alice).0, AuthCode::Success);
}

#[test]
fn ambiguous_names_and_unknown_users() {
    let l = logins(
        Fake::with(vec![user("dup", 10005, &[]), user("dup", 10006, &[])]),
        PamSection::default(),
    );
    assert_eq!(auth(&l, "dup", "dup-pw", ROOT).0, AuthCode::Denied);
    assert!(l.accounts().binds.lock().unwrap().is_empty());
    assert_eq!(auth(&l, "nobody9", "x", ROOT).0, AuthCode::UserUnknown);
}

#[test]
fn an_unreachable_directory_is_never_a_wrong_password() {
    let mut fake = Fake::with(vec![user("alice", 10001, &[])]);
    fake.unreachable = true;
    let l = logins(fake, PamSection::default());
    assert_eq!(auth(&l, "alice", "alice-pw", ROOT).0, AuthCode::Unavailable);
    assert_eq!(account(&l, "alice").0, AuthCode::Unavailable);
    let rules = PamSection {
        deny_groups: vec!["frontend".into()],
        ..Default::default()
    };
    let mut fake = Fake::with(vec![user("alice", 10001, &[])]);
    fake.unreachable = true;
    let l = logins(fake, rules);
    assert_eq!(
        account(&l, "alice"),
        (AuthCode::AccountDenied, MSG_RULES_UNCHECKED.to_string())
    );
}

#[test]
fn grace_login_then_the_account_stage_demands_a_new_password() {
    let mut u = user("ppgrace", 10010, &[]);
    u.policy = Some(PolicyResponse {
        grace_remaining: Some(1),
        ..Default::default()
    });
    let l = logins(Fake::with(vec![u]), PamSection::default());
    let (c, told) = auth(&l, "ppgrace", "ppgrace-pw", ROOT);
    assert_eq!(c, AuthCode::Success);
    assert_eq!(
        told,
        "Your password has expired; 1 grace login left. Change it now."
    );
    assert_eq!(
        account(&l, "ppgrace"),
        (
            AuthCode::NewAuthtokRequired,
            MSG_PASSWORD_EXPIRED.to_string()
        )
    );
}

#[test]
fn a_locked_account_is_told_so() {
    let mut u = user("locked", 10011, &[]);
    u.password = "other".into();
    u.policy = Some(PolicyResponse {
        error: Some(PolicyError::AccountLocked),
        ..Default::default()
    });
    let l = logins(Fake::with(vec![u]), PamSection::default());
    assert_eq!(
        auth(&l, "locked", "locked-pw", ROOT),
        (
            AuthCode::AccountDenied,
            PolicyError::AccountLocked.message()
        )
    );
}

#[test]
fn deny_groups_win_and_allow_groups_let_in() {
    let pam = PamSection {
        allow_groups: vec!["engineering".into()],
        deny_groups: vec!["frontend".into()],
        ..Default::default()
    };
    let mut fake = Fake::with(vec![user("bob", 10002, &[])]);
    fake.groups = vec!["engineering".into(), "frontend".into()];
    let l = logins(fake, pam.clone());
    assert_eq!(
        account(&l, "bob"),
        (
            AuthCode::AccountDenied,
            "Access denied: member of denied group frontend.".to_string()
        )
    );
    let mut fake = Fake::with(vec![user("alice", 10001, &[])]);
    fake.groups = vec!["engineering".into()];
    assert_eq!(
        account(&logins(fake, pam.clone()), "alice").0,
        AuthCode::Success
    );
    let fake = Fake::with(vec![user("carol", 10003, &[])]);
    assert_eq!(
        account(&logins(fake, pam), "carol").1,
        "Access denied: not a member of any allowed group."
    );
}

#[test]
fn the_access_filter_is_checked_on_the_users_own_entry() {
    let pam = PamSection {
        access_filter: Some("(host=$hostname)".into()),
        ..Default::default()
    };
    let mut fake = Fake::with(vec![user("alice", 10001, &[])]);
    fake.filter_matches = false;
    assert_eq!(
        account(&logins(fake, pam), "alice").1,
        "Access denied: the account does not match the access_filter."
    );
}

#[test]
fn account_state_uses_the_clock() {
    // shadowExpire is in days since the epoch: yesterday expired, tomorrow not yet.
    let today = NOW / 86_400;
    let yesterday = (today - 1).to_string();
    let tomorrow = (today + 1).to_string();
    let fake = Fake::with(vec![
        user("old", 10020, &[("shadowExpire", &yesterday)]),
        user("new", 10021, &[("shadowExpire", &tomorrow)]),
    ]);
    let l = logins(fake, PamSection::default());
    assert_eq!(account(&l, "old").0, AuthCode::Expired);
    assert_eq!(account(&l, "new").0, AuthCode::Success);
}

#[test]
fn password_changes() {
    let run_change = |l: &Logins<Fake>, old: Option<&str>, peer: Peer| {
        let old = old.map(|o| Secret::new(o.as_bytes().to_vec()));
        let new = Secret::new(b"n3w-Passw0rd".to_vec());
        code(&run(l.change_password(
            3,
            "alice",
            old.as_ref(),
            &new,
            &PamContext::default(),
            peer,
        )))
    };
    let l = logins(
        Fake::with(vec![user("alice", 10001, &[])]),
        PamSection::default(),
    );
    let alice = Peer { uid: 10001, pid: 9 };
    // Without the current password only root may, and then only through admin_dn.
    assert_eq!(run_change(&l, None, alice).0, AuthCode::Refused);
    assert_eq!(run_change(&l, None, ROOT).0, AuthCode::Refused);
    assert!(l.accounts().changes.lock().unwrap().is_empty());
    assert_eq!(run_change(&l, Some("alice-pw"), alice).0, AuthCode::Success);
    assert_eq!(
        *l.accounts().changes.lock().unwrap(),
        vec![("uid=alice,ou=people,dc=x".to_string(), None)]
    );
    assert_eq!(*l.accounts().forgotten.lock().unwrap(), vec!["alice"]);
    let mut fake = Fake::with(vec![user("alice", 10001, &[])]);
    fake.change_rc = 19;
    let l = logins(fake, PamSection::default());
    assert_eq!(
        run_change(&l, Some("alice-pw"), alice),
        (
            AuthCode::PasswordRejected,
            "The directory refused the new password: Password fails quality checking policy"
                .to_string()
        )
    );
}

#[test]
fn with_a_dn_pattern_a_non_root_caller_is_refused_before_any_bind() {
    // The oracle: as nobody, guesses for alice went to slapd as binds.
    let mut fake = Fake::with(vec![user("alice", 10001, &[])]);
    fake.pattern = Some("uid=%s,ou=people,dc=x".into());
    let l = logins(fake, PamSection::default());
    let nobody = Peer { uid: 65534, pid: 5 };
    assert_eq!(auth(&l, "alice", "guess1", nobody).0, AuthCode::Refused);
    assert_eq!(auth(&l, "alice", "alice-pw", nobody).0, AuthCode::Refused);
    assert!(l.accounts().binds.lock().unwrap().is_empty());
    // alice herself, before her name is known: refused too (nothing is sent).
    let alice = Peer { uid: 10001, pid: 6 };
    assert_eq!(auth(&l, "alice", "alice-pw", alice).0, AuthCode::Refused);
    assert!(l.accounts().binds.lock().unwrap().is_empty());
    // Once the name is known to be hers, she may; nobody still may not.
    let mut fake = Fake::with(vec![user("alice", 10001, &[])]);
    fake.pattern = Some("uid=%s,ou=people,dc=x".into());
    fake.known_names = vec!["alice".into()];
    let l = logins(fake, PamSection::default());
    assert_eq!(auth(&l, "alice", "alice-pw", alice).0, AuthCode::Success);
    assert_eq!(auth(&l, "alice", "alice-pw", nobody).0, AuthCode::Refused);
    assert_eq!(l.accounts().binds.lock().unwrap().len(), 1);
    // Root (sshd, login) is not held to this.
    assert_eq!(auth(&l, "alice", "alice-pw", ROOT).0, AuthCode::Success);
}

#[test]
fn a_password_sent_without_an_answer_is_never_sent_again_elsewhere() {
    // Two blocks hold the same entry; the first bind is sent and no answer comes.
    let mut second = user("alice", 10001, &[]);
    second.block = 1;
    let mut fake = Fake::with(vec![user("alice", 10001, &[]), second]);
    fake.blocks = 2;
    fake.interrupt = true;
    let l = logins(fake, PamSection::default());
    assert_eq!(auth(&l, "alice", "alice-pw", ROOT).0, AuthCode::Unavailable);
    assert_eq!(l.accounts().binds.lock().unwrap().len(), 1);
}

#[test]
fn keys_are_asked_by_any_uid_and_follow_the_account_stage_of_sshd() {
    const NOBODY: Peer = Peer { uid: 65534, pid: 7 };
    let pam = PamSection {
        deny_groups: vec!["nossh".into()],
        ..Default::default()
    };
    let keys = |l: &Logins<Fake>, name: &str| {
        let (code, found) = run(l.account_for_keys(3, name, NOBODY));
        (code, found.map(|(_, e)| e.dn))
    };
    // nobody asks for alice: no "own account only" refusal, and the entry comes back.
    let l = logins(Fake::with(vec![user("alice", 10001, &[])]), pam.clone());
    assert_eq!(
        keys(&l, "alice"),
        (AuthCode::Success, Some("uid=alice,ou=people,dc=x".into()))
    );
    // The same account check as a password login (with the caller rule kept there).
    assert_eq!(
        code(&run(l.account(4, "alice", &PamContext::default(), NOBODY))).0,
        AuthCode::Refused
    );
    // Denied group, expired account, local and unknown users: no entry.
    let mut fake = Fake::with(vec![user("bob", 10002, &[])]);
    fake.groups = vec!["nossh".into()];
    assert_eq!(
        keys(&logins(fake, pam.clone()), "bob"),
        (AuthCode::AccountDenied, None)
    );
    let fake = Fake::with(vec![user("old", 10003, &[("shadowExpire", "1")])]);
    assert_eq!(
        keys(&logins(fake, pam.clone()), "old"),
        (AuthCode::Expired, None)
    );
    let fake = Fake::with(vec![user("root", 10004, &[])]); // local in the fake
    assert_eq!(
        keys(&logins(fake, pam.clone()), "root"),
        (AuthCode::UserUnknown, None)
    );
    assert_eq!(keys(&l, "nosuch"), (AuthCode::UserUnknown, None));
}
