//! The 10-byte frame header: `MAGIC` · version (u16 BE) · payload length (u32 BE).

use super::decode_error::DecodeError;
use super::wire::{HEADER_LEN, MAGIC, VERSION};

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
