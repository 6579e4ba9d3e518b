//! [`Secret`]: a password on its way to the daemon, redacted in `Debug` and wiped on drop.

use std::fmt;

/// A password on its way to the daemon. Its `Debug` never shows it, and it is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned &mut u8; the volatile write keeps the compiler from
            // eliding the wipe of a buffer that is about to be freed.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}
