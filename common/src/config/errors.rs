//! The located config error: `file:line: key `k`: message (hint: ...)`, and the two ways one
//! is built (a serde/TOML error located by its span, a semantic check located by its key).

use super::hints::hint_for;
use super::source_lines::{key_at_line, line_of, locate};
use std::fmt;

/// A config mistake, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(k) = &self.key {
            write!(f, ": key `{k}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A TOML syntax or type error, located by serde's span, with a hint where we can guess one.
pub(super) fn syntax_error(path: &str, src: &str, e: &toml::de::Error) -> ConfigError {
    let line = e.span().map(|s| line_of(src, s.start));
    let message = e.message().trim().to_string();
    ConfigError {
        path: path.into(),
        line,
        key: line.and_then(|l| key_at_line(src, l)),
        hint: hint_for(&message),
        message,
    }
}

/// A value that parses but makes no sense, located by its key (inside the `idx`-th
/// `[[servers]]` block and `table` when given).
pub(super) fn semantic(
    path: &str,
    src: &str,
    idx: Option<usize>,
    table: Option<&str>,
    key: &str,
    message: String,
    hint: Option<&str>,
) -> ConfigError {
    let full_key = match (idx, table) {
        (Some(i), Some(t)) => format!("servers[{i}].{}.{key}", t.trim_start_matches("servers.")),
        (Some(i), None) => format!("servers[{i}].{key}"),
        (None, Some(t)) => format!("{t}.{key}"),
        (None, None) => key.to_string(),
    };
    let table_in_src = match (idx, table) {
        (Some(_), None) => Some("servers"),
        (_, t) => t,
    };
    ConfigError {
        path: path.into(),
        line: locate(src, idx, table_in_src, key),
        key: Some(full_key),
        message,
        hint: hint.map(str::to_string),
    }
}
