//! Packing of passwd and group records into the caller's buffer, the way glibc expects.
//!
//! glibc hands an NSS module a `struct passwd`/`struct group` plus a byte buffer; every string
//! and the member pointer array must live inside that buffer. If it is too small the module
//! returns `NSS_STATUS_TRYAGAIN` with `errno = ERANGE` and glibc retries with a larger one
//! (glibc manual, "NSS Module Function Internals"). These functions do the layout in safe Rust
//! on a slice and return offsets; the module turns offsets into pointers at the boundary.

#[cfg(test)]
use crate::protocol::{Group, Passwd};
use crate::protocol::{GroupRef, PasswdRef};

/// The buffer cannot hold the record: answer TRYAGAIN/ERANGE.
#[derive(Debug, PartialEq, Eq)]
pub struct TooSmall;

/// Offsets (from the start of the buffer) of the NUL-terminated strings of a passwd entry.
#[derive(Debug, PartialEq, Eq)]
pub struct PasswdLayout {
    pub name: usize,
    pub passwd: usize,
    pub gecos: usize,
    pub dir: usize,
    pub shell: usize,
}

/// Offsets of a group entry: its strings and the `char **gr_mem` array.
#[derive(Debug, PartialEq, Eq)]
pub struct GroupLayout {
    pub name: usize,
    pub passwd: usize,
    pub members: usize,
}

struct Packer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Packer<'_> {
    fn string(&mut self, s: &str) -> Result<usize, TooSmall> {
        let start = self.pos;
        let end = start.checked_add(s.len()).ok_or(TooSmall)?;
        let dst = self.buf.get_mut(start..=end).ok_or(TooSmall)?;
        let (text, nul) = dst.split_at_mut(s.len());
        text.copy_from_slice(s.as_bytes());
        if let Some(z) = nul.first_mut() {
            *z = 0;
        }
        self.pos = end + 1;
        Ok(start)
    }

    /// Reserves `n` pointer slots aligned for `*mut c_char`, relative to the real address of
    /// the buffer (`base`), since the caller's buffer need not be aligned.
    fn pointer_array(&mut self, base: usize, n: usize) -> Result<usize, TooSmall> {
        let align = std::mem::align_of::<usize>();
        let addr = base.checked_add(self.pos).ok_or(TooSmall)?;
        let pad = (align - addr % align) % align;
        let start = self.pos.checked_add(pad).ok_or(TooSmall)?;
        let bytes = n
            .checked_mul(std::mem::size_of::<usize>())
            .ok_or(TooSmall)?;
        let end = start.checked_add(bytes).ok_or(TooSmall)?;
        if end > self.buf.len() {
            return Err(TooSmall);
        }
        self.pos = end;
        Ok(start)
    }

    fn write_pointer(&mut self, at: usize, value: usize) -> Result<(), TooSmall> {
        let dst = self
            .buf
            .get_mut(at..at + std::mem::size_of::<usize>())
            .ok_or(TooSmall)?;
        dst.copy_from_slice(&value.to_ne_bytes());
        Ok(())
    }
}

/// Lays out a passwd entry in `buf`. `pw_passwd` is always `"x"`: hashes never leave the
/// directory.
pub fn pack_passwd(buf: &mut [u8], p: &PasswdRef<'_>) -> Result<PasswdLayout, TooSmall> {
    let mut w = Packer { buf, pos: 0 };
    Ok(PasswdLayout {
        name: w.string(p.name)?,
        passwd: w.string("x")?,
        gecos: w.string(p.gecos)?,
        dir: w.string(p.dir)?,
        shell: w.string(p.shell)?,
    })
}

/// Lays out a group entry in `buf`, whose first byte is at address `base`; the member array
/// holds absolute pointers (`base + offset`) and ends with a NULL.
pub fn pack_group(buf: &mut [u8], base: usize, g: &GroupRef<'_>) -> Result<GroupLayout, TooSmall> {
    let mut w = Packer { buf, pos: 0 };
    let members = w.pointer_array(base, g.members.len() + 1)?;
    let name = w.string(g.name)?;
    let passwd = w.string("x")?;
    let ptr = std::mem::size_of::<usize>();
    for (i, m) in g.members.iter().enumerate() {
        let off = w.string(m)?;
        w.write_pointer(members + i * ptr, base + off)?;
    }
    w.write_pointer(members + g.members.len() * ptr, 0)?;
    Ok(GroupLayout {
        name,
        passwd,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cstr_at(buf: &[u8], off: usize) -> &str {
        let end = buf[off..].iter().position(|&b| b == 0).unwrap() + off;
        std::str::from_utf8(&buf[off..end]).unwrap()
    }

    fn alice() -> Passwd {
        Passwd {
            name: "alice".into(),
            uid: 10001,
            gid: 10001,
            gecos: "Alice".into(),
            dir: "/home/alice".into(),
            shell: "/bin/bash".into(),
        }
    }

    #[test]
    fn passwd_fits_exactly_or_reports_too_small() {
        let p = alice();
        let need = "alice".len()
            + 1
            + 2
            + "Alice".len()
            + 1
            + "/home/alice".len()
            + 1
            + "/bin/bash".len()
            + 1;
        for len in 0..need {
            let mut buf = vec![0xAAu8; len];
            assert_eq!(
                pack_passwd(&mut buf, &p.borrowed()),
                Err(TooSmall),
                "len {len}"
            );
        }
        let mut buf = vec![0xAAu8; need];
        let l = pack_passwd(&mut buf, &p.borrowed()).unwrap();
        assert_eq!(cstr_at(&buf, l.name), "alice");
        assert_eq!(cstr_at(&buf, l.passwd), "x");
        assert_eq!(cstr_at(&buf, l.gecos), "Alice");
        assert_eq!(cstr_at(&buf, l.dir), "/home/alice");
        assert_eq!(cstr_at(&buf, l.shell), "/bin/bash");
    }

    #[test]
    fn group_pointers_are_aligned_absolute_and_null_terminated() {
        let g = Group {
            name: "devs".into(),
            gid: 1,
            members: vec!["alice".into(), "bob".into()],
        };
        for misalign in 0..8usize {
            let mut backing = vec![0u8; 256];
            let buf = &mut backing[misalign..];
            let base = buf.as_ptr() as usize;
            let l = pack_group(buf, base, &g.borrowed()).unwrap();
            assert_eq!((base + l.members) % std::mem::align_of::<usize>(), 0);
            let ptr = std::mem::size_of::<usize>();
            let read = |buf: &[u8], i: usize| {
                usize::from_ne_bytes(
                    buf[l.members + i * ptr..l.members + (i + 1) * ptr]
                        .try_into()
                        .unwrap(),
                )
            };
            assert_eq!(cstr_at(buf, read(buf, 0) - base), "alice");
            assert_eq!(cstr_at(buf, read(buf, 1) - base), "bob");
            assert_eq!(read(buf, 2), 0);
            assert_eq!(cstr_at(buf, l.name), "devs");
        }
    }

    #[test]
    fn group_too_small_at_every_length() {
        let g = Group {
            name: "devs".into(),
            gid: 1,
            members: vec!["alice".into()],
        };
        let mut ok_at = None;
        for len in 0..128 {
            let mut buf = vec![0u8; len];
            let base = buf.as_ptr() as usize;
            if pack_group(&mut buf, base, &g.borrowed()).is_ok() {
                ok_at = Some(len);
                break;
            }
        }
        let n = ok_at.unwrap();
        assert!(n >= 2 * std::mem::size_of::<usize>() + 5 + 2 + 6);
    }
}
