//! Reading the password files a config names (`bind_password_file`, `admin_password_file`),
//! refusing files others could read or replace.
//!
//! The file is opened once, without following a symbolic link, and every check is made on
//! the opened fd (`fstat`) before the password is read from that same fd: a file swapped or
//! re-linked between a check by path and an open by path cannot slip through. The password is
//! read into one buffer sized from the file (never grown) and handed out as a
//! [`Zeroizing`] string, so no copy of it is left unwiped in freed memory.

use super::errors::ConfigError;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use zeroize::Zeroizing;

/// Larger files are refused: a password file holds one password.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Reads the service bind password (`bind_password_file`); see [`read_secret_file`].
pub fn read_secret(path: &Path) -> Result<String, ConfigError> {
    read_secret_for(path, "bind_password_file")
}

/// [`read_secret_file`] for callers that keep a plain `String`: the password's buffer is
/// moved out of its wrapper, not copied, and wiping it becomes the caller's job (wrap it in
/// `Zeroizing` again, as `ServerBlock` does). Prefer [`read_secret_file`].
pub fn read_secret_for(path: &Path, key: &str) -> Result<String, ConfigError> {
    let mut pw = read_secret_file(path, key)?;
    Ok(std::mem::take(&mut *pw))
}

/// Reads the password in the file named by `key` (`bind_password_file`,
/// `admin_password_file`). The file must be a regular file (not a symbolic link), owned by
/// root or by the user the process runs as, that neither group nor others can read or write
/// (DESIGN.md: secrets in a separate root-only file). One trailing newline is dropped.
pub fn read_secret_file(path: &Path, key: &str) -> Result<Zeroizing<String>, ConfigError> {
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
    let fix = format!("chown root:root {shown}; chmod 600 {shown}");
    let mut file = open_no_follow(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            err(
                format!("the {what} is a symbolic link; refusing to follow it"),
                Some("name the file itself, not a link to it"),
            )
        } else {
            err(format!("cannot read the {what}: {e}"), None)
        }
    })?;
    // fstat(2) on the opened fd: what is checked is what is read.
    let meta = file
        .metadata()
        .map_err(|e| err(format!("cannot read the {what}: {e}"), None))?;
    if !meta.is_file() {
        return Err(err(format!("the {what} is not a regular file"), None));
    }
    let (owner, mode) = (meta.uid(), meta.mode() & 0o7777);
    // SAFETY: geteuid(2) cannot fail and has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if owner != 0 && owner != euid {
        return Err(err(
            format!("the {what} is owned by uid {owner} (mode {mode:04o}), not by root or the user this runs as (uid {euid}): its owner could change the password; refusing to use it"),
            Some(&fix),
        ));
    }
    if mode & 0o077 != 0 {
        return Err(err(
            format!("the {what} (owner uid {owner}) is readable or writable by group or others (mode {mode:04o}); refusing to use it"),
            Some(&fix),
        ));
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(err(
            format!(
                "the {what} is larger than {} KiB; it should hold one password",
                MAX_SECRET_FILE / 1024
            ),
            None,
        ));
    }
    let bytes = read_exactly_sized(&mut file, meta.len())
        .map_err(|e| err(format!("cannot read the {what}: {e}"), None))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(err(format!("the {what} is not UTF-8 text"), None));
    };
    let pw = text.trim_end_matches(['\n', '\r']);
    if pw.is_empty() {
        return Err(err(
            format!("the {what} is empty (an empty password is an anonymous bind)"),
            None,
        ));
    }
    let mut out = Zeroizing::new(String::with_capacity(pw.len()));
    out.push_str(pw);
    Ok(out)
}

/// Opens `path` for reading: `O_NOFOLLOW` (a symbolic link fails with `ELOOP`), `O_CLOEXEC`,
/// and `O_NONBLOCK` so that a FIFO put in the file's place cannot hang the open (it is then
/// refused as not a regular file).
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
}

/// The file's bytes, read into one buffer allocated for `size` bytes and one more (to see
/// a file that grew since `fstat`), wiped on drop. A file that grew past that is an error, so
/// the buffer never reallocates.
fn read_exactly_sized(file: &mut File, size: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let cap = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let mut buf = Zeroizing::new(vec![0u8; cap]);
    let mut filled = 0usize;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            return Err(std::io::Error::other("the file grew while it was read"));
        }
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => filled = filled.saturating_add(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("ldaprs-secrets-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn secret(d: &Path, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn a_private_file_is_read_into_an_exactly_sized_buffer() {
        let d = dir("ok");
        let p = secret(&d, "pw", "s3cret\n", 0o600);
        let pw = read_secret_file(&p, "bind_password_file").unwrap();
        assert_eq!(pw.as_str(), "s3cret");
        assert_eq!(pw.capacity(), pw.len());
        assert_eq!(read_secret(&p).unwrap(), "s3cret");
        let _ = std::fs::remove_dir_all(&d);
    }

    /// Run as root (the test suite is): the file is given to another uid with chown.
    #[test]
    fn a_file_owned_by_another_user_is_refused() {
        let d = dir("owner");
        let p = secret(&d, "pw", "s3cret\n", 0o600);
        std::os::unix::fs::chown(&p, Some(54321), Some(54321)).unwrap();
        // SAFETY: geteuid(2) cannot fail.
        if unsafe { libc::geteuid() } == 54321 {
            return;
        }
        let e = read_secret_for(&p, "admin_password_file").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("admin_password_file"));
        assert_eq!(e.path, p.display().to_string());
        assert!(
            e.message
                .contains("the admin password file is owned by uid 54321 (mode 0600), not by root or the user this runs as"),
            "{e}"
        );
        let shown = p.display();
        assert_eq!(
            e.hint,
            Some(format!("chown root:root {shown}; chmod 600 {shown}"))
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn group_or_other_bits_are_refused_with_the_fix() {
        let d = dir("mode");
        for mode in [0o640, 0o604, 0o620, 0o602] {
            let p = secret(&d, "pw", "s3cret\n", mode);
            let e = read_secret(&p).unwrap_err();
            assert!(
                e.message.contains(&format!(
                    "is readable or writable by group or others (mode {mode:04o})"
                )),
                "{e}"
            );
            assert!(e.hint.as_deref().is_some_and(|h| h.contains("chmod 600")));
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let d = dir("link");
        let target = secret(&d, "pw", "s3cret\n", 0o600);
        let link = d.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = read_secret(&link).unwrap_err();
        assert!(e.message.contains("is a symbolic link"), "{e}");
        assert_eq!(e.key.as_deref(), Some("bind_password_file"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_fifo_or_directory_is_refused_without_hanging() {
        let d = dir("fifo");
        let fifo = d.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_secret(&fifo).unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e}");
        let e = read_secret(&d).unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn empty_and_oversized_files_are_refused() {
        let d = dir("size");
        let p = secret(&d, "pw", "\n", 0o600);
        assert!(read_secret(&p).unwrap_err().message.contains("is empty"));
        let big = "x".repeat(64 * 1024 + 1);
        let p = secret(&d, "big", &big, 0o600);
        assert!(read_secret(&p)
            .unwrap_err()
            .message
            .contains("larger than 64 KiB"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
