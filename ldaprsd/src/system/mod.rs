//! The process and its host: the host name, systemd readiness notifications, and the switch
//! to `[daemon] user`.

pub mod hostname;
pub mod notify;
pub mod privdrop;
