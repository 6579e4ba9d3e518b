//! The config and its secrets, turned into server blocks; every problem is one message
//! naming the file, the server and the key.
//!
//! Secrets come from systemd's credentials when the daemon runs under the packaged unit: the
//! unit passes each root-only file with `LoadCredential=ID:PATH`, where ID is the file's name
//! (`bind_password_file = "/etc/ldaprs/bind_password"` → credential `bind_password`), and
//! systemd exposes it read-only to this service alone in `$CREDENTIALS_DIRECTORY`. Without a
//! credential of that name the file itself is read, with the root-only checks of
//! `config::read_secret_for`.

use crate::ldap::ServerBlock;
use crate::{info, warn};
use ldaprs_common::config::{self, Config};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The secret files read so far, by path (wiped when dropped).
pub type Secrets = HashMap<PathBuf, Zeroizing<String>>;

/// Reads the config and its secrets and builds the server blocks; every problem is one
/// message naming the file, the server and the key.
///
/// `secrets` remembers the secret files read so far: after the switch to `[daemon] user` the
/// root-only files cannot be read again, so a reload keeps what was read at start for the same
/// path (and says so); a new path needs a restart.
pub fn load(path: &Path, secrets: &mut Secrets) -> Result<(Config, Vec<ServerBlock>), String> {
    let cfg = config::load(path).map_err(|e| e.to_string())?;
    let creds = credentials_dir();
    let mut ids = HashMap::new();
    let mut secret = |f: &PathBuf, key: &str, server: &str| -> Result<String, String> {
        let found = match &creds {
            Some(dir) => {
                claim_id(&mut ids, f, key).map_err(|e| format!("server {server}: {e}"))?;
                from_credential(dir, f, key, server)?
            }
            None => None,
        };
        let read = match found {
            Some(p) => Ok(p),
            None => read_file(f, key, server, secrets.get(f)),
        };
        if let Ok(p) = &read {
            secrets.insert(f.clone(), Zeroizing::new(p.clone()));
        }
        read
    };
    let mut blocks = Vec::new();
    for s in &cfg.servers {
        let pw = match &s.bind_password_file {
            Some(f) => Some(secret(f, "bind_password_file", &s.name)?),
            None => None,
        };
        if !s.tls.verify {
            warn!("server {}: TLS certificate verification is OFF (verify = false): anyone on the path can impersonate the directory", s.name);
        }
        let admin_pw = match &s.admin_password_file {
            Some(f) => Some(secret(f, "admin_password_file", &s.name)?),
            None => None,
        };
        let b = ServerBlock::new(s.clone(), pw)
            .map_err(|e| e.to_string())?
            .with_admin_password(admin_pw);
        for w in b.transport_warnings() {
            warn!("{w}");
        }
        let b = if s.needs_detection() {
            b.into_pending(
                "schema and base are detected from the directory, and no server has answered yet"
                    .into(),
                false,
            )
        } else {
            b
        };
        blocks.push(b);
    }
    Ok((cfg, blocks))
}

/// The secret file `f` read directly (root-only checks). After the switch to `[daemon] user`
/// the file cannot be read any more: the password read at start (`known`) is kept.
fn read_file(
    f: &Path,
    key: &str,
    server: &str,
    known: Option<&Zeroizing<String>>,
) -> Result<String, String> {
    match config::read_secret_for(f, key) {
        Ok(p) => Ok(p),
        Err(e) if permission_denied(f) => match known {
            Some(p) => {
                warn!("server {server}: {} cannot be read any more (the daemon no longer runs as root); keeping the password read at start — restart to change it", f.display());
                Ok(p.to_string())
            }
            None => Err(format!("server {server}: {e}{}", not_root_hint(f))),
        },
        Err(e) => Err(format!("server {server}: {e}")),
    }
}

/// `$CREDENTIALS_DIRECTORY`, set by systemd when the unit passes credentials.
fn credentials_dir() -> Option<PathBuf> {
    std::env::var_os("CREDENTIALS_DIRECTORY")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
}

