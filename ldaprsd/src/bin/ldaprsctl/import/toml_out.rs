//! Writing a [`Draft`] and its [`Report`] as an ldaprs.toml: the report as comments at the
//! top (what to do first, what was translated, what is not supported and why), then the
//! tables, each key followed by the source line it came from.

use super::draft::{Draft, Table, Value};
use super::report::{Item, Report};

/// The whole file. `title` is the first comment line (what was imported, from where).
pub fn render(title: &str, draft: &Draft, report: &Report) -> String {
    let mut out = String::new();
    comment(&mut out, title);
    comment(
        &mut out,
        "Check it with `ldaprsctl --config FILE config check` before installing it as /etc/ldaprs/ldaprs.toml.",
    );
    header_sections(&mut out, report);
    for (name, table) in draft.tables() {
        if !table.is_empty() {
            out.push_str(&format!("\n[{name}]\n"));
            write_table(&mut out, table);
        }
    }
    for s in &draft.servers {
        out.push_str("\n[[servers]]\n");
        write_table(&mut out, &in_order(&s.main));
        for (name, table) in s.subtables() {
            if !table.is_empty() {
                out.push_str(&format!("\n[{name}]\n"));
                write_table(&mut out, table);
            }
        }
    }
    out
}

fn header_sections(out: &mut String, report: &Report) {
    if !report.todo.is_empty() {
        comment(out, "");
        comment(out, "Before starting ldaprsd:");
        for t in &report.todo {
            comment(out, &format!("  - {t}"));
        }
    }
    items(out, "Translated", &report.translated, "->");
    items(out, "Not supported", &report.unsupported, "--");
    if !report.notes.is_empty() {
        comment(out, "");
        comment(out, "Notes:");
        for n in &report.notes {
            comment(out, &format!("  - {n}"));
        }
    }
}

fn items(out: &mut String, title: &str, list: &[Item], arrow: &str) {
    comment(out, "");
    comment(out, &format!("{title} ({}):", list.len()));
    for i in list {
        comment(out, &format!("  {}: {} {arrow} {}", i.at, i.option, i.what));
    }
}

fn comment(out: &mut String, text: &str) {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.is_empty() {
        out.push_str("#\n");
    } else {
        out.push_str(&format!("# {one_line}\n"));
    }
}

/// The keys of a `[[servers]]` block in the order the example config documents them.
const SERVER_ORDER: &[&str] = &[
    "name",
    "uri",
    "schema",
    "base",
    "bind_dn",
    "bind_password_file",
    "timeout",
    "connect_timeout",
    "failover_delay",
    "retry_dead_after",
    "retry_dead_max",
    "allow_cleartext_passwords",
    "user_dn_pattern",
    "admin_dn",
    "admin_password_file",
];

fn in_order(t: &Table) -> Table {
    let mut entries = t.entries.clone();
    entries.sort_by_key(|e| {
        SERVER_ORDER
            .iter()
            .position(|k| *k == e.key)
            .unwrap_or(usize::MAX)
    });
    Table { entries }
}

fn write_table(out: &mut String, t: &Table) {
    for e in &t.entries {
        let v = value(&e.value);
        if e.from.is_empty() {
            out.push_str(&format!("{} = {v}\n", e.key));
        } else {
            let from: String = e.from.chars().filter(|c| !c.is_control()).collect();
            out.push_str(&format!("{} = {v}  # {from}\n", e.key));
        }
    }
}

/// A value in TOML syntax.
pub fn value(v: &Value) -> String {
    match v {
        Value::Str(s) => quote(s),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Bool(b) => b.to_string(),
        Value::List(items) => {
            let inner: Vec<String> = items.iter().map(|s| quote(s)).collect();
            format!("[{}]", inner.join(", "))
        }
    }
}

/// A TOML basic string: `"` and `\` escaped, control characters as `\uXXXX`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
