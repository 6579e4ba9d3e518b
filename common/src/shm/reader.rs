//! The reader's side of the map: a bounds-checked, volatile view of the mapped bytes, and the
//! seqlock-protected lookup the NSS module runs inside every process.

use crate::shm::layout::{
    checksum, now_ms, Geometry, Kind, F_ID, F_NAME, F_NEGATIVE, HEADER, MAGIC, MAX_CHAIN,
    MAX_RECORD, OFF_BUCKETS, OFF_DATA_USED, OFF_GENERATION, OFF_LEN, OFF_MAGIC, OFF_MIN_GID,
    OFF_MIN_UID, OFF_SEQ, OFF_SUPERSEDED, OFF_VERSION, REC, R_EXPIRES, R_ID, R_META, R_NEXT_ID,
    R_NEXT_NAME, R_PAYLOAD_LEN, R_REFRESH, R_SUM, R_TOTAL, VERSION,
};
use std::sync::atomic::{fence, AtomicU64, Ordering};

/// Retries when the writer was busy.
const MAX_RETRIES: usize = 8;

/// Result of a map lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Hit {
    /// The record's payload (a protocol response payload), copied out and verified.
    Found(Vec<u8>),
    /// The daemon knows there is no such entry.
    Negative,
    /// Not in the map, expired, due for refresh, being written, or the map is unusable.
    Miss,
}

/// A read-only view of a mapped file. All reads are bounds-checked and volatile.
#[derive(Clone, Copy)]
pub struct MapView {
    base: *const u8,
    len: usize,
}

// SAFETY: the view only reads through volatile/atomic loads; sharing it between threads is as
// safe as sharing the mapping itself.
unsafe impl Send for MapView {}
// SAFETY: as above.
unsafe impl Sync for MapView {}

/// The header of one record as read from the shared bytes: not trusted until the seqlock and
/// the checksum say so.
struct RecordHead {
    total: usize,
    /// The next record of the chain being walked (by name or by id).
    next: usize,
    id: u32,
    refresh: u64,
    expires: u64,
    kind: u8,
    flags: u8,
    key_len: usize,
    payload_len: usize,
    sum: u32,
}

impl MapView {
    /// # Safety
    /// `base` points to `len` readable bytes that stay mapped for the life of the view, and
    /// `base` is 8-byte aligned (mmap gives page alignment).
    pub unsafe fn new(base: *const u8, len: usize) -> MapView {
        MapView { base, len }
    }

