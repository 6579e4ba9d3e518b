//! SSH public keys on the user entry. Each value of `[servers.users] ssh_key_attribute` holds
//! authorized_keys lines in sshd(8)'s AUTHORIZED_KEYS FILE FORMAT: `[options] keytype
//! base64-blob [comment]`. A line is answered only when it reads as sshd reads it: the options
//! field (present when the first token is not a key type) is a comma-separated list of the
//! options sshd knows, quoted values closed; the key type is one sshd knows; the blob is
//! base64 of an RFC 4253 §6.6 public key whose embedded type string is the line's type and
//! whose fields are all there. Anything else is dropped with one log line naming the user and
//! the reason. Options are passed through unchanged (sshd applies them).
//!
//! The fingerprint is what `ssh-keygen -l` prints: `SHA256:` and the unpadded base64 of the
//! SHA-256 of the blob, after the key size in bits, with the comment and the type's name.

use crate::warn;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use ldaprs_common::protocol::{MAX_SSH_KEYS, MAX_SSH_KEY_LINE};
use sha2::{Digest, Sha256};
use std::fmt;

/// The key types sshd reads (OpenSSH `sshkey.c`), with the name `ssh-keygen -l` shows.
const KEY_TYPES: &[(&str, &str)] = &[
    ("ssh-ed25519", "ED25519"),
    ("ssh-rsa", "RSA"),
    ("ecdsa-sha2-nistp256", "ECDSA"),
    ("ecdsa-sha2-nistp384", "ECDSA"),
    ("ecdsa-sha2-nistp521", "ECDSA"),
    ("sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA-SK"),
    ("sk-ssh-ed25519@openssh.com", "ED25519-SK"),
    ("ssh-dss", "DSA"),
    ("ssh-ed25519-cert-v01@openssh.com", "ED25519-CERT"),
    ("ssh-rsa-cert-v01@openssh.com", "RSA-CERT"),
    ("ecdsa-sha2-nistp256-cert-v01@openssh.com", "ECDSA-CERT"),
    ("ecdsa-sha2-nistp384-cert-v01@openssh.com", "ECDSA-CERT"),
    ("ecdsa-sha2-nistp521-cert-v01@openssh.com", "ECDSA-CERT"),
    (
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ECDSA-SK-CERT",
    ),
    ("sk-ssh-ed25519-cert-v01@openssh.com", "ED25519-SK-CERT"),
    ("ssh-dss-cert-v01@openssh.com", "DSA-CERT"),
];

/// sshd's key options without a value (`auth-options.c`; names compare case-insensitively).
const FLAG_OPTIONS: &[&str] = &[
    "restrict",
    "cert-authority",
    "port-forwarding",
    "no-port-forwarding",
    "agent-forwarding",
    "no-agent-forwarding",
    "x11-forwarding",
    "no-x11-forwarding",
    "pty",
    "no-pty",
    "user-rc",
    "no-user-rc",
    "touch-required",
    "no-touch-required",
    "verify-required",
];

/// sshd's key options with a quoted value (`name="value"`).
const VALUE_OPTIONS: &[&str] = &[
    "command",
    "environment",
    "expiry-time",
    "from",
    "permitlisten",
    "permitopen",
    "principals",
    "tunnel",
];

/// Why an authorized_keys line is not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    TooLong(usize),
    ControlCharacter,
    /// The first token is no key type, and no valid options field either.
    BadOptions(String),
    /// No key type (after the options).
    NoKeyType,
    UnknownKeyType(String),
    NoKeyData,
    BadBase64,
    /// The blob's type string differs from the line's key type.
    TypeMismatch {
        line: String,
        blob: String,
    },
    /// The blob ends early, has bytes left over, or a field is of the wrong size.
    BadBlob(&'static str),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::TooLong(n) => write!(f, "line of {n} bytes (over {MAX_SSH_KEY_LINE})"),
            KeyError::ControlCharacter => write!(f, "control character in the line"),
            KeyError::BadOptions(why) => write!(f, "bad options field: {why}"),
            KeyError::NoKeyType => write!(f, "no key type after the options"),
            KeyError::UnknownKeyType(t) => write!(f, "unknown key type {t:?}"),
            KeyError::NoKeyData => write!(f, "no base64 key after the key type"),
            KeyError::BadBase64 => write!(f, "the key is not valid base64"),
            KeyError::TypeMismatch { line, blob } => {
                write!(f, "the line says {line} but the key inside is {blob:?}")
            }
            KeyError::BadBlob(why) => write!(f, "malformed key blob: {why}"),
        }
    }
}

