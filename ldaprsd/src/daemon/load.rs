//! The config and its secrets, turned into server blocks; every problem is one message
//! naming the file, the server and the key.

use crate::ldap::ServerBlock;
use crate::warn;
use ldaprs_common::config::{self, Config};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Reads the config and its secrets and builds the server blocks; every problem is one
/// message naming the file, the server and the key.
///
/// `secrets` remembers the secret files read so far: after the switch to `[daemon] user` the
/// root-only files cannot be read again, so a reload keeps what was read at start for the same
/// path (and says so); a new path needs a restart.
pub fn load(
    path: &Path,
    secrets: &mut HashMap<PathBuf, String>,
) -> Result<(Config, Vec<ServerBlock>), String> {
    let cfg = config::load(path).map_err(|e| e.to_string())?;
    let mut blocks = Vec::new();
    let mut secret = |f: &PathBuf, key: &str, server: &str| -> Result<String, String> {
        match config::read_secret_for(f, key) {
            Ok(p) => {
                secrets.insert(f.clone(), p.clone());
                Ok(p)
            }
            Err(e) => match secrets.get(f) {
                Some(p) if permission_denied(f) => {
                    warn!("server {server}: {} cannot be read any more (the daemon no longer runs as root); keeping the password read at start — restart to change it", f.display());
                    Ok(p.clone())
                }
                _ => Err(format!("server {server}: {e}")),
            },
        }
    };
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
        blocks.push(b);
    }
    Ok((cfg, blocks))
}

/// Whether opening `f` fails for lack of permission (as it does for a root-only secret after
/// the switch to `[daemon] user`).
fn permission_denied(f: &Path) -> bool {
    std::fs::File::open(f)
        .err()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
}
