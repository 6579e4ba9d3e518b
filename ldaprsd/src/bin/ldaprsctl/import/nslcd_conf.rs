//! Reading nslcd.conf(5) the way nslcd 0.9 does (`nslcd/cfg.c` `cfg_read`): one option per
//! line, the keyword is the first word (case-insensitive), the rest of the line its value;
//! a line starting with `#` is a comment. There are no continuation lines and no trailing
//! comments: a `\` at the end of a line is part of the value, and so is a `#` after the
//! keyword. Quotes are not special to the reader; the few options that take a quoted value
//! (`map … "EXPR"`, `base ""`, `pam_password_prohibit_message "MSG"`) handle them.

/// One option line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// 1-based line number.
    pub line: usize,
    /// The keyword, lower-cased.
    pub keyword: String,
    /// The rest of the line, without the blanks around it.
    pub rest: String,
}

/// The options that carry a password: shown by name only.
pub const SECRET_KEYWORDS: &[&str] = &["bindpw", "rootpwmodpw"];

impl Opt {
    /// The words of the value (nslcd's `get_token`: split at spaces, tabs, CR).
    pub fn words(&self) -> Vec<&str> {
        self.rest
            .split([' ', '\t', '\r'])
            .filter(|w| !w.is_empty())
            .collect()
    }

    /// Where the option is, for the report.
    pub fn at(&self) -> String {
        format!("line {}", self.line)
    }

    /// Where a key came from, for the comment next to it.
    pub fn from(&self) -> String {
        format!("nslcd.conf:{} {}", self.line, self.keyword)
    }

    /// The option as the report shows it: a password never, the rest shortened.
    pub fn shown(&self) -> String {
        if SECRET_KEYWORDS.contains(&self.keyword.as_str()) {
            format!("{} (value not shown)", self.keyword)
        } else if self.rest.is_empty() {
            self.keyword.clone()
        } else {
            super::report::shorten(&format!("{} {}", self.keyword, self.rest))
        }
    }
}

/// Splits nslcd.conf text into options.
pub fn parse(text: &str) -> Vec<Opt> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        // nslcd only skips lines whose first character is `#`; an indented `#` would make it
        // stop with "unknown keyword". Such a file does not run, so reading it as a comment
        // loses nothing.
        let line = raw.trim_end_matches([' ', '\t', '\r', '\n', '\x0b', '\x0c']);
        let body = line.trim_start_matches([' ', '\t', '\r']);
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let (keyword, rest) = match body.find([' ', '\t', '\r']) {
            Some(p) => body.split_at(p),
            None => (body, ""),
        };
        out.push(Opt {
            line: i + 1,
            keyword: keyword.to_ascii_lowercase(),
            rest: rest.trim_matches([' ', '\t', '\r']).to_string(),
        });
    }
    out
}

/// nslcd's booleans (`parse_boolean`): on/yes/true/1 and off/no/false/0, any case.
pub fn boolean(word: &str) -> Option<bool> {
    match word.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Some(true),
        "off" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// nslcd's integers are read with `atoi`; we only take a clean decimal number.
pub fn integer(word: &str) -> Option<i64> {
    word.parse().ok()
}

/// A map name as nslcd spells it (`parse_map`), normalised: `passwd`, `group`, `shadow`, or
/// another map nslcd knows (`hosts`, `netgroup`, …). `None`: not a map name.
pub fn map_name(word: &str) -> Option<&'static str> {
    Some(match word.to_ascii_lowercase().as_str() {
        "passwd" => "passwd",
        "group" => "group",
        "shadow" => "shadow",
        "alias" | "aliases" => "aliases",
        "ether" | "ethers" => "ethers",
        "host" | "hosts" => "hosts",
        "netgroup" => "netgroup",
        "network" | "networks" => "networks",
        "protocol" | "protocols" => "protocols",
        "rpc" => "rpc",
        "service" | "services" => "services",
        "nfsidmap" => "nfsidmap",
        _ => return None,
    })
}

/// Splits an optional leading map name off a value (`base passwd ou=people,…`).
pub fn split_map(rest: &str) -> (Option<&'static str>, &str) {
    let trimmed = rest.trim_start();
    let (first, after) = match trimmed.find([' ', '\t']) {
        Some(p) => trimmed.split_at(p),
        None => (trimmed, ""),
    };
    match map_name(first) {
        Some(m) => (Some(m), after.trim_start()),
        None => (None, trimmed),
    }
}
