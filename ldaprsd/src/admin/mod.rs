//! What an admin asks: `ldaprsctl server test` (each URI's TCP, TLS, certificate, service bind
//! and RootDSE) and `ldaprsctl status`.

pub mod server_test;
pub mod server_test_srv;
pub mod status;
