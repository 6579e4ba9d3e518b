//! Entries as the server sent them, and the DN helpers membership and identity checks use.

use ldap3::SearchEntry;

/// An entry: its DN and attributes as the server named them (LDAP attribute names are
/// case-insensitive; see [`Entry::values`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<String>)>,
}

impl Entry {
    /// Binary values are dropped, except SIDs (AD's objectSid, tokenGroups), which are kept
    /// in their string form (`sid.rs`). ldap3 files an attribute whose values all happen to
    /// be valid UTF-8 as text: a binary SID can arrive there too (one domain SID in a few
    /// thousand is all ASCII), and is converted the same way.
    pub fn from_search(e: SearchEntry) -> Entry {
        let mut attrs: Vec<(String, Vec<String>)> = Vec::with_capacity(e.attrs.len());
        let mut sids: Vec<(String, Vec<String>)> = Vec::new();
        for (name, values) in e.attrs {
            if super::sid::is_sid_attribute(&name) {
                let v = values.iter().filter_map(|t| text_sid(t));
                sids.push((name, v.collect()));
            } else {
                attrs.push((name, values));
            }
        }
        for (name, values) in e.bin_attrs {
            if super::sid::is_sid_attribute(&name) {
                let v = values.iter().filter_map(|b| super::sid::sid_to_string(b));
                sids.push((name, v.collect()));
            }
        }
        for (name, values) in sids {
            match attrs
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case(&name))
            {
                Some((_, have)) => have.extend(values),
                None => attrs.push((name, values)),
            }
        }
        Entry { dn: e.dn, attrs }
    }

    /// An attribute's values; names compare case-insensitively (an entry has a handful of
    /// attributes, so a scan beats hashing a lower-cased copy of the name).
    pub fn values(&self, attr: &str) -> &[String] {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(attr))
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default()
    }

    /// The values of `attr`, moved out (the entry keeps the attribute, without values).
    pub fn take_values(&mut self, attr: &str) -> Vec<String> {
        self.attrs
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(attr))
            .map(|(_, v)| std::mem::take(v))
            .unwrap_or_default()
    }

    pub fn first(&self, attr: &str) -> Option<&str> {
        self.values(attr).first().map(String::as_str)
    }
}

/// A SID value ldap3 delivered as text: already in string form (`S-1-…`), or binary bytes
/// that were valid UTF-8.
fn text_sid(t: &str) -> Option<String> {
    if t.starts_with("S-1-") {
        return Some(t.to_string());
    }
    super::sid::sid_to_string(t.as_bytes())
}

/// The first RDN's attribute type and value of a DN (`uid=alice,ou=people` → (uid, alice)),
/// when the value needs no unescaping.
pub fn first_rdn(dn: &str) -> Option<(&str, &str)> {
    let rdn = dn.split(',').next()?;
    if rdn.contains('+') || rdn.contains('\\') {
        return None;
    }
    let (t, v) = rdn.split_once('=')?;
    Some((t.trim(), v.trim()))
}

/// Whether `dn` is `base` or below it (compared normalised, on RDN boundaries).
pub fn is_under(dn: &str, base: &str) -> bool {
    let (d, b) = (normalize_dn(dn), normalize_dn(base));
    d == b || d.ends_with(&format!(",{b}"))
}

/// Normalises a DN for comparison: no spaces around separators, lower case.
pub fn normalize_dn(dn: &str) -> String {
    // One allocation: a user's 300 groups are compared by normalised DN.
    let mut out = String::with_capacity(dn.len());
    for (i, rdn) in dn.split(',').enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, part) in rdn.split('=').enumerate() {
            if j > 0 {
                out.push('=');
            }
            out.extend(part.trim().chars().map(|c| c.to_ascii_lowercase()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_helpers() {
        assert_eq!(
            first_rdn("uid=alice,ou=people,dc=x"),
            Some(("uid", "alice"))
        );
        assert_eq!(first_rdn("cn=a\\,b,dc=x"), None);
        assert_eq!(
            normalize_dn("UID=Alice, ou=People,dc=X"),
            "uid=alice,ou=people,dc=x"
        );
        assert_eq!(normalize_dn(" CN = Ünï , DC=x ,"), "cn=Ünï,dc=x,");
        assert_eq!(normalize_dn("a=b=C"), "a=b=c");
        assert_eq!(normalize_dn(""), "");
    }
}

#[cfg(test)]
mod sid_text_tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_binary_sid_filed_as_text_is_converted() {
        // S-1-5-21-1-2-3-1104 with every byte below 0x80 except none: valid UTF-8 (ASCII).
        let mut b = vec![1u8, 4, 0, 0, 0, 0, 0, 5];
        for v in [21u32, 0x1122_3344 & 0x7f7f_7f7f, 0x55, 0x0450] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let text = String::from_utf8(b.clone()).unwrap();
        let want = super::super::sid::sid_to_string(&b).unwrap();
        let mut attrs = HashMap::new();
        attrs.insert("objectSid".to_string(), vec![text]);
        attrs.insert("cn".to_string(), vec!["dave".to_string()]);
        let mut bin_attrs = HashMap::new();
        bin_attrs.insert("tokenGroups".to_string(), vec![b.clone()]);
        let e = Entry::from_search(SearchEntry {
            dn: "CN=dave".into(),
            attrs,
            bin_attrs,
        });
        assert_eq!(e.values("objectSid"), std::slice::from_ref(&want));
        assert_eq!(e.values("tokenGroups"), &[want]);
        assert_eq!(e.values("cn"), &["dave".to_string()]);
        // Already a string SID: kept; garbage: dropped.
        assert_eq!(text_sid("S-1-5-21-9"), Some("S-1-5-21-9".into()));
        assert_eq!(text_sid("not a sid"), None);
    }
}
