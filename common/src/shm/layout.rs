//! The file format of the map, shared by its reader and its writer: the header fields, the
//! record format, the bucket hashes and the record checksum.
//!
//! Layout (little-endian, native u32/u64 at aligned offsets):
//! header (4096 bytes) · name buckets (u32 × n) · id buckets (u32 × n) · data area.
//! Offsets in buckets and chains are relative to the data area; 0 is "none".

use std::ffi::CStr;

pub const MAP_PATH: &str = "/run/ldaprs/cache.map";
/// [`MAP_PATH`] as the C string the NSS module opens (the module runs inside every process,
/// including setuid ones, so the path is compiled in and never taken from the environment).
pub const MAP_PATH_C: &CStr = c"/run/ldaprs/cache.map";
pub const MAGIC: u64 = u64::from_le_bytes(*b"LDRSMAP1");
pub const VERSION: u32 = 1;
pub(crate) const HEADER: usize = 4096;
pub(crate) const OFF_MAGIC: usize = 0;
pub(crate) const OFF_SEQ: usize = 8;
pub(crate) const OFF_VERSION: usize = 16;
pub(crate) const OFF_SUPERSEDED: usize = 20;
pub(crate) const OFF_LEN: usize = 24;
pub(crate) const OFF_BUCKETS: usize = 32;
pub(crate) const OFF_DATA_USED: usize = 48;
pub(crate) const OFF_GENERATION: usize = 56;
/// `[nss] min_uid` and `min_gid` of the daemon that writes the map (0: not set), so that the
/// module re-applies them to every answer (see `nss::floor`).
pub(crate) const OFF_MIN_UID: usize = 64;
pub(crate) const OFF_MIN_GID: usize = 68;
/// Record header size; key and payload follow.
pub(crate) const REC: usize = 48;
/// Longest chain walked before giving up (a miss).
pub const MAX_CHAIN: usize = 64;
/// Largest record copied out (a group of ~50,000 members).
pub const MAX_RECORD: usize = 4 * 1024 * 1024;

// The record header, by offset from the record's start (all u32 unless noted):
/// Total length of the record (header, key, payload, padding to 8 bytes).
pub(crate) const R_TOTAL: usize = 0;
/// Next (older) record in the same name bucket's chain.
pub(crate) const R_NEXT_NAME: usize = 4;
/// Next (older) record in the same id bucket's chain.
pub(crate) const R_NEXT_ID: usize = 8;
/// The uid or gid the record is findable by (0 when it has none).
pub(crate) const R_ID: usize = 12;
/// u64: refresh time (ms of [`now_ms`]); past it the module asks the socket.
pub(crate) const R_REFRESH: usize = 16;
/// u64: expiry time (ms of [`now_ms`]); past it the record is not served.
pub(crate) const R_EXPIRES: usize = 24;
/// Kind (byte 32), flags (byte 33) and key length (bytes 34..36), read as one u32.
pub(crate) const R_META: usize = 32;
/// Payload length.
pub(crate) const R_PAYLOAD_LEN: usize = 36;
/// [`checksum`] of the record.
pub(crate) const R_SUM: usize = 40;
/// Padding (0).
pub(crate) const R_PAD: usize = 44;

/// What a record answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Passwd = 1,
    Group = 2,
    Initgroups = 3,
}

pub(crate) const F_NEGATIVE: u8 = 1;
pub(crate) const F_ID: u8 = 2;
pub(crate) const F_NAME: u8 = 4;

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
pub(crate) fn name_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in name {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

pub(crate) fn id_hash(id: u32) -> u32 {
    id.wrapping_mul(0x9e37_79b1)
}

/// Checksum over a record's identity and bytes (8 bytes at a time: fast, not cryptographic;
/// it catches corruption, not an attacker, who would need root to write the file).
pub(crate) fn checksum(kind: u8, flags: u8, id: u32, key: &[u8], payload: &[u8]) -> u32 {
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

/// Where the tables and the data area of a map are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Buckets per table (a power of two).
    pub buckets: usize,
    /// Offset of the name bucket table.
    pub names: usize,
    /// Offset of the id bucket table.
    pub ids: usize,
    /// Offset of the data area (8-byte aligned).
    pub data: usize,
    /// Length of the data area.
    pub data_len: usize,
}

impl Geometry {
    /// The geometry of a map of `len` bytes with `buckets` buckets per table, if they fit.
    pub fn of(buckets: usize, len: usize) -> Option<Geometry> {
        if buckets == 0 || !buckets.is_power_of_two() {
            return None;
        }
        let names = HEADER;
        let ids = names.checked_add(buckets.checked_mul(4)?)?;
        let data = ids.checked_add(buckets.checked_mul(4)?)?;
        let data = (data + 7) & !7;
        if data >= len {
            return None;
        }
        Some(Geometry {
            buckets,
            names,
            ids,
            data,
            data_len: len - data,
        })
    }

    /// Offset of the name bucket for `name`.
    pub fn name_slot(&self, name: &[u8]) -> usize {
        self.names + 4 * (name_hash(name) as usize & (self.buckets - 1))
    }

    /// Offset of the id bucket for `id`.
    pub fn id_slot(&self, id: u32) -> usize {
        self.ids + 4 * (id_hash(id) as usize & (self.buckets - 1))
    }
}
