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

/// Checks the shape of a filter an admin wrote: one parenthesised filter with balanced
/// parentheses (values cannot hold a raw parenthesis: RFC 4515 writes them `\28`/`\29`), no
/// NUL. Catches the usual typos at start-up instead of at the first login (security.md INJ-06).
pub fn check_syntax(f: &str) -> Result<(), String> {
    if !f.starts_with('(') || !f.ends_with(')') {
        return Err("a filter is written in parentheses, e.g. (objectClass=posixAccount)".into());
    }
    if f.contains('\0') {
        return Err("the filter contains a NUL byte".into());
    }
    let mut depth = 0usize;
    for (i, c) in f.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced ')' at byte {i}"))?;
                if depth == 0 && i + 1 != f.len() {
                    return Err(format!(
                        "the filter ends at byte {i}; wrap several filters in (&...) or (|...)"
                    ));
                }
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced '(': a ')' is missing".into());
    }
    Ok(())
}

/// One piece of a `$variable` template.
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits a template into text and `$name` variables (`name` is `[a-z_]+`; `$$` is a `$`).
fn pieces(t: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(pos) = rest.find('$') {
        let (text, tail) = rest.split_at(pos);
        out.push(Piece::Text(text));
        let after = tail.get(1..).unwrap_or("");
        if let Some(more) = after.strip_prefix('$') {
            out.push(Piece::Text("$"));
            rest = more;
            continue;
        }
        let len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 {
            return Err(
                "a `$` must start a variable such as $username (write $$ for a literal $)".into(),
            );
        }
        let (name, more) = after.split_at(len);
        out.push(Piece::Var(name));
        rest = more;
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Checks that a template only uses `known` variables.
pub fn check_template(t: &str, known: &[&str]) -> Result<(), String> {
    for p in pieces(t)? {
        if let Piece::Var(v) = p {
            if !known.contains(&v) {
                return Err(format!(
                    "unknown variable ${v} (known: {})",
                    known
                        .iter()
                        .map(|k| format!("${k}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
        }
    }
    Ok(())
}

/// Fills a checked template: each `$name` becomes its RFC 4515-escaped value, so a PAM item
/// such as a remote host name `x)(|(uid=*` cannot widen the filter (security.md INJ-02). A
/// variable without a value becomes empty.
pub fn fill_template(t: &str, vars: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(t.len());
    for p in pieces(t)? {
        match p {
            Piece::Text(s) => out.push_str(s),
            Piece::Var(v) => {
                let value = vars
                    .iter()
                    .find(|(k, _)| *k == v)
                    .map(|(_, x)| *x)
                    .unwrap_or("");
                out.push_str(&escape_filter_value(value));
            }
        }
    }
    Ok(out)
}

/// Grafana's `%s` templates: every `%s` becomes the escaped value.
pub fn fill_percent_s(t: &str, value: &str) -> String {
    t.replace("%s", &escape_filter_value(value))
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

    #[test]
    fn syntax_check_catches_typos() {
        assert!(check_syntax("(objectClass=posixAccount)").is_ok());
        assert!(check_syntax("(&(a=b)(|(c=d)(e=\\28x\\29)))").is_ok());
        assert!(check_syntax("objectClass=x").is_err());
        assert!(check_syntax("(a=b").is_err());
        assert!(check_syntax("(a=b))").is_err());
        assert!(check_syntax("(a=b)(c=d)").is_err());
        assert!(check_syntax("((a=b)").is_err());
        assert!(check_syntax("").is_err());
    }

    #[test]
    fn templates_escape_every_value() {
        let t = "(&(host=$hostname)(authorizedService=$service)(uid=$username)(x=$$))";
        assert!(check_template(t, &["hostname", "service", "username"]).is_ok());
        let e = check_template("(a=$nosuch)", &["username"]).unwrap_err();
        assert!(e.contains("$nosuch") && e.contains("$username"), "{e}");
        assert!(check_template("(a=$)", &["username"]).is_err());
        assert!(check_template("(a=$1)", &["username"]).is_err());
        let f = fill_template(
            t,
            &[
                ("hostname", "web1"),
                ("service", "sshd"),
                ("username", "a*)(uid=*"),
            ],
        )
        .unwrap();
        assert_eq!(
            f,
            "(&(host=web1)(authorizedService=sshd)(uid=a\\2a\\29\\28uid=\\2a)(x=$))"
        );
        assert!(check_syntax(&f).is_ok());
        // A missing value is empty, never the raw variable.
        assert_eq!(fill_template("(h=$rhost)", &[]).unwrap(), "(h=)");
    }

    #[test]
    fn percent_s_is_escaped() {
        assert_eq!(
            fill_percent_s("(member:1.2.840.113556.1.4.1941:=%s)", "cn=a\\,b,dc=x"),
            "(member:1.2.840.113556.1.4.1941:=cn=a\\5c,b,dc=x)"
        );
        assert_eq!(
            fill_percent_s("(|(memberUid=%s)(uid=%s))", "*"),
            "(|(memberUid=\\2a)(uid=\\2a))"
        );
    }
}
