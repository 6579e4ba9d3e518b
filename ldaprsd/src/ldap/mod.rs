//! Talking LDAP: one [`ServerBlock`] per `[[servers]]` block, its connections (TLS, the
//! service bind), failover across its URIs, searches, user binds, password changes and the
//! probes of dead URIs. Nothing here knows about passwd records, groups or login rules: that
//! is `directory/` and `login/`, which use this room and are never used by it.

pub mod ad_diagnostic;
mod ad_passwd;
pub mod bind;
mod bind_pool;
pub mod block;
mod connect;
pub mod detect;
pub mod detection;
mod discovery;
pub mod entry;
pub mod enumerate;
pub mod error;
mod failover;
pub mod health;
mod liveness;
pub mod passwd;
pub mod ppolicy;
mod probe;
pub mod referral;
pub mod result_code;
pub mod sasl;
pub mod search;
pub mod sid;
pub mod srv;
pub mod tls;
pub mod uri;
pub mod wording;

pub use ad_diagnostic::AdReason;
pub use bind::{BindOutcome, BindResult};
pub use block::ServerBlock;
pub use detection::Detection;
pub use entry::{first_rdn, is_under, normalize_dn, Entry};
pub use error::DirError;
pub use passwd::{ChangeOutcome, PasswordChange};
