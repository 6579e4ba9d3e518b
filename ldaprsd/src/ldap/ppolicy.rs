//! The LDAP password policy response control (draft-behera-ldap-password-policy-10 §6.2,
//! OID 1.3.6.1.4.1.42.2.27.8.5.1), as OpenLDAP's ppolicy overlay sends it on binds and
//! password changes, and the words a user is shown for it.
//!
//! ```text
//! PasswordPolicyResponseValue ::= SEQUENCE {
//!     warning [0] CHOICE {
//!         timeBeforeExpiration [0] INTEGER (0 .. maxInt),
//!         graceAuthNsRemaining [1] INTEGER (0 .. maxInt) } OPTIONAL,
//!     error   [1] ENUMERATED { passwordExpired (0), accountLocked (1), changeAfterReset (2),
//!         passwordModNotAllowed (3), mustSupplyOldPassword (4),
//!         insufficientPasswordQuality (5), passwordTooShort (6), passwordTooYoung (7),
//!         passwordInHistory (8) } OPTIONAL }
//! ```
//!
//! The value comes from the server, so the parser is bounded: it never allocates, reads no
//! byte outside the value, accepts only definite lengths of at most 4 length bytes, and
//! integers of at most 8 bytes.

/// The request control OID (sent without a value).
pub const OID: &str = "1.3.6.1.4.1.42.2.27.8.5.1";

/// The `error` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyError {
    PasswordExpired,
    AccountLocked,
    ChangeAfterReset,
    PasswordModNotAllowed,
    MustSupplyOldPassword,
    InsufficientPasswordQuality,
    PasswordTooShort,
    PasswordTooYoung,
    PasswordInHistory,
    /// A value this draft does not define (kept so that it is logged, never ignored).
    Unknown(u32),
}

impl PolicyError {
    fn from_u32(v: u32) -> PolicyError {
        match v {
            0 => PolicyError::PasswordExpired,
            1 => PolicyError::AccountLocked,
            2 => PolicyError::ChangeAfterReset,
            3 => PolicyError::PasswordModNotAllowed,
            4 => PolicyError::MustSupplyOldPassword,
            5 => PolicyError::InsufficientPasswordQuality,
            6 => PolicyError::PasswordTooShort,
            7 => PolicyError::PasswordTooYoung,
            8 => PolicyError::PasswordInHistory,
            n => PolicyError::Unknown(n),
        }
    }

    /// What the user is told.
    pub fn message(self) -> String {
        match self {
            PolicyError::PasswordExpired => "Your password has expired and no grace logins are left; please contact your system administrator.".into(),
            PolicyError::AccountLocked => "Your account is locked; please contact your system administrator.".into(),
            PolicyError::ChangeAfterReset => "You are required to change your password immediately (administrator enforced).".into(),
            PolicyError::PasswordModNotAllowed => "You may not change this password.".into(),
            PolicyError::MustSupplyOldPassword => "The current password is required to change it.".into(),
            PolicyError::InsufficientPasswordQuality => "The new password does not meet the password policy.".into(),
            PolicyError::PasswordTooShort => "The new password is too short.".into(),
            PolicyError::PasswordTooYoung => "The password was changed too recently; try again later.".into(),
            PolicyError::PasswordInHistory => "The new password was used before; choose another one.".into(),
            PolicyError::Unknown(n) => format!("The password policy refused this (error {n})."),
        }
    }
}

/// A decoded response control.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyResponse {
    pub time_before_expiration: Option<u32>,
    pub grace_remaining: Option<u32>,
    pub error: Option<PolicyError>,
}

impl PolicyResponse {
    /// The warning a user sees after a successful bind, if any.
    pub fn warning(&self) -> Option<String> {
        if let Some(n) = self.grace_remaining {
            let s = if n == 1 { "" } else { "s" };
            return Some(format!(
                "Your password has expired; {n} grace login{s} left. Change it now."
            ));
        }
        self.time_before_expiration.map(|secs| {
            format!(
                "Warning: your password will expire in {}.",
                duration_words(secs)
            )
        })
    }
}