/// The credential id of a secret file: its file name.
fn credential_id(f: &Path) -> Option<&str> {
    f.file_name()?.to_str()
}

/// Two different files with the same name would be passed as the same credential: refused,
/// rather than binding one server with another server's password.
fn claim_id(ids: &mut HashMap<String, PathBuf>, f: &Path, key: &str) -> Result<(), String> {
    let Some(id) = credential_id(f) else {
        return Ok(());
    };
    match ids.get(id) {
        Some(other) if other != f => Err(format!(
            "{key} {} and {} would both be the systemd credential {id:?}; give the files different names",
            f.display(),
            other.display()
        )),
        _ => {
            ids.insert(id.to_string(), f.to_path_buf());
            Ok(())
        }
    }
}

/// The password systemd passed as the credential named after `f`, if it passed one. systemd
/// made the file (read-only, for this service's user alone, through its owner or an ACL), so
/// the mode checks for files read directly do not apply. An empty credential is the unit's
/// `SetCredential=` default, used when the file does not exist: not passed.
fn from_credential(
    dir: &Path,
    f: &Path,
    key: &str,
    server: &str,
) -> Result<Option<String>, String> {
    let Some(id) = credential_id(f) else {
        return Ok(None);
    };
    let p = dir.join(id);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "server {server}: {key}: cannot read the systemd credential {}: {e}",
                p.display()
            ))
        }
    };
    let pw = text.trim_end_matches(['\n', '\r']);
    if pw.is_empty() {
        return Ok(None);
    }
    info!(
        "server {server}: {key} {} read from the systemd credential {id:?}",
        f.display()
    );
    Ok(Some(pw.to_string()))
}

/// What to do when a secret file cannot be read because the daemon does not run as root.
fn not_root_hint(f: &Path) -> String {
    let uid = crate::system::privdrop::current_uid();
    if uid == 0 {
        return String::new();
    }
    let id = credential_id(f).unwrap_or("ID");
    format!(
        " (ldaprsd runs as uid {uid}: let systemd pass the file with LoadCredential={id}:{} in the unit, see ldaprsd(8))",
        f.display()
    )
}

/// Whether opening `f` fails for lack of permission (as it does for a root-only secret after
/// the switch to `[daemon] user`).
fn permission_denied(f: &Path) -> bool {
    std::fs::File::open(f)
        .err()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ldaprsd-load-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn credential_named_after_the_file() {
        let d = scratch("cred");
        // Mode 0440 (an ACL's mask, as systemd leaves it on tmpfs) is fine for a credential.
        std::fs::write(d.join("bind_password"), "s3cret\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            d.join("bind_password"),
            std::fs::Permissions::from_mode(0o440),
        )
        .unwrap();
        let f = Path::new("/etc/ldaprs/bind_password");
        let got = from_credential(&d, f, "bind_password_file", "corp").unwrap();
        assert_eq!(got.as_deref(), Some("s3cret"));
        // Not passed, or passed empty (the unit's SetCredential= default): read the file.
        let other = Path::new("/etc/ldaprs/admin_password");
        assert_eq!(
            from_credential(&d, other, "admin_password_file", "corp").unwrap(),
            None
        );
        std::fs::write(d.join("admin_password"), "").unwrap();
        assert_eq!(
            from_credential(&d, other, "admin_password_file", "corp").unwrap(),
            None
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn two_files_with_one_name_are_refused() {
        let mut ids = HashMap::new();
        let a = Path::new("/etc/ldaprs/corp/bind_password");
        let b = Path::new("/etc/ldaprs/lab/bind_password");
        assert!(claim_id(&mut ids, a, "bind_password_file").is_ok());
        assert!(claim_id(&mut ids, a, "bind_password_file").is_ok());
        let e = claim_id(&mut ids, b, "bind_password_file").unwrap_err();
        assert!(e.contains("\"bind_password\""), "{e}");
        assert!(claim_id(
            &mut ids,
            Path::new("/etc/ldaprs/lab_pw"),
            "bind_password_file"
        )
        .is_ok());
    }
}
