use super::decode::{decode_request, decode_response};
use super::decode_borrowed::{decode_response_ref, PayloadCursor};
use super::decode_error::DecodeError;
use super::encode::{frame_request, frame_response, group_payload, user_payload};
use super::entries::{Group, Passwd};
use super::header::{header, parse_header};
use super::request::{PamContext, Request};
use super::response::{AuthCode, ErrorCode, Response, ResponseRef};
use super::secret::Secret;
use super::wire::{HEADER_LEN, MAX_REQUEST, MAX_RESPONSE};

fn roundtrip_req(req: Request) {
    let f = frame_request(&req);
    let h: [u8; HEADER_LEN] = f[..HEADER_LEN].try_into().unwrap();
    let len = parse_header(&h, MAX_REQUEST).unwrap();
    assert_eq!(len, f.len() - HEADER_LEN);
    assert_eq!(decode_request(&f[HEADER_LEN..]).unwrap(), req);
}

fn roundtrip_resp(resp: Response) {
    let f = frame_response(&resp);
    let h: [u8; HEADER_LEN] = f[..HEADER_LEN].try_into().unwrap();
    parse_header(&h, MAX_RESPONSE).unwrap();
    assert_eq!(decode_response(&f[HEADER_LEN..]).unwrap(), resp);
}

#[test]
fn requests_round_trip() {
    roundtrip_req(Request::UserByName("alice".into()));
    roundtrip_req(Request::UserByUid(10001));
    roundtrip_req(Request::AllUsers);
    roundtrip_req(Request::GroupByName("devs".into()));
    roundtrip_req(Request::GroupByGid(7));
    roundtrip_req(Request::AllGroups);
    roundtrip_req(Request::GroupsOfUser("bob".into()));
    roundtrip_req(Request::Authenticate {
        user: "alice".into(),
        password: Secret::new(b"s3cr\xffet".to_vec()),
        ctx: PamContext {
            service: "sshd".into(),
            rhost: "::1".into(),
            tty: "ssh".into(),
        },
    });
    roundtrip_req(Request::AccountCheck {
        user: "a".into(),
        ctx: PamContext::default(),
    });
    roundtrip_req(Request::Status);
    roundtrip_req(Request::FlushCache);
    roundtrip_req(Request::ChangePassword {
        user: "alice".into(),
        old: Some(Secret::new(b"old".to_vec())),
        new: Secret::new(b"n\xffew".to_vec()),
        ctx: PamContext::default(),
    });
    roundtrip_req(Request::ChangePassword {
        user: "alice".into(),
        old: None,
        new: Secret::new(b"new".to_vec()),
        ctx: PamContext {
            service: "passwd".into(),
            ..Default::default()
        },
    });
    roundtrip_req(Request::Explain(Box::new(Request::UserByName(
        "alice".into(),
    ))));
    // A password cannot be smuggled inside an explanation request.
    let auth = Request::Authenticate {
        user: "a".into(),
        password: Secret::new(b"p".to_vec()),
        ctx: PamContext::default(),
    };
    let f = frame_request(&Request::Explain(Box::new(auth)));
    assert!(decode_request(&f[HEADER_LEN..]).is_err());
}

#[test]
fn responses_round_trip() {
    let p = Passwd {
        name: "alice".into(),
        uid: 10001,
        gid: 10001,
        gecos: "Alice Liddell".into(),
        dir: "/home/alice".into(),
        shell: "/bin/bash".into(),
    };
    let g = Group {
        name: "devs".into(),
        gid: 20001,
        members: vec!["alice".into(), "bob".into()],
    };
    roundtrip_resp(Response::User(p.clone()));
    roundtrip_resp(Response::Users(vec![p.clone(), p]));
    roundtrip_resp(Response::Group(g.clone()));
    roundtrip_resp(Response::Groups(vec![g.clone(), g]));
    roundtrip_resp(Response::Gids(vec![1, 2, 3]));
    roundtrip_resp(Response::NotFound);
    for code in [
        AuthCode::Success,
        AuthCode::Denied,
        AuthCode::UserUnknown,
        AuthCode::Unavailable,
        AuthCode::AccountDenied,
        AuthCode::Expired,
        AuthCode::Refused,
        AuthCode::NewAuthtokRequired,
        AuthCode::PasswordRejected,
    ] {
        roundtrip_resp(Response::Auth {
            code,
            message: "no\nsecond line".into(),
        });
    }
    roundtrip_resp(Response::Status(vec![("a".into(), "b".into())]));
    roundtrip_resp(Response::Ok);
    roundtrip_resp(Response::Error {
        code: ErrorCode::Unavailable,
        message: "x".into(),
    });
}

