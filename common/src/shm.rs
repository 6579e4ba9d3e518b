//! The shared-memory fast path: ldaprsd publishes cached passwd, group and initgroups answers
//! in a memory-mapped file (`/run/ldaprs/cache.map`) that the NSS module reads without a
//! socket round trip (SSSD's memcache and nscd's shared database are the anchors).
//!
//! Safety of the reader, which runs inside every process:
//! - **Concurrent writer**: a seqlock. The writer makes `seq` odd, writes, makes it even; the
//!   reader copies what it needs, then checks that `seq` did not move (else retries, a few
//!   times, then asks the socket). Reads of shared bytes are volatile; decisions are made only
//!   on the private copy.
//! - **Corrupt file**: every offset is bounds- and alignment-checked; a chain only walks to
//!   strictly smaller offsets (so it ends) and at most [`MAX_CHAIN`] steps; every record
//!   carries a checksum; the decoded record must carry the name or id that was asked. Anything
//!   odd is a miss, and a miss means "ask the socket".
//! - **Truncated or foreign file**: the header must carry our magic, version and a length that
//!   matches the file's size at map time. (The daemon never truncates the live file: it reuses
//!   it in place, or replaces it by rename and marks the old one superseded.)
//! - **Staleness**: each record has an expiry (CLOCK_MONOTONIC, milliseconds, shared by all
//!   processes of the boot); an expired record is not served. Past its `refresh` time the
//!   module asks the socket instead, so the daemon sees entries in use and refreshes them.
//!
//! Layout (little-endian, native u32/u64 at aligned offsets):
//! header (4096 bytes) · name buckets (u32 × n) · id buckets (u32 × n) · data area.
//! Offsets in buckets and chains are relative to the data area; 0 is "none".

use std::sync::atomic::{fence, AtomicU64, Ordering};

pub const MAP_PATH: &str = "/run/ldaprs/cache.map";
pub const MAGIC: u64 = u64::from_le_bytes(*b"LDRSMAP1");
pub const VERSION: u32 = 1;
const HEADER: usize = 4096;
const OFF_MAGIC: usize = 0;
const OFF_SEQ: usize = 8;
const OFF_VERSION: usize = 16;
const OFF_SUPERSEDED: usize = 20;
const OFF_LEN: usize = 24;
const OFF_BUCKETS: usize = 32;
const OFF_DATA_USED: usize = 48;
const OFF_GENERATION: usize = 56;
/// Record header size; key and payload follow.
const REC: usize = 48;
/// Longest chain walked before giving up (a miss).
pub const MAX_CHAIN: usize = 64;
/// Retries when the writer was busy.
const MAX_RETRIES: usize = 8;
/// Largest record copied out (a group of ~50,000 members).
pub const MAX_RECORD: usize = 4 * 1024 * 1024;

/// What a record answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Passwd = 1,
    Group = 2,
    Initgroups = 3,
}

const F_NEGATIVE: u8 = 1;
const F_ID: u8 = 2;
const F_NAME: u8 = 4;

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

/// Monotonic milliseconds (CLOCK_MONOTONIC_COARSE: same clock in every process of the boot,
/// read through the vDSO without a system call).
pub fn now_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1000)
        .saturating_add((ts.tv_nsec as u64) / 1_000_000)
}

