//! Logins, decided by the daemon: authentication (a bind as the user, with the password policy
//! control), the account stage (access rules, then the account's state) and password changes
//! (RFC 3062). Each stage is a few small steps that end in a [`verdict::Verdict`]: the code for
//! the PAM module, the words for the user, and one log line naming the rule. The directory is
//! reached through the [`accounts::Accounts`] trait, so every decision is unit-tested with a
//! fake (`tests.rs`). While no server answers, logins are decided from the cached credentials
//! and facts (`cached.rs`, `offline.rs`; `offline_tests.rs`).

pub mod access;
pub mod account;
pub mod account_state;
pub mod accounts;
pub mod ad_reasons;
pub mod authenticate;
pub mod backend;
pub mod cached;
pub mod cached_show;
pub mod krb5;
pub mod logins;
pub mod offline;
pub mod password;
pub mod verdict;

#[cfg(test)]
mod offline_tests;
#[cfg(test)]
mod tests;

pub use accounts::Accounts;
pub use backend::DirectoryAccounts;
pub use logins::Logins;