#[test]
fn borrowed_payload_encoders_match() {
    let p = Passwd {
        name: "a".into(),
        uid: 1,
        gid: 2,
        gecos: "g".into(),
        dir: "/d".into(),
        shell: "/s".into(),
    };
    assert_eq!(
        user_payload(&p),
        frame_response(&Response::User(p.clone()))[HEADER_LEN..].to_vec()
    );
    let g = Group {
        name: "g".into(),
        gid: 3,
        members: vec!["x".into()],
    };
    assert_eq!(
        group_payload(&g),
        frame_response(&Response::Group(g.clone()))[HEADER_LEN..].to_vec()
    );
}

#[test]
fn borrowed_decoding_matches_owned() {
    let p = Passwd {
        name: "a".into(),
        uid: 1,
        gid: 2,
        gecos: "g".into(),
        dir: "/d".into(),
        shell: "/s".into(),
    };
    let f = frame_response(&Response::User(p.clone()));
    assert_eq!(
        decode_response_ref(&f[HEADER_LEN..]).unwrap(),
        ResponseRef::User(p.borrowed())
    );
    let g = Group {
        name: "g".into(),
        gid: 3,
        members: vec!["x".into(), "y".into()],
    };
    let f = frame_response(&Response::Group(g.clone()));
    assert_eq!(
        decode_response_ref(&f[HEADER_LEN..]).unwrap(),
        ResponseRef::Group(g.borrowed())
    );
    let f = frame_response(&Response::Gids(vec![4, 5]));
    assert_eq!(
        decode_response_ref(&f[HEADER_LEN..]).unwrap(),
        ResponseRef::Gids(vec![4, 5])
    );
    let f = frame_response(&Response::Ok);
    assert_eq!(
        decode_response_ref(&f[HEADER_LEN..]).unwrap(),
        ResponseRef::Other
    );
    for cut in HEADER_LEN + 1..f.len() {
        let _ = decode_response_ref(&f[HEADER_LEN..cut]);
    }
}

#[test]
fn cursor_walks_users_and_groups() {
    let users: Vec<Passwd> = (0..3)
        .map(|i| Passwd {
            name: format!("u{i}"),
            uid: i,
            gid: i,
            gecos: String::new(),
            dir: "/".into(),
            shell: "/bin/sh".into(),
        })
        .collect();
    let f = frame_response(&Response::Users(users.clone()));
    let payload = &f[HEADER_LEN..];
    let mut c = PayloadCursor::new(payload, false).unwrap();
    for u in &users {
        let (p, next) = c.user(payload).unwrap();
        assert_eq!(p, u.borrowed());
        c = next;
    }
    assert!(c.user(payload).is_none());
    assert!(PayloadCursor::new(payload, true).is_none());
    let groups = vec![Group {
        name: "g".into(),
        gid: 1,
        members: vec!["a".into()],
    }];
    let f = frame_response(&Response::Groups(groups.clone()));
    let payload = &f[HEADER_LEN..];
    let c = PayloadCursor::new(payload, true).unwrap();
    let (g, c) = c.group(payload).unwrap();
    assert_eq!(g, groups[0].borrowed());
    assert!(c.group(payload).is_none());
    // Truncated payloads end the walk, never panic.
    let f = frame_response(&Response::Users(users));
    for cut in HEADER_LEN..f.len() {
        let p = &f[HEADER_LEN..cut];
        if let Some(mut c) = PayloadCursor::new(p, false) {
            while let Some((_, n)) = c.user(p) {
                c = n;
            }
        }
    }
}

