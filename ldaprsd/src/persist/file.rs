//! One directory of persistent files and the container each file is: a 56-byte header
//! (magic `LDAPRSPC`, a 4-byte kind, the format version, the body's length, the body's
//! SHA-256) and the body. A file is trusted only when it is a regular file (never followed
//! through a symlink) owned by the daemon's user with no access for group or others, and the
//! header and checksum hold; anything else is set aside (renamed `*.bad`) with one warning
//! and the daemon starts without it. Writes go to a temporary file (0600, fsync) renamed over
//! the old one, so a crash leaves the old file or the new, never half of one.

use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const MAGIC: &[u8; 8] = b"LDAPRSPC";
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);
pub const HEADER_LEN: usize = 56;
/// The largest file read back (a million cached users is well under this).
const MAX_FILE: u64 = 512 << 20;

/// Why a persistent file was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// It could not be read (the reason).
    Io(String),
    /// Not ours: another owner, readable by others, not a regular file.
    Foreign(String),
    /// Ours, but not a whole file of this kind and version (truncated, corrupt, another
    /// version).
    Corrupt(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(m) => write!(f, "cannot be read: {m}"),
            ReadError::Foreign(m) => write!(f, "not trusted: {m}"),
            ReadError::Corrupt(m) => write!(f, "corrupt: {m}"),
        }
    }
}

/// The directory of persistent files, checked once when opened.
#[derive(Debug, Clone)]
pub struct PersistDir {
    path: PathBuf,
    uid: u32,
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

impl PersistDir {
    /// Opens (creating, mode 0700) the directory at `path`. It must be a real directory owned
    /// by the daemon's user; group or other access is removed (logged by the caller through
    /// the returned note).
    pub fn open(path: &str) -> Result<(PersistDir, Option<String>), String> {
        let p = Path::new(path);
        if fs::symlink_metadata(p).is_err() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(p)
                .map_err(|e| format!("{path}: cannot create: {e}"))?;
        }
        let md = fs::symlink_metadata(p).map_err(|e| format!("{path}: {e}"))?;
        if !md.file_type().is_dir() {
            return Err(format!(
                "{path}: not a directory (a symlink is not followed)"
            ));
        }
        let uid = euid();
        if md.uid() != uid {
            return Err(format!(
                "{path}: owned by uid {}, not by the daemon's uid {uid}",
                md.uid()
            ));
        }
        let mut note = None;
        if md.mode() & 0o077 != 0 {
            fs::set_permissions(p, fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("{path}: cannot set mode 0700: {e}"))?;
            note = Some(format!(
                "{path}: mode was {:o}, set to 700",
                md.mode() & 0o7777
            ));
        }
        remove_stale_tmp(p);
        Ok((
            PersistDir {
                path: p.to_path_buf(),
                uid,
            },
            note,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The body of file `name` of this `kind` and `version`; None when there is no file.
    pub fn read(
        &self,
        name: &str,
        kind: &[u8; 4],
        version: u32,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        let path = self.file(name);
        let mut f = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(ReadError::Foreign("a symlink".into()))
            }
            Err(e) => return Err(ReadError::Io(e.to_string())),
        };
        let md = f.metadata().map_err(|e| ReadError::Io(e.to_string()))?;
        self.trusted(&md)?;
        let mut buf = Vec::with_capacity(usize::try_from(md.len()).unwrap_or(0));
        f.read_to_end(&mut buf)
            .map_err(|e| ReadError::Io(e.to_string()))?;
        unwrap_container(&buf, kind, version).map(Some)
    }

    /// The checks on an opened file: a regular file of ours, 0600 or stricter, not huge.
    fn trusted(&self, md: &fs::Metadata) -> Result<(), ReadError> {
        if !md.file_type().is_file() {
            return Err(ReadError::Foreign("not a regular file".into()));
        }
        if md.uid() != self.uid {
            return Err(ReadError::Foreign(format!(
                "owned by uid {}, not by the daemon's uid {}",
                md.uid(),
                self.uid
            )));
        }
        if md.mode() & 0o077 != 0 {
            return Err(ReadError::Foreign(format!(
                "mode {:o}: group or others have access (must be 600)",
                md.mode() & 0o7777
            )));
        }
        if md.len() > MAX_FILE {
            return Err(ReadError::Corrupt(format!(
                "{} bytes, more than the {MAX_FILE} allowed",
                md.len()
            )));
        }
        Ok(())
    }

