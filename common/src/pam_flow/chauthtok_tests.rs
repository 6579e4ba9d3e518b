//! The password stage (`chauthtok`) against a scripted daemon; the fixtures are in
//! `tests.rs`.

use super::chauthtok::chauthtok;
use super::host::{ChangePhase, PamCode};
use super::options::Options;
use super::tests::*;
use crate::protocol::{AuthCode, Request, Response};

#[test]
fn user_changes_own_password_in_two_passes() {
    let mut h = typing("alice", &["old-pw", "new-pw-1", "new-pw-1"]);
    let mut d = seq(vec![
        alice(),
        auth(AuthCode::Success).unwrap(),
        msg(AuthCode::Success, "Password changed."),
    ]);
    let o = Options::default();
    assert_eq!(
        chauthtok(&mut h, &mut d, &o, ChangePhase::Prelim, false),
        PamCode::Success
    );
    assert_eq!(h.old_item.as_deref(), Some(&b"old-pw"[..]));
    assert_eq!(
        chauthtok(&mut h, &mut d, &o, ChangePhase::Update, false),
        PamCode::Success
    );
    assert_eq!(
        h.prompted,
        vec![
            "Current password: ",
            "New password: ",
            "Retype new password: "
        ]
    );
    assert!(matches!(&d.asked[0], Request::UserByName(n) if n == "alice"));
    assert!(
        matches!(&d.asked[1], Request::Authenticate { password, .. } if password.expose() == b"old-pw")
    );
    assert!(
        matches!(&d.asked[2], Request::ChangePassword { user, old: Some(o), new, .. }
        if user == "alice" && o.expose() == b"old-pw" && new.expose() == b"new-pw-1")
    );
    assert_eq!(h.infos, vec!["Password changed.".to_string()]);
    assert_eq!(h.stored.as_deref(), Some(&b"new-pw-1"[..]));
}

#[test]
fn wrong_current_password_stops_before_the_new_one() {
    let mut h = typing("alice", &["wrong"]);
    let mut d = seq(vec![alice(), auth(AuthCode::Denied).unwrap()]);
    assert_eq!(
        chauthtok(
            &mut h,
            &mut d,
            &Options::default(),
            ChangePhase::Prelim,
            false
        ),
        PamCode::AuthErr
    );
    assert_eq!(h.prompts, 1);
    assert_eq!(h.old_item, None);
}

/// An expired Kerberos password (the daemon's `NewAuthtokRequired` to the Authenticate): the
/// change goes ahead (the daemon believes it only once the new password verifies).
#[test]
fn expired_current_password_may_be_changed() {
    let mut h = typing("bob", &["old-pw", "new-pw-1", "new-pw-1"]);
    let mut d = seq(vec![
        alice(),
        msg(AuthCode::NewAuthtokRequired, "Your password has expired."),
        msg(AuthCode::Success, "Password changed."),
    ]);
    let o = Options::default();
    assert_eq!(
        chauthtok(&mut h, &mut d, &o, ChangePhase::Prelim, false),
        PamCode::Success
    );
    assert_eq!(h.old_item.as_deref(), Some(&b"old-pw"[..]));
    assert_eq!(
        chauthtok(&mut h, &mut d, &o, ChangePhase::Update, false),
        PamCode::Success
    );
    assert!(
        matches!(&d.asked[2], Request::ChangePassword { old: Some(o), .. } if o.expose() == b"old-pw")
    );
    assert!(h.shown.is_empty(), "{:?}", h.shown);
}

#[test]
fn local_users_are_left_to_pam_unix() {
    let mut h = typing("root", &[]);
    let mut d = seq(vec![Response::NotFound]);
    assert_eq!(
        chauthtok(
            &mut h,
            &mut d,
            &Options::default(),
            ChangePhase::Prelim,
            false
        ),
        PamCode::UserUnknown
    );
    assert_eq!(h.prompts, 0);
    let mut d = seq(vec![]);
    assert_eq!(
        chauthtok(
            &mut h,
            &mut d,
            &Options::default(),
            ChangePhase::Prelim,
            false
        ),
        PamCode::AuthinfoUnavail
    );
}