    pub fn base(&self) -> *const u8 {
        self.base
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn u32_at(&self, off: usize) -> Option<u32> {
        if !off.is_multiple_of(4) || off.checked_add(4)? > self.len {
            return None;
        }
        // SAFETY: in bounds and aligned (checked above); volatile because another process may
        // be writing it (the seqlock discards what we read then).
        Some(unsafe { std::ptr::read_volatile(self.base.add(off).cast::<u32>()) })
    }

    pub(crate) fn u64_at(&self, off: usize) -> Option<u64> {
        if !off.is_multiple_of(8) || off.checked_add(8)? > self.len {
            return None;
        }
        // SAFETY: as in u32_at.
        Some(unsafe { std::ptr::read_volatile(self.base.add(off).cast::<u64>()) })
    }

    fn u8_at(&self, off: usize) -> Option<u8> {
        if off >= self.len {
            return None;
        }
        // SAFETY: in bounds.
        Some(unsafe { std::ptr::read_volatile(self.base.add(off)) })
    }

    fn copy(&self, off: usize, n: usize, out: &mut Vec<u8>) -> Option<()> {
        let end = off.checked_add(n)?;
        if end > self.len {
            return None;
        }
        out.clear();
        out.reserve(n);
        let mut i = off;
        // Bytes up to 8-byte alignment, then whole words (8x fewer volatile loads for the
        // large records: a 5,000-member group is 60 KB), then the tail.
        while i < end && !i.is_multiple_of(8) {
            // SAFETY: i < end <= len.
            out.push(unsafe { std::ptr::read_volatile(self.base.add(i)) });
            i += 1;
        }
        while i + 8 <= end {
            // SAFETY: i + 8 <= end <= len and i is 8-aligned (base is page-aligned).
            let w = unsafe { std::ptr::read_volatile(self.base.add(i).cast::<u64>()) };
            out.extend_from_slice(&w.to_ne_bytes());
            i += 8;
        }
        while i < end {
            // SAFETY: i < end <= len.
            out.push(unsafe { std::ptr::read_volatile(self.base.add(i)) });
            i += 1;
        }
        Some(())
    }

    fn seq(&self) -> Option<&AtomicU64> {
        if self.len < HEADER {
            return None;
        }
        // SAFETY: offset 8 is inside the header and 8-byte aligned; AtomicU64 has the layout
        // of u64.
        Some(unsafe { &*self.base.add(OFF_SEQ).cast::<AtomicU64>() })
    }

    /// Checks the header: our magic and version, and the length the writer declared equals the
    /// length we mapped (a truncated or foreign file fails here).
    pub fn valid(&self) -> bool {
        self.len >= HEADER
            && self.u64_at(OFF_MAGIC) == Some(MAGIC)
            && self.u32_at(OFF_VERSION) == Some(VERSION)
            && self.u64_at(OFF_LEN) == Some(self.len as u64)
            && self.geometry().is_some()
    }

    /// True when the daemon replaced this file: map the path again.
    pub fn superseded(&self) -> bool {
        self.u32_at(OFF_SUPERSEDED) != Some(0)
    }

    /// Where the tables and the data area are, per the header's bucket count.
    pub(crate) fn geometry(&self) -> Option<Geometry> {
        Geometry::of(self.u32_at(OFF_BUCKETS)? as usize, self.len)
    }

    /// The header of the record at `at`; `next_field` says which chain is walked.
    fn head(&self, at: usize, next_field: usize) -> Option<RecordHead> {
        Some(RecordHead {
            total: self.u32_at(at + R_TOTAL)? as usize,
            next: self.u32_at(at + next_field)? as usize,
            id: self.u32_at(at + R_ID)?,
            refresh: self.u64_at(at + R_REFRESH)?,
            expires: self.u64_at(at + R_EXPIRES)?,
            kind: self.u8_at(at + R_META)?,
            flags: self.u8_at(at + R_META + 1)?,
            key_len: self.u32_at(at + R_META)? as usize >> 16, // bytes 34..36
            payload_len: self.u32_at(at + R_PAYLOAD_LEN)? as usize,
            sum: self.u32_at(at + R_SUM)?,
        })
    }

    /// One attempt: walk the chain and copy out the matching record. Not yet validated
    /// against the seqlock.
    fn find(
        &self,
        kind: Kind,
        name: Option<&[u8]>,
        id: Option<u32>,
        now: u64,
        out: &mut Vec<u8>,
    ) -> Option<Hit> {
        let g = self.geometry()?;
        let used = usize::try_from(self.u64_at(OFF_DATA_USED)?)
            .ok()?
            .min(g.data_len);
        let (slot, next_field) = match (name, id) {
            (Some(n), _) => (g.name_slot(n), R_NEXT_NAME),
            (None, Some(i)) => (g.id_slot(i), R_NEXT_ID),
            (None, None) => return None,
        };
        let mut off = self.u32_at(slot)? as usize;
        let mut steps = 0;
        while off != 0 {
            steps += 1;
            if steps > MAX_CHAIN || !off.is_multiple_of(8) || off.checked_add(REC)? > used {
                return None;
            }
            let at = g.data + off;
            let h = self.head(at, next_field)?;
            if h.total < REC
                || off.checked_add(h.total)? > used
                || REC + h.key_len + h.payload_len > h.total
                || h.total > MAX_RECORD
            {
                return None;
            }
            let matches = h.kind == kind as u8
                && match (name, id) {
                    (Some(n), _) => {
                        h.flags & F_NAME != 0 && h.key_len == n.len() && {
                            self.copy(at + REC, h.key_len, out)?;
                            out.as_slice() == n
                        }
                    }
                    (None, Some(i)) => h.flags & F_ID != 0 && h.id == i,
                    _ => false,
                };
            if matches {
                return self.served(&h, at, now, out);
            }
            // Chains go from newer (higher offsets) to older records only.
            if h.next >= off {
                return None;
            }
            off = h.next;
        }
        Some(Hit::Miss)
    }

    /// What a matching record answers: a miss when it is expired or due for refresh, else its
    /// payload (or "negative") once its checksum holds.
    fn served(&self, h: &RecordHead, at: usize, now: u64, out: &mut Vec<u8>) -> Option<Hit> {
        if now >= h.expires || now >= h.refresh {
            return Some(Hit::Miss);
        }
        self.copy(at + REC, h.key_len + h.payload_len, out)?;
        let (key, payload) = out.split_at(h.key_len);
        if checksum(h.kind, h.flags, h.id, key, payload) != h.sum {
            return None;
        }
        if h.flags & F_NEGATIVE != 0 {
            return Some(Hit::Negative);
        }
        out.drain(..h.key_len);
        Some(Hit::Found(std::mem::take(out)))
    }

    /// Looks up a record by name (`name`) or id, under the seqlock.
    pub fn lookup(&self, kind: Kind, name: Option<&str>, id: Option<u32>) -> Hit {
        let Some(seq) = self.seq() else {
            return Hit::Miss;
        };
        let now = now_ms();
        let mut scratch = Vec::new();
        for _ in 0..MAX_RETRIES {
            let s1 = seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let found = self.find(kind, name.map(str::as_bytes), id, now, &mut scratch);
            fence(Ordering::Acquire);
            let s2 = seq.load(Ordering::Relaxed);
            if s1 == s2 {
                return found.unwrap_or(Hit::Miss);
            }
        }
        Hit::Miss
    }

    pub fn generation(&self) -> u64 {
        self.u64_at(OFF_GENERATION).unwrap_or(0)
    }

    /// The writer's `min_uid` and `min_gid` (0 each when it did not say).
    pub fn limits(&self) -> (u32, u32) {
        (
            self.u32_at(OFF_MIN_UID).unwrap_or(0),
            self.u32_at(OFF_MIN_GID).unwrap_or(0),
        )
    }
}
