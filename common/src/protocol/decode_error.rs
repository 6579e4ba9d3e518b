//! [`DecodeError`] and its messages.

use super::wire::VERSION;
use std::fmt;

/// Why a frame could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadMagic,
    UnsupportedVersion(u16),
    TooLarge(usize),
    Truncated,
    BadTag(u8),
    /// An `Explain` around a request that cannot be explained (a password request, or another
    /// `Explain`: explanations are never nested).
    NotExplainable(u8),
    BadUtf8,
    TrailingBytes,
    /// A line of an answer that must be one line (an SSH key) holds a line break or NUL.
    LineBreak,
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
            DecodeError::NotExplainable(t) => {
                write!(f, "a request of tag {t} cannot be explained")
            }
            DecodeError::BadUtf8 => write!(f, "string is not UTF-8"),
            DecodeError::TrailingBytes => write!(f, "trailing bytes after the message"),
            DecodeError::LineBreak => write!(f, "line break or NUL inside a one-line field"),
        }
    }
}

impl std::error::Error for DecodeError {}