/// FNV-1a over the name (bucket choice).
fn name_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in name {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn id_hash(id: u32) -> u32 {
    id.wrapping_mul(0x9e37_79b1)
}

/// Checksum over a record's identity and bytes (8 bytes at a time: fast, not cryptographic;
/// it catches corruption, not an attacker, who would need root to write the file).
fn checksum(kind: u8, flags: u8, id: u32, key: &[u8], payload: &[u8]) -> u32 {
    let mut h: u64 =
        0xcbf2_9ce4_8422_2325 ^ (u64::from(kind) << 40 | u64::from(flags) << 32 | u64::from(id));
    for part in [key, payload] {
        let mut chunks = part.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h ^ u64::from_le_bytes(w))
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(29);
        }
        for &b in chunks.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= part.len() as u64;
    }
    (h ^ (h >> 32)) as u32
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

    fn u32_at(&self, off: usize) -> Option<u32> {
        if !off.is_multiple_of(4) || off.checked_add(4)? > self.len {
            return None;
        }
        // SAFETY: in bounds and aligned (checked above); volatile because another process may
        // be writing it (the seqlock discards what we read then).
        Some(unsafe { std::ptr::read_volatile(self.base.add(off).cast::<u32>()) })
    }

    fn u64_at(&self, off: usize) -> Option<u64> {
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

    /// (buckets, name table offset, id table offset, data offset, data length)
    fn geometry(&self) -> Option<(usize, usize, usize, usize, usize)> {
        let buckets = self.u32_at(OFF_BUCKETS)? as usize;
        if buckets == 0 || !buckets.is_power_of_two() {
            return None;
        }
        let names = HEADER;
        let ids = names.checked_add(buckets.checked_mul(4)?)?;
        let data = ids.checked_add(buckets.checked_mul(4)?)?;
        let data = (data + 7) & !7;
        if data >= self.len {
            return None;
        }
        Some((buckets, names, ids, data, self.len - data))
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
        let (buckets, names, ids, data, data_len) = self.geometry()?;
        let used = usize::try_from(self.u64_at(OFF_DATA_USED)?)
            .ok()?
            .min(data_len);
        let (table, hash, next_field) = match (name, id) {
            (Some(n), _) => (names, name_hash(n), 4),
            (None, Some(i)) => (ids, id_hash(i), 8),
            (None, None) => return None,
        };
        let mut off = self.u32_at(table + 4 * (hash as usize & (buckets - 1)))? as usize;
        let mut steps = 0;
        while off != 0 {
            steps += 1;
            if steps > MAX_CHAIN || !off.is_multiple_of(8) || off.checked_add(REC)? > used {
                return None;
            }
            let at = data + off;
            let total = self.u32_at(at)? as usize;
            let next = self.u32_at(at + next_field)? as usize;
            let rid = self.u32_at(at + 12)?;
            let refresh = self.u64_at(at + 16)?;
            let expires = self.u64_at(at + 24)?;
            let rkind = self.u8_at(at + 32)?;
            let flags = self.u8_at(at + 33)?;
            let key_len = self.u32_at(at + 32)? as usize >> 16; // bytes 34..36
            let payload_len = self.u32_at(at + 36)? as usize;
            let sum = self.u32_at(at + 40)?;
            if total < REC
                || off.checked_add(total)? > used
                || REC + key_len + payload_len > total
                || total > MAX_RECORD
            {
                return None;
            }
            let kind_ok = rkind == kind as u8;
            let matches = kind_ok
                && match (name, id) {
                    (Some(n), _) => {
                        flags & F_NAME != 0 && key_len == n.len() && {
                            self.copy(at + REC, key_len, out)?;
                            out.as_slice() == n
                        }
                    }
                    (None, Some(i)) => flags & F_ID != 0 && rid == i,
                    _ => false,
                };
            if matches {
                if now >= expires || now >= refresh {
                    return Some(Hit::Miss);
                }
                self.copy(at + REC, key_len + payload_len, out)?;
                let (key, payload) = out.split_at(key_len);
                if checksum(rkind, flags, rid, key, payload) != sum {
                    return None;
                }
                if flags & F_NEGATIVE != 0 {
                    return Some(Hit::Negative);
                }
                out.drain(..key_len);
                return Some(Hit::Found(std::mem::take(out)));
            }
            // Chains go from newer (higher offsets) to older records only.
            if next >= off {
                return None;
            }
            off = next;
        }
        Some(Hit::Miss)
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
}

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
        MapView {
            base: self.base,
            len: self.len,
        }
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
        if let Some((buckets, names, _, _, _)) = self.view().geometry() {
            for i in 0..buckets * 2 {
                self.put_u32(names + 4 * i, 0);
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
        let Some((buckets, names, ids, data, data_len)) = self.view().geometry() else {
            return Err(WriteError::TooLarge);
        };
        let key = name.map(str::as_bytes).unwrap_or_default();
        let total = (REC + key.len() + payload.len() + 7) & !7;
        if total > MAX_RECORD || total + 8 > data_len || key.len() > u16::MAX as usize {
            return Err(WriteError::TooLarge);
        }
        let mut used = self.view().u64_at(OFF_DATA_USED).unwrap_or(8) as usize;
        if used + total > data_len {
            self.reset();
            used = 8;
        }
        let flags = (if negative { F_NEGATIVE } else { 0 })
            | (if id.is_some() { F_ID } else { 0 })
            | (if name.is_some() { F_NAME } else { 0 });
        let rid = id.unwrap_or(0);
        let name_slot =
            name.map(|n| names + 4 * (name_hash(n.as_bytes()) as usize & (buckets - 1)));
        let id_slot = id.map(|i| ids + 4 * (id_hash(i) as usize & (buckets - 1)));
        let view = self.view();
        let at = data + used;
        self.begin();
        self.put_u32(at, total as u32);
        self.put_u32(at + 4, name_slot.and_then(|s| view.u32_at(s)).unwrap_or(0));
        self.put_u32(at + 8, id_slot.and_then(|s| view.u32_at(s)).unwrap_or(0));
        self.put_u32(at + 12, rid);
        self.put_u64(at + 16, refresh_ms);
        self.put_u64(at + 24, expires_ms);
        self.put_u32(
            at + 32,
            u32::from(kind as u8) | u32::from(flags) << 8 | (key.len() as u32) << 16,
        );
        self.put_u32(at + 36, payload.len() as u32);
        self.put_u32(at + 40, checksum(kind as u8, flags, rid, key, payload));
        self.put_u32(at + 44, 0);
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

#[cfg(test)]
#[allow(clippy::undocumented_unsafe_blocks)] // test buffers: aligned, owned, alive for the test
mod tests {
    use super::*;
    use crate::protocol::{decode_response, frame_response, Passwd, Response, HEADER_LEN};
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::Arc;

    /// An 8-byte aligned buffer standing in for the mapping.
    struct Buf(Vec<u64>);

    impl Buf {
        fn new(len: usize) -> Buf {
            Buf(vec![0u64; len / 8])
        }
        fn ptr(&mut self) -> *mut u8 {
            self.0.as_mut_ptr().cast()
        }
        fn len(&self) -> usize {
            self.0.len() * 8
        }
    }

    fn payload(p: &Passwd) -> Vec<u8> {
        frame_response(&Response::User(p.clone()))[HEADER_LEN..].to_vec()
    }

    fn user(name: &str, uid: u32, tag: &str) -> Passwd {
        Passwd {
            name: name.into(),
            uid,
            gid: uid,
            gecos: format!("{name} {tag}"),
            dir: format!("/home/{name}"),
            shell: "/bin/sh".into(),
        }
    }

    fn far() -> u64 {
        now_ms() + 3_600_000
    }

    #[test]
    fn insert_and_find_by_name_and_id_and_negative() {
        let mut b = Buf::new(1 << 20);
        let w = unsafe { MapWriter::create(b.ptr(), b.len(), 1024) }.unwrap();
        let v = w.view();
        assert!(v.valid());
        let alice = user("alice", 10001, "a");
        w.insert(
            Kind::Passwd,
            Some("alice"),
            Some(10001),
            false,
            &payload(&alice),
            far(),
            far(),
        )
        .unwrap();
        w.insert(Kind::Passwd, Some("ghost"), None, true, &[], far(), far())
            .unwrap();
        let got = |h: Hit| match h {
            Hit::Found(p) => decode_response(&p).unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            got(v.lookup(Kind::Passwd, Some("alice"), None)),
            Response::User(alice.clone())
        );
        assert_eq!(
            got(v.lookup(Kind::Passwd, None, Some(10001))),
            Response::User(alice)
        );
        assert_eq!(v.lookup(Kind::Passwd, Some("ghost"), None), Hit::Negative);
        assert_eq!(v.lookup(Kind::Passwd, Some("bob"), None), Hit::Miss);
        assert_eq!(v.lookup(Kind::Group, Some("alice"), None), Hit::Miss);
        assert_eq!(v.lookup(Kind::Passwd, None, Some(1)), Hit::Miss);
        // A newer record shadows the older one.
        let alice2 = user("alice", 10001, "b");
        w.insert(
            Kind::Passwd,
            Some("alice"),
            Some(10001),
            false,
            &payload(&alice2),
            far(),
            far(),
        )
        .unwrap();
        assert_eq!(
            got(v.lookup(Kind::Passwd, Some("alice"), None)),
            Response::User(alice2)
        );
        // Reset empties it and bumps the generation.
        let g = v.generation();
        w.reset();
        assert_eq!(v.generation(), g + 1);
        assert_eq!(v.lookup(Kind::Passwd, Some("alice"), None), Hit::Miss);
    }

    #[test]
    fn expired_and_refresh_due_records_are_not_served() {
        let mut b = Buf::new(1 << 16);
        let w = unsafe { MapWriter::create(b.ptr(), b.len(), 64) }.unwrap();
        let p = payload(&user("old", 1, "x"));
        let now = now_ms();
        w.insert(Kind::Passwd, Some("old"), None, false, &p, now, now)
            .unwrap();
        assert_eq!(w.view().lookup(Kind::Passwd, Some("old"), None), Hit::Miss);
        w.insert(
            Kind::Passwd,
            Some("due"),
            None,
            false,
            &p,
            now.saturating_sub(1),
            far(),
        )
        .unwrap();
        assert_eq!(w.view().lookup(Kind::Passwd, Some("due"), None), Hit::Miss);
    }

    #[test]
    fn full_map_is_reset_and_oversize_refused() {
        let mut b = Buf::new(3 * 4096);
        let w = unsafe { MapWriter::create(b.ptr(), b.len(), 8) }.unwrap();
        let p = payload(&user("u", 1, &"x".repeat(200)));
        for i in 0..100 {
            w.insert(
                Kind::Passwd,
                Some(&format!("u{i}")),
                None,
                false,
                &p,
                far(),
                far(),
            )
            .unwrap();
        }
        assert!(matches!(
            w.view().lookup(Kind::Passwd, Some("u99"), None),
            Hit::Found(_)
        ));
        assert_eq!(w.view().lookup(Kind::Passwd, Some("u0"), None), Hit::Miss);
        assert_eq!(
            w.insert(
                Kind::Passwd,
                Some("big"),
                None,
                false,
                &vec![0; 8192],
                far(),
                far()
            ),
            Err(WriteError::TooLarge)
        );
    }

    #[test]
    fn truncated_or_foreign_files_are_refused() {
        let mut b = Buf::new(1 << 16);
        let _w = unsafe { MapWriter::create(b.ptr(), b.len(), 64) }.unwrap();
        // The same bytes seen as a shorter file: the declared length does not match.
        let short = unsafe { MapView::new(b.ptr(), b.len() / 2) };
        assert!(!short.valid());
        let tiny = unsafe { MapView::new(b.ptr(), 100) };
        assert!(!tiny.valid());
        assert_eq!(tiny.lookup(Kind::Passwd, Some("a"), None), Hit::Miss);
        let mut zero = Buf::new(1 << 16);
        assert!(!unsafe { MapView::new(zero.ptr(), zero.len()) }.valid());
    }

    #[test]
    fn random_corruption_never_panics_or_answers_wrong() {
        let mut b = Buf::new(1 << 16);
        let w = unsafe { MapWriter::create(b.ptr(), b.len(), 64) }.unwrap();
        let names: Vec<String> = (0..40).map(|i| format!("user{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            w.insert(
                Kind::Passwd,
                Some(n),
                Some(1000 + i as u32),
                false,
                &payload(&user(n, 1000 + i as u32, "ok")),
                far(),
                far(),
            )
            .unwrap();
        }
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let len = b.len();
        for round in 0..4000 {
            // Flip a few random bytes outside the seq word.
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let off = (x as usize) % len;
                if !(8..16).contains(&off) {
                    let p = b.ptr();
                    unsafe { *p.add(off) ^= (x >> 32) as u8 | 1 };
                }
            }
            let v = unsafe { MapView::new(b.ptr(), len) };
            let n = &names[round % names.len()];
            if let Hit::Found(p) = v.lookup(Kind::Passwd, Some(n), None) {
                // Whatever is served decodes and is about the name asked (the checksum holds).
                match decode_response(&p) {
                    Ok(Response::User(u)) => {
                        assert_eq!(&u.name, n);
                        assert_eq!(u.gecos, format!("{n} ok"));
                    }
                    other => panic!("served a corrupt record: {other:?}"),
                }
            }
            let _ = v.lookup(Kind::Passwd, None, Some((x % 2000) as u32));
        }
    }

    #[test]
    fn concurrent_writer_and_readers_never_see_a_torn_record() {
        let mut b = Buf::new(1 << 18);
        let w = unsafe { MapWriter::create(b.ptr(), b.len(), 256) }.unwrap();
        let view = w.view();
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let readers: Vec<_> = (0..4)
            .map(|t| {
                let stop = stop.clone();
                let hits = hits.clone();
                std::thread::spawn(move || {
                    let mut i = t;
                    while !stop.load(Ordering::Relaxed) {
                        let n = format!("user{}", i % 50);
                        let uid = 5000 + (i % 50) as u32;
                        for h in [
                            view.lookup(Kind::Passwd, Some(&n), None),
                            view.lookup(Kind::Passwd, None, Some(uid)),
                        ] {
                            if let Hit::Found(p) = h {
                                let Ok(Response::User(u)) = decode_response(&p) else {
                                    panic!("undecodable record served")
                                };
                                assert_eq!(u.name, n);
                                assert_eq!(u.uid, uid);
                                // gecos is "<name> <generation>" and dir matches the name: a
                                // torn record would mix two writes.
                                assert!(u.gecos.starts_with(&format!("{n} ")), "{u:?}");
                                assert_eq!(u.dir, format!("/home/{n}"));
                                hits.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        for round in 0..20_000u32 {
            let i = round % 50;
            let n = format!("user{i}");
            w.insert(
                Kind::Passwd,
                Some(&n),
                Some(5000 + i),
                false,
                &payload(&user(&n, 5000 + i, &round.to_string())),
                far(),
                far(),
            )
            .unwrap();
            if round % 5000 == 4999 {
                w.reset();
            }
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
        assert!(
            hits.load(Ordering::Relaxed) > 100,
            "readers saw too few hits to mean anything"
        );
    }
}
