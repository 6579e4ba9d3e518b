//! Reading a config file and turning its text into a checked [`Config`].

use super::errors::{syntax_error, ConfigError};
use super::sections::Config;
use super::validate::validate;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Parses and checks a config text; `path` is only used in messages.
pub fn parse(path: &str, src: &str) -> Result<Config, ConfigError> {
    let mut cfg: Config = toml::from_str(src).map_err(|e| syntax_error(path, src, &e))?;
    for s in &mut cfg.servers {
        if s.name.is_empty() {
            s.name = s.default_name();
        }
    }
    validate(path, src, &cfg)?;
    Ok(cfg)
}

/// Reads and parses a config file. A file that others (or a group other than root's) may
/// write is refused: whoever can rewrite it can point logins at a server of their own. The
/// check is made on the opened fd (`fstat`), and the text read from that same fd.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let err = |message: String, hint: Option<String>| ConfigError {
        path: shown.clone(),
        line: None,
        key: None,
        message,
        hint,
    };
    let mut file = File::open(path).map_err(|e| err(format!("cannot read: {e}"), None))?;
    let meta = file
        .metadata()
        .map_err(|e| err(format!("cannot read: {e}"), None))?;
    if let Some(why) = writable_by_others(meta.mode(), meta.gid()) {
        return Err(err(
            format!("the config file is writable by group or others ({why}): anyone who can write it could point logins at their own server; refusing to use it"),
            Some(format!("chmod go-w {shown}")),
        ));
    }
    let mut src = String::new();
    file.read_to_string(&mut src)
        .map_err(|e| err(format!("cannot read: {e}"), None))?;
    parse(&shown, &src)
}

/// Why a file with `mode` and group `gid` may be written by someone other than its owner
/// and root, or `None`. A group-writable file is fine when the group is root's (gid 0).
fn writable_by_others(mode: u32, gid: u32) -> Option<String> {
    let perms = mode & 0o7777;
    if perms & 0o002 != 0 {
        return Some(format!("mode {perms:04o}"));
    }
    if perms & 0o020 != 0 && gid != 0 {
        return Some(format!(
            "mode {perms:04o}; its group, gid {gid}, is not root"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const MIN: &str = "[[servers]]\nname = \"a\"\nuri = \"ldap://x\"\nbase = \"dc=x\"\n";

    fn config(name: &str, mode: u32, gid: u32) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ldaprs-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, MIN).unwrap();
        std::os::unix::fs::chown(&p, None, Some(gid)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn config_writable_by_others_is_refused() {
        // 0644 (what the default umask gives) and 0640 load.
        for mode in [0o644, 0o640, 0o600] {
            assert!(
                load(&config(&format!("{mode:o}"), mode, 0)).is_ok(),
                "{mode:o}"
            );
        }
        // Group-writable is fine for root's group, not for another.
        assert!(load(&config("g0", 0o664, 0)).is_ok());
        let p = config("g1", 0o664, 1234);
        let e = load(&p).unwrap_err();
        assert!(
            e.message.contains(
                "writable by group or others (mode 0664; its group, gid 1234, is not root)"
            ),
            "{e}"
        );
        // Others may write: refused, with the fix.
        let p = config("o", 0o666, 0);
        let e = load(&p).unwrap_err();
        assert!(
            e.message
                .contains("writable by group or others (mode 0666)"),
            "{e}"
        );
        assert_eq!(e.hint, Some(format!("chmod go-w {}", p.display())));
        assert_eq!(e.path, p.display().to_string());
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }
}
