//! `pam_sm_chauthtok`: the password change, in libpam's two passes.

use super::host::{ChangePhase, Daemon, Level, PamCode, PamHost};
use super::options::{log_unknown_options, Options};
use super::password::{acceptable_new, current_password, MAX_PASSWORD};
use super::replies::{client_error_code, error_response_code, show};
use super::user_name::checked_user;
use crate::client::ClientError;
use crate::protocol::{AuthCode, Request, Response, Secret};

/// `pam_sm_chauthtok`: changes the password in the directory (the daemon sends the LDAP
/// Password Modify operation, RFC 3062). Root (real uid 0) resets another user's password
/// without the old one, unless libpam asks to change an expired password
/// (`PAM_CHANGE_EXPIRED_AUTHTOK`: sshd or login running as root for the user), as pam_unix
/// does.
pub fn chauthtok(
    host: &mut dyn PamHost,
    daemon: &mut dyn Daemon,
    opts: &Options,
    phase: ChangePhase,
    change_expired: bool,
) -> PamCode {
    log_unknown_options(host, opts);
    let user = match checked_user(host, opts) {
        Ok(u) => u,
        Err(c) => return c,
    };
    let reset = host.caller_is_root() && !change_expired;
    match phase {
        ChangePhase::Prelim => prelim_check(host, daemon, opts, &user, reset, !change_expired),
        ChangePhase::Update => update_authtok(host, daemon, opts, &user, reset),
    }
}

/// `verify`: check the current password with a bind now. Not when changing an expired
/// password during a login: the user authenticated a moment ago, and with OpenLDAP's password
/// policy every bind of an expired password spends one of its few grace logins (the change
/// itself needs one).
fn prelim_check(
    host: &mut dyn PamHost,
    daemon: &mut dyn Daemon,
    opts: &Options,
    user: &str,
    reset: bool,
    verify: bool,
) -> PamCode {
    if let Err(c) = directory_user(host, daemon, opts, user) {
        return c;
    }
    if reset {
        return PamCode::Success;
    }
    let old = match current_password(host, opts, ChangePhase::Prelim) {
        Ok(p) => p,
        Err(c) => return c,
    };
    if old.is_empty() || old.expose().len() > MAX_PASSWORD {
        host.log(
            Level::Notice,
            &format!("password change for {user}: empty or over-long current password refused"),
        );
        return PamCode::AuthErr;
    }
    if !verify {
        host.set_old_authtok(&old);
        return PamCode::Success;
    }
    verify_current(host, daemon, user, &old)
}

/// `Ok` if `user` is a directory user, else the code to return.
fn directory_user(
    host: &mut dyn PamHost,
    daemon: &mut dyn Daemon,
    opts: &Options,
    user: &str,
) -> Result<(), PamCode> {
    // Only directory users are ours: a local user gets USER_UNKNOWN and pam_unix changes it.
    match daemon.call(&Request::UserByName(user.to_string())) {
        Ok(Response::User(_)) => Ok(()),
        Ok(Response::NotFound) => {
            if opts.debug {
                host.log(
                    Level::Debug,
                    &format!("password change: {user} is not a directory user"),
                );
            }
            Err(PamCode::UserUnknown)
        }
        Ok(Response::Error { code, message }) => {
            Err(error_response_code(host, "password change", code, &message))
        }
        Ok(other) => {
            host.log(
                Level::Error,
                &format!("password change: unexpected reply {other:?}"),
            );
            Err(PamCode::AuthtokErr)
        }
        Err(e) => Err(client_error_code(host, "password change", &e)),
    }
}

/// Checks the current password `old` with a bind, and keeps it in `PAM_OLDAUTHTOK` if right.
fn verify_current(
    host: &mut dyn PamHost,
    daemon: &mut dyn Daemon,
    user: &str,
    old: &Secret,
) -> PamCode {
    // Check the current password now, before asking for a new one twice.
    let ctx = host.context();
    let req = Request::Authenticate {
        user: user.to_string(),
        password: old.clone(),
        ctx,
    };
    match daemon.call(&req) {
        Ok(Response::Auth { code, message }) => {
            let pc = match code {
                // NewAuthtokRequired: an expired Kerberos password, right as far as the KDC
                // says. Not a login (authenticate fails on it), but the change may go ahead:
                // the daemon believes it only when the new password verifies.
                AuthCode::Success | AuthCode::NewAuthtokRequired => PamCode::Success,
                AuthCode::Denied | AuthCode::PasswordRejected => PamCode::AuthErr,
                AuthCode::UserUnknown => PamCode::UserUnknown,
                AuthCode::Unavailable => PamCode::AuthinfoUnavail,
                AuthCode::AccountDenied | AuthCode::Expired | AuthCode::Refused => {
                    PamCode::PermDenied
                }
            };
            host.log(
                if pc == PamCode::Success {
                    Level::Info
                } else {
                    Level::Notice
                },
                &format!("password change for {user}: current password {code:?}"),
            );
            if pc == PamCode::Success {
                host.set_old_authtok(old);
            } else if !message.is_empty() {
                // Warnings of a successful bind ("expires in 2 days") are not repeated here.
                show(host, false, &message);
            }
            pc
        }
        other => not_an_auth_reply(host, other),
    }
}