/// A valid authorized_keys line and what `ssh-keygen -l` says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKey {
    /// The line as answered to sshd (the value, trimmed; options unchanged).
    pub line: String,
    /// The key type, as written on the line.
    pub key_type: String,
    /// ssh-keygen's name of the type (`ED25519`, `RSA`, `ECDSA-SK`, …).
    pub kind: &'static str,
    pub bits: u32,
    /// `SHA256:` + unpadded base64 of the blob's SHA-256.
    pub fingerprint: String,
    pub comment: String,
    pub options: Option<String>,
}

impl SshKey {
    /// The line `ssh-keygen -l -f` prints for this key.
    pub fn keygen_line(&self) -> String {
        let comment = if self.comment.is_empty() {
            "no comment"
        } else {
            &self.comment
        };
        format!(
            "{} {} {comment} ({})",
            self.bits, self.fingerprint, self.kind
        )
    }
}

/// `SHA256:` and the unpadded base64 of the blob's SHA-256 (`ssh-keygen -l`, OpenSSH ≥ 6.8).
pub fn fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

fn known_type(token: &str) -> Option<&'static str> {
    KEY_TYPES
        .iter()
        .find(|(t, _)| *t == token)
        .map(|(_, kind)| *kind)
}

/// Splits off the first field, which ends at the first space or tab outside double quotes
/// (`\"` inside quotes is a quote; OpenSSH `sshkey_advance_past_options`).
fn split_options(s: &str) -> Result<(&str, &str), KeyError> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => return Ok(s.split_at(i)),
            _ => {}
        }
    }
    if quoted {
        return Err(KeyError::BadOptions("unterminated quote".into()));
    }
    Ok((s, ""))
}

/// Checks an options field: `name` or `name="value"`, separated by commas, every name one sshd
/// knows (an unknown option makes sshd refuse the whole line).
fn check_options(opts: &str) -> Result<(), KeyError> {
    let bad = |why: String| Err(KeyError::BadOptions(why));
    let mut rest = opts;
    while !rest.is_empty() {
        let end = rest.find([',', '=']).unwrap_or(rest.len());
        let (name, tail) = rest.split_at(end);
        let lower = name.to_ascii_lowercase();
        if tail.starts_with('=') {
            if !VALUE_OPTIONS.contains(&lower.as_str()) {
                return bad(format!("option {name:?} takes no value or is unknown"));
            }
            let value = tail.get(1..).unwrap_or_default();
            let Some(after) = value.strip_prefix('"').and_then(skip_quoted) else {
                return bad(format!("option {name:?} needs a value in double quotes"));
            };
            rest = after;
        } else {
            if !FLAG_OPTIONS.contains(&lower.as_str()) {
                let what = if VALUE_OPTIONS.contains(&lower.as_str()) {
                    "needs a value"
                } else {
                    "is not a key type or an option sshd knows"
                };
                return bad(format!("{name:?} {what}"));
            }
            rest = tail;
        }
        match rest.strip_prefix(',') {
            Some("") => return bad("trailing comma".into()),
            Some(r) => rest = r,
            None if rest.is_empty() => {}
            None => return bad(format!("junk after an option: {rest:?}")),
        }
    }
    Ok(())
}

