//! The persistent cache's files under `[offline] dir` (`/var/lib/ldaprs`): a directory the
//! daemon's user owns (0700), files of that user (0600) written whole (write, fsync, rename),
//! each a versioned, checksummed container (`file.rs`) around a body in a small bounded binary
//! encoding (`codec.rs`). A building block: `answers/` keeps its records in one such file,
//! `login/` the cached credentials in another.

pub mod codec;
pub mod file;

pub use codec::{Decoder, Encoder};
pub use file::{PersistDir, ReadError};

/// The SHA-256 of the settings persistent answers and login facts depend on (`[nss]`, `[pam]`
/// and the server blocks): what was stored under other settings is not used.
pub fn settings_fingerprint(cfg: &ldaprs_common::config::Config) -> Vec<u8> {
    use sha2::Digest;
    let text = format!("{:?}|{:?}|{:?}", cfg.nss, cfg.pam, cfg.servers);
    sha2::Sha256::digest(text.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests;