fn update_authtok(
    host: &mut dyn PamHost,
    daemon: &mut dyn Daemon,
    opts: &Options,
    user: &str,
    reset: bool,
) -> PamCode {
    let old = if reset {
        None
    } else {
        match current_password(host, opts, ChangePhase::Update) {
            Ok(p) => Some(p),
            Err(c) => return c,
        }
    };
    let new = match new_password(host, opts, old.as_ref()) {
        Ok(p) => p,
        Err(c) => return c,
    };
    host.set_authtok(&new);
    send_change(host, daemon, user, old, new, reset)
}

/// The new password: from `PAM_AUTHTOK` with `use_authtok` when an earlier module set it,
/// else prompted twice; refused here (with a message for the user) if it is unacceptable.
fn new_password(
    host: &mut dyn PamHost,
    opts: &Options,
    old: Option<&Secret>,
) -> Result<Secret, PamCode> {
    let from_item = if opts.use_authtok {
        host.authtok()
    } else {
        None
    };
    if opts.use_authtok && from_item.is_none() && opts.debug {
        host.log(
            Level::Debug,
            "use_authtok: no earlier module set the new password; asking for it",
        );
    }
    let new = if let Some(p) = from_item {
        p
    } else {
        let first = host.prompt_password("New password: ")?;
        if let Err(m) = acceptable_new(&first, old) {
            host.error_message(m);
            return Err(PamCode::AuthtokErr);
        }
        let again = host.prompt_password("Retype new password: ")?;
        if again.expose() != first.expose() {
            host.error_message("Sorry, passwords do not match.");
            return Err(PamCode::AuthtokErr);
        }
        first
    };
    if let Err(m) = acceptable_new(&new, old) {
        host.error_message(m);
        return Err(PamCode::AuthtokErr);
    }
    Ok(new)
}

/// Sends the change to the daemon (`old: None` is a reset by root) and maps its verdict.
fn send_change(
    host: &mut dyn PamHost,
    daemon: &mut dyn Daemon,
    user: &str,
    old: Option<Secret>,
    new: Secret,
    reset: bool,
) -> PamCode {
    let ctx = host.context();
    let req = Request::ChangePassword {
        user: user.to_string(),
        old,
        new,
        ctx,
    };
    match daemon.call(&req) {
        Ok(Response::Auth { code, message }) => {
            let pc = match code {
                AuthCode::Success => PamCode::Success,
                AuthCode::UserUnknown => PamCode::UserUnknown,
                AuthCode::Unavailable => PamCode::AuthinfoUnavail,
                AuthCode::AccountDenied | AuthCode::Expired | AuthCode::Refused => {
                    PamCode::PermDenied
                }
                AuthCode::Denied | AuthCode::PasswordRejected | AuthCode::NewAuthtokRequired => {
                    PamCode::AuthtokErr
                }
            };
            host.log(
                if pc == PamCode::Success {
                    Level::Info
                } else {
                    Level::Notice
                },
                &format!(
                    "password change for {user}{}: {code:?} {message}",
                    if reset { " by root" } else { "" }
                ),
            );
            if pc != PamCode::UserUnknown {
                show(host, pc == PamCode::Success, &message);
            }
            pc
        }
        other => not_an_auth_reply(host, other),
    }
}

/// A password-change reply that is not an `Auth` verdict: a daemon error, an answer of the
/// wrong kind, or no answer at all.
fn not_an_auth_reply(host: &mut dyn PamHost, reply: Result<Response, ClientError>) -> PamCode {
    match reply {
        Ok(Response::Error { code, message }) => {
            error_response_code(host, "password change", code, &message)
        }
        Ok(other) => {
            host.log(
                Level::Error,
                &format!("password change: unexpected reply {other:?}"),
            );
            PamCode::AuthtokErr
        }
        Err(e) => client_error_code(host, "password change", &e),
    }
}
