//! How a login step ends: the code the PAM module maps to a PAM result, the words the user is
//! shown, and the rule that decided (one log line, at the level the decision deserves).

use crate::{info, warn};
use ldaprs_common::protocol::{AuthCode, Response};

/// How loud the decision's log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// An ordinary decision (success, wrong password, denied by a rule).
    Info,
    /// Something an admin should look at (a server fault, a caller refused).
    Warn,
    /// Nothing to log (the step logged already, or there is nothing to say).
    Silent,
}

/// A login decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub code: AuthCode,
    /// What the user is told ("" for nothing).
    pub message: String,
    /// Why, for the log (after `who`).
    pub rule: String,
    pub level: Level,
}

impl Verdict {
    pub fn new(code: AuthCode, message: &str, rule: impl Into<String>, level: Level) -> Verdict {
        Verdict {
            code,
            message: message.to_string(),
            rule: rule.into(),
            level,
        }
    }

    /// An ordinary decision, logged at info.
    pub fn info(code: AuthCode, message: &str, rule: impl Into<String>) -> Verdict {
        Verdict::new(code, message, rule, Level::Info)
    }

    /// A decision an admin should look at, logged as a warning.
    pub fn warn(code: AuthCode, message: &str, rule: impl Into<String>) -> Verdict {
        Verdict::new(code, message, rule, Level::Warn)
    }

    /// A decision with no log line of its own.
    pub fn silent(code: AuthCode, message: &str) -> Verdict {
        Verdict::new(code, message, "", Level::Silent)
    }

    /// Logs the decision under `who` and turns it into the answer for the module.
    pub fn conclude(self, who: &str) -> Response {
        match self.level {
            Level::Info => info!("{who}: {}", self.rule),
            Level::Warn => warn!("{who}: {}", self.rule),
            Level::Silent => {}
        }
        Response::Auth {
            code: self.code,
            message: self.message,
        }
    }
}

/// A step either hands its result to the next one or ends the login.
pub type Step<T> = Result<T, Verdict>;

pub const MSG_RULES_UNCHECKED: &str = "Access denied: the access rules could not be checked.";
pub const MSG_CONTACT_ADMIN: &str =
    "The password could not be changed; please contact your system administrator.";
pub const MSG_NO_ADMIN_DN: &str = "Password resets by root need admin_dn and admin_password_file in the server block; without them, give the current password.";
