//! Kerberos password logins (`[servers.auth] method = "krb5"`): an AS exchange with the
//! user's password, then the ticket verified against the host keytab, as pam_krb5 and SSSD's
//! krb5 provider do: a service ticket for our own host principal must decrypt with our keytab.
//! A KDC that is not the realm's (spoofed DNS, a rogue server answering on port 88) does not
//! hold that key, so its "yes" logs nobody in.

use super::errors::{kind, Kind};
use super::gss::{self, VerifyError};
use super::keytab;
use ldaprs_common::config::AuthSection;
use std::time::Duration;
use zeroize::Zeroizing;

/// What the KDC and the verification said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KrbOutcome {
    /// The password is right and the KDC proved genuine (`principal` used).
    Verified {
        principal: String,
    },
    WrongPassword {
        principal: String,
    },
    /// The password is expired (KDC_ERR_KEY_EXPIRED) and right as far as a changepw ticket
    /// says: NOT verified against the keytab.
    Expired {
        principal: String,
    },
    /// The principal is disabled or locked out (KDC_ERR_CLIENT_REVOKED).
    Revoked {
        principal: String,
    },
    /// The KDC does not know the user.
    NoPrincipal {
        principal: String,
    },
    /// The KDC said yes but its ticket does not decrypt with our keytab: refused.
    NotVerified(String),
    /// No KDC answered, or our own keytab is unusable: nothing was decided.
    Unavailable(String),
}

/// KDC_ERR_CLIENT_REVOKED (krb5.h).
const CLIENT_REVOKED: i32 = -1_765_328_366;

/// The user's principal: `user@realm`, or `user` in krb5.conf's default realm.
pub fn principal_of(auth: &AuthSection, user: &str) -> String {
    match &auth.realm {
        Some(r) => format!("{user}@{r}"),
        None => user.to_string(),
    }
}

/// The principal of a user entry's `principal_attribute` value: as is with a realm, else
/// `@realm` appended (or krb5.conf's default realm).
pub fn principal_from_value(auth: &AuthSection, value: &str) -> String {
    if value.contains('@') {
        value.to_string()
    } else {
        principal_of(auth, value)
    }
}

/// Is `got` (the client of the ticket the KDC issued) the principal `asked` for? Exactly,
/// or, for a name asked without a realm (krb5.conf's default realm), that name in a realm.
pub fn same_principal(asked: &str, got: &str) -> bool {
    if asked.contains('@') {
        return got == asked;
    }
    got.rsplit_once('@')
        .is_some_and(|(name, realm)| name == asked && !realm.is_empty())
}

/// One login of `principal`: the AS exchange, then the verification, on the blocking pool
/// within `timeout`.
pub async fn password_login(
    auth: &AuthSection,
    principal: &str,
    password: &str,
    timeout: Duration,
) -> KrbOutcome {
    let principal = principal.to_string();
    let pw = Zeroizing::new(password.to_string());
    let kt = keytab::resolve_path(&auth.keytab);
    let verify = auth.verify_principal.clone();
    let realm = auth.realm.clone();
    let p = principal.clone();
    let work = tokio::task::spawn_blocking(move || {
        blocking_login(&p, &pw, &kt, verify.as_deref(), realm.as_deref())
    });
    match tokio::time::timeout(timeout, work).await {
        Err(_) => KrbOutcome::Unavailable(format!(
            "Kerberos: no answer for {principal} within {:.1}s (krb5.conf's [realms] kdc)",
            timeout.as_secs_f64()
        )),
        Ok(Err(e)) => KrbOutcome::Unavailable(format!("Kerberos: {e}")),
        Ok(Ok(o)) => o,
    }
}

/// KDC_ERR_KEY_EXPIRED comes before the KDC checks the password: a changepw ticket (granted
/// for expired passwords) tells it right, as pam_krb5 does. A spoofed KDC could grant that
/// ticket too, so `Expired` never logs in (`login/krb5.rs`): it only lets a password change
/// start, and the change is believed once the new password verifies (`backend.rs`).
fn expired(principal: &str, password: &str) -> KrbOutcome {
    use super::kpasswd::{check_blocking, KpasswdOutcome};
    let p = || principal.to_string();
    match check_blocking(principal, password) {
        Ok(()) => KrbOutcome::Expired { principal: p() },
        Err(KpasswdOutcome::WrongPassword) => KrbOutcome::WrongPassword { principal: p() },
        Err(KpasswdOutcome::Unavailable(m)) => KrbOutcome::Unavailable(format!("Kerberos: {m}")),
        Err(other) => KrbOutcome::NotVerified(format!(
            "the password of {principal} has expired and could not be checked for a change: {other:?}"
        )),
    }
}

