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
    /// in their string form (`sid.rs`).
    pub fn from_search(e: SearchEntry) -> Entry {
        let mut attrs: Vec<(String, Vec<String>)> = e.attrs.into_iter().collect();
        for (name, values) in e.bin_attrs {
            if super::sid::is_sid_attribute(&name) {
                let v = values.iter().filter_map(|b| super::sid::sid_to_string(b));
                attrs.push((name, v.collect()));
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

    pub fn first(&self, attr: &str) -> Option<&str> {
        self.values(attr).first().map(String::as_str)
    }
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
    dn.split(',')
        .map(|rdn| {
            rdn.split('=')
                .map(|p| p.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect::<Vec<_>>()
        .join(",")
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
    }
}
