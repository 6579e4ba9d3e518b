//! The daemon's side of the map: the only writer, under the seqlock.

use crate::shm::layout::{
    checksum, Kind, F_ID, F_NAME, F_NEGATIVE, HEADER, MAGIC, MAX_RECORD, OFF_BUCKETS,
    OFF_DATA_USED, OFF_GENERATION, OFF_LEN, OFF_MAGIC, OFF_MIN_GID, OFF_MIN_UID, OFF_SEQ,
    OFF_SUPERSEDED, OFF_VERSION, REC, R_EXPIRES, R_ID, R_META, R_NEXT_ID, R_NEXT_NAME, R_PAD,
    R_PAYLOAD_LEN, R_REFRESH, R_SUM, R_TOTAL, VERSION,
};
use crate::shm::reader::MapView;
use std::sync::atomic::{fence, AtomicU64, Ordering};

/// The daemon's side: the only writer of a map (callers serialise with a Mutex).
pub struct MapWriter {
    base: *mut u8,
    len: usize,
}

// SAFETY: the writer owns its mapping; the daemon wraps it in a Mutex.
unsafe impl Send for MapWriter {}

/// Why a record was not stored.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteError {
    TooLarge,
}

impl MapWriter {
    /// Formats `len` bytes at `base` as an empty map with `buckets` buckets per table.
    ///
    /// # Safety
    /// `base` points to `len` writable, 8-byte aligned bytes that stay mapped while the writer
    /// lives, and no one else writes them.
    pub unsafe fn create(base: *mut u8, len: usize, buckets: u32) -> Option<MapWriter> {
        let w = MapWriter { base, len };
        if len < HEADER * 2 || !buckets.is_power_of_two() {
            return None;
        }
        w.begin();
        w.put_u64(OFF_MAGIC, MAGIC);
        w.put_u32(OFF_VERSION, VERSION);
        w.put_u32(OFF_SUPERSEDED, 0);
        w.put_u64(OFF_LEN, len as u64);
        w.put_u32(OFF_BUCKETS, buckets);
        w.view().geometry()?;
        w.clear_tables();
        w.end();
        Some(w)
    }

    /// Takes over an existing map of the right size (a daemon restart): readers keep their
    /// mapping; the content is cleared and the generation bumped.
    ///
    /// # Safety
    /// As for [`MapWriter::create`].
    pub unsafe fn reuse(base: *mut u8, len: usize) -> Option<MapWriter> {
        let w = MapWriter { base, len };
        if !w.view().valid() {
            return None;
        }
        w.reset();
        Some(w)
    }

    pub fn view(&self) -> MapView {
        // SAFETY: the writer's own mapping: `len` readable, 8-byte aligned bytes that stay
        // mapped while the writer lives (MapWriter::create's contract).
        unsafe { MapView::new(self.base, self.len) }
    }

    fn put_u32(&self, off: usize, v: u32) {
        if off.is_multiple_of(4) && off + 4 <= self.len {
            // SAFETY: in bounds, aligned, our mapping.
            unsafe { std::ptr::write_volatile(self.base.add(off).cast::<u32>(), v) };
        }
    }

    fn put_u64(&self, off: usize, v: u64) {
        if off.is_multiple_of(8) && off + 8 <= self.len {
            // SAFETY: in bounds, aligned, our mapping.
            unsafe { std::ptr::write_volatile(self.base.add(off).cast::<u64>(), v) };
        }
    }

    fn put_bytes(&self, off: usize, bytes: &[u8]) {
        if off + bytes.len() <= self.len {
            for (i, b) in bytes.iter().enumerate() {
                // SAFETY: in bounds (checked above), our mapping.
                unsafe { std::ptr::write_volatile(self.base.add(off + i), *b) };
            }
        }
    }

    fn seq(&self) -> &AtomicU64 {
        // SAFETY: the header is inside the mapping (len >= 2 pages) and offset 8 is aligned.
        unsafe { &*self.base.add(OFF_SEQ).cast::<AtomicU64>() }
    }

