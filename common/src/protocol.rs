//! The module ↔ daemon protocol: versioned, length-prefixed binary frames.
//!
//! Frame = `MAGIC` (4 bytes) · version (u16 BE) · payload length (u32 BE) · payload.
//! The reader never trusts the peer's length: it is checked against a local cap before any
//! allocation ([`MAX_REQUEST`] on the daemon side, [`MAX_RESPONSE`] on the client side), and every
//! length inside the payload is checked against the bytes that are really left.
//!
//! The payload is a tag byte followed by the fields in a fixed order (see `encode`/`decode`).
//! Strings are u32 length + UTF-8 bytes; lists are u32 count + items. No serde, so the modules
//! stay small and the format is fuzzable by hand-written round trips.

use std::fmt;

pub const MAGIC: [u8; 4] = *b"LDRS";
pub const VERSION: u16 = 1;
pub const HEADER_LEN: usize = 10;
/// Largest request the daemon accepts (a name, a password, a few PAM items).
pub const MAX_REQUEST: usize = 64 * 1024;
/// Largest response a client accepts (a full enumeration of ~100k users fits).
pub const MAX_RESPONSE: usize = 64 * 1024 * 1024;
/// Longest single string field (names, gecos, paths, passwords).
pub const MAX_STRING: usize = 64 * 1024;

/// One passwd entry as the daemon answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub dir: String,
    pub shell: String,
}

/// One group entry as the daemon answers it; `members` are user names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// A passwd entry borrowing its strings from a payload (the NSS fast path packs straight from
/// the shared map's bytes into the caller's buffer, without allocating each string).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswdRef<'a> {
    pub name: &'a str,
    pub uid: u32,
    pub gid: u32,
    pub gecos: &'a str,
    pub dir: &'a str,
    pub shell: &'a str,
}

/// A group entry borrowing its strings from a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRef<'a> {
    pub name: &'a str,
    pub gid: u32,
    pub members: Vec<&'a str>,
}

impl Passwd {
    pub fn borrowed(&self) -> PasswdRef<'_> {
        PasswdRef {
            name: &self.name,
            uid: self.uid,
            gid: self.gid,
            gecos: &self.gecos,
            dir: &self.dir,
            shell: &self.shell,
        }
    }
}

impl Group {
    pub fn borrowed(&self) -> GroupRef<'_> {
        GroupRef {
            name: &self.name,
            gid: self.gid,
            members: self.members.iter().map(String::as_str).collect(),
        }
    }
}

/// The answers the NSS fast path reads, borrowed from the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseRef<'a> {
    User(PasswdRef<'a>),
    Group(GroupRef<'a>),
    Gids(Vec<u32>),
    /// Anything else (decode it with [`decode_response`]).
    Other,
}

/// Context of a PAM call, for access rules and logs.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PamContext {
    pub service: String,
    pub rhost: String,
    pub tty: String,
}

/// A password on its way to the daemon. Its `Debug` never shows it, and it is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned &mut u8; the volatile write keeps the compiler from
            // eliding the wipe of a buffer that is about to be freed.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

