//! Password changes on Active Directory, which has no Password Modify operation (RFC 3062):
//! a modify of `unicodePwd` (MS-ADTS 3.1.1.3.1.5), over TLS, whose value is the password in
//! double quotes encoded as UTF-16LE. A user's own change deletes the old value and adds the
//! new one (AD checks the old one and applies the domain's policy: length, complexity,
//! history, minimum age); a reset by `admin_dn` replaces the value.
//!
//! A user whose password must be changed (`pwdLastSet = 0`, AD's `data 773`) or has expired
//! (`data 532`) cannot bind, although AD has just confirmed the password: the delete/add is
//! then sent on the service account's connection. AD grants the "Change Password" right to
//! Everyone, and still checks the old password itself, so the service account gains nothing
//! it could use without that password.

use super::ad_diagnostic::AdReason;
use super::bind::{r_of, BindOutcome};
use super::block::ServerBlock;
use super::error::{transport, DirError};
use super::passwd::{ChangeOutcome, PasswordChange};
use crate::debug;
use ldap3::Mod;
use std::collections::HashSet;
use std::time::Duration;
use zeroize::Zeroizing;

/// `"password"` as UTF-16LE, the form `unicodePwd` takes (wiped when dropped).
pub fn unicode_pwd(password: &str) -> Zeroizing<Vec<u8>> {
    let mut v = Zeroizing::new(Vec::with_capacity(2 * password.len() + 4));
    for u in format!("\"{password}\"").encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

/// The modifications for a change (old and new) or a reset (new only).
fn mods(old: Option<&str>, new: &str) -> Vec<Mod<Vec<u8>>> {
    let set = |p: &str| HashSet::from([unicode_pwd(p).to_vec()]);
    match old {
        Some(o) => vec![
            Mod::Delete(b"unicodePwd".to_vec(), set(o)),
            Mod::Add(b"unicodePwd".to_vec(), set(new)),
        ],
        None => vec![Mod::Replace(b"unicodePwd".to_vec(), set(new))],
    }
}

impl ServerBlock {
    /// One AD password change on URI `i` (see the module's comment).
    pub(super) async fn change_on_ad(
        &self,
        i: usize,
        c: &PasswordChange<'_>,
    ) -> Result<ChangeOutcome, DirError> {
        let (conn, uri) = self.bound_user_conn(i, c.bind_dn, c.bind_pw).await?;
        let bind = r_of(&conn);
        let target = c.target.unwrap_or(c.bind_dn);
        let mut ldap = conn.0;
        if bind.outcome != BindOutcome::Success {
            let _ = tokio::time::timeout(Duration::from_millis(200), ldap.unbind()).await;
            let proven = matches!(
                bind.ad_reason,
                Some(AdReason::MustChange | AdReason::PasswordExpired)
            );
            if !(proven && c.target.is_none()) {
                return Ok(ChangeOutcome::BindFailed(bind));
            }
            debug!("{uri}: {target} must change the password (AD data {}): changing it on the service connection", bind.ad_reason.map(AdReason::code).unwrap_or_default());
            let (service, _) = self.conn(i).await?;
            return self.modify_unicode_pwd(service, &uri, target, c).await;
        }
        let r = self.modify_unicode_pwd(ldap.clone(), &uri, target, c).await;
        let _ = tokio::time::timeout(Duration::from_millis(200), ldap.unbind()).await;
        r
    }

    async fn modify_unicode_pwd(
        &self,
        mut ldap: ldap3::Ldap,
        uri: &str,
        target: &str,
        c: &PasswordChange<'_>,
    ) -> Result<ChangeOutcome, DirError> {
        let fut = ldap
            .with_timeout(self.op_timeout)
            .modify(target, mods(c.old, c.new));
        let r = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => {
                return Err(DirError::Interrupted(format!(
                    "{uri}: unicodePwd modify: no answer within {:.1}s; not retried on another URI",
                    self.op_timeout.as_secs_f64()
                )))
            }
            Ok(r) => r.map_err(|e| match transport(uri, "unicodePwd modify", &e) {
                DirError::Unreachable(m) => DirError::Interrupted(m),
                other => other,
            })?,
        };
        Ok(ChangeOutcome::Answered {
            rc: r.rc,
            text: r.text,
            policy: None,
            shadow_note: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_pwd_is_quoted_utf16le() {
        // MS-ADTS 3.1.1.3.1.5's example form: "\"newPassword\"" in UTF-16LE.
        assert_eq!(
            unicode_pwd("ab").as_slice(),
            &[b'"', 0, b'a', 0, b'b', 0, b'"', 0]
        );
        assert_eq!(unicode_pwd("é").as_slice(), &[b'"', 0, 0xe9, 0, b'"', 0]);
        assert_eq!(unicode_pwd("\u{1F600}").len(), 2 + 4 + 2);
    }

    #[test]
    fn a_change_deletes_and_adds_a_reset_replaces() {
        let m = mods(Some("old"), "new");
        assert!(matches!(&m[..], [Mod::Delete(a, o), Mod::Add(b, n)]
            if a == b"unicodePwd" && b == b"unicodePwd"
                && o.contains(unicode_pwd("old").as_slice())
                && n.contains(unicode_pwd("new").as_slice())));
        let m = mods(None, "new");
        assert!(matches!(&m[..], [Mod::Replace(a, n)]
            if a == b"unicodePwd" && n.contains(unicode_pwd("new").as_slice())));
    }
}
