//! The constants of the wire format: the frame's magic and version, and the local caps every
//! length read from a peer is checked against.

pub const MAGIC: [u8; 4] = *b"LDRS";
pub const VERSION: u16 = 1;
pub const HEADER_LEN: usize = 10;
/// Largest request the daemon accepts (a name, a password, a few PAM items).
pub const MAX_REQUEST: usize = 64 * 1024;
/// Largest response a client accepts (a full enumeration of ~100k users fits).
pub const MAX_RESPONSE: usize = 64 * 1024 * 1024;
/// Longest single string field (names, gecos, paths, passwords).
pub const MAX_STRING: usize = 64 * 1024;
/// Most SSH keys answered for one user (more are dropped by the daemon, with a log line).
pub const MAX_SSH_KEYS: usize = 100;
/// Longest authorized_keys line answered (options and comment included): an RSA-16384 key is
/// about 2.8 kB of base64, `from=` lists and certificate principals take the rest.
pub const MAX_SSH_KEY_LINE: usize = 16 * 1024;
