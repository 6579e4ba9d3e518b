//! An enumeration answer (`Response::Users` / `Response::Groups`) written one entry at a time,
//! so that the daemon never holds the whole list: the frame is the only copy. Byte for byte
//! the frame `frame_response` makes of the same list.

use super::encode::{encode_group, encode_passwd};
use super::entries::{Group, Passwd};
use super::writer::Writer;

/// Where a list frame stood, to go back to (a part of the answer that failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListMark {
    len: usize,
    count: u32,
}

/// A list frame being written.
pub struct ListFrame {
    w: Writer,
    /// Where the entry count sits (filled in by [`ListFrame::finish`]).
    count_at: usize,
    count: u32,
}

impl ListFrame {
    fn new(tag: u8) -> ListFrame {
        let mut w = Writer::frame();
        w.u8(tag);
        let count_at = w.len();
        w.u32(0);
        ListFrame {
            w,
            count_at,
            count: 0,
        }
    }

    /// The frame of `Response::Users`.
    pub fn users() -> ListFrame {
        ListFrame::new(2)
    }

    /// The frame of `Response::Groups`.
    pub fn groups() -> ListFrame {
        ListFrame::new(4)
    }

    pub fn push_user(&mut self, p: &Passwd) {
        encode_passwd(&mut self.w, p);
        self.count = self.count.saturating_add(1);
    }

    pub fn push_group(&mut self, g: &Group) {
        encode_group(&mut self.w, g);
        self.count = self.count.saturating_add(1);
    }

    /// Entries written so far.
    pub fn count(&self) -> usize {
        self.count as usize
    }

    pub fn mark(&self) -> ListMark {
        ListMark {
            len: self.w.len(),
            count: self.count,
        }
    }

    /// Forgets what was written after `m`.
    pub fn rollback(&mut self, m: ListMark) {
        self.w.truncate(m.len);
        self.count = m.count;
    }

    /// The whole frame, header and count filled in.
    pub fn finish(mut self) -> Vec<u8> {
        self.w.patch_u32(self.count_at, self.count);
        self.w.into_frame()
    }
}
