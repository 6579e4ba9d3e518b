//! Kerberos for the daemon: its own credential from a keytab (`service.rs`: a private memory
//! cache, renewed before expiry), users' password logins verified against the host keytab
//! (`login.rs`) and their password changes (`kpasswd.rs`, libkrb5 declared by hand), the keytab's contents (`keytab.rs`), the GSS-API calls we
//! make ourselves (`gss.rs`) and the KDC's errors in words (`errors.rs`). Only the daemon's
//! crate links libgssapi_krb5; the NSS and PAM modules never do. A building block: `ldap/`
//! (SASL GSSAPI binds) and `login/` use it; it uses nothing of theirs.

pub mod errors;
pub mod gss;
pub mod keytab;
pub mod kpasswd;
pub mod login;
pub mod service;

pub use service::{Held, ServiceCreds};
