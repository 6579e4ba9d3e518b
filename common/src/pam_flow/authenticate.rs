//! `pam_sm_authenticate`: checks the user's password with the directory.

use super::host::{Daemon, Level, PamCode, PamHost};
use super::options::{log_unknown_options, Options};
use super::password::{get_password, MAX_PASSWORD};
use super::replies::{client_error_code, error_response_code, show};
use super::user_name::checked_user;
use crate::protocol::{AuthCode, Request, Response};

/// `pam_sm_authenticate`.
pub fn authenticate(host: &mut dyn PamHost, daemon: &mut dyn Daemon, opts: &Options) -> PamCode {
    log_unknown_options(host, opts);
    let user = match checked_user(host, opts) {
        Ok(u) => u,
        Err(c) => return c,
    };
    let password = match get_password(host, opts) {
        Ok(p) => p,
        Err(c) => return c,
    };
    if password.is_empty() {
        // An empty password would be an unauthenticated bind (RFC 4513 §5.1.2) that many
        // servers answer with success: never send it.
        host.log(Level::Notice, &format!("empty password for {user} refused"));
        return PamCode::AuthErr;
    }
    if password.expose().len() > MAX_PASSWORD {
        host.log(
            Level::Notice,
            &format!("over-long password for {user} refused"),
        );
        return PamCode::AuthErr;
    }
    let ctx = host.context();
    let req = Request::Authenticate {
        user: user.clone(),
        password,
        ctx,
    };
    match daemon.call(&req) {
        Ok(Response::Auth { code, message }) => {
            let pc = match code {
                AuthCode::Success => PamCode::Success,
                // The daemon answers "must change" in the account stage; here it would be a
                // daemon mistake, so fail closed.
                AuthCode::Denied
                | AuthCode::Refused
                | AuthCode::NewAuthtokRequired
                | AuthCode::PasswordRejected => PamCode::AuthErr,
                AuthCode::UserUnknown => PamCode::UserUnknown,
                AuthCode::Unavailable => PamCode::AuthinfoUnavail,
                AuthCode::AccountDenied => PamCode::PermDenied,
                AuthCode::Expired => PamCode::AcctExpired,
            };
            let level = if pc == PamCode::Success {
                Level::Info
            } else {
                Level::Notice
            };
            if pc == PamCode::UserUnknown && !opts.debug {
                host.log(level, "authentication: user unknown to the directory");
            } else {
                host.log(
                    level,
                    &format!("authentication for {user}: {code:?} {message}"),
                );
            }
            if pc != PamCode::UserUnknown {
                show(host, pc == PamCode::Success, &message);
            }
            pc
        }
        Ok(Response::Error { code, message }) => {
            error_response_code(host, "authentication", code, &message)
        }
        Ok(other) => {
            host.log(
                Level::Error,
                &format!("authentication: unexpected reply {other:?}"),
            );
            PamCode::AuthErr
        }
        Err(e) => client_error_code(host, "authentication", &e),
    }
}
