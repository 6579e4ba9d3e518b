//! Windows security identifiers (MS-DTYP 2.4.2): AD sends `objectSid` and `tokenGroups` as
//! binary values; entries carry them in the string form (`S-1-5-21-…-1104`), which AD and
//! Samba also accept in filters.

/// The string form of a binary SID, or None if the bytes are not one.
pub fn sid_to_string(b: &[u8]) -> Option<String> {
    let (&rev, rest) = b.split_first()?;
    let (&count, rest) = rest.split_first()?;
    if rev != 1 || count > 15 || rest.len() != 6 + 4 * usize::from(count) {
        return None;
    }
    let (auth, subs) = rest.split_at(6);
    let authority = auth.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x));
    let mut s = format!("S-1-{authority}");
    for c in subs.chunks_exact(4) {
        let v = u32::from_le_bytes(<[u8; 4]>::try_from(c).ok()?);
        s.push_str(&format!("-{v}"));
    }
    Some(s)
}

/// The attributes whose binary values are SIDs.
pub fn is_sid_attribute(name: &str) -> bool {
    ["objectSid", "tokenGroups", "sIDHistory"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(name))
}

/// A SID's domain part and RID (`S-1-5-21-a-b-c-1104` → (`S-1-5-21-a-b-c`, 1104)).
pub fn split_rid(sid: &str) -> Option<(&str, u32)> {
    let (domain, rid) = sid.rsplit_once('-')?;
    let rid = rid.parse().ok()?;
    domain.starts_with("S-1-").then_some((domain, rid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_sids_as_strings() {
        // carol's objectSid from the test DC (base64 AQUAAAAAAAUVAAAAo3Dthr5Cng4xnAYqUAQAAA==).
        let b = [
            1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0xa3, 0x70, 0xed, 0x86, 0xbe, 0x42, 0x9e, 0x0e,
            0x31, 0x9c, 0x06, 0x2a, 0x50, 0x04, 0, 0,
        ];
        let s = sid_to_string(&b).unwrap();
        assert_eq!(s, "S-1-5-21-2263707811-245252798-705076273-1104");
        assert_eq!(
            split_rid(&s),
            Some(("S-1-5-21-2263707811-245252798-705076273", 1104))
        );
        // Everyone (S-1-1-0), and bytes that are not a SID.
        assert_eq!(
            sid_to_string(&[1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]).unwrap(),
            "S-1-1-0"
        );
        assert_eq!(sid_to_string(&[1, 2, 0, 0, 0, 0, 0, 5, 21, 0, 0]), None);
        assert_eq!(sid_to_string(&[2, 0, 0, 0, 0, 0, 0, 5]), None);
        assert_eq!(sid_to_string(&[]), None);
        assert_eq!(split_rid("S-1-5-21-1-2-3-x"), None);
        assert!(is_sid_attribute("OBJECTSID"));
    }
}
