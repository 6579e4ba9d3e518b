//! Opening the map file: the one routine that the NSS module (read-only, inside every process)
//! and the daemon (read-write, to take a map over or to mark it superseded) both use, with the
//! checks that make a file safe to map. Creating a new file is here too, so that the file is
//! only ever touched through this module.
//!
//! Checks, in order: the path is not a symlink (`O_NOFOLLOW`); it is a regular file that
//! neither its group nor others may write (the daemon runs as root or its own user, which owns
//! `/run/ldaprs`; others cannot write there); its size is sane ([`MIN_MAP_LEN`] ..=
//! [`MAX_MAP_LEN`]); once mapped, its header carries our magic, version and a length equal to
//! the size mapped ([`MapView::valid`]). The fd is `O_CLOEXEC` and closed before returning; the
//! mapping stays until [`MappedFile`] is dropped or leaked.

use crate::shm::reader::MapView;
use crate::shm::writer::MapWriter;
use libc::c_int;
use std::ffi::CStr;
use std::path::Path;

/// Smallest map file accepted: the header and the smallest tables.
pub const MIN_MAP_LEN: usize = 8192;
/// Largest map file accepted (the daemon's own cap on `[cache] map_size_mb`).
pub const MAX_MAP_LEN: usize = 4usize << 30;

/// How a map file is opened and mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `O_RDONLY`, `PROT_READ`: the NSS module.
    ReadOnly,
    /// `O_RDWR`, `PROT_READ | PROT_WRITE`: the daemon.
    ReadWrite,
}

/// Why a map file was not mapped (or not handed to a writer).
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// `open(2)` failed with this errno (no map yet: `ENOENT`; a symlink: `ELOOP`; the file
    /// exists when creating: `EEXIST`).
    Open(i32),
    /// `fstat(2)` failed with this errno.
    Stat(i32),
    /// Not a regular file, or writable by its group or by others.
    Unsafe,
    /// The file's size is outside [`MIN_MAP_LEN`] ..= [`MAX_MAP_LEN`].
    Size(usize),
    /// `ftruncate(2)` failed with this errno (creating).
    Truncate(i32),
    /// `mmap(2)` failed with this errno.
    Map(i32),
    /// The header is not ours (magic, version, declared length or geometry), or a new map
    /// could not be formatted with the buckets asked.
    Invalid,
    /// A writer was asked of a read-only mapping.
    ReadOnly,
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// An fd this module opened; closed on drop (never a foreign fd).
struct Fd(c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: closing the fd we opened; a mapping made from it stays valid.
        unsafe { libc::close(self.0) };
    }
}

impl Fd {
    fn open(path: &CStr, flags: c_int) -> Result<Fd, OpenError> {
        // SAFETY: open with a NUL-terminated path; the mode is used only with O_CREAT.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                flags | libc::O_CLOEXEC | libc::O_NOFOLLOW,
                0o644 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(OpenError::Open(errno()));
        }
        Ok(Fd(fd))
    }

    /// The file's size and owner, if it is a regular file of sane size that only its owner
    /// may write.
    fn checked_len(&self) -> Result<(usize, u32), OpenError> {
        // SAFETY: stat is plain old data.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on our fd into our buffer.
        if unsafe { libc::fstat(self.0, &mut st) } != 0 {
            return Err(OpenError::Stat(errno()));
        }
        // Only a regular file of sane size that group and others cannot write; its owner is
        // checked against its directory's by `owner_trusted`.
        if (st.st_mode & libc::S_IFMT) != libc::S_IFREG || (st.st_mode & 0o022) != 0 {
            return Err(OpenError::Unsafe);
        }
        let len = usize::try_from(st.st_size).unwrap_or(0);
        if !(MIN_MAP_LEN..=MAX_MAP_LEN).contains(&len) {
            return Err(OpenError::Size(len));
        }
        Ok((len, st.st_uid))
    }

    fn map(&self, len: usize, access: Access) -> Result<MappedFile, OpenError> {
        let prot = match access {
            Access::ReadOnly => libc::PROT_READ,
            Access::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        };
        // SAFETY: a shared mapping of our fd; checked against MAP_FAILED.
        let base =
            unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, self.0, 0) };
        if base == libc::MAP_FAILED {
            return Err(OpenError::Map(errno()));
        }
        Ok(MappedFile {
            base: base.cast::<u8>(),
            len,
            access,
        })
    }
}

/// The directory part of `path` (up to its last `/`), NUL-terminated in `buf`.
fn parent_of<'b>(path: &CStr, buf: &'b mut [u8; 256]) -> Option<&'b CStr> {
    let bytes = path.to_bytes();
    let slash = bytes.iter().rposition(|b| *b == b'/')?;
    let dir = if slash == 0 {
        &b"/"[..]
    } else {
        bytes.get(..slash)?
    };
    let out = buf.get_mut(..=dir.len())?;
    let (head, nul) = out.split_at_mut(dir.len());
    head.copy_from_slice(dir);
    nul.fill(0);
    CStr::from_bytes_with_nul(buf.get(..=dir.len())?).ok()
}

