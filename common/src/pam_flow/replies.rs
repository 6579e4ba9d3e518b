//! How the daemon's answers and failures reach the log and the user.

use super::host::{Level, PamCode, PamHost};
use crate::client::ClientError;
use crate::protocol::ErrorCode;

pub(super) fn client_error_code(host: &mut dyn PamHost, what: &str, e: &ClientError) -> PamCode {
    host.log(Level::Error, &format!("{what}: {e}"));
    PamCode::AuthinfoUnavail
}

pub(super) fn error_response_code(
    host: &mut dyn PamHost,
    what: &str,
    code: ErrorCode,
    msg: &str,
) -> PamCode {
    host.log(
        Level::Error,
        &format!("{what}: daemon error {code:?}: {msg}"),
    );
    match code {
        ErrorCode::Unavailable => PamCode::AuthinfoUnavail,
        // Fail closed on anything else.
        _ => PamCode::AuthErr,
    }
}

/// Shows the daemon's message to the user, one conversation message per line: as information
/// after a success (expiry warnings), as an error otherwise.
pub(super) fn show(host: &mut dyn PamHost, success: bool, message: &str) {
    for line in message.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if success {
            host.info_message(line);
        } else {
            host.error_message(line);
        }
    }
}
