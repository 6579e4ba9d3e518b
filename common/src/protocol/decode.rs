//! Bytes to requests and responses (owned). A payload must be used up exactly: trailing
//! bytes are an error.

use super::decode_error::DecodeError;
use super::entries::{Group, Passwd};
use super::reader::Reader;
use super::request::{PamContext, Request};
use super::response::{AuthCode, ErrorCode, Response};
use super::secret::Secret;

fn decode_ctx(r: &mut Reader<'_>) -> Result<PamContext, DecodeError> {
    Ok(PamContext {
        service: r.string()?,
        rhost: r.string()?,
        tty: r.string()?,
    })
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
