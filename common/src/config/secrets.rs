//! Reading the password files a config names (`bind_password_file`, `admin_password_file`),
//! refusing files others could read.

use super::errors::ConfigError;
use std::path::Path;

/// Reads the service bind password. The file must be a regular file that neither group nor
/// others can read or write (DESIGN.md: secrets in a separate root-only file).
pub fn read_secret(path: &Path) -> Result<String, ConfigError> {
    read_secret_for(path, "bind_password_file")
}

/// [`read_secret`] for the file named by `key` (`admin_password_file`).
pub fn read_secret_for(path: &Path, key: &str) -> Result<String, ConfigError> {
    use std::os::unix::fs::MetadataExt;
    let shown = path.display().to_string();
    // "the bind password file", "the admin password file".
    let what = key.replace('_', " ");
    let err = |message: String, hint: Option<&str>| ConfigError {
        path: shown.clone(),
        line: None,
        key: Some(key.into()),
        message,
        hint: hint.map(str::to_string),
    };
    let meta =
        std::fs::metadata(path).map_err(|e| err(format!("cannot read the {what}: {e}"), None))?;
    if !meta.is_file() {
        return Err(err(format!("the {what} is not a regular file"), None));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(err(
            format!("the {what} is readable or writable by group or others (mode {mode:04o}); refusing to use it"),
            Some(&format!("chmod 600 {shown}")),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(format!("cannot read the {what}: {e}"), None))?;
    let pw = text.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        return Err(err(
            format!("the {what} is empty (an empty password is an anonymous bind)"),
            None,
        ));
    }
    Ok(pw)
}
