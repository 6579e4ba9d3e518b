//! The encoding primitives: big-endian integers, length-prefixed strings and counts, appended
//! to a buffer or only counted.
//!
//! Counting first lets a request that carries a password be written into one buffer of its
//! exact size: a `Vec` that grows leaves each older, smaller copy in freed memory, unwiped.

use super::header::header;
use super::wire::HEADER_LEN;

pub(super) struct Writer {
    buf: Vec<u8>,
    /// Bytes written so far (when counting: the bytes that would have been).
    written: usize,
    counting: bool,
}

impl Writer {
    /// A writer that only counts: `len()` is then the exact size of what was encoded.
    pub(super) fn counter() -> Self {
        Writer {
            buf: Vec::new(),
            written: 0,
            counting: true,
        }
    }

    /// A writer into a buffer allocated once for `capacity` bytes; it grows only if more is
    /// written.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(capacity),
            written: 0,
            counting: false,
        }
    }

    /// A writer of a whole frame: room for the header now, filled in by [`Writer::into_frame`].
    pub(super) fn frame() -> Self {
        let mut w = Writer::growing();
        w.raw(&[0u8; HEADER_LEN]);
        w
    }

    /// A writer into a buffer that grows as needed: only for what carries no secret.
    pub(super) fn growing() -> Self {
        Writer {
            buf: Vec::new(),
            written: 0,
            counting: false,
        }
    }

    fn raw(&mut self, b: &[u8]) {
        self.written = self.written.saturating_add(b.len());
        if !self.counting {
            self.buf.extend_from_slice(b);
        }
    }

    pub(super) fn u8(&mut self, v: u8) {
        self.raw(&[v]);
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.raw(&v.to_be_bytes());
    }
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
        self.raw(b);
    }
    pub(super) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    pub(super) fn count(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    /// The frame header for a payload of `len` bytes, written where the writer stands.
    pub(super) fn header(&mut self, len: usize) {
        self.raw(&header(len));
    }

    pub(super) fn len(&self) -> usize {
        self.written
    }

    /// Drops what was written after the first `len` bytes.
    pub(super) fn truncate(&mut self, len: usize) {
        if len < self.written {
            self.written = len;
            if !self.counting {
                self.buf.truncate(len);
            }
        }
    }

    /// Overwrites the four bytes at `at` with `v` (a count known only at the end).
    pub(super) fn patch_u32(&mut self, at: usize, v: u32) {
        if let Some(dst) = self.buf.get_mut(at..at.saturating_add(4)) {
            dst.copy_from_slice(&v.to_be_bytes());
        }
    }

    /// The bytes written.
    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes of a writer made by [`Writer::frame`], with the header filled in.
    pub(super) fn into_frame(mut self) -> Vec<u8> {
        let h = header(self.buf.len().saturating_sub(HEADER_LEN));
        for (dst, src) in self.buf.iter_mut().zip(h.iter()) {
            *dst = *src;
        }
        self.buf
    }
}
