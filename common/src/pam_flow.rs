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
                AuthCode::Denied | AuthCode::Refused => PamCode::AuthErr,
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
            if matches!(code, AuthCode::AccountDenied | AuthCode::Expired) && !message.is_empty() {
                host.error_message(&message);
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
                AuthCode::Denied | AuthCode::AccountDenied | AuthCode::Refused => {
                    PamCode::PermDenied
                }
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
            if pc != PamCode::Success && pc != PamCode::UserUnknown && !message.is_empty() {
                host.error_message(&message);
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
        logs: Vec<String>,
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
        fn prompt_password(&mut self, _: &str) -> Result<Secret, PamCode> {
            self.prompts += 1;
            self.typed.clone().map(Secret::new).ok_or(PamCode::ConvErr)
        }
        fn error_message(&mut self, m: &str) {
            self.shown.push(m.into());
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
}
