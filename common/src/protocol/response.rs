//! What the daemon answers ([`Response`]), its verdict and error codes, and the borrowed
//! answers the NSS fast path reads ([`ResponseRef`]).

use super::entries::{Group, GroupRef, Passwd, PasswdRef};

/// Outcome of an authentication or account check; maps 1:1 to PAM codes in the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthCode {
    Success = 0,
    /// Wrong password or the directory refused the bind.
    Denied = 1,
    /// No such user in the directory.
    UserUnknown = 2,
    /// No directory server could be asked.
    Unavailable = 3,
    /// The account exists but may not log in here (access rules).
    AccountDenied = 4,
    /// The account or its password has expired.
    Expired = 5,
    /// The daemon refused the request itself (not allowed for this caller, rate limited).
    Refused = 6,
    /// The password is right and the account usable, but the password must be changed now
    /// (expired, reset by an administrator): `PAM_NEW_AUTHTOK_REQD` in the account stage.
    NewAuthtokRequired = 7,
    /// A password change was refused because of the new password (too short, in history,
    /// policy): `PAM_AUTHTOK_ERR`.
    PasswordRejected = 8,
}

impl AuthCode {
    pub(super) fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => AuthCode::Success,
            1 => AuthCode::Denied,
            2 => AuthCode::UserUnknown,
            3 => AuthCode::Unavailable,
            4 => AuthCode::AccountDenied,
            5 => AuthCode::Expired,
            6 => AuthCode::Refused,
            7 => AuthCode::NewAuthtokRequired,
            8 => AuthCode::PasswordRejected,
            _ => return None,
        })
    }
}

/// Stable error codes for `Response::Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The directory could not be reached or answered an error: the module says UNAVAIL.
    Unavailable = 1,
    /// The request was malformed or of an unsupported version.
    BadRequest = 2,
    /// The caller may not do this (not root).
    PermissionDenied = 3,
    /// Anything else inside the daemon.
    Internal = 4,
}

impl ErrorCode {
    pub(super) fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => ErrorCode::Unavailable,
            2 => ErrorCode::BadRequest,
            3 => ErrorCode::PermissionDenied,
            4 => ErrorCode::Internal,
            _ => return None,
        })
    }
}

/// What the daemon answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    User(Passwd),
    Users(Vec<Passwd>),
    Group(Group),
    Groups(Vec<Group>),
    Gids(Vec<u32>),
    NotFound,
    /// The verdict of an authentication, account check or password change. `message` is for
    /// the user, one line per conversation message: information when `code` is `Success`
    /// (expiry warnings), an error otherwise.
    Auth {
        code: AuthCode,
        message: String,
    },
    /// Free-form status lines (ldaprsctl status).
    Status(Vec<(String, String)>),
    Ok,
    Error {
        code: ErrorCode,
        message: String,
    },
    /// The authorized_keys lines of a user, validated by the daemon (options, type, base64
    /// blob, comment): at most [`MAX_SSH_KEYS`](super::MAX_SSH_KEYS) lines of at most
    /// [`MAX_SSH_KEY_LINE`](super::MAX_SSH_KEY_LINE) bytes, none with a control character.
    /// Empty: the user may not log in, or has no valid key.
    SshKeys(Vec<String>),
}

/// The answers the NSS fast path reads, borrowed from the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseRef<'a> {
    User(PasswdRef<'a>),
    Group(GroupRef<'a>),
    Gids(Vec<u32>),
    /// Anything else (decode it with [`decode_response`](crate::protocol::decode_response)).
    Other,
}
