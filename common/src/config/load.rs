//! Reading a config file and turning its text into a checked [`Config`].

use super::errors::{syntax_error, ConfigError};
use super::sections::Config;
use super::validate::validate;
use std::path::Path;

/// Parses and checks a config text; `path` is only used in messages.
pub fn parse(path: &str, src: &str) -> Result<Config, ConfigError> {
    let cfg: Config = toml::from_str(src).map_err(|e| syntax_error(path, src, &e))?;
    validate(path, src, &cfg)?;
    Ok(cfg)
}

/// Reads and parses a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: shown.clone(),
        line: None,
        key: None,
        message: format!("cannot read: {e}"),
        hint: None,
    })?;
    parse(&shown, &src)
}
