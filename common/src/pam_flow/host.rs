//! What the decisions are written against: the PAM codes they return, the host (libpam) and
//! the daemon as two small traits, and the two passes of a password change.

use crate::client::ClientError;
use crate::protocol::{PamContext, Request, Response, Secret};

/// Linux-PAM return codes we use (`security/_pam_types.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum PamCode {
    Success = 0,
    ServiceErr = 3,
    SystemErr = 4,
    PermDenied = 6,
    AuthErr = 7,
    AuthinfoUnavail = 9,
    UserUnknown = 10,
    NewAuthtokReqd = 12,
    AcctExpired = 13,
    ConvErr = 19,
    AuthtokErr = 20,
    Ignore = 25,
}

/// Syslog severities the host maps to `LOG_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
    Info,
    Debug,
}

/// What the PAM module needs from libpam.
pub trait PamHost {
    /// `pam_get_user`; `Err` carries the PAM code to return.
    fn user(&mut self) -> Result<String, PamCode>;
    /// The `PAM_AUTHTOK` item set by an earlier module, if any.
    fn authtok(&mut self) -> Option<Secret>;
    /// Stores `PAM_AUTHTOK` so later modules can `use_first_pass`.
    fn set_authtok(&mut self, password: &Secret);
    /// Asks for a password through the conversation (echo off).
    fn prompt_password(&mut self, prompt: &str) -> Result<Secret, PamCode>;
    /// Shows an error message to the user (unless `PAM_SILENT`).
    fn error_message(&mut self, msg: &str);
    /// Shows an informational message (`PAM_TEXT_INFO`, unless `PAM_SILENT`).
    fn info_message(&mut self, msg: &str);
    /// The `PAM_OLDAUTHTOK` item (the current password during a change).
    fn old_authtok(&mut self) -> Option<Secret>;
    /// Stores `PAM_OLDAUTHTOK` between the two passes of a password change.
    fn set_old_authtok(&mut self, password: &Secret);
    /// Whether the calling process's real uid is 0 (`getuid()`): root changing another
    /// user's password needs no old password. A user running the setuid `passwd` has a
    /// real uid of its own.
    fn caller_is_root(&mut self) -> bool;
    /// Service, remote host and tty, for access rules and logs.
    fn context(&mut self) -> PamContext;
    /// One log line (syslog, facility authpriv). Never given a password.
    fn log(&mut self, level: Level, msg: &str);
}

/// The daemon, as seen by the module.
pub trait Daemon {
    fn call(&mut self, req: &Request) -> Result<Response, ClientError>;
}

/// The two passes libpam makes through `pam_sm_chauthtok` (pam_sm_chauthtok(3)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangePhase {
    /// `PAM_PRELIM_CHECK`: is the user ours, and is the current password right?
    Prelim,
    /// `PAM_UPDATE_AUTHTOK`: ask for the new password and change it.
    Update,
}
