//! `pam_sm_acct_mgmt`: may the user log in here, now (access rules, account state)?

use super::host::{Daemon, Level, PamCode, PamHost};
use super::options::{log_unknown_options, Options};
use super::replies::{client_error_code, error_response_code, show};
use super::user_name::checked_user;
use crate::protocol::{AuthCode, Request, Response};

/// `pam_sm_acct_mgmt`.
pub fn account(host: &mut dyn PamHost, daemon: &mut dyn Daemon, opts: &Options) -> PamCode {
    log_unknown_options(host, opts);
    let user = match checked_user(host, opts) {
        Ok(u) => u,
        Err(c) => return c,
    };
    let ctx = host.context();
    match daemon.call(&Request::AccountCheck {
        user: user.clone(),
        ctx,
    }) {
        Ok(Response::Auth { code, message }) => {
            let pc = match code {
                AuthCode::Success => PamCode::Success,
                AuthCode::UserUnknown => PamCode::UserUnknown,
                AuthCode::Unavailable => PamCode::AuthinfoUnavail,
                AuthCode::Expired => PamCode::AcctExpired,
                AuthCode::NewAuthtokRequired => PamCode::NewAuthtokReqd,
                AuthCode::Denied
                | AuthCode::AccountDenied
                | AuthCode::Refused
                | AuthCode::PasswordRejected => PamCode::PermDenied,
            };
            if pc != PamCode::UserUnknown || opts.debug {
                host.log(
                    if pc == PamCode::Success {
                        Level::Info
                    } else {
                        Level::Notice
                    },
                    &format!("account check for {user}: {code:?} {message}"),
                );
            }
            if pc != PamCode::UserUnknown {
                show(host, pc == PamCode::Success, &message);
            }
            pc
        }
        Ok(Response::Error { code, message }) => {
            let pc = error_response_code(host, "account check", code, &message);
            if pc == PamCode::AuthErr {
                PamCode::PermDenied
            } else {
                pc
            }
        }
        Ok(other) => {
            host.log(
                Level::Error,
                &format!("account check: unexpected reply {other:?}"),
            );
            PamCode::PermDenied
        }
        Err(e) => client_error_code(host, "account check", &e),
    }
}