    /// Renames file `name` to `name.bad` (replacing an older one), so that it is looked at by
    /// an admin and not read again. Returns where it went.
    pub fn set_aside(&self, name: &str) -> String {
        let from = self.file(name);
        let to = self.file(&format!("{name}.bad"));
        match fs::rename(&from, &to) {
            Ok(()) => to.display().to_string(),
            Err(e) => {
                let _ = fs::remove_file(&from);
                format!("nowhere ({e}; removed)")
            }
        }
    }

    /// Replaces file `name` with a container around `body`, atomically.
    pub fn write(
        &self,
        name: &str,
        kind: &[u8; 4],
        version: u32,
        body: &[u8],
    ) -> Result<(), String> {
        let path = self.file(name);
        // Unique per write (pid and a counter): two writers never share, unlink or rename
        // each other's half-written file.
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = self.file(&format!(".{name}.{}.{n}.tmp", std::process::id()));
        let res = (|| -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&tmp)?;
            f.write_all(&header(kind, version, body))?;
            f.write_all(body)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            File::open(&self.path)?.sync_all()
        })();
        res.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            format!("{}: cannot write: {e}", path.display())
        })
    }

    /// Removes file `name` (no file: nothing to do).
    pub fn remove(&self, name: &str) -> Result<(), String> {
        match fs::remove_file(self.file(name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("{}: cannot remove: {e}", self.file(name).display())),
        }
    }
}

/// Temporary files another process left (a crash between create and rename): removed, they
/// may hold password hashes. Ours (this pid) may be being written.
fn remove_stale_tmp(dir: &Path) {
    let ours = format!(".{}.", std::process::id());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") && !name.contains(&ours) {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn header(kind: &[u8; 4], version: u32, body: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(kind);
    h.extend_from_slice(&version.to_le_bytes());
    h.extend_from_slice(&(body.len() as u64).to_le_bytes());
    h.extend_from_slice(&Sha256::digest(body));
    h
}

/// The body of a container, after checking magic, kind, version, length and checksum.
pub fn unwrap_container(buf: &[u8], kind: &[u8; 4], version: u32) -> Result<Vec<u8>, ReadError> {
    let corrupt = |m: &str| ReadError::Corrupt(m.to_string());
    let (h, body) = (buf.get(..HEADER_LEN), buf.get(HEADER_LEN..));
    let (Some(h), Some(body)) = (h, body) else {
        return Err(corrupt("shorter than its header (truncated)"));
    };
    if h.get(..8) != Some(MAGIC.as_slice()) {
        return Err(corrupt("not an ldaprs cache file (magic)"));
    }
    if h.get(8..12) != Some(kind.as_slice()) {
        return Err(corrupt("a cache file of another kind"));
    }
    let num = |r: std::ops::Range<usize>| h.get(r).map(<[u8]>::to_vec).unwrap_or_default();
    let v = u32::from_le_bytes(num(12..16).try_into().map_err(|_| corrupt("header"))?);
    if v != version {
        return Err(ReadError::Corrupt(format!(
            "format version {v}, this daemon reads version {version}"
        )));
    }
    let len = u64::from_le_bytes(num(16..24).try_into().map_err(|_| corrupt("header"))?);
    if len != body.len() as u64 {
        return Err(ReadError::Corrupt(format!(
            "the header says {len} bytes of data, the file has {} (truncated or appended to)",
            body.len()
        )));
    }
    if h.get(24..56) != Some(Sha256::digest(body).as_slice()) {
        return Err(corrupt("checksum mismatch"));
    }
    Ok(body.to_vec())
}
