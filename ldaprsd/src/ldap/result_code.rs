//! LDAP result codes (RFC 4511 §4.1.9, Appendix A) named once; everywhere else uses these.

pub const SUCCESS: u32 = 0;
pub const PROTOCOL_ERROR: u32 = 2;
pub const SIZE_LIMIT_EXCEEDED: u32 = 4;
/// `strongerAuthRequired`: AD and Samba refuse simple binds on an unencrypted connection.
pub const STRONGER_AUTH_REQUIRED: u32 = 8;
/// `referral`: the operation must be sent elsewhere (the URLs are in the result).
pub const REFERRAL: u32 = 10;
pub const UNAVAILABLE_CRITICAL_EXTENSION: u32 = 12;
pub const CONSTRAINT_VIOLATION: u32 = 19;
pub const NO_SUCH_OBJECT: u32 = 32;
pub const INVALID_CREDENTIALS: u32 = 49;
pub const INSUFFICIENT_ACCESS_RIGHTS: u32 = 50;
/// `other`; ldap3 also uses it for a transport failure inside a streaming search.
pub const OTHER: u32 = 80;
