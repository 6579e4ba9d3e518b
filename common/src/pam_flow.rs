//! The PAM module's decisions, written against two small traits so that they are tested with a
//! scripted host and a scripted daemon, without libpam (STYLE.md §1; kanidm's best idea).
//!
//! The cdylib `pam_ldaprs` only implements [`PamHost`] over a real `pam_handle_t` and calls the
//! functions here.

use crate::client::ClientError;
use crate::names::valid_name;
use crate::protocol::{AuthCode, ErrorCode, PamContext, Request, Response, Secret};

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

/// Longest password we forward; anything longer is refused without asking the directory.
pub const MAX_PASSWORD: usize = 4096;

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

/// Module arguments from the PAM service file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub use_first_pass: bool,
    pub try_first_pass: bool,
    /// Password change: take the new password from `PAM_AUTHTOK` when an earlier module
    /// (pam_pwquality) set it, instead of prompting. Without one (a stack where pam_unix,
    /// which does not know directory users, comes first) the module prompts itself.
    pub use_authtok: bool,
    pub debug: bool,
    /// Arguments we did not understand (logged, not fatal: a typo must not lock people out).
    pub unknown: Vec<String>,
}

impl Options {
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a str>) -> Options {
        let mut o = Options::default();
        for a in args {
            match a {
                "use_first_pass" => o.use_first_pass = true,
                "try_first_pass" => o.try_first_pass = true,
                "use_authtok" => o.use_authtok = true,
                "debug" => o.debug = true,
                other => o.unknown.push(other.to_string()),
            }
        }
        o
    }
}

fn log_unknown_options(host: &mut dyn PamHost, opts: &Options) {
    for a in &opts.unknown {
        host.log(
            Level::Warning,
            &format!("ignoring unknown module argument '{a}'"),
        );
    }
}

/// Valid user name or the code to return.
fn checked_user(host: &mut dyn PamHost, opts: &Options) -> Result<String, PamCode> {
    let user = host.user()?;
    if !valid_name(&user) {
        // The name itself is not logged at the default level: it is often a password typed
        // into the login prompt (security.md S-9).
        if opts.debug {
            host.log(
                Level::Debug,
                &format!("refusing invalid user name {user:?}"),
            );
        } else {
            host.log(Level::Notice, "refusing an invalid user name");
        }
        return Err(PamCode::UserUnknown);
    }
    Ok(user)
}

fn get_password(host: &mut dyn PamHost, opts: &Options) -> Result<Secret, PamCode> {
    if opts.use_first_pass || opts.try_first_pass {
        if let Some(tok) = host.authtok() {
            return Ok(tok);
        }
        if opts.use_first_pass {
            host.log(
                Level::Notice,
                "use_first_pass given but no earlier module set a password",
            );
            return Err(PamCode::AuthErr);
        }
    }
    let pw = host.prompt_password("Password: ")?;
    host.set_authtok(&pw);
    Ok(pw)
}

fn client_error_code(host: &mut dyn PamHost, what: &str, e: &ClientError) -> PamCode {
    host.log(Level::Error, &format!("{what}: {e}"));
    PamCode::AuthinfoUnavail
}

fn error_response_code(host: &mut dyn PamHost, what: &str, code: ErrorCode, msg: &str) -> PamCode {
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
fn show(host: &mut dyn PamHost, success: bool, message: &str) {
    for line in message.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if success {
            host.info_message(line);
        } else {
            host.error_message(line);
        }
    }
}

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

/// The two passes libpam makes through `pam_sm_chauthtok` (pam_sm_chauthtok(3)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangePhase {
    /// `PAM_PRELIM_CHECK`: is the user ours, and is the current password right?
    Prelim,
    /// `PAM_UPDATE_AUTHTOK`: ask for the new password and change it.
    Update,
}

/// Checks a password typed for a change; `Err` is the message for the user.
fn acceptable_new(new: &Secret, old: Option<&Secret>) -> Result<(), &'static str> {
    if new.is_empty() {
        return Err("No password has been supplied.");
    }
    if new.expose().len() > MAX_PASSWORD {
        return Err("The password is too long.");
    }
    if old.is_some_and(|o| o.expose() == new.expose()) {
        return Err("Password unchanged.");
    }
    Ok(())
}

