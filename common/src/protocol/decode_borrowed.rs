//! Decoding without copying strings, for the NSS fast path: one user, group or gid list
//! ([`decode_response_ref`]), or an enumeration walked entry by entry ([`PayloadCursor`]).

use super::decode_error::DecodeError;
use super::entries::{GroupRef, PasswdRef};
use super::reader::Reader;
use super::response::ResponseRef;

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
