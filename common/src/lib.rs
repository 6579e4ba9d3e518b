//! ldaprs shared core.
//!
//! Everything the two host modules need lives here, behind small, unit-tested pieces:
//! the framed socket protocol ([`protocol`]), the blocking, bounded, fork-safe client
//! ([`client`]), RFC 4515/4514 escaping ([`filter`]), name validation ([`names`]), packing of
//! `struct passwd`/`struct group` into caller buffers ([`nss_pack`]) and the PAM decision flow
//! ([`pam_flow`]). The TOML config ([`config`]) is behind the `config` feature so that the
//! modules never link serde or toml.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod client;
#[cfg(feature = "config")]
pub mod config;
pub mod filter;
pub mod names;
pub mod nss;
pub mod nss_pack;
pub mod pam_flow;
pub mod panic_guard;
pub mod protocol;
pub mod shm;

/// The socket the modules talk to. Compiled in on purpose: the modules run inside every
/// process (including setuid ones) and must not take paths from the environment.
pub const DEFAULT_SOCKET: &str = "/run/ldaprs/socket";
/// Default config path of the daemon and ldaprsctl.
pub const DEFAULT_CONFIG: &str = "/etc/ldaprs/ldaprs.toml";