/// After the opening quote: the text after the closing one (`\"` does not close).
fn skip_quoted(s: &str) -> Option<&str> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return s.get(i + 1..),
            _ => {}
        }
    }
    None
}

/// Reads RFC 4251 §5 `string`s and `mpint`s out of a key blob.
struct Blob<'a>(&'a [u8]);

impl<'a> Blob<'a> {
    fn string(&mut self) -> Result<&'a [u8], KeyError> {
        let (len, rest) = self
            .0
            .split_first_chunk::<4>()
            .ok_or(KeyError::BadBlob("truncated"))?;
        let n = u32::from_be_bytes(*len) as usize;
        if n > rest.len() {
            return Err(KeyError::BadBlob("truncated"));
        }
        let (s, rest) = rest.split_at(n);
        self.0 = rest;
        Ok(s)
    }

    /// The bit length of an mpint (leading zero bytes are not counted).
    fn mpint_bits(&mut self) -> Result<u32, KeyError> {
        let v = self.string()?;
        let digits = v
            .iter()
            .position(|b| *b != 0)
            .and_then(|i| v.get(i..))
            .unwrap_or_default();
        let Some(first) = digits.first() else {
            return Err(KeyError::BadBlob("zero-length number"));
        };
        let bytes = u32::try_from(digits.len()).map_err(|_| KeyError::BadBlob("huge number"))?;
        Ok(bytes * 8 - first.leading_zeros())
    }

    fn sized(&mut self, len: usize, what: &'static str) -> Result<(), KeyError> {
        match self.string()?.len() == len {
            true => Ok(()),
            false => Err(KeyError::BadBlob(what)),
        }
    }
}

/// The key's size in bits from its public fields (after the type string, and for a
/// certificate after its nonce), as `ssh-keygen -l` counts it.
fn key_bits(base: &str, b: &mut Blob<'_>) -> Result<u32, KeyError> {
    let curve = |b: &mut Blob<'_>, want: &str| -> Result<(), KeyError> {
        match b.string()? == want.as_bytes() {
            true => Ok(()),
            false => Err(KeyError::BadBlob("the curve does not match the key type")),
        }
    };
    Ok(match base {
        "ssh-rsa" => {
            b.mpint_bits()?; // e
            b.mpint_bits()? // n
        }
        "ssh-dss" => {
            let p = b.mpint_bits()?;
            for _ in 0..3 {
                b.mpint_bits()?; // q, g, y
            }
            p
        }
        "ssh-ed25519" => {
            b.sized(32, "an ed25519 key is 32 bytes")?;
            256
        }
        "sk-ssh-ed25519@openssh.com" => {
            b.sized(32, "an ed25519 key is 32 bytes")?;
            b.string()?; // application
            256
        }
        "sk-ecdsa-sha2-nistp256@openssh.com" => {
            curve(b, "nistp256")?;
            b.sized(65, "a nistp256 point is 65 bytes")?;
            b.string()?; // application
            256
        }
        _ => {
            let (name, bits, len) = match base {
                "ecdsa-sha2-nistp256" => ("nistp256", 256, 65),
                "ecdsa-sha2-nistp384" => ("nistp384", 384, 97),
                "ecdsa-sha2-nistp521" => ("nistp521", 521, 133),
                _ => return Err(KeyError::BadBlob("unsupported key type")),
            };
            curve(b, name)?;
            b.sized(len, "the point is not of the curve's size")?;
            bits
        }
    })
}

