//! [`Secret`]: a password on its way to the daemon, redacted in `Debug` and wiped on drop.

use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// A password on its way to the daemon. Its `Debug` never shows it, and its whole buffer
/// (length and spare capacity) is wiped on drop by [`Zeroizing`]. It never grows: build it
/// from a buffer that already holds the whole password ([`Secret::from_slice`] copies into
/// an exactly sized one), so no reallocation leaves a copy behind.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Takes `bytes` as they are (the buffer is moved, not copied).
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(Zeroizing::new(bytes))
    }
    /// Copies `bytes` into a buffer of exactly their size.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Secret(Zeroizing::new(bytes.to_vec()))
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Zeroize for Secret {
    /// Wipes the password now (drop does the same); the secret is empty afterwards.
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::from_slice(b"hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.len(), 7);
    }

    /// The wipe itself, through the explicit `zeroize()` that drop also runs: every byte of
    /// the allocation (the password and the spare capacity) is zero afterwards. Read through
    /// the live Vec, never through freed memory.
    #[test]
    fn zeroize_wipes_the_whole_allocation() {
        let mut v = Vec::with_capacity(32);
        v.extend_from_slice(b"correct horse battery");
        let mut s = Secret::new(v);
        let cap = s.0.capacity();
        s.zeroize();
        assert!(s.is_empty());
        assert_eq!(s.0.capacity(), cap, "the buffer was not reallocated");
        let spare = s.0.spare_capacity_mut();
        assert_eq!(spare.len(), cap);
        // SAFETY: zeroize() wrote every byte of the spare capacity (MaybeUninit::zeroed via
        // volatile writes), so each is an initialised u8.
        assert!(spare.iter().all(|b| unsafe { b.assume_init_read() } == 0));
    }
}
