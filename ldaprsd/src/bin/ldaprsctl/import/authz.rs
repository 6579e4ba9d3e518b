//! Access filters: turning nslcd's `pam_authz_search` expressions and SSSD's plain filters
//! into `[pam] access_filter` templates, and spotting the usual "member of this group"
//! search so that it becomes `[pam] allow_groups` instead.

use ldaprs_common::config::ACCESS_FILTER_VARS;

/// nslcd variables ldaprs has no value for.
const NSLCD_ONLY_VARS: &[(&str, &str)] = &[
    ("ruser", "the remote user (PAM_RUSER)"),
    ("fqdn", "the host's fully qualified name"),
    ("domain", "the host's DNS domain"),
];

/// An nslcd expression (`$var`, `${var}`, `\`-escapes) as an ldaprs template (`$var`, `$$`).
/// Err: why it cannot be translated.
pub fn nslcd_to_template(expr: &str) -> Result<String, String> {
    let mut out = String::with_capacity(expr.len());
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => out.push('\\'),
            },
            '$' => {
                let name = variable(&mut chars)?;
                check_var(&name)?;
                // `$username` directly followed by a letter would read as another variable.
                if chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_lowercase() || *n == '_')
                {
                    return Err(format!(
                        "${{{name}}} is directly followed by a letter, which ldaprs's $variables cannot express"
                    ));
                }
                out.push('$');
                out.push_str(&name);
            }
            c => out.push(c),
        }
    }
    Ok(hex_escapes(&out))
}

/// RFC 4515 writes a special character in a value as `\` and two hex digits; libldap also
/// took `\*` for `\2a`. A `\` not followed by two hex digits is rewritten that way.
fn hex_escapes(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    while let Some(pos) = rest.find('\\') {
        let (before, after) = rest.split_at(pos);
        out.push_str(before);
        let tail = after.get(1..).unwrap_or("");
        let hex = tail.len() >= 2 && tail.bytes().take(2).all(|b| b.is_ascii_hexdigit());
        match tail.chars().next() {
            Some(c) if !hex && c != '$' && c.is_ascii() => {
                out.push_str(&format!("\\{:02x}", c as u32));
                rest = tail.get(1..).unwrap_or("");
            }
            _ => {
                out.push('\\');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The name after a `$`: `name` or `{name}` (nslcd's `${name:-default}` forms are refused).
fn variable(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let mut name = String::new();
    if chars.peek() == Some(&'{') {
        chars.next();
        for c in chars.by_ref() {
            if c == '}' {
                return Ok(name);
            }
            if !(c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "the expression ${{{name}{c}…}} (nslcd's default/substring forms) has no ldaprs equivalent"
                ));
            }
            name.push(c);
        }
        return Err("unterminated ${…}".into());
    }
    while let Some(&c) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            chars.next();
        } else {
            break;
        }
    }
    if name.is_empty() {
        return Err("a `$` that starts no variable".into());
    }
    Ok(name)
}

fn check_var(name: &str) -> Result<(), String> {
    if ACCESS_FILTER_VARS.contains(&name) {
        return Ok(());
    }
    match NSLCD_ONLY_VARS.iter().find(|(v, _)| *v == name) {
        Some((v, what)) => Err(format!(
            "${v} ({what}) is not one of ldaprs's access_filter variables"
        )),
        None => Err(format!("unknown variable ${name}")),
    }
}

/// A filter without variables (SSSD's `ldap_access_filter`) as a template: `$` → `$$`.
pub fn literal_to_template(filter: &str) -> String {
    filter.replace('$', "$$")
}

/// `(&A B)` of two templates (either may be empty).
pub fn and(a: &str, b: &str) -> String {
    ldaprs_common::filter::and(a, b)
}

/// The group of a "member of one group" search, the usual nslcd `pam_authz_search`:
/// `(&(objectClass=posixGroup)(cn=NAME)(memberUid=$username))` (or `member=$dn`,
/// `uniqueMember=$dn`), in any order, the objectClass terms optional.
pub fn group_search(template: &str) -> Option<String> {
    let inner = template.strip_prefix("(&")?.strip_suffix(')')?;
    let mut name = None;
    let mut member = false;
    for term in terms(inner)? {
        let (attr, value) = term.split_once('=')?;
        match attr.to_ascii_lowercase().as_str() {
            "objectclass" => {}
            "cn" if name.is_none() && is_plain(value) => name = Some(value.to_string()),
            "memberuid" if value == "$username" => member = true,
            "member" | "uniquemember" if value == "$dn" => member = true,
            _ => return None,
        }
    }
    if member {
        name
    } else {
        None
    }
}

/// The top-level `(…)` terms of an AND's body; None if a term is not a simple `(a=v)`.
fn terms(inner: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let body = rest.strip_prefix('(')?;
        let end = body.find(')')?;
        let (term, after) = body.split_at(end);
        if term.contains('(') || term.starts_with(['&', '|', '!']) {
            return None;
        }
        out.push(term);
        rest = after.get(1..)?;
    }
    Some(out)
}

/// A group name usable as is: no wildcard, escape or variable.
fn is_plain(v: &str) -> bool {
    !v.is_empty() && !v.contains(['*', '\\', '$']) && ldaprs_common::names::valid_name(v)
}

/// `(|(attr=a)(attr=b)…)` for a list of names (escaped, `$` doubled for the template).
pub fn any_of(attr: &str, names: &[String]) -> String {
    let terms: Vec<String> = names
        .iter()
        .map(|n| literal_to_template(&ldaprs_common::filter::eq(attr, n)))
        .collect();
    match terms.as_slice() {
        [one] => one.clone(),
        _ => format!("(|{})", terms.concat()),
    }
}

/// The checks `[pam] access_filter` gets when the daemon loads it.
pub fn check(t: &str) -> Result<(), String> {
    use ldaprs_common::filter;
    filter::check_template(t, ACCESS_FILTER_VARS)?;
    let sample: Vec<(&str, &str)> = ACCESS_FILTER_VARS.iter().map(|v| (*v, "x")).collect();
    filter::check_syntax(&filter::fill_template(t, &sample)?)
}
