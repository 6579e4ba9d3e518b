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
//!
//! Where things are: the constants in `wire`, the frame header in `header`; the messages in
//! `request`, `response`, `entries` (passwd and group) and `secret`; bytes out in `encode`
//! (over the primitives of `writer`; an enumeration entry by entry in `list_frame`), bytes
//! in in `decode` and, without copying, in
//! `decode_borrowed` (over the checked primitives of `reader`); errors in `decode_error`.

mod decode;
mod decode_borrowed;
mod decode_error;
mod encode;
mod entries;
mod header;
mod list_frame;
mod reader;
mod request;
mod response;
mod secret;
#[cfg(test)]
mod tests;
mod wire;
mod writer;

pub use decode::{decode_request, decode_response};
pub use decode_borrowed::{decode_response_ref, PayloadCursor};
pub use decode_error::DecodeError;
pub use encode::{frame_request, frame_response, group_payload, user_payload};
pub use entries::{Group, GroupRef, Passwd, PasswdRef};
pub use header::{header, parse_header};
pub use list_frame::{ListFrame, ListMark};
pub use request::{PamContext, Request};
pub use response::{AuthCode, ErrorCode, Response, ResponseRef};
pub use secret::Secret;
pub use wire::{
    HEADER_LEN, MAGIC, MAX_REQUEST, MAX_RESPONSE, MAX_SSH_KEYS, MAX_SSH_KEY_LINE, MAX_STRING,
    VERSION,
};
