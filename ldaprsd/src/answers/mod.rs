//! Answers to lookups: the cache (positive and negative TTLs, refresh ahead of expiry),
//! encoded enumeration frames, the shared-memory map the NSS module reads, and the
//! explanation `ldaprsctl user show` prints; the SSH keys answered for sshd; the persistent
//! copy of the answers (`stored.rs`) and offline mode (`offline.rs`). Uses
//! `directory/` for what is not cached.

pub mod explain;
pub mod frames;
pub mod key;
pub mod local_names;
pub mod lookup;
pub mod offline;
pub mod offline_mode;
pub mod publish;
pub mod refresh;
pub mod ssh_keys;
pub mod state;
pub mod stored;

pub use key::Key;
pub use state::Answers;