#[test]
fn mismatch_empty_and_unchanged_new_passwords_are_refused_locally() {
    for (lines, want) in [
        (
            &["old", "a-new-pw", "another"][..],
            "Sorry, passwords do not match.",
        ),
        (&["old", ""][..], "No password has been supplied."),
        (&["old", "old"][..], "Password unchanged."),
    ] {
        let mut h = typing("alice", lines);
        let mut d = seq(vec![]);
        assert_eq!(
            chauthtok(
                &mut h,
                &mut d,
                &Options::default(),
                ChangePhase::Update,
                false
            ),
            PamCode::AuthtokErr
        );
        assert_eq!(h.shown, vec![want.to_string()]);
        assert!(d.asked.is_empty(), "nothing sent for {lines:?}");
    }
}

#[test]
fn policy_rejection_is_shown_and_is_authtok_err() {
    let mut h = typing("alice", &["new-pw", "new-pw"]);
    h.old_item = Some(b"old-pw".to_vec());
    let mut d = seq(vec![msg(
        AuthCode::PasswordRejected,
        "The new password is too short.",
    )]);
    assert_eq!(
        chauthtok(
            &mut h,
            &mut d,
            &Options::default(),
            ChangePhase::Update,
            false
        ),
        PamCode::AuthtokErr
    );
    assert_eq!(h.shown, vec!["The new password is too short.".to_string()]);
    assert_eq!(
        h.prompted,
        vec!["New password: ", "Retype new password: "],
        "current password taken from the item"
    );
}

#[test]
fn root_resets_without_the_old_password_but_not_for_expired_logins() {
    let mut h = typing("alice", &["fresh-pw", "fresh-pw"]);
    h.root = true;
    let mut d = seq(vec![alice(), msg(AuthCode::Success, "")]);
    let o = Options::default();
    assert_eq!(
        chauthtok(&mut h, &mut d, &o, ChangePhase::Prelim, false),
        PamCode::Success
    );
    assert_eq!(
        chauthtok(&mut h, &mut d, &o, ChangePhase::Update, false),
        PamCode::Success
    );
    assert!(matches!(
        &d.asked[1],
        Request::ChangePassword { old: None, .. }
    ));
    assert_eq!(h.prompted, vec!["New password: ", "Retype new password: "]);
    // sshd (running as root) changing a user's expired password: the user's own change,
    // and the current password is not checked by a separate bind (grace logins).
    let mut h = typing("alice", &["old-pw"]);
    h.root = true;
    let mut d = seq(vec![alice()]);
    assert_eq!(
        chauthtok(&mut h, &mut d, &o, ChangePhase::Prelim, true),
        PamCode::Success
    );
    assert_eq!(h.prompted, vec!["Current password: "]);
    assert_eq!(d.asked.len(), 1, "no Authenticate: {:?}", d.asked);
    assert_eq!(h.old_item.as_deref(), Some(&b"old-pw"[..]));
}

#[test]
fn use_authtok_takes_the_new_password_from_the_item() {
    let mut h = typing("alice", &[]);
    h.old_item = Some(b"old".to_vec());
    h.item = Some(b"from-pwquality".to_vec());
    let mut d = seq(vec![msg(AuthCode::Success, "")]);
    let o = Options::parse(["use_authtok"]);
    assert_eq!(
        chauthtok(&mut h, &mut d, &o, ChangePhase::Update, false),
        PamCode::Success
    );
    assert_eq!(h.prompts, 0);
    assert!(
        matches!(&d.asked[0], Request::ChangePassword { new, .. } if new.expose() == b"from-pwquality")
    );
    // No earlier module set it (pam_unix first, which does not know the user): prompt.
    let mut h = typing("alice", &["typed-new", "typed-new"]);
    h.old_item = Some(b"old".to_vec());
    let mut d = seq(vec![msg(AuthCode::Success, "")]);
    assert_eq!(
        chauthtok(&mut h, &mut d, &o, ChangePhase::Update, false),
        PamCode::Success
    );
    assert!(
        matches!(&d.asked[0], Request::ChangePassword { new, .. } if new.expose() == b"typed-new")
    );
}
