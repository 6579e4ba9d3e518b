//! Bytes to requests and responses (owned). A payload must be used up exactly: trailing
//! bytes are an error.

use super::decode_error::DecodeError;
use super::entries::{Group, Passwd};
use super::reader::Reader;
use super::request::{PamContext, Request};
use super::response::{AuthCode, ErrorCode, Response};
use super::secret::Secret;
use super::wire::{MAX_SSH_KEYS, MAX_SSH_KEY_LINE};

fn decode_ctx(r: &mut Reader<'_>) -> Result<PamContext, DecodeError> {
    Ok(PamContext {
        service: r.string()?,
        rhost: r.string()?,
        tty: r.string()?,
    })
}

/// Tags that may not stand inside an `Explain`: the two that carry passwords, and `Explain`
/// itself (an explanation is never nested).
const NOT_EXPLAINABLE: [u8; 3] = [8, 12, 13];

/// Decodes a request payload (without the header).
///
/// No recursion: an `Explain` holds one request that is decoded by [`decode_plain`], which
/// never decodes an `Explain` itself, and its tag is checked before anything of it is decoded.
/// (A frame of 13,000 nested `Explain`s once overflowed the daemon's stack.)
pub fn decode_request(payload: &[u8]) -> Result<Request, DecodeError> {
    let mut r = Reader { rest: payload };
    if r.u8()? != 12 {
        return decode_plain(payload);
    }
    let inner = r.bytes()?;
    r.finish()?;
    match inner.first() {
        Some(&t) if NOT_EXPLAINABLE.contains(&t) => Err(DecodeError::NotExplainable(t)),
        _ => Ok(Request::Explain(Box::new(decode_plain(inner)?))),
    }
}

/// Decodes any request but an `Explain` (whose tag is an error here).
fn decode_plain(payload: &[u8]) -> Result<Request, DecodeError> {
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
        14 => Request::SshKeys { user: r.string()? },
        15 => Request::CacheShow { user: r.string()? },
        16 => Request::CacheForget { user: r.string()? },
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

/// The lines of `SshKeys`, within the local caps (count, length) whatever the peer sends, and
/// never with a line break or NUL: each line becomes one line of sshd's authorized_keys.
fn decode_ssh_keys(r: &mut Reader<'_>) -> Result<Vec<String>, DecodeError> {
    let n = r.count(4)?;
    if n > MAX_SSH_KEYS {
        return Err(DecodeError::TooLarge(n));
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let line = r.string()?;
        if line.len() > MAX_SSH_KEY_LINE {
            return Err(DecodeError::TooLarge(line.len()));
        }
        if line.contains(['\n', '\r', '\0']) {
            return Err(DecodeError::LineBreak);
        }
        v.push(line);
    }
    Ok(v)
}

/// Decodes a response payload (without the header).
pub fn decode_response(payload: &[u8]) -> Result<Response, DecodeError> {
    let mut r = Reader { rest: payload };
    let resp = match r.u8()? {
        1 => Response::User(decode_passwd(&mut r)?),
        2 => {
            // The smallest entry: four empty strings' lengths and two ids (24 bytes).
            let n = r.count(24)?;
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
        11 => Response::SshKeys(decode_ssh_keys(&mut r)?),
        t => return Err(DecodeError::BadTag(t)),
    };
    r.finish()?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::{decode_request, DecodeError, Request};

    /// `Explain` around `inner`, as the encoder frames it (tag, u32 length, bytes).
    fn explain(inner: &[u8]) -> Vec<u8> {
        let mut v = vec![12];
        v.extend_from_slice(&(inner.len() as u32).to_be_bytes());
        v.extend_from_slice(inner);
        v
    }

    #[test]
    fn explain_holds_one_lookup_and_nesting_is_refused_without_recursion() {
        let lookup = [2, 0, 0, 0x27, 0x11]; // UserByUid(10001)
        assert_eq!(
            decode_request(&explain(&lookup)),
            Ok(Request::Explain(Box::new(Request::UserByUid(10001))))
        );
        assert_eq!(
            decode_request(&explain(&explain(&lookup))),
            Err(DecodeError::NotExplainable(12))
        );
        // 13,106 levels, as many as fit in a 64 KiB frame: refused at the second tag, on a
        // 64 KiB thread stack, where the recursive decoder overflowed. 20,000 do not fit: the
        // outer one's length is over MAX_STRING.
        for (levels, want) in [
            (13_106, DecodeError::NotExplainable(12)),
            (20_000, DecodeError::TooLarge(100_000)),
        ] {
            let mut deep = lookup.to_vec();
            for _ in 0..levels {
                deep = explain(&deep);
            }
            let got = std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || decode_request(&deep))
                .unwrap()
                .join()
                .unwrap();
            assert_eq!(got, Err(want));
        }
        // A password request inside, an empty or truncated inner request, trailing bytes.
        assert_eq!(
            decode_request(&explain(&[8, 0, 0, 0, 0])),
            Err(DecodeError::NotExplainable(8))
        );
        assert_eq!(
            decode_request(&explain(&[13])),
            Err(DecodeError::NotExplainable(13))
        );
        assert_eq!(decode_request(&explain(&[])), Err(DecodeError::Truncated));
        assert_eq!(decode_request(&[12, 0, 0]), Err(DecodeError::Truncated));
        let mut trailing = explain(&lookup);
        trailing.push(0);
        assert_eq!(decode_request(&trailing), Err(DecodeError::TrailingBytes));
    }
}
