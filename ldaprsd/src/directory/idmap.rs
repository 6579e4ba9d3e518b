//! uid and gid from AD's objectSid (`[servers.idmap] mode = "sid"`), computed as SSSD's
//! `ldap_id_mapping` computes them (sss_idmap's `sss_idmap_calculate_range`), so a site that
//! moves from SSSD keeps its uids: the domain SID's string (`S-1-5-21-a-b-c`) is hashed with
//! MurmurHash3 (x86, 32 bits, seed 0xdeadbeef); the hash modulo the number of slices
//! (`(range_max - range_min) / range_size`) is the domain's slice; its ids start at
//! `range_min + slice * range_size`, and an object's id is that plus its RID.
//!
//! Where SSSD differs: (1) when two domains hash to the same slice, SSSD moves the one it meets
//! second to the next free slice (so the result depends on the order it met them); ldaprs
//! refuses the second domain's objects with a logged reason instead. (2) A RID at or above
//! `range_size` gets a helper slice in SSSD (`ldap_idmap_helper_table_size`); ldaprs refuses it
//! (raise `range_size` on both, or keep the RIDs below it). (3) SSSD's
//! `ldap_idmap_default_domain_sid` (slice 0 for one domain) and `autorid_compat` are not
//! implemented.

use crate::ldap::sid::split_rid;
use crate::ldap::{DirError, Entry, ServerBlock};
use ldaprs_common::config::{Effective, IdmapSection};
use ldaprs_common::filter;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Why an object gets no id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdmapError(pub String);

/// MurmurHash3_x86_32 (Austin Appleby's reference algorithm, as SSSD's util/murmurhash3.c).
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        let mut k = u32::from_le_bytes(<[u8; 4]>::try_from(b).unwrap_or_default());
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = tail
            .iter()
            .rev()
            .fold(0u32, |a, &x| (a << 8) | u32::from(x));
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The slice of a domain SID (before any collision).
pub fn slice_of(m: &IdmapSection, domain_sid: &str) -> u32 {
    murmur3_32(domain_sid.as_bytes(), 0xdead_beef) % m.slices().max(1)
}

/// The first id of a slice.
pub fn first_id(m: &IdmapSection, slice: u32) -> u32 {
    m.range_min + slice * m.range_size
}

/// A slice of one range: (range_min, range_size, slice).
type SliceKey = (u32, u32, u32);

/// Which domain holds each slice, for the whole daemon (every block maps into one id space):
/// filled as SIDs are mapped, read to reverse a uid.
static SLICES: Mutex<BTreeMap<SliceKey, String>> = Mutex::new(BTreeMap::new());

fn key(m: &IdmapSection, slice: u32) -> SliceKey {
    (m.range_min, m.range_size, slice)
}

fn holder(m: &IdmapSection, slice: u32) -> Option<String> {
    let map = SLICES.lock().unwrap_or_else(|p| p.into_inner());
    map.get(&key(m, slice)).cloned()
}

fn claim(m: &IdmapSection, slice: u32, domain: &str) -> Result<(), IdmapError> {
    let mut map = SLICES.lock().unwrap_or_else(|p| p.into_inner());
    match map.get(&key(m, slice)) {
        Some(d) if !d.eq_ignore_ascii_case(domain) => Err(IdmapError(format!(
            "domains {d} and {domain} hash to the same id slice {slice}: {domain}'s objects are refused (SSSD would move the domain it met second to the next free slice)"
        ))),
        Some(_) => Ok(()),
        None => {
            map.insert(key(m, slice), domain.to_string());
            Ok(())
        }
    }
}

/// The id of a SID (`S-1-5-21-a-b-c-RID`).
pub fn id_of_sid(m: &IdmapSection, sid: &str) -> Result<u32, IdmapError> {
    let (domain, rid) =
        split_rid(sid).ok_or_else(|| IdmapError(format!("{sid:?} is not a SID")))?;
    id_of(m, domain, rid)
}

fn id_of(m: &IdmapSection, domain: &str, rid: u32) -> Result<u32, IdmapError> {
    if rid >= m.range_size {
        return Err(IdmapError(format!(
            "RID {rid} of {domain} is not below range_size {} (SSSD would use a helper slice; ldaprs does not)",
            m.range_size
        )));
    }
    let slice = slice_of(m, domain);
    claim(m, slice, domain)?;
    Ok(first_id(m, slice) + rid)
}

/// A user's uid (objectSid) and primary gid (the domain's SID with primaryGroupID).
pub fn user_ids(e: &Entry, eff: &Effective, m: &IdmapSection) -> Result<(u32, u32), IdmapError> {
    let sid = e
        .first(&eff.attr_uid)
        .ok_or_else(|| IdmapError(format!("no {} attribute", eff.attr_uid)))?;
    let uid = id_of_sid(m, sid)?;
    let (domain, _) = split_rid(sid).ok_or_else(|| IdmapError(format!("{sid:?} is not a SID")))?;
    let pg = e
        .first(&eff.attr_gid)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .ok_or_else(|| IdmapError(format!("no numeric {} attribute", eff.attr_gid)))?;
    Ok((uid, id_of(m, domain, pg)?))
}