/// Whether a map owned by `owner` may be trusted: its directory must be a directory that
/// neither group nor others may write (so nobody else can have put the file there), and the
/// file must belong to root or to the directory's owner (the daemon's user, to whom systemd's
/// `RuntimeDirectory=` or the daemon's own privilege switch gave `/run/ldaprs`). A map
/// planted by any other user is refused.
fn owner_trusted(path: &CStr, owner: u32) -> Result<(), OpenError> {
    let mut buf = [0u8; 256];
    let dir = parent_of(path, &mut buf).ok_or(OpenError::Unsafe)?;
    // SAFETY: stat is plain old data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: stat of a NUL-terminated path into our buffer.
    if unsafe { libc::stat(dir.as_ptr(), &mut st) } != 0 {
        return Err(OpenError::Stat(errno()));
    }
    let is_dir = (st.st_mode & libc::S_IFMT) == libc::S_IFDIR;
    if !is_dir || (st.st_mode & 0o022) != 0 || (owner != 0 && owner != st.st_uid) {
        return Err(OpenError::Unsafe);
    }
    Ok(())
}

/// A mapping of a map file; unmapped on drop unless leaked or handed to a writer.
pub struct MappedFile {
    base: *mut u8,
    len: usize,
    access: Access,
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        // SAFETY: our own mapping of `len` bytes; nobody was handed a view that outlives it
        // (leak and the writer constructors forget `self` instead of dropping it).
        unsafe { libc::munmap(self.base.cast::<libc::c_void>(), self.len) };
    }
}

impl MappedFile {
    /// Opens and maps the map file at `path` after the checks of this module's header.
    pub fn open(path: &CStr, access: Access) -> Result<MappedFile, OpenError> {
        let flags = match access {
            Access::ReadOnly => libc::O_RDONLY,
            Access::ReadWrite => libc::O_RDWR,
        };
        let fd = Fd::open(path, flags)?;
        let (len, owner) = fd.checked_len()?;
        owner_trusted(path, owner)?;
        let file = fd.map(len, access)?;
        drop(fd);
        if !file.view().valid() {
            return Err(OpenError::Invalid);
        }
        Ok(file)
    }

    /// Creates a new, empty file of `len` bytes at `path` (which must not exist: `O_EXCL`,
    /// mode 0644) and maps it read-write, unformatted: [`MappedFile::format`] makes it a map.
    /// On an error the file may exist; the caller removes it.
    pub fn create(path: &CStr, len: usize) -> Result<MappedFile, OpenError> {
        let fd = Fd::open(path, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL)?;
        let Ok(flen) = libc::off_t::try_from(len) else {
            return Err(OpenError::Size(len));
        };
        // SAFETY: ftruncate on our new file.
        if unsafe { libc::ftruncate(fd.0, flen) } != 0 {
            return Err(OpenError::Truncate(errno()));
        }
        fd.map(len, Access::ReadWrite)
    }

    /// The mapping, as a reader sees it. Valid while `self` lives (or forever once leaked).
    pub fn view(&self) -> MapView {
        // SAFETY: `base` is a page-aligned mapping of `len` readable bytes, kept while `self`
        // lives.
        unsafe { MapView::new(self.base, self.len) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps the mapping for the life of the process and returns its view (the NSS module:
    /// another thread may be reading it at any time, so it is never unmapped).
    pub fn leak(self) -> MapView {
        let view = self.view();
        std::mem::forget(self);
        view
    }

    /// Takes the map over as its only writer (a daemon restart): the content is cleared and
    /// the generation bumped; readers keep their mapping. The mapping lives as long as the
    /// process (the writer never unmaps it).
    pub fn into_writer(self) -> Result<MapWriter, OpenError> {
        if self.access != Access::ReadWrite {
            return Err(OpenError::ReadOnly);
        }
        // SAFETY: a read-write, page-aligned mapping of `len` bytes that is never unmapped
        // (forgotten below); the daemon is the map's only writer.
        let w = unsafe { MapWriter::reuse(self.base, self.len) }.ok_or(OpenError::Invalid)?;
        std::mem::forget(self);
        Ok(w)
    }

    /// Formats a mapping from [`MappedFile::create`] as an empty map with `buckets` buckets
    /// per table and hands it to its writer, as [`MappedFile::into_writer`].
    pub fn format(self, buckets: u32) -> Result<MapWriter, OpenError> {
        if self.access != Access::ReadWrite {
            return Err(OpenError::ReadOnly);
        }
        // SAFETY: as in into_writer.
        let w =
            unsafe { MapWriter::create(self.base, self.len, buckets) }.ok_or(OpenError::Invalid)?;
        std::mem::forget(self);
        Ok(w)
    }

    /// Tells the readers of this (old) map to map the path again: clears it, marks it
    /// superseded, and unmaps it.
    pub fn supersede(self) -> Result<(), OpenError> {
        if self.access != Access::ReadWrite {
            return Err(OpenError::ReadOnly);
        }
        // SAFETY: a read-write mapping of `len` bytes of our map; the writer is dropped before
        // `self` unmaps it (end of this function).
        let w = unsafe { MapWriter::reuse(self.base, self.len) }.ok_or(OpenError::Invalid)?;
        w.mark_superseded();
        Ok(())
    }
}

/// The map file the daemon publishes beside its socket (`/run/ldaprs/socket` →
/// [`MAP_PATH`](crate::shm::MAP_PATH), the path the NSS module opens).
pub fn map_path_for_socket(socket: &str) -> String {
    Path::new(socket)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
        .join("cache.map")
        .to_string_lossy()
        .into_owned()
}