fn blocking_login(
    principal: &str,
    password: &str,
    kt: &std::path::Path,
    verify: Option<&str>,
    realm: Option<&str>,
) -> KrbOutcome {
    let p = || principal.to_string();
    let user = match gss::acquire_with_password(principal, password) {
        Ok(c) => c,
        Err(e) if e.minor as i32 == CLIENT_REVOKED => {
            return KrbOutcome::Revoked { principal: p() }
        }
        Err(e) => {
            return match kind(&e) {
                Kind::WrongKey => KrbOutcome::WrongPassword { principal: p() },
                Kind::KeyExpired => expired(principal, password),
                Kind::ClientUnknown => KrbOutcome::NoPrincipal { principal: p() },
                _ => KrbOutcome::Unavailable(super::errors::describe_initial(
                    &e,
                    principal,
                    "(password)",
                )),
            }
        }
    };
    // The ticket must be the principal's (no canonicalisation to another account).
    match gss::principal_of(&user) {
        Some(got) if same_principal(principal, &got) => {}
        got => {
            return KrbOutcome::NotVerified(format!(
                "the KDC issued a ticket for {} when {principal} was asked for: refused",
                got.as_deref().unwrap_or("an unnamed client")
            ))
        }
    }
    // The host principal to verify with: the keytab's host/<fqdn> (of the users' realm when
    // one is set), or `verify_principal`.
    let host_realm = realm;
    let list = match keytab::principals(kt) {
        Ok(l) => l,
        Err(e) => return KrbOutcome::Unavailable(format!("Kerberos: cannot verify the KDC: {e}")),
    };
    let fqdn = crate::system::hostname::hostname();
    let host = match keytab::choose(&list, verify, host_realm, &fqdn, kt) {
        Ok(h) => h,
        Err(e) => return KrbOutcome::Unavailable(format!("Kerberos: cannot verify the KDC: {e}")),
    };
    let ktname = kt.display().to_string();
    let acceptor = match gss::acceptor_from_keytab(Some(&host), &ktname) {
        Ok(a) => a,
        Err(e) => {
            return KrbOutcome::Unavailable(format!(
                "Kerberos: cannot verify the KDC: keytab {ktname}, {host}: {e}"
            ))
        }
    };
    match gss::verify_with(&user, &host, acceptor) {
        Ok(()) => KrbOutcome::Verified { principal: p() },
        Err(VerifyError::Ticket(e)) if kind(&e) == Kind::KdcUnreachable => {
            KrbOutcome::Unavailable(format!("Kerberos: no KDC answered for the ticket to {host}: {e}"))
        }
        Err(VerifyError::Ticket(e)) => KrbOutcome::NotVerified(format!(
            "the KDC that accepted the password of {principal} gives no ticket for our {host} ({e}): it is not the realm's KDC, or {host} is missing there"
        )),
        Err(VerifyError::Accept(e)) => KrbOutcome::NotVerified(format!(
            "the KDC that accepted the password of {principal} issued a ticket for {host} that our keytab {ktname} cannot decrypt ({e}): a KDC without the realm's keys (spoofed?), or a stale keytab"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticket_must_be_the_principal_asked_for() {
        assert!(same_principal("alice@R", "alice@R"));
        assert!(!same_principal("alice@R", "Alice@R"));
        assert!(!same_principal("alice@R", "admin@R"));
        assert!(!same_principal("alice@R", "alice@OTHER"));
        assert!(same_principal("alice", "alice@DEFAULT.REALM"));
        assert!(!same_principal("alice", "alice"));
        assert!(!same_principal("alice", "bob@R"));
        let auth = AuthSection {
            realm: Some("R".into()),
            ..AuthSection::default()
        };
        assert_eq!(principal_from_value(&auth, "a.smith"), "a.smith@R");
        assert_eq!(principal_from_value(&auth, "a.smith@X"), "a.smith@X");
    }
}