#[test]
fn secret_is_redacted_in_debug() {
    let req = Request::Authenticate {
        user: "alice".into(),
        password: Secret::new(b"hunter2".to_vec()),
        ctx: PamContext::default(),
    };
    let shown = format!("{req:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("redacted"));
    let req = Request::ChangePassword {
        user: "alice".into(),
        old: Some(Secret::new(b"hunter2".to_vec())),
        new: Secret::new(b"hunter3".to_vec()),
        ctx: PamContext::default(),
    };
    let shown = format!("{req:?}");
    assert!(!shown.contains("hunter"), "{shown}");
}

#[test]
fn header_rejects_oversize_bad_magic_and_version() {
    let mut h = header(MAX_REQUEST + 1);
    assert_eq!(
        parse_header(&h, MAX_REQUEST),
        Err(DecodeError::TooLarge(MAX_REQUEST + 1))
    );
    h[0] = b'X';
    assert_eq!(parse_header(&h, MAX_REQUEST), Err(DecodeError::BadMagic));
    let mut h = header(1);
    h[5] = 9;
    assert_eq!(
        parse_header(&h, MAX_REQUEST),
        Err(DecodeError::UnsupportedVersion(9))
    );
}

#[test]
fn hostile_counts_and_lengths_do_not_allocate() {
    // A Users response claiming 4 billion entries in 5 bytes.
    let payload = [2u8, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(decode_response(&payload), Err(DecodeError::Truncated));
    // A string claiming 4 GiB.
    let payload = [1u8, 0xff, 0xff, 0xff, 0xff];
    assert!(matches!(
        decode_request(&payload),
        Err(DecodeError::TooLarge(_))
    ));
    // Trailing garbage.
    let mut f = frame_request(&Request::AllUsers);
    f.push(0);
    assert_eq!(
        decode_request(&f[HEADER_LEN..]),
        Err(DecodeError::TrailingBytes)
    );
    // Every truncation of a valid frame fails cleanly.
    let f = frame_response(&Response::Group(Group {
        name: "g".into(),
        gid: 1,
        members: vec!["a".into(), "b".into()],
    }));
    for cut in HEADER_LEN..f.len() {
        assert!(decode_response(&f[HEADER_LEN..cut]).is_err());
    }
}

#[test]
fn random_bytes_never_panic() {
    // Deterministic xorshift so the test needs no crate.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for _ in 0..20_000 {
        let mut buf = vec![0u8; (x % 64) as usize];
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = (x & 0xff) as u8;
        }
        if let Some(first) = buf.first_mut() {
            *first %= 14;
        }
        let _ = decode_request(&buf);
        let _ = decode_response(&buf);
    }
}

#[test]
fn ssh_keys_round_trip_within_the_caps_one_line_each() {
    use super::wire::{MAX_SSH_KEYS, MAX_SSH_KEY_LINE};
    roundtrip_req(Request::SshKeys {
        user: "alice".into(),
    });
    roundtrip_req(Request::CacheShow {
        user: "alice".into(),
    });
    roundtrip_req(Request::CacheForget {
        user: "alice".into(),
    });
    roundtrip_resp(Response::SshKeys(Vec::new()));
    roundtrip_resp(Response::SshKeys(vec![
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL3E alice@laptop".into(),
        "no-pty,from=\"10.0.0.0/8\" ssh-rsa AAAAB3Nza".into(),
    ]));
    roundtrip_resp(Response::SshKeys(vec!["k".repeat(MAX_SSH_KEY_LINE); 2]));
    let decoded = |r: &Response| decode_response(&frame_response(r)[HEADER_LEN..]);
    // More keys or longer lines than the local caps, whatever the peer sends.
    let many = Response::SshKeys(vec!["k".into(); MAX_SSH_KEYS + 1]);
    assert_eq!(decoded(&many), Err(DecodeError::TooLarge(MAX_SSH_KEYS + 1)));
    let long = Response::SshKeys(vec!["k".repeat(MAX_SSH_KEY_LINE + 1)]);
    assert_eq!(
        decoded(&long),
        Err(DecodeError::TooLarge(MAX_SSH_KEY_LINE + 1))
    );
    // A line that would become two lines of authorized_keys (or end a C string).
    for bad in ["ssh-ed25519 AAAA\nssh-rsa BBBB", "a\rb", "a\0b"] {
        let r = Response::SshKeys(vec!["ssh-ed25519 AAAA".into(), bad.into()]);
        assert_eq!(decoded(&r), Err(DecodeError::LineBreak), "{bad:?}");
    }
    // A hostile count in a short payload allocates nothing.
    assert_eq!(
        decode_response(&[11, 0xff, 0xff, 0xff, 0xff]),
        Err(DecodeError::Truncated)
    );
}

/// An enumeration written entry by entry is the frame of the whole list, byte for byte; a
/// part rolled back leaves no trace.
#[test]
fn list_frames_equal_whole_frames_and_roll_back() {
    let users: Vec<Passwd> = (0..3)
        .map(|i| Passwd {
            name: format!("user{i}"),
            uid: 10000 + i,
            gid: 100,
            gecos: "G".into(),
            dir: format!("/home/user{i}"),
            shell: "/bin/sh".into(),
        })
        .collect();
    let mut f = super::ListFrame::users();
    f.push_user(&users[0]);
    let m = f.mark();
    f.push_user(&users[2]);
    f.rollback(m);
    f.push_user(&users[1]);
    f.push_user(&users[2]);
    assert_eq!(f.count(), 3);
    assert_eq!(f.finish(), frame_response(&Response::Users(users)));
    let groups = vec![Group {
        name: "devs".into(),
        gid: 20001,
        members: vec!["alice".into(), "bob".into()],
    }];
    let mut g = super::ListFrame::groups();
    g.push_group(&groups[0]);
    assert_eq!(g.finish(), frame_response(&Response::Groups(groups)));
    assert_eq!(
        super::ListFrame::users().finish(),
        frame_response(&Response::Users(vec![]))
    );
}
