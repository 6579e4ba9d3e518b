//! `/etc/ldaprs/ldaprs.toml`: the contract in DESIGN.md, parsed strictly.
//!
//! Unknown keys and wrong types are errors that name the file, the line, the key and, where we
//! can guess it, the key that was meant. Values that parse but make no sense (an empty `uri`
//! list, an unknown URI scheme, a `bind_dn` without a password file) are reported the same way.
//!
//! Where things are: the serde structs of the file's tables in `sections` (`[daemon]`,
//! `[cache]`, `[nss]`, `[pam]`) and `server` (`[[servers]]` and its tables); the schema
//! presets turned into search settings in `effective`; reading and parsing in `load`; the
//! semantic checks in `validate` (then `validate_extras`, `validate_server`); the located
//! error in `errors`, with `source_lines` (where a key is) and `hints` (did you mean); the
//! password files in `secrets`.

mod effective;
mod errors;
mod hints;
mod idmap;
mod load;
mod offline;
mod sasl;
mod secrets;
mod sections;
mod server;
mod source_lines;
#[cfg(test)]
mod tests;
mod validate;
mod validate_extras;
mod validate_sasl;
mod validate_server;

pub use effective::{membership_form, Effective, Membership, IN_CHAIN_RULE};
pub use errors::ConfigError;
pub use idmap::{IdmapMode, IdmapSection};
pub use load::{load, parse};
pub use offline::{OfflineSection, DEFAULT_OFFLINE_DIR};
pub use sasl::{AuthMethod, AuthSection, SaslMech, SaslSection};
pub use secrets::{read_secret, read_secret_for};
pub use sections::{
    CacheSection, Config, DaemonSection, LogLevel, NssSection, PamSection, ACCESS_FILTER_VARS,
};
pub use server::{
    seconds, GroupAttributes, GroupMapping, GroupsSection, OneOrMany, Schema, Server, TlsMode,
    TlsSection, UserAttributes, UsersSection,
};
