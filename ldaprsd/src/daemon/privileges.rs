//! The switch to `[daemon] user` once the socket, the shared map and the secrets are in hand.

use crate::info;
use crate::system::privdrop;
use std::path::Path;

/// Switches to `[daemon] user` once the socket, the shared map and the secrets are in hand.
pub fn drop_privileges(user: &str, socket: &str) -> Result<(), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    let (uid, gid) =
        privdrop::lookup(&passwd, user).ok_or_else(|| format!("no user {user} in /etc/passwd"))?;
    if uid == 0 {
        return Err(format!("{user} is root"));
    }
    if let Some(dir) = Path::new(socket).parent() {
        privdrop::hand_over(dir, uid, gid)?;
    }
    privdrop::become_user(uid, gid)?;
    info!("running as {user} (uid {uid}, gid {gid})");
    Ok(())
}