/// What a module or ldaprsctl asks the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    UserByName(String),
    UserByUid(u32),
    AllUsers,
    GroupByName(String),
    GroupByGid(u32),
    AllGroups,
    /// Supplementary gids of a user (for `initgroups_dyn`).
    GroupsOfUser(String),
    Authenticate {
        user: String,
        password: Secret,
        ctx: PamContext,
    },
    AccountCheck {
        user: String,
        ctx: PamContext,
    },
    Status,
    FlushCache,
    /// Answer a lookup and say how: cache state, servers asked, bases and filters (ldaprsctl
    /// `user show` / `group show`). Only lookups can be explained.
    Explain(Box<Request>),
    /// Change a user's password with the LDAP Password Modify extended operation (RFC 3062).
    /// `old: None` is a reset by root (through the server block's `admin_dn`); the daemon
    /// refuses it from any other caller.
    ChangePassword {
        user: String,
        old: Option<Secret>,
        new: Secret,
        ctx: PamContext,
    },
}

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
    fn from_u8(v: u8) -> Option<Self> {
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
    fn from_u8(v: u8) -> Option<Self> {
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
}

/// Why a frame could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadMagic,
    UnsupportedVersion(u16),
    TooLarge(usize),
    Truncated,
    BadTag(u8),
    BadUtf8,
    TrailingBytes,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadMagic => write!(f, "not an ldaprs frame"),
            DecodeError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "protocol version {v} not supported (this side speaks {VERSION})"
                )
            }
            DecodeError::TooLarge(n) => write!(f, "frame of {n} bytes exceeds the local cap"),
            DecodeError::Truncated => write!(f, "frame truncated"),
            DecodeError::BadTag(t) => write!(f, "unknown tag {t}"),
            DecodeError::BadUtf8 => write!(f, "string is not UTF-8"),
            DecodeError::TrailingBytes => write!(f, "trailing bytes after the message"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Builds a frame header for a payload of `len` bytes.
pub fn header(len: usize) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    let len32 = u32::try_from(len).unwrap_or(u32::MAX);
    let version = VERSION.to_be_bytes();
    let length = len32.to_be_bytes();
    let parts = MAGIC.iter().chain(version.iter()).chain(length.iter());
    for (dst, src) in h.iter_mut().zip(parts) {
        *dst = *src;
    }
    h
}

/// Parses a frame header; returns the payload length after checking it against `cap`.
pub fn parse_header(h: &[u8; HEADER_LEN], cap: usize) -> Result<usize, DecodeError> {
    let [m0, m1, m2, m3, v0, v1, l0, l1, l2, l3] = *h;
    if [m0, m1, m2, m3] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let version = u16::from_be_bytes([v0, v1]);
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
    if len > cap {
        return Err(DecodeError::TooLarge(len));
    }
    Ok(len)
}

/// A whole frame (header + payload) for a request.
pub fn frame_request(req: &Request) -> Vec<u8> {
    let mut w = Writer::default();
    encode_request(&mut w, req);
    w.into_frame()
}

/// The payload of `Response::User(p)`, encoded from a borrowed entry.
pub fn user_payload(p: &Passwd) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(1);
    encode_passwd(&mut w, p);
    w.buf
}

/// The payload of `Response::Group(g)`, encoded from a borrowed entry.
pub fn group_payload(g: &Group) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(3);
    encode_group(&mut w, g);
    w.buf
}

/// A whole frame (header + payload) for a response.
pub fn frame_response(resp: &Response) -> Vec<u8> {
    let mut w = Writer::default();
    encode_response(&mut w, resp);
    w.into_frame()
}

#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn count(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn into_frame(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.buf.len());
        out.extend_from_slice(&header(self.buf.len()));
        out.extend_from_slice(&self.buf);
        out
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.rest.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = self.take(1)?;
        b.first().copied().ok_or(DecodeError::Truncated)
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        let arr: [u8; 4] = b.try_into().map_err(|_| DecodeError::Truncated)?;
        Ok(u32::from_be_bytes(arr))
    }
    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()? as usize;
        if n > MAX_STRING {
            return Err(DecodeError::TooLarge(n));
        }
        self.take(n)
    }
    fn str_ref(&mut self) -> Result<&'a str, DecodeError> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| DecodeError::BadUtf8)
    }
    fn string(&mut self) -> Result<String, DecodeError> {
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| DecodeError::BadUtf8)
    }
    /// A list count, bounded by what is left (each item takes at least `min_item` bytes), so a
    /// hostile count cannot make us reserve memory.
    fn count(&mut self, min_item: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item.max(1)) > self.rest.len() {
            return Err(DecodeError::Truncated);
        }
        Ok(n)
    }
    fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}

fn encode_ctx(w: &mut Writer, c: &PamContext) {
    w.str(&c.service);
    w.str(&c.rhost);
    w.str(&c.tty);
}