/// The current password: from `PAM_OLDAUTHTOK` with `use_first_pass`/`try_first_pass` (or
/// in the update pass, where the first pass left it), else prompted.
fn current_password(
    host: &mut dyn PamHost,
    opts: &Options,
    phase: ChangePhase,
) -> Result<Secret, PamCode> {
    let from_item = phase == ChangePhase::Update || opts.use_first_pass || opts.try_first_pass;
    if from_item {
        if let Some(old) = host.old_authtok() {
            return Ok(old);
        }
        if opts.use_first_pass && phase == ChangePhase::Prelim {
            host.log(
                Level::Notice,
                "use_first_pass given but no earlier module set the current password",
            );
            return Err(PamCode::AuthErr);
        }
    }
    host.prompt_password("Current password: ")
}

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
    // Only directory users are ours: a local user gets USER_UNKNOWN and pam_unix changes it.
    match daemon.call(&Request::UserByName(user.to_string())) {
        Ok(Response::User(_)) => {}
        Ok(Response::NotFound) => {
            if opts.debug {
                host.log(
                    Level::Debug,
                    &format!("password change: {user} is not a directory user"),
                );
            }
            return PamCode::UserUnknown;
        }
        Ok(Response::Error { code, message }) => {
            return error_response_code(host, "password change", code, &message)
        }
        Ok(other) => {
            host.log(
                Level::Error,
                &format!("password change: unexpected reply {other:?}"),
            );
            return PamCode::AuthtokErr;
        }
        Err(e) => return client_error_code(host, "password change", &e),
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
                AuthCode::Success => PamCode::Success,
                AuthCode::Denied | AuthCode::NewAuthtokRequired | AuthCode::PasswordRejected => {
                    PamCode::AuthErr
                }
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
                host.set_old_authtok(&old);
            } else if !message.is_empty() {
                // Warnings of a successful bind ("expires in 2 days") are not repeated here.
                show(host, false, &message);
            }
            pc
        }
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
        let first = match host.prompt_password("New password: ") {
            Ok(p) => p,
            Err(c) => return c,
        };
        if let Err(m) = acceptable_new(&first, old.as_ref()) {
            host.error_message(m);
            return PamCode::AuthtokErr;
        }
        let again = match host.prompt_password("Retype new password: ") {
            Ok(p) => p,
            Err(c) => return c,
        };
        if again.expose() != first.expose() {
            host.error_message("Sorry, passwords do not match.");
            return PamCode::AuthtokErr;
        }
        first
    };
    if let Err(m) = acceptable_new(&new, old.as_ref()) {
        host.error_message(m);
        return PamCode::AuthtokErr;
    }
    host.set_authtok(&new);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[derive(Default)]
    struct Host {
        user: Option<String>,
        item: Option<Vec<u8>>,
        typed: Option<Vec<u8>>,
        prompts: usize,
        stored: Option<Vec<u8>>,
        shown: Vec<String>,
        infos: Vec<String>,
        logs: Vec<String>,
        /// Answers to successive prompts (before falling back to `typed`).
        inputs: std::collections::VecDeque<Vec<u8>>,
        prompted: Vec<String>,
        old_item: Option<Vec<u8>>,
        root: bool,
    }

    impl PamHost for Host {
        fn user(&mut self) -> Result<String, PamCode> {
            self.user.clone().ok_or(PamCode::ServiceErr)
        }
        fn authtok(&mut self) -> Option<Secret> {
            self.item.clone().map(Secret::new)
        }
        fn set_authtok(&mut self, p: &Secret) {
            self.stored = Some(p.expose().to_vec());
        }
        fn prompt_password(&mut self, p: &str) -> Result<Secret, PamCode> {
            self.prompts += 1;
            self.prompted.push(p.into());
            if let Some(i) = self.inputs.pop_front() {
                return Ok(Secret::new(i));
            }
            self.typed.clone().map(Secret::new).ok_or(PamCode::ConvErr)
        }
        fn error_message(&mut self, m: &str) {
            self.shown.push(m.into());
        }
        fn info_message(&mut self, m: &str) {
            self.infos.push(m.into());
        }
        fn old_authtok(&mut self) -> Option<Secret> {
            self.old_item.clone().map(Secret::new)
        }
        fn set_old_authtok(&mut self, p: &Secret) {
            self.old_item = Some(p.expose().to_vec());
        }
        fn caller_is_root(&mut self) -> bool {
            self.root
        }
        fn context(&mut self) -> PamContext {
            PamContext {
                service: "login".into(),
                ..Default::default()
            }
        }
        fn log(&mut self, _: Level, m: &str) {
            self.logs.push(m.into());
        }
    }

    /// Answers with a fixed response and records what it was asked.
    struct Script {
        answer: Option<Response>,
        asked: Vec<Request>,
    }

    impl Daemon for Script {
        fn call(&mut self, req: &Request) -> Result<Response, ClientError> {
            self.asked.push(req.clone());
            self.answer
                .clone()
                .ok_or_else(|| ClientError::Unavailable(io::Error::from(io::ErrorKind::NotFound)))
        }
    }

    fn auth(code: AuthCode) -> Option<Response> {
        Some(Response::Auth {
            code,
            message: String::new(),
        })
    }

    fn host(user: &str, typed: &str) -> Host {
        Host {
            user: Some(user.into()),
            typed: Some(typed.as_bytes().to_vec()),
            ..Default::default()
        }
    }

    #[test]
    fn good_password_succeeds_and_is_stored_for_later_modules() {
        let mut h = host("alice", "pw");
        let mut d = Script {
            answer: auth(AuthCode::Success),
            asked: vec![],
        };
        assert_eq!(
            authenticate(&mut h, &mut d, &Options::default()),
            PamCode::Success
        );
        assert_eq!(h.stored.as_deref(), Some(&b"pw"[..]));
        assert!(
            matches!(&d.asked[0], Request::Authenticate { user, password, .. }
            if user == "alice" && password.expose() == b"pw")
        );
        assert!(h
            .logs
            .iter()
            .all(|l| !l.contains("pw\"") && !l.contains(" pw")));
    }

    #[test]
    fn each_daemon_verdict_maps_to_the_right_pam_code() {
        for (code, want) in [
            (AuthCode::Denied, PamCode::AuthErr),
            (AuthCode::UserUnknown, PamCode::UserUnknown),
            (AuthCode::Unavailable, PamCode::AuthinfoUnavail),
            (AuthCode::Refused, PamCode::AuthErr),
            (AuthCode::Expired, PamCode::AcctExpired),
        ] {
            let mut h = host("alice", "pw");
            let mut d = Script {
                answer: auth(code),
                asked: vec![],
            };
            assert_eq!(
                authenticate(&mut h, &mut d, &Options::default()),
                want,
                "{code:?}"
            );
        }
    }

    #[test]
    fn empty_password_is_refused_without_asking_the_daemon() {
        let mut h = host("alice", "");
        let mut d = Script {
            answer: auth(AuthCode::Success),
            asked: vec![],
        };
        assert_eq!(
            authenticate(&mut h, &mut d, &Options::default()),
            PamCode::AuthErr
        );
        assert!(d.asked.is_empty());
    }

    #[test]
    fn overlong_password_is_refused_without_asking_the_daemon() {
        let mut h = host("alice", &"x".repeat(MAX_PASSWORD + 1));
        let mut d = Script {
            answer: auth(AuthCode::Success),
            asked: vec![],
        };
        assert_eq!(
            authenticate(&mut h, &mut d, &Options::default()),
            PamCode::AuthErr
        );
        assert!(d.asked.is_empty());
    }

    #[test]
    fn daemon_down_is_authinfo_unavail() {
        let mut h = host("alice", "pw");
        let mut d = Script {
            answer: None,
            asked: vec![],
        };
        assert_eq!(
            authenticate(&mut h, &mut d, &Options::default()),
            PamCode::AuthinfoUnavail
        );
        assert_eq!(
            account(&mut h, &mut d, &Options::default()),
            PamCode::AuthinfoUnavail
        );
    }

    #[test]
    fn invalid_names_are_unknown_and_never_sent() {
        for name in ["ALICE ", " alice", "a*", "a)(uid=*", ""] {
            let mut h = host(name, "pw");
            let mut d = Script {
                answer: auth(AuthCode::Success),
                asked: vec![],
            };
            assert_eq!(
                authenticate(&mut h, &mut d, &Options::default()),
                PamCode::UserUnknown
            );
            assert!(d.asked.is_empty());
            assert_eq!(h.prompts, 0);
        }
    }

    #[test]
    fn first_pass_options() {
        let opts = Options::parse(["use_first_pass"]);
        let mut h = Host {
            user: Some("alice".into()),
            item: Some(b"earlier".to_vec()),
            ..Default::default()
        };
        let mut d = Script {
            answer: auth(AuthCode::Success),
            asked: vec![],
        };
        assert_eq!(authenticate(&mut h, &mut d, &opts), PamCode::Success);
        assert_eq!(h.prompts, 0);
        // use_first_pass without an item: fail, never prompt.
        let mut h = host("alice", "typed");
        assert_eq!(authenticate(&mut h, &mut d, &opts), PamCode::AuthErr);
        assert_eq!(h.prompts, 0);
        // try_first_pass without an item: prompt.
        let opts = Options::parse(["try_first_pass", "debug", "bogus"]);
        assert!(opts.debug);
        assert_eq!(opts.unknown, vec!["bogus".to_string()]);
        let mut h = host("alice", "typed");
        assert_eq!(authenticate(&mut h, &mut d, &opts), PamCode::Success);
        assert_eq!(h.prompts, 1);
        assert!(h.logs.iter().any(|l| l.contains("bogus")));
    }

    #[test]
    fn conversation_failure_is_conv_err() {
        let mut h = Host {
            user: Some("alice".into()),
            ..Default::default()
        };
        let mut d = Script {
            answer: auth(AuthCode::Success),
            asked: vec![],
        };
        assert_eq!(
            authenticate(&mut h, &mut d, &Options::default()),
            PamCode::ConvErr
        );
        assert!(d.asked.is_empty());
    }

    #[test]
    fn account_denied_shows_the_message() {
        let mut h = host("alice", "");
        let mut d = Script {
            answer: Some(Response::Auth {
                code: AuthCode::AccountDenied,
                message: "not a member of an allowed group".into(),
            }),
            asked: vec![],
        };
        assert_eq!(
            account(&mut h, &mut d, &Options::default()),
            PamCode::PermDenied
        );
        assert_eq!(
            h.shown,
            vec!["not a member of an allowed group".to_string()]
        );
        d.answer = auth(AuthCode::Success);
        assert_eq!(
            account(&mut h, &mut d, &Options::default()),
            PamCode::Success
        );
        d.answer = auth(AuthCode::UserUnknown);
        assert_eq!(
            account(&mut h, &mut d, &Options::default()),
            PamCode::UserUnknown
        );
        d.answer = Some(Response::Error {
            code: ErrorCode::Internal,
            message: "x".into(),
        });
        assert_eq!(
            account(&mut h, &mut d, &Options::default()),
            PamCode::PermDenied
        );
    }

    /// Answers requests in order from a list and records them.
    struct Seq {
        answers: std::collections::VecDeque<Response>,
        asked: Vec<Request>,
    }

    impl Daemon for Seq {
        fn call(&mut self, req: &Request) -> Result<Response, ClientError> {
            self.asked.push(req.clone());
            self.answers
                .pop_front()
                .ok_or_else(|| ClientError::Unavailable(io::Error::from(io::ErrorKind::NotFound)))
        }
    }

    fn seq(answers: Vec<Response>) -> Seq {
        Seq {
            answers: answers.into(),
            asked: vec![],
        }
    }

    fn msg(code: AuthCode, m: &str) -> Response {
        Response::Auth {
            code,
            message: m.into(),
        }
    }

    fn alice() -> Response {
        Response::User(crate::protocol::Passwd {
            name: "alice".into(),
            uid: 10001,
            gid: 10001,
            gecos: String::new(),
            dir: "/home/alice".into(),
            shell: "/bin/sh".into(),
        })
    }

    fn typing(user: &str, lines: &[&str]) -> Host {
        Host {
            user: Some(user.into()),
            inputs: lines.iter().map(|l| l.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn account_shows_warnings_as_info_and_maps_new_codes() {
        let mut h = host("alice", "");
        let mut d = Script {
            answer: Some(msg(
                AuthCode::Success,
                "Warning: your password will expire in 3 days.",
            )),
            asked: vec![],
        };
        assert_eq!(
            account(&mut h, &mut d, &Options::default()),
            PamCode::Success
        );
        assert_eq!(
            h.infos,
            vec!["Warning: your password will expire in 3 days.".to_string()]
        );
        assert!(h.shown.is_empty());
        d.answer = Some(msg(
            AuthCode::NewAuthtokRequired,
            "You are required to change your password immediately (password expired).",
        ));
        assert_eq!(
            account(&mut h, &mut d, &Options::default()),
            PamCode::NewAuthtokReqd
        );
        assert_eq!(h.shown.len(), 1);
        d.answer = Some(msg(
            AuthCode::Expired,
            "Your account has expired.\nPlease contact your administrator.",
        ));
        assert_eq!(
            account(&mut h, &mut d, &Options::default()),
            PamCode::AcctExpired
        );
        assert_eq!(h.shown.len(), 3, "two lines, two messages: {:?}", h.shown);
        d.answer = Some(msg(AuthCode::PasswordRejected, "x"));
        assert_eq!(
            account(&mut h, &mut d, &Options::default()),
            PamCode::PermDenied
        );
    }

    #[test]
    fn authenticate_shows_grace_warning_and_never_succeeds_on_odd_codes() {
        let mut h = host("alice", "pw");
        let mut d = Script {
            answer: Some(msg(
                AuthCode::Success,
                "Your password has expired; 1 grace login left.",
            )),
            asked: vec![],
        };
        assert_eq!(
            authenticate(&mut h, &mut d, &Options::default()),
            PamCode::Success
        );
        assert_eq!(h.infos.len(), 1);
        for code in [AuthCode::NewAuthtokRequired, AuthCode::PasswordRejected] {
            d.answer = auth(code);
            assert_eq!(
                authenticate(&mut h, &mut d, &Options::default()),
                PamCode::AuthErr
            );
        }
        d.answer = Some(msg(AuthCode::AccountDenied, "Your account is locked."));
        assert_eq!(
            authenticate(&mut h, &mut d, &Options::default()),
            PamCode::PermDenied
        );
        assert_eq!(h.shown, vec!["Your account is locked.".to_string()]);
    }

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
}
