//! ldaprsd: the only ldaprs process that talks LDAP. It owns the connections, failover, TLS,
//! the cache and the access decisions, and answers the modules over a Unix socket.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod access;
pub mod account_state;
pub mod cache;
pub mod diagnose;
pub mod directory;
pub mod local;
pub mod log;
pub mod login;
pub mod membership;
pub mod notify;
pub mod ppolicy;
pub mod privdrop;
pub mod publish;
pub mod server;
pub mod service;
pub mod tls;