fn decode_ctx(r: &mut Reader<'_>) -> Result<PamContext, DecodeError> {
    Ok(PamContext {
        service: r.string()?,
        rhost: r.string()?,
        tty: r.string()?,
    })
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
            w.u8(12);
            let mut iw = Writer::default();
            encode_request(&mut iw, inner);
            w.bytes(&iw.buf);
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
    }
}

/// Decodes a request payload (without the header).
pub fn decode_request(payload: &[u8]) -> Result<Request, DecodeError> {
    let mut r = Reader { rest: payload };
    let req = match r.u8()? {
        1 => Request::UserByName(r.string()?),
        2 => Request::UserByUid(r.u32()?),
        3 => Request::AllUsers,
        4 => Request::GroupByName(r.string()?),
        5 => Request::GroupByGid(r.u32()?),
        6 => Request::AllGroups,
        7 => Request::GroupsOfUser(r.string()?),
        8 => {
            let user = r.string()?;
            let password = Secret::new(r.bytes()?.to_vec());
            let ctx = decode_ctx(&mut r)?;
            Request::Authenticate {
                user,
                password,
                ctx,
            }
        }
        9 => {
            let user = r.string()?;
            let ctx = decode_ctx(&mut r)?;
            Request::AccountCheck { user, ctx }
        }
        10 => Request::Status,
        11 => Request::FlushCache,
        12 => {
            let inner = decode_request(r.bytes()?)?;
            if matches!(
                inner,
                Request::Authenticate { .. } | Request::ChangePassword { .. } | Request::Explain(_)
            ) {
                return Err(DecodeError::BadTag(12));
            }
            Request::Explain(Box::new(inner))
        }
        13 => {
            let user = r.string()?;
            let old = match r.u8()? {
                0 => None,
                1 => Some(Secret::new(r.bytes()?.to_vec())),
                t => return Err(DecodeError::BadTag(t)),
            };
            let new = Secret::new(r.bytes()?.to_vec());
            let ctx = decode_ctx(&mut r)?;
            Request::ChangePassword {
                user,
                old,
                new,
                ctx,
            }
        }
        t => return Err(DecodeError::BadTag(t)),
    };
    r.finish()?;
    Ok(req)
}

fn encode_passwd(w: &mut Writer, p: &Passwd) {
    w.str(&p.name);
    w.u32(p.uid);
    w.u32(p.gid);
    w.str(&p.gecos);
    w.str(&p.dir);
    w.str(&p.shell);
}

fn decode_passwd(r: &mut Reader<'_>) -> Result<Passwd, DecodeError> {
    Ok(Passwd {
        name: r.string()?,
        uid: r.u32()?,
        gid: r.u32()?,
        gecos: r.string()?,
        dir: r.string()?,
        shell: r.string()?,
    })
}

fn encode_group(w: &mut Writer, g: &Group) {
    w.str(&g.name);
    w.u32(g.gid);
    w.count(g.members.len());
    for m in &g.members {
        w.str(m);
    }
}

fn decode_group(r: &mut Reader<'_>) -> Result<Group, DecodeError> {
    let name = r.string()?;
    let gid = r.u32()?;
    let n = r.count(4)?;
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        members.push(r.string()?);
    }
    Ok(Group { name, gid, members })
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
    }
}

/// Walks the entries of a `Users` or `Groups` payload one at a time, borrowing from it: a
/// 10,000-user enumeration is handed to glibc without building 60,000 strings first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadCursor {
    pos: usize,
    left: usize,
}

impl PayloadCursor {
    /// A cursor over a `Users` (`groups = false`) or `Groups` payload; None for anything else.
    pub fn new(payload: &[u8], groups: bool) -> Option<PayloadCursor> {
        let want = if groups { 4 } else { 2 };
        let mut r = Reader { rest: payload };
        if r.u8().ok()? != want {
            return None;
        }
        let left = r.u32().ok()? as usize;
        Some(PayloadCursor { pos: 5, left })
    }