/// Checks the blob of a `key_type` key: its size in bits and the blob its fingerprint is of
/// (a certificate's fingerprint is its key's, as ssh-keygen shows it: the plain key's blob).
fn check_blob(key_type: &str, blob: &[u8]) -> Result<(u32, Vec<u8>), KeyError> {
    let mut b = Blob(blob);
    let inner = b.string()?;
    if inner != key_type.as_bytes() {
        return Err(KeyError::TypeMismatch {
            line: key_type.to_string(),
            blob: String::from_utf8_lossy(inner).into_owned(),
        });
    }
    let Some(base) = key_type.strip_suffix("-cert-v01@openssh.com") else {
        let bits = key_bits(key_type, &mut b)?;
        return match b.0.is_empty() {
            true => Ok((bits, blob.to_vec())),
            false => Err(KeyError::BadBlob("bytes after the key")),
        };
    };
    b.string()?; // the nonce; the signed fields after the key are sshd's to check
    let base = match base {
        "sk-ecdsa-sha2-nistp256" | "sk-ssh-ed25519" => format!("{base}@openssh.com"),
        other => other.to_string(),
    };
    let fields = b.0;
    let bits = key_bits(&base, &mut b)?;
    let used = fields.get(..fields.len() - b.0.len()).unwrap_or_default();
    let mut plain = Vec::with_capacity(4 + base.len() + used.len());
    plain.extend_from_slice(&(base.len() as u32).to_be_bytes());
    plain.extend_from_slice(base.as_bytes());
    plain.extend_from_slice(used);
    Ok((bits, plain))
}

/// Parses one authorized_keys line (already trimmed, no newline).
pub fn parse_line(line: &str) -> Result<SshKey, KeyError> {
    if line.len() > MAX_SSH_KEY_LINE {
        return Err(KeyError::TooLong(line.len()));
    }
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err(KeyError::ControlCharacter);
    }
    let (first, rest) = split_options(line)?;
    let (options, body) = match known_type(first) {
        Some(_) => (None, line),
        None => {
            check_options(first)?;
            (
                Some(first.to_string()),
                rest.trim_start_matches([' ', '\t']),
            )
        }
    };
    let mut fields = body.splitn(3, [' ', '\t']);
    let key_type = fields
        .next()
        .filter(|t| !t.is_empty())
        .ok_or(KeyError::NoKeyType)?;
    let kind = known_type(key_type).ok_or_else(|| KeyError::UnknownKeyType(key_type.into()))?;
    let b64 = fields
        .next()
        .filter(|t| !t.is_empty())
        .ok_or(KeyError::NoKeyData)?;
    let blob = STANDARD.decode(b64).map_err(|_| KeyError::BadBase64)?;
    let (bits, plain) = check_blob(key_type, &blob)?;
    Ok(SshKey {
        line: line.to_string(),
        key_type: key_type.to_string(),
        kind,
        bits,
        fingerprint: fingerprint(&plain),
        comment: fields.next().unwrap_or_default().trim().to_string(),
        options,
    })
}

/// The lines of the attribute's values: a value may hold several lines (as a file does);
/// blank lines and `#` comments are skipped, each line trimmed.
fn lines_of(values: &[String]) -> impl Iterator<Item = &str> {
    values
        .iter()
        .flat_map(|v| v.split('\n'))
        .map(|l| l.trim_matches([' ', '\t', '\r']))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Every line of the values parsed, valid or not (for `ldaprsctl user show`).
pub fn parse_values(values: &[String]) -> Vec<(String, Result<SshKey, KeyError>)> {
    lines_of(values)
        .map(|l| (l.to_string(), parse_line(l)))
        .collect()
}

/// The authorized_keys lines answered for `user` from the values of `attr`: the valid ones, at
/// most [`MAX_SSH_KEYS`]; each one dropped is logged with the user and the reason.
pub fn authorized_lines(user: &str, attr: &str, values: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in lines_of(values).enumerate() {
        match parse_line(line) {
            Ok(_) if out.len() >= MAX_SSH_KEYS => {
                warn!("ssh keys of user {user}: {attr} line {} dropped: more than {MAX_SSH_KEYS} keys", n + 1);
            }
            Ok(k) => out.push(k.line),
            Err(e) => {
                let start: String = line.chars().take(40).collect();
                warn!(
                    "ssh keys of user {user}: {attr} line {} dropped: {e} (starts {start:?})",
                    n + 1
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
