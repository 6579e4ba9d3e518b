//! Reading sssd.conf(5) the way SSSD does (ding-libs `ini_config_parse` with
//! `INI_PARSE_NOWRAP` and `INI_MV1S_OVERWRITE`): `[section]` lines, `key = value` lines (blanks
//! around `=` and at both ends dropped, quotes kept as part of the value), comments on lines
//! that start with `#` or `;` and C comments (`//…`, `/* … */`). There are no continuation
//! lines: SSSD turns folding off, so an indented line is a key of its own and an indented line
//! without `=` is an error. No trailing comments either: a `#` after the `=` is part of the
//! value. A key given twice in a section keeps its last value; a section given twice is one.

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub line: usize,
    /// The section name without brackets (`domain/corp`); empty before the first section.
    pub section: String,
    /// The key, lower-cased.
    pub key: String,
    pub value: String,
}

/// The options that carry a password: shown by name only.
pub const SECRET_KEYS: &[&str] = &["ldap_default_authtok"];

impl Key {
    pub fn at(&self) -> String {
        format!("[{}] line {}", self.section, self.line)
    }

    pub fn from(&self) -> String {
        format!("sssd.conf:{} {}", self.line, self.key)
    }

    /// The option as the report shows it: a password never, the rest shortened.
    pub fn shown(&self) -> String {
        if SECRET_KEYS.contains(&self.key.as_str()) {
            format!("{} (value not shown)", self.key)
        } else {
            super::report::shorten(&format!("{} = {}", self.key, self.value))
        }
    }

    /// A comma-separated list (`ldap_uri`, `simple_allow_groups`, `filter_users` …).
    pub fn list(&self) -> Vec<String> {
        self.value
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// SSSD's booleans: true/false, any case (also yes/no, 1/0, which some versions accept).
    pub fn boolean(&self) -> Option<bool> {
        match self.value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        }
    }

    pub fn integer(&self) -> Option<i64> {
        self.value.parse().ok()
    }
}

/// The file: its keys (the last value of each), the lines SSSD would refuse, and the keys
/// that a later line of the same section replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    pub keys: Vec<Key>,
    /// (line, what is wrong): SSSD stops at start on such a line.
    pub errors: Vec<(usize, String)>,
    /// Earlier lines of a key set again later (SSSD keeps the last).
    pub replaced: Vec<Key>,
}

impl Ini {
    /// The sections in the order they first appear.
    pub fn sections(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in &self.keys {
            if !out.contains(&k.section) {
                out.push(k.section.clone());
            }
        }
        out
    }

    pub fn section(&self, name: &str) -> Vec<&Key> {
        self.keys.iter().filter(|k| k.section == name).collect()
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&Key> {
        self.keys
            .iter()
            .find(|k| k.section == section && k.key == key)
    }
}

/// Splits sssd.conf text into sections and keys.
pub fn parse(text: &str) -> Ini {
    let mut ini = Ini::default();
    let mut section = String::new();
    let mut in_c_comment = false;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches(['\r', '\n']);
        if in_c_comment {
            in_c_comment = !line.trim_end().ends_with("*/");
            continue;
        }
        if line.is_empty() || line.starts_with(['#', ';']) || line.starts_with("//") {
            continue;
        }
        if line.starts_with("/*") {
            in_c_comment = !(line.trim_end().len() > 3 && line.trim_end().ends_with("*/"));
            continue;
        }
        let body = line.trim();
        if body.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            match body.strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
                Some(name) if !name.trim().is_empty() => section = name.trim().to_string(),
                _ => ini.errors.push((n, "a section line must be [name]".into())),
            }
            continue;
        }
        match body.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => add(&mut ini, n, &section, k, v),
            Some(_) => ini.errors.push((n, "no key before `=`".into())),
            None => ini.errors.push((
                n,
                "no `=` (SSSD does not fold lines: a value cannot continue on the next line)"
                    .into(),
            )),
        }
    }
    ini
}

fn add(ini: &mut Ini, line: usize, section: &str, k: &str, v: &str) {
    let key = Key {
        line,
        section: section.to_string(),
        key: k.trim().to_ascii_lowercase(),
        value: v.trim().to_string(),
    };
    if let Some(pos) = ini
        .keys
        .iter()
        .position(|x| x.section == key.section && x.key == key.key)
    {
        let old = ini.keys.remove(pos);
        ini.replaced.push(old);
    }
    ini.keys.push(key);
}