/// "3 days", "1 hour", "5 minutes".
pub fn duration_words(secs: u32) -> String {
    let (n, unit) = match secs {
        s if s >= 86_400 => (s / 86_400, "day"),
        s if s >= 3_600 => (s / 3_600, "hour"),
        s => ((s / 60).max(1), "minute"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Why a control value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BerError(pub &'static str);

impl std::fmt::Display for BerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed password policy control: {}", self.0)
    }
}

/// One BER element: its tag byte and its contents.
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

/// Reads one element from the front of `buf`; returns it and the rest.
fn tlv(buf: &[u8]) -> Result<(Tlv<'_>, &[u8]), BerError> {
    let (&tag, rest) = buf.split_first().ok_or(BerError("truncated tag"))?;
    if tag & 0x1f == 0x1f {
        return Err(BerError("multi-byte tag"));
    }
    let (&first, rest) = rest.split_first().ok_or(BerError("truncated length"))?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 {
            return Err(BerError("indefinite length"));
        }
        if n > 4 {
            return Err(BerError("length of more than 4 bytes"));
        }
        let (bytes, rest) = rest
            .split_at_checked(n)
            .ok_or(BerError("truncated length"))?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    let (body, rest) = rest
        .split_at_checked(len)
        .ok_or(BerError("length beyond the value"))?;
    Ok((Tlv { tag, body }, rest))
}

/// A non-negative INTEGER/ENUMERATED body that fits in a u32.
fn uint(body: &[u8]) -> Result<u32, BerError> {
    if body.is_empty() || body.len() > 8 {
        return Err(BerError("integer of bad size"));
    }
    if body.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(BerError("negative integer"));
    }
    let v = body.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    u32::try_from(v).map_err(|_| BerError("integer too large"))
}

/// Decodes the control value.
pub fn parse(value: &[u8]) -> Result<PolicyResponse, BerError> {
    let (seq, rest) = tlv(value)?;
    if seq.tag != 0x30 {
        return Err(BerError("not a SEQUENCE"));
    }
    if !rest.is_empty() {
        return Err(BerError("bytes after the SEQUENCE"));
    }
    let mut out = PolicyResponse::default();
    let mut body = seq.body;
    // Index of the next field allowed: warning (0), then error (1), each at most once.
    let mut next_field = 0u8;
    while !body.is_empty() {
        let (el, rest) = tlv(body)?;
        body = rest;
        let field = match el.tag {
            0xa0 => 0,
            0x81 => 1,
            _ => return Err(BerError("unknown field")),
        };
        if field < next_field {
            return Err(BerError("fields out of order or repeated"));
        }
        next_field = field + 1;
        match el.tag {
            0xa0 => {
                let (choice, more) = tlv(el.body)?;
                if !more.is_empty() {
                    return Err(BerError("bytes after the warning"));
                }
                match choice.tag {
                    0x80 => out.time_before_expiration = Some(uint(choice.body)?),
                    0x81 => out.grace_remaining = Some(uint(choice.body)?),
                    _ => return Err(BerError("unknown warning")),
                }
            }
            0x81 => out.error = Some(PolicyError::from_u32(uint(el.body)?)),
            _ => return Err(BerError("unknown field")),
        }
    }
    Ok(out)
}

/// The response control among a result's controls: `Ok(None)` if the server sent none.
pub fn from_controls(
    ctrls: &[ldap3::controls::Control],
) -> Result<Option<PolicyResponse>, BerError> {
    match ctrls.iter().find(|c| c.1.ctype == OID) {
        None => Ok(None),
        Some(c) => match &c.1.val {
            Some(v) => parse(v).map(Some),
            None => Err(BerError("control without a value")),
        },
    }
}

/// The request control for a bind or a password change.
pub fn request() -> ldap3::controls::RawControl {
    ldap3::controls::RawControl {
        ctype: OID.to_string(),
        crit: false,
        val: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_openldap_sends() {
        // Bind with an expired password and 2 grace logins left: warning [0] { [1] 2 }.
        assert_eq!(
            parse(&[0x30, 0x05, 0xa0, 0x03, 0x81, 0x01, 0x02]).unwrap(),
            PolicyResponse {
                grace_remaining: Some(2),
                ..Default::default()
            }
        );
        // Expiry warning, 86400 seconds: [0] { [0] 0x015180 }.
        assert_eq!(
            parse(&[0x30, 0x07, 0xa0, 0x05, 0x80, 0x03, 0x01, 0x51, 0x80]).unwrap(),
            PolicyResponse {
                time_before_expiration: Some(86_400),
                ..Default::default()
            }
        );
        // Account locked: error [1] 1.
        assert_eq!(
            parse(&[0x30, 0x03, 0x81, 0x01, 0x01]).unwrap().error,
            Some(PolicyError::AccountLocked)
        );
        // Password modify refused: too short, and in history.
        assert_eq!(
            parse(&[0x30, 0x03, 0x81, 0x01, 0x06]).unwrap().error,
            Some(PolicyError::PasswordTooShort)
        );
        assert_eq!(
            parse(&[0x30, 0x03, 0x81, 0x01, 0x08]).unwrap().error,
            Some(PolicyError::PasswordInHistory)
        );
        // Warning and error together; an empty sequence; a long-form length.
        let both = parse(&[0x30, 0x08, 0xa0, 0x03, 0x81, 0x01, 0x00, 0x81, 0x01, 0x02]).unwrap();
        assert_eq!(both.grace_remaining, Some(0));
        assert_eq!(both.error, Some(PolicyError::ChangeAfterReset));
        assert_eq!(parse(&[0x30, 0x00]).unwrap(), PolicyResponse::default());
        assert_eq!(
            parse(&[0x30, 0x81, 0x03, 0x81, 0x01, 0x09]).unwrap().error,
            Some(PolicyError::Unknown(9))
        );
    }

    #[test]
    fn refuses_malformed_values() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x81, 0x01],    // length beyond the value
            &[0x31, 0x00],                // not a SEQUENCE
            &[0x30, 0x00, 0x00],          // trailing bytes
            &[0x30, 0x80, 0x00, 0x00],    // indefinite length
            &[0x30, 0x85, 0, 0, 0, 0, 3], // 5 length bytes
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], // 4 GiB claimed
            &[0x30, 0x03, 0x81, 0x01, 0x80], // negative
            &[0x30, 0x02, 0x81, 0x00],    // empty integer
            &[0x30, 0x0b, 0x81, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0], // 9-byte integer
            &[0x30, 0x07, 0x81, 0x05, 0x01, 0, 0, 0, 0], // beyond u32
            &[0x30, 0x03, 0x82, 0x01, 0x00], // unknown field
            &[0x30, 0x06, 0x81, 0x01, 0x01, 0x81, 0x01, 0x01], // repeated
            &[0x30, 0x08, 0x81, 0x01, 0x01, 0xa0, 0x03, 0x80, 0x01, 0x01], // out of order
            &[0x30, 0x05, 0xa0, 0x03, 0x82, 0x01, 0x01], // unknown warning
            &[0x3f, 0x00],                // multi-byte tag
        ] {
            assert!(parse(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn every_prefix_and_random_bytes_are_safe() {
        let good = [0x30, 0x08, 0xa0, 0x03, 0x81, 0x01, 0x00, 0x81, 0x01, 0x02];
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err());
        }
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut buf = [0u8; 12];
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = (x & 0xff) as u8;
            }
            buf[0] = 0x30;
            let n = (x % 13) as usize;
            let _ = parse(&buf[..n]);
        }
    }

    #[test]
    fn words_for_the_user() {
        assert_eq!(duration_words(86_400 * 3 + 5), "3 days");
        assert_eq!(duration_words(86_400), "1 day");
        assert_eq!(duration_words(7_200), "2 hours");
        assert_eq!(duration_words(30), "1 minute");
        let w = PolicyResponse {
            grace_remaining: Some(1),
            ..Default::default()
        };
        assert_eq!(
            w.warning().unwrap(),
            "Your password has expired; 1 grace login left. Change it now."
        );
        let w = PolicyResponse {
            time_before_expiration: Some(172_800),
            ..Default::default()
        };
        assert_eq!(
            w.warning().unwrap(),
            "Warning: your password will expire in 2 days."
        );
        assert_eq!(PolicyResponse::default().warning(), None);
    }
}
