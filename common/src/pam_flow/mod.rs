//! The PAM module's decisions, written against two small traits so that they are tested with a
//! scripted host and a scripted daemon, without libpam (STYLE.md §1; kanidm's best idea).
//!
//! The cdylib `pam_ldaprs` only implements [`PamHost`] over a real `pam_handle_t` and calls the
//! functions here.
//!
//! Where things are: one file per PAM entry point (`authenticate`, `account`, `chauthtok`);
//! the traits and codes they are written against in `host`; the module arguments in
//! `options`; the shared steps in `user_name` (the checked user name), `password` (where
//! passwords come from, which new ones are refused) and `replies` (how daemon answers and
//! failures are logged and shown).

mod account;
mod authenticate;
mod chauthtok;
#[cfg(test)]
mod chauthtok_tests;
mod host;
mod options;
mod password;
mod replies;
#[cfg(test)]
mod tests;
mod user_name;

pub use account::account;
pub use authenticate::authenticate;
pub use chauthtok::chauthtok;
pub use host::{ChangePhase, Daemon, Level, PamCode, PamHost};
pub use options::Options;
pub use password::MAX_PASSWORD;
