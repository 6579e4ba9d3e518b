//! The switch to `[daemon] user` once the secrets are in hand, before the socket and the shared
//! map exist: the socket's directory is given to the user, who then creates both (as under the
//! systemd unit), so a visible socket is always served by the final user.
//!
//! Under the packaged systemd unit the daemon is started as `_ldaprs` already (`User=`), with
//! no capability and a system call filter that denies the switch: `[daemon] user` is then
//! unset, or names the user the daemon already runs as, which is logged and needs no switch.

use crate::info;
use crate::system::privdrop;
use std::path::Path;

/// Switches to `[daemon] user` once the secrets are in hand: creates the socket's directory if
/// needed (0755), gives it to the user, and switches. Started as that user already: nothing to
/// do (logged). Started as another user that is not root: refused, since the switch cannot
/// happen.
pub fn drop_privileges(user: &str, socket: &str, state: Option<&str>) -> Result<(), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    let (uid, gid) =
        privdrop::lookup(&passwd, user).ok_or_else(|| format!("no user {user} in /etc/passwd"))?;
    if uid == 0 {
        return Err(format!("{user} is root"));
    }
    match privdrop::current_uid() {
        0 => {}
        now if now == uid => {
            info!("[daemon] user = {user:?}: already running as {user} (uid {uid}, started so by systemd's User= or the caller); no switch needed");
            return Ok(());
        }
        now => {
            return Err(format!(
                "started as uid {now}, which is neither root nor {user} (uid {uid}); start as root or as {user}, or leave [daemon] user out"
            ))
        }
    }
    if let Some(dir) = Path::new(socket).parent() {
        privdrop::make_dir(dir)?;
        privdrop::hand_over(dir, uid, gid)?;
    }
    if let Some(dir) = state {
        state_dir_for(Path::new(dir), uid, gid)?;
    }
    privdrop::become_user(uid, gid)?;
    info!("running as {user} (uid {uid}, gid {gid})");
    Ok(())
}

/// The persistent cache's directory (`[offline] dir`) for the user: made 0700 and given to
/// the user when it does not exist yet. One that exists is left as it is (never chown an
/// admin's directory): owned by someone else, the daemon runs without a persistent cache
/// and says why.
fn state_dir_for(dir: &Path, uid: u32, gid: u32) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    if std::fs::symlink_metadata(dir).is_ok() {
        return Ok(());
    }
    // Missing parents as root's 0755 directories (the user must pass through them).
    if let Some(parent) = dir.parent() {
        privdrop::make_dir(parent)?;
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid))
        .map_err(|e| format!("chown {}: {e}", dir.display()))?;
    info!("{}: created for {uid}:{gid} (mode 700)", dir.display());
    Ok(())
}