/// A group's gid (objectSid). None when id mapping is off.
pub fn group_gid(e: &Entry, eff: &Effective) -> Option<Result<u32, IdmapError>> {
    let m = eff.idmap.as_ref()?;
    Some(match e.first(&eff.attr_group_gid) {
        Some(sid) => id_of_sid(m, sid),
        None => Err(IdmapError(format!("no {} attribute", eff.attr_group_gid))),
    })
}

/// The slice and RID an id would come from (None: outside the range).
pub fn reverse(m: &IdmapSection, id: u32) -> Option<(u32, u32)> {
    let off = id.checked_sub(m.range_min)?;
    let slice = off / m.range_size;
    (slice < m.slices()).then_some((slice, off % m.range_size))
}

impl ServerBlock {
    /// The filter that finds the object with id `id` (its objectSid), as `attr`: None when the
    /// id is outside the range or its slice belongs to no domain this block knows. The
    /// block's own domain is learnt from the objectSid of the base entry (the domain object).
    pub async fn sid_filter(&self, attr: &str, id: u32) -> Result<Option<String>, DirError> {
        let Some(m) = self.eff.idmap.as_ref() else {
            return Ok(None);
        };
        let Some((slice, rid)) = reverse(m, id) else {
            return Ok(None);
        };
        let domain = match holder(m, slice) {
            Some(d) => d,
            None => {
                let attrs = ["objectSid".to_string()];
                let base = &self.eff.user_base;
                let e = self.read_entry(base, "(objectClass=*)", &attrs).await?;
                if let Some(d) = e.as_ref().and_then(|e| e.first("objectSid")) {
                    if slice_of(m, d) == slice {
                        let _ = claim(m, slice, d);
                    }
                }
                match holder(m, slice) {
                    Some(d) => d,
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(filter::eq(attr, &format!("{domain}-{rid}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_reference_vectors() {
        // Published test vectors of MurmurHash3_x86_32.
        assert_eq!(murmur3_32(b"", 0), 0);
        assert_eq!(murmur3_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_32(b"", 0xffff_ffff), 0x81f1_6f39);
        assert_eq!(murmur3_32(&[0, 0, 0, 0], 0), 0x2362_f9de);
        assert_eq!(murmur3_32(b"Hello, world!", 1234), 0xfaf6_cdb3);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog", 0x9747_b28c),
            0x2fa8_26cd
        );
        assert_eq!(murmur3_32(&[0x21, 0x43, 0x65], 0), 0x7e4a_8634);
    }

    #[test]
    fn sssd_computes_the_same_ids() {
        // What SSSD 2.8.2's libsss_idmap (sss_idmap_calculate_range, sss_idmap_sid_to_unix,
        // SSSD's default range) answers for this domain: `tests/c/sss_idmap.c` prints
        // "slice 250 min 50200000 max 50399999", 50201104 and 50200513.
        let m = IdmapSection::default();
        let d = "S-1-5-21-2263707811-245252798-705076273";
        assert_eq!(slice_of(&m, d), 250);
        assert_eq!(id_of_sid(&m, &format!("{d}-1104")), Ok(50_201_104));
        assert_eq!(id_of_sid(&m, &format!("{d}-513")), Ok(50_200_513));
    }

    #[test]
    fn ids_and_their_reverse() {
        let m = IdmapSection::default();
        let d = "S-1-5-21-1111111111-2222222222-3333333333";
        let s = slice_of(&m, d);
        assert!(s < 10_000);
        let uid = id_of_sid(&m, &format!("{d}-1104")).unwrap();
        assert_eq!(uid, 200_000 + s * 200_000 + 1104);
        assert_eq!(reverse(&m, uid), Some((s, 1104)));
        assert_eq!(reverse(&m, 199_999), None);
        assert_eq!(reverse(&m, 2_000_200_000), None);
        let e = id_of_sid(&m, &format!("{d}-200000")).unwrap_err();
        assert!(e.0.contains("not below range_size 200000"), "{e:?}");
        assert!(id_of_sid(&m, "nonsense").is_err());
    }

    #[test]
    fn two_domains_in_one_slice_are_refused() {
        // A range of 2 slices: the third domain must meet one of the first two.
        let m = IdmapSection {
            range_min: 100_000,
            range_max: 100_000 + 2 * 1000,
            range_size: 1000,
            ..IdmapSection::default()
        };
        let doms: Vec<String> = (0..3).map(|i| format!("S-1-5-21-9-9-{i}")).collect();
        let results: Vec<_> = doms
            .iter()
            .map(|d| id_of_sid(&m, &format!("{d}-500")))
            .collect();
        let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(!refused.is_empty(), "{results:?}");
        assert!(
            refused[0].0.contains("hash to the same id slice"),
            "{refused:?}"
        );
    }
}
