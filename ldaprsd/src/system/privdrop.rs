//! Running as a dedicated system user. Started as root outside systemd, the daemon reads the
//! root-only bind password file (it refuses one that group or others can read), creates
//! /run/ldaprs and gives it to `[daemon] user`, then switches to that user for good: no
//! supplementary groups, real, effective and saved ids all changed, so no capability is left;
//! the user then creates the socket and the shared map. Under the packaged unit systemd starts
//! the daemon as that user (`User=`), passes the secrets as credentials and creates /run/ldaprs
//! for it, and none of this runs.
//!
//! The user is looked up in /etc/passwd directly: the daemon never resolves users through NSS
//! (DESIGN.md hard rule 7).

use std::ffi::CString;

/// uid and gid of `name` from a passwd-format text.
pub fn lookup(passwd: &str, name: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        if f.next()? != name {
            return None;
        }
        let _pw = f.next()?;
        let uid = f.next()?.parse().ok()?;
        let gid = f.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

/// The real uid the daemon was started as.
pub fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Creates `dir` (the socket's directory) with mode 0755 if it does not exist.
pub fn make_dir(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("mkdir {}: {e}", dir.display()))
}

/// Makes `dir` (the socket's directory) owned by the user, so that clients that check the
/// daemon's identity (the PAM module: peer uid must be root or the directory's owner) trust it.
pub fn hand_over(dir: &std::path::Path, uid: u32, gid: u32) -> Result<(), String> {
    shared_directory(dir)?;
    let c = CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: chown with a NUL-terminated path.
    if unsafe { libc::chown(c.as_ptr(), uid, gid) } != 0 {
        return Err(format!(
            "chown {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Refuses to give away a directory others share: a socket configured as `/tmp/x.sock` must
/// not hand `/tmp` (or `/`, `/run`) to the daemon's user.
fn shared_directory(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let shared = ["/", "/run", "/tmp", "/var/tmp", "/dev/shm", "/var/run"];
    let world_writable = std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o002 != 0);
    if world_writable || shared.iter().any(|s| dir == std::path::Path::new(s)) {
        return Err(format!(
            "{} is shared with others: the socket must be in a directory of its own (like /run/ldaprs) for [daemon] user to own it",
            dir.display()
        ));
    }
    Ok(())
}

/// Switches the whole process (all threads: glibc broadcasts set*id) to uid/gid.
pub fn become_user(uid: u32, gid: u32) -> Result<(), String> {
    let err = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    // SAFETY: plain system calls with constant or owned arguments; results checked.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(err("setgroups"));
        }
        if libc::setresgid(gid, gid, gid) != 0 {
            return Err(err("setresgid"));
        }
        if libc::setresuid(uid, uid, uid) != 0 {
            return Err(err("setresuid"));
        }
        if libc::getuid() != uid || libc::geteuid() != uid || libc::getegid() != gid {
            return Err("the switch did not take".into());
        }
        // Setting the ids reset the dumpable flag; keep secrets out of core dumps.
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_directories_are_never_handed_over() {
        for d in ["/", "/tmp", "/run", "/dev/shm"] {
            assert!(shared_directory(std::path::Path::new(d)).is_err(), "{d}");
        }
        let own = std::env::temp_dir().join(format!("ldaprs-own-{}", std::process::id()));
        std::fs::create_dir_all(&own).unwrap();
        assert!(shared_directory(&own).is_ok());
        let _ = std::fs::remove_dir(&own);
    }

    #[test]
    fn passwd_lookup() {
        let p = "root:x:0:0:root:/root:/bin/bash\n_ldaprs:x:998:997::/nonexistent:/usr/sbin/nologin\nbad:x:zz:1::/:/bin/sh\n";
        assert_eq!(lookup(p, "_ldaprs"), Some((998, 997)));
        assert_eq!(lookup(p, "root"), Some((0, 0)));
        assert_eq!(lookup(p, "bad"), None);
        assert_eq!(lookup(p, "_ldapr"), None);
    }
}
