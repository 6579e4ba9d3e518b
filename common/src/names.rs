//! Validation of user and group names, on input (what a caller asks) and on output (what a
//! directory answers).
//!
//! LDAP's usual matching rules ignore case and fold spaces (`caseIgnoreMatch`), so a lookup of
//! `ALICE` or ` alice` would find `alice` and a login as `Alice` would be accepted for the
//! account `alice` (security.md AUTH-08). We refuse such names before any search and compare
//! the directory's answer byte for byte with the request.

/// Longest name accepted (glibc's LOGIN_NAME_MAX is 256 including the NUL).
pub const MAX_NAME: usize = 255;

/// A name is acceptable if it is 1..=255 bytes of `[A-Za-z0-9._@-]` plus a trailing `$`
/// (Samba machine accounts), and does not start with `-` (it would read as an option to
/// tools such as `su`, `useradd`).
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > MAX_NAME || b.first() == Some(&b'-') {
        return false;
    }
    let body = match b.split_last() {
        Some((b'$', rest)) => rest,
        _ => b,
    };
    !body.is_empty()
        && body
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'@'))
}

/// Text fields of an entry (gecos, home, shell) may not contain `:` (it would corrupt
/// `getent` output and `/etc/passwd`-style parsers) nor any control character: NUL (they
/// become C strings), newlines, and escapes a terminal would obey when `finger` or `getent`
/// prints them (security.md INJ-05).
pub fn valid_field(value: &str) -> bool {
    !value.chars().any(|c| c == ':' || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for n in [
            "alice",
            "bob.smith",
            "svc_backup",
            "j-doe",
            "user@example.com",
            "HOST01$",
            "A1",
        ] {
            assert!(valid_name(n), "{n}");
        }
    }

    #[test]
    fn refuses_tricky_names() {
        for n in [
            "", " alice", "alice ", "al ice", "alice\t", "-rf", "a*", "a)(uid=*", "$", "a\0b", "é",
        ] {
            assert!(!valid_name(n), "{n:?}");
        }
        assert!(!valid_name(&"a".repeat(256)));
        assert!(valid_name(&"a".repeat(255)));
    }

    #[test]
    fn fields() {
        assert!(valid_field("Alice Liddell, Room 3"));
        assert!(!valid_field("x:y"));
        assert!(!valid_field("x\ny"));
        assert!(!valid_field("x\0"));
    }
}