    fn reader<'a>(&self, payload: &'a [u8]) -> Option<Reader<'a>> {
        (self.left > 0).then(|| Reader {
            rest: payload.get(self.pos..).unwrap_or_default(),
        })
    }

    /// The current user entry and the cursor past it (None at the end or on bad data).
    pub fn user<'a>(&self, payload: &'a [u8]) -> Option<(PasswdRef<'a>, PayloadCursor)> {
        let mut r = self.reader(payload)?;
        let before = r.rest.len();
        let p = PasswdRef {
            name: r.str_ref().ok()?,
            uid: r.u32().ok()?,
            gid: r.u32().ok()?,
            gecos: r.str_ref().ok()?,
            dir: r.str_ref().ok()?,
            shell: r.str_ref().ok()?,
        };
        Some((
            p,
            PayloadCursor {
                pos: self.pos + (before - r.rest.len()),
                left: self.left - 1,
            },
        ))
    }

    /// The current group entry and the cursor past it.
    pub fn group<'a>(&self, payload: &'a [u8]) -> Option<(GroupRef<'a>, PayloadCursor)> {
        let mut r = self.reader(payload)?;
        let before = r.rest.len();
        let name = r.str_ref().ok()?;
        let gid = r.u32().ok()?;
        let n = r.count(4).ok()?;
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            members.push(r.str_ref().ok()?);
        }
        Some((
            GroupRef { name, gid, members },
            PayloadCursor {
                pos: self.pos + (before - r.rest.len()),
                left: self.left - 1,
            },
        ))
    }
}

/// Decodes a user, group or gid-list payload without copying its strings.
pub fn decode_response_ref(payload: &[u8]) -> Result<ResponseRef<'_>, DecodeError> {
    let mut r = Reader { rest: payload };
    let resp = match r.u8()? {
        1 => ResponseRef::User(PasswdRef {
            name: r.str_ref()?,
            uid: r.u32()?,
            gid: r.u32()?,
            gecos: r.str_ref()?,
            dir: r.str_ref()?,
            shell: r.str_ref()?,
        }),
        3 => {
            let name = r.str_ref()?;
            let gid = r.u32()?;
            let n = r.count(4)?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(r.str_ref()?);
            }
            ResponseRef::Group(GroupRef { name, gid, members })
        }
        5 => {
            let n = r.count(4)?;
            let bytes = r.take(n.checked_mul(4).ok_or(DecodeError::Truncated)?)?;
            ResponseRef::Gids(
                bytes
                    .chunks_exact(4)
                    .map(|c| c.try_into().map(u32::from_be_bytes).unwrap_or(0))
                    .collect(),
            )
        }
        _ => return Ok(ResponseRef::Other),
    };
    r.finish()?;
    Ok(resp)
}

/// Decodes a response payload (without the header).
pub fn decode_response(payload: &[u8]) -> Result<Response, DecodeError> {
    let mut r = Reader { rest: payload };
    let resp = match r.u8()? {
        1 => Response::User(decode_passwd(&mut r)?),
        2 => {
            let n = r.count(28)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(decode_passwd(&mut r)?);
            }
            Response::Users(v)
        }
        3 => Response::Group(decode_group(&mut r)?),
        4 => {
            let n = r.count(12)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(decode_group(&mut r)?);
            }
            Response::Groups(v)
        }
        5 => {
            let n = r.count(4)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.u32()?);
            }
            Response::Gids(v)
        }
        6 => Response::NotFound,
        7 => {
            let c = r.u8()?;
            let code = AuthCode::from_u8(c).ok_or(DecodeError::BadTag(c))?;
            Response::Auth {
                code,
                message: r.string()?,
            }
        }
        8 => {
            let n = r.count(8)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push((r.string()?, r.string()?));
            }
            Response::Status(v)
        }
        9 => Response::Ok,
        10 => {
            let c = r.u8()?;
            let code = ErrorCode::from_u8(c).ok_or(DecodeError::BadTag(c))?;
            Response::Error {
                code,
                message: r.string()?,
            }
        }
        t => return Err(DecodeError::BadTag(t)),
    };
    r.finish()?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
