//! ldaprsd: the only ldaprs process that talks LDAP. It owns the connections, failover, TLS,
//! the cache and the access decisions, and answers the modules over a Unix socket.
//!
//! The rooms (docs/ARCHITECTURE.md), each using only those listed after it:
//! `daemon` (start, reload) → `socket` (listener, dispatch) → `admin`, `login` → `answers` →
//! `directory` → `ldap`; and the building blocks everyone may use: `clock`, `ttl_cache`,
//! `peer`, `log`, `system`, `persist`.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod admin;
pub mod answers;
pub mod clock;
pub mod daemon;
pub mod directory;
pub mod krb;
pub mod ldap;
pub mod log;
pub mod login;
pub mod peer;
pub mod persist;
pub mod socket;
pub mod system;
pub mod ttl_cache;
