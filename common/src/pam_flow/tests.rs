use super::account::account;
use super::authenticate::authenticate;
use super::host::{Daemon, Level, PamCode, PamHost};
use super::options::Options;
use super::password::MAX_PASSWORD;
use crate::client::ClientError;
use crate::protocol::{AuthCode, ErrorCode, PamContext, Request, Response, Secret};
use std::io;

#[derive(Default)]
pub(super) struct Host {
    pub(super) user: Option<String>,
    pub(super) item: Option<Vec<u8>>,
    pub(super) typed: Option<Vec<u8>>,
    pub(super) prompts: usize,
    pub(super) stored: Option<Vec<u8>>,
    pub(super) shown: Vec<String>,
    pub(super) infos: Vec<String>,
    pub(super) logs: Vec<String>,
    /// Answers to successive prompts (before falling back to `typed`).
    pub(super) inputs: std::collections::VecDeque<Vec<u8>>,
    pub(super) prompted: Vec<String>,
    pub(super) old_item: Option<Vec<u8>>,
    pub(super) root: bool,
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
pub(super) struct Script {
    pub(super) answer: Option<Response>,
    pub(super) asked: Vec<Request>,
}

impl Daemon for Script {
    fn call(&mut self, req: &Request) -> Result<Response, ClientError> {
        self.asked.push(req.clone());
        self.answer
            .clone()
            .ok_or_else(|| ClientError::Unavailable(io::Error::from(io::ErrorKind::NotFound)))
    }
}

pub(super) fn auth(code: AuthCode) -> Option<Response> {
    Some(Response::Auth {
        code,
        message: String::new(),
    })
}

pub(super) fn host(user: &str, typed: &str) -> Host {
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
pub(super) struct Seq {
    pub(super) answers: std::collections::VecDeque<Response>,
    pub(super) asked: Vec<Request>,
}

impl Daemon for Seq {
    fn call(&mut self, req: &Request) -> Result<Response, ClientError> {
        self.asked.push(req.clone());
        self.answers
            .pop_front()
            .ok_or_else(|| ClientError::Unavailable(io::Error::from(io::ErrorKind::NotFound)))
    }
}

pub(super) fn seq(answers: Vec<Response>) -> Seq {
    Seq {
        answers: answers.into(),
        asked: vec![],
    }
}

pub(super) fn msg(code: AuthCode, m: &str) -> Response {
    Response::Auth {
        code,
        message: m.into(),
    }
}

pub(super) fn alice() -> Response {
    Response::User(crate::protocol::Passwd {
        name: "alice".into(),
        uid: 10001,
        gid: 10001,
        gecos: String::new(),
        dir: "/home/alice".into(),
        shell: "/bin/sh".into(),
    })
}

pub(super) fn typing(user: &str, lines: &[&str]) -> Host {
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
