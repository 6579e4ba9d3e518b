//! Requests and responses to bytes: whole frames, and the payloads the daemon stores in the
//! shared map.

use super::entries::{Group, Passwd};
use super::request::{PamContext, Request};
use super::response::Response;
use super::wire::HEADER_LEN;
use super::writer::Writer;
use zeroize::Zeroizing;

/// A whole frame (header + payload) for a request, wiped when dropped: it may carry a
/// password. It is written into one buffer of its exact size (counted first), so no
/// reallocation leaves an unwiped copy of the password in freed memory.
pub fn frame_request(req: &Request) -> Zeroizing<Vec<u8>> {
    let len = request_len(req);
    let mut w = Writer::with_capacity(HEADER_LEN.saturating_add(len));
    w.header(len);
    encode_request(&mut w, req);
    Zeroizing::new(w.into_bytes())
}

/// The exact length of `req`'s payload.
fn request_len(req: &Request) -> usize {
    let mut c = Writer::counter();
    encode_request(&mut c, req);
    c.len()
}

/// The payload of `Response::User(p)`, encoded from a borrowed entry.
pub fn user_payload(p: &Passwd) -> Vec<u8> {
    let mut w = Writer::growing();
    w.u8(1);
    encode_passwd(&mut w, p);
    w.into_bytes()
}

/// The payload of `Response::Group(g)`, encoded from a borrowed entry.
pub fn group_payload(g: &Group) -> Vec<u8> {
    let mut w = Writer::growing();
    w.u8(3);
    encode_group(&mut w, g);
    w.into_bytes()
}

/// A whole frame (header + payload) for a response. Responses carry no password: the
/// buffer grows as it is written, the header is filled in at the end.
pub fn frame_response(resp: &Response) -> Vec<u8> {
    let mut w = Writer::frame();
    encode_response(&mut w, resp);
    w.into_frame()
}

fn encode_ctx(w: &mut Writer, c: &PamContext) {
    w.str(&c.service);
    w.str(&c.rhost);
    w.str(&c.tty);
}

fn encode_request(w: &mut Writer, req: &Request) {
    match req {
        Request::UserByName(n) => {
            w.u8(1);
            w.str(n);
        }
        Request::UserByUid(u) => {
            w.u8(2);
            w.u32(*u);
        }
        Request::AllUsers => w.u8(3),
        Request::GroupByName(n) => {
            w.u8(4);
            w.str(n);
        }
        Request::GroupByGid(g) => {
            w.u8(5);
            w.u32(*g);
        }
        Request::AllGroups => w.u8(6),
        Request::GroupsOfUser(n) => {
            w.u8(7);
            w.str(n);
        }
        Request::Authenticate {
            user,
            password,
            ctx,
        } => {
            w.u8(8);
            w.str(user);
            w.bytes(password.expose());
            encode_ctx(w, ctx);
        }
        Request::AccountCheck { user, ctx } => {
            w.u8(9);
            w.str(user);
            encode_ctx(w, ctx);
        }
        Request::Status => w.u8(10),
        Request::FlushCache => w.u8(11),
        Request::Explain(inner) => {
            // Length-prefixed like `bytes`, written in place: no second buffer.
            w.u8(12);
            w.count(request_len(inner));
            encode_request(w, inner);
        }
        Request::ChangePassword {
            user,
            old,
            new,
            ctx,
        } => {
            w.u8(13);
            w.str(user);
            match old {
                Some(o) => {
                    w.u8(1);
                    w.bytes(o.expose());
                }
                None => w.u8(0),
            }
            w.bytes(new.expose());
            encode_ctx(w, ctx);
        }
        Request::SshKeys { user } => {
            w.u8(14);
            w.str(user);
        }
        Request::CacheShow { user } => {
            w.u8(15);
            w.str(user);
        }
        Request::CacheForget { user } => {
            w.u8(16);
            w.str(user);
        }
    }
}

pub(super) fn encode_passwd(w: &mut Writer, p: &Passwd) {
    w.str(&p.name);
    w.u32(p.uid);
    w.u32(p.gid);
    w.str(&p.gecos);
    w.str(&p.dir);
    w.str(&p.shell);
}

pub(super) fn encode_group(w: &mut Writer, g: &Group) {
    w.str(&g.name);
    w.u32(g.gid);
    w.count(g.members.len());
    for m in &g.members {
        w.str(m);
    }
}

fn encode_response(w: &mut Writer, resp: &Response) {
    match resp {
        Response::User(p) => {
            w.u8(1);
            encode_passwd(w, p);
        }
        Response::Users(list) => {
            w.u8(2);
            w.count(list.len());
            for p in list {
                encode_passwd(w, p);
            }
        }
        Response::Group(g) => {
            w.u8(3);
            encode_group(w, g);
        }
        Response::Groups(list) => {
            w.u8(4);
            w.count(list.len());
            for g in list {
                encode_group(w, g);
            }
        }
        Response::Gids(gids) => {
            w.u8(5);
            w.count(gids.len());
            for g in gids {
                w.u32(*g);
            }
        }
        Response::NotFound => w.u8(6),
        Response::Auth { code, message } => {
            w.u8(7);
            w.u8(*code as u8);
            w.str(message);
        }
        Response::Status(lines) => {
            w.u8(8);
            w.count(lines.len());
            for (k, v) in lines {
                w.str(k);
                w.str(v);
            }
        }
        Response::Ok => w.u8(9),
        Response::Error { code, message } => {
            w.u8(10);
            w.u8(*code as u8);
            w.str(message);
        }
        Response::SshKeys(lines) => {
            w.u8(11);
            w.count(lines.len());
            for l in lines {
                w.str(l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Secret;

    /// A request carrying passwords is written into a buffer allocated once at its exact
    /// size: the capacity asked for up front is the length, so it never grew.
    #[test]
    fn secret_requests_are_framed_without_reallocation() {
        let long = vec![b'x'; 5000];
        for req in [
            Request::Authenticate {
                user: "alice".into(),
                password: Secret::from_slice(&long),
                ctx: PamContext {
                    service: "sshd".into(),
                    rhost: "::1".into(),
                    tty: "ssh".into(),
                },
            },
            Request::ChangePassword {
                user: "alice".into(),
                old: Some(Secret::from_slice(b"old")),
                new: Secret::from_slice(&long),
                ctx: PamContext::default(),
            },
            Request::Explain(Box::new(Request::UserByName("bob".into()))),
        ] {
            let f = frame_request(&req);
            assert_eq!(f.capacity(), f.len(), "{req:?}");
            assert_eq!(f.len(), HEADER_LEN + request_len(&req));
        }
    }
}
