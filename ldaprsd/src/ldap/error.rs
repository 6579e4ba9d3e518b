//! Why a directory operation produced no answer, in the three kinds a caller acts on:
//! fail over (unreachable), fail closed (the server said no), or split the search (size limit).

use super::result_code as rc;
use super::wording::explain;
use ldap3::LdapError;

/// Why a directory operation produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirError {
    /// No URI of the block answered (refused, timed out, connection lost): fail over, or
    /// answer UNAVAIL / `PAM_AUTHINFO_UNAVAIL`.
    Unreachable(String),
    /// A password was sent (a user bind, a password change) and then the server went silent
    /// or the connection broke: the URI is marked down, but the operation is not sent to
    /// another URI (a wrong password would count twice toward a lockout). Answer UNAVAIL.
    Interrupted(String),
    /// The server answered with an LDAP error (referral, bad filter, ...): fail closed.
    Server(String),
    /// The server's size limit cut the answer short (resultCode 4): never use a partial
    /// answer; enumerations split the search instead.
    SizeLimit(String),
}

impl std::fmt::Display for DirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirError::Unreachable(m)
            | DirError::Interrupted(m)
            | DirError::Server(m)
            | DirError::SizeLimit(m) => f.write_str(m),
        }
    }
}

/// A transport failure (connect, TLS, a lost connection) of `what` on `uri`.
pub(crate) fn transport(uri: &str, what: &str, e: &LdapError) -> DirError {
    DirError::Unreachable(format!("{uri}: {what}: {}", explain(&e.to_string())))
}

/// What a search's resultCode means for the caller: the one classification that the plain
/// and the paged search share. `what` names the operation for the message ("search",
/// "paged search").
pub(crate) fn classify_search(
    uri: &str,
    what: &str,
    f: &str,
    base: &str,
    code: u32,
    text: &str,
) -> Result<bool, DirError> {
    match code {
        rc::SUCCESS => Ok(true),
        // noSuchObject: the base does not exist, so nothing matches.
        rc::NO_SUCH_OBJECT => Ok(false),
        // ldap3 reports a transport failure inside a stream as rc 80.
        rc::OTHER if what == "paged search" => Err(DirError::Unreachable(format!(
            "{uri}: paged search {f}: {text}"
        ))),
        rc::SIZE_LIMIT_EXCEEDED => Err(DirError::SizeLimit(format!(
            "{uri}: {what} {f} under {base}: size limit exceeded"
        ))),
        code => Err(DirError::Server(format!(
            "{uri}: {what} {f} under {base}: resultCode {code} {text}"
        ))),
    }
}
