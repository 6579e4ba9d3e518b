//! Escaping of values put into LDAP filters (RFC 4515 §3) and DNs (RFC 4514 §2.4).
//!
//! Everything that comes from a user, a PAM item or a server and ends up in a filter goes
//! through [`escape_filter_value`]; a DN pattern such as `uid=%s,ou=people,...` gets its `%s`
//! through [`escape_dn_value`].

/// RFC 4515: `*`, `(`, `)`, `\` and NUL must be written as `\XX`. We also escape every byte
/// outside printable ASCII so that the filter stays readable in logs and unambiguous.
pub fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        match b {
            b'*' | b'(' | b')' | b'\\' | 0 => out.push_str(&format!("\\{b:02x}")),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:02x}")),
        }
    }
    out
}

/// RFC 4514 §2.4: escape `"`, `+`, `,`, `;`, `<`, `>`, `\`, `=`, a leading `#` or space, a
/// trailing space, and NUL.
pub fn escape_dn_value(value: &str) -> String {
    escape_dn_value_unicode(value)
}

fn escape_dn_value_unicode(value: &str) -> String {
    let n = value.chars().count();
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == n && c == ' ');
        if c == '\0' {
            out.push_str("\\00");
        } else if special {
            out.push('\\');
            out.push(c);
        } else if (c as u32) < 0x20 || c == '\x7f' {
            out.push_str(&format!("\\{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// `(&A B)` without doubling parentheses when `extra` is empty. Both arguments must already be
/// valid filters.
pub fn and(base: &str, extra: &str) -> String {
    if base.is_empty() {
        return extra.to_string();
    }
    if extra.is_empty() {
        return base.to_string();
    }
    format!("(&{base}{extra})")
}

/// `(attr=value)` with the value escaped.
pub fn eq(attr: &str, value: &str) -> String {
    format!("({attr}={})", escape_filter_value(value))
}

/// Puts parentheses around a configured filter if the admin wrote it without them
/// (`objectClass=posixAccount`), as ldapsearch users often do.
pub fn normalize(filter: &str) -> String {
    let f = filter.trim();
    if f.is_empty() || f.starts_with('(') {
        f.to_string()
    } else {
        format!("({f})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_specials_are_escaped() {
        assert_eq!(escape_filter_value("alice"), "alice");
        assert_eq!(escape_filter_value("*"), "\\2a");
        assert_eq!(escape_filter_value("a)(uid=*"), "a\\29\\28uid=\\2a");
        assert_eq!(escape_filter_value("back\\slash"), "back\\5cslash");
        assert_eq!(escape_filter_value("nul\0"), "nul\\00");
        assert_eq!(escape_filter_value("é"), "\\c3\\a9");
    }

    #[test]
    fn injection_cannot_widen_a_filter() {
        let f = and("(objectClass=posixAccount)", &eq("uid", "*)(|(uid=*"));
        assert_eq!(
            f,
            "(&(objectClass=posixAccount)(uid=\\2a\\29\\28|\\28uid=\\2a))"
        );
        // Balanced parentheses: exactly the ones we wrote.
        assert_eq!(f.matches('(').count(), 3);
        assert_eq!(f.matches(')').count(), 3);
    }

    #[test]
    fn dn_specials_are_escaped() {
        assert_eq!(escape_dn_value("alice"), "alice");
        assert_eq!(escape_dn_value("a,ou=x"), "a\\,ou\\=x");
        assert_eq!(escape_dn_value(" lead"), "\\ lead");
        assert_eq!(escape_dn_value("trail "), "trail\\ ");
        assert_eq!(escape_dn_value("#hash"), "\\#hash");
        assert_eq!(escape_dn_value("q\"+;<>\\"), "q\\\"\\+\\;\\<\\>\\\\");
        assert_eq!(escape_dn_value("ü,x"), "ü\\,x");
    }

    #[test]
    fn normalize_adds_parentheses() {
        assert_eq!(normalize("objectClass=user"), "(objectClass=user)");
        assert_eq!(normalize(" (a=b) "), "(a=b)");
        assert_eq!(normalize(""), "");
    }
}