    fn begin(&self) {
        let s = self.seq().load(Ordering::Relaxed);
        self.seq().store(s | 1, Ordering::Relaxed);
        fence(Ordering::Release);
    }

    fn end(&self) {
        let s = self.seq().load(Ordering::Relaxed);
        self.seq().store((s | 1).wrapping_add(1), Ordering::Release);
    }

    fn clear_tables(&self) {
        if let Some(g) = self.view().geometry() {
            for i in 0..g.buckets * 2 {
                self.put_u32(g.names + 4 * i, 0);
            }
        }
        self.put_u64(OFF_DATA_USED, 8);
    }

    /// Drops every record (cache flush, daemon restart, full map).
    pub fn reset(&self) {
        self.begin();
        self.clear_tables();
        self.put_u64(OFF_GENERATION, self.view().generation().wrapping_add(1));
        self.end();
    }

    /// Records the daemon's `min_uid` and `min_gid` for readers to re-apply.
    pub fn set_limits(&self, min_uid: u32, min_gid: u32) {
        self.begin();
        self.put_u32(OFF_MIN_UID, min_uid);
        self.put_u32(OFF_MIN_GID, min_gid);
        self.end();
    }

    /// Tells readers that this file was replaced and they should map the path again.
    pub fn mark_superseded(&self) {
        self.begin();
        self.put_u32(OFF_SUPERSEDED, 1);
        self.end();
    }

    /// Stores one record, findable by `name` and/or `id`. When the data area is full, the map
    /// is cleared first (entries come back on their next lookup through the socket).
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &self,
        kind: Kind,
        name: Option<&str>,
        id: Option<u32>,
        negative: bool,
        payload: &[u8],
        refresh_ms: u64,
        expires_ms: u64,
    ) -> Result<(), WriteError> {
        let Some(g) = self.view().geometry() else {
            return Err(WriteError::TooLarge);
        };
        let key = name.map(str::as_bytes).unwrap_or_default();
        let total = (REC + key.len() + payload.len() + 7) & !7;
        if total > MAX_RECORD || total + 8 > g.data_len || key.len() > u16::MAX as usize {
            return Err(WriteError::TooLarge);
        }
        let mut used = self.view().u64_at(OFF_DATA_USED).unwrap_or(8) as usize;
        if used + total > g.data_len {
            self.reset();
            used = 8;
        }
        let flags = (if negative { F_NEGATIVE } else { 0 })
            | (if id.is_some() { F_ID } else { 0 })
            | (if name.is_some() { F_NAME } else { 0 });
        let rid = id.unwrap_or(0);
        let name_slot = name.map(|n| g.name_slot(n.as_bytes()));
        let id_slot = id.map(|i| g.id_slot(i));
        let view = self.view();
        let at = g.data + used;
        self.begin();
        self.put_u32(at + R_TOTAL, total as u32);
        let next_name = name_slot.and_then(|s| view.u32_at(s)).unwrap_or(0);
        self.put_u32(at + R_NEXT_NAME, next_name);
        let next_id = id_slot.and_then(|s| view.u32_at(s)).unwrap_or(0);
        self.put_u32(at + R_NEXT_ID, next_id);
        self.put_u32(at + R_ID, rid);
        self.put_u64(at + R_REFRESH, refresh_ms);
        self.put_u64(at + R_EXPIRES, expires_ms);
        self.put_u32(
            at + R_META,
            u32::from(kind as u8) | u32::from(flags) << 8 | (key.len() as u32) << 16,
        );
        self.put_u32(at + R_PAYLOAD_LEN, payload.len() as u32);
        self.put_u32(at + R_SUM, checksum(kind as u8, flags, rid, key, payload));
        self.put_u32(at + R_PAD, 0);
        self.put_bytes(at + REC, key);
        self.put_bytes(at + REC + key.len(), payload);
        if let Some(s) = name_slot {
            self.put_u32(s, used as u32);
        }
        if let Some(s) = id_slot {
            self.put_u32(s, used as u32);
        }
        self.put_u64(OFF_DATA_USED, (used + total) as u64);
        self.end();
        Ok(())
    }
}
