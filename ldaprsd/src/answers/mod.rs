//! Answers to lookups: the cache (positive and negative TTLs, refresh ahead of expiry),
//! encoded enumeration frames, the shared-memory map the NSS module reads, and the
//! explanation `ldaprsctl user show` prints; the SSH keys answered for sshd. Uses
//! `directory/` for what is not cached.

pub mod explain;
pub mod frames;
pub mod key;
pub mod local_names;
pub mod lookup;
pub mod publish;
pub mod refresh;
pub mod ssh_keys;
pub mod state;

pub use key::Key;
pub use state::Answers;
