//! `[servers.sasl]`: the service bind over SASL instead of `bind_dn` and a password, and
//! `[servers.auth]`: how user passwords are checked (both checked in `validate_sasl.rs`).

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum SaslMech {
    /// Kerberos: the daemon's own ticket from `keytab` (RFC 4752).
    #[serde(rename = "GSSAPI")]
    Gssapi,
    /// The identity the connection already carries: the daemon's uid over `ldapi://`, the
    /// TLS client certificate (`[servers.tls] client_cert`) otherwise (RFC 4422 appendix A).
    #[serde(rename = "EXTERNAL")]
    External,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SaslSection {
    pub mech: SaslMech,
    /// GSSAPI: the keytab with the daemon's key (under systemd, the credential named like
    /// the file is used when the unit passes one).
    #[serde(default = "default_keytab")]
    pub keytab: PathBuf,
    /// GSSAPI: the client principal; default the keytab's `host/<fqdn>` entry (of `realm`,
    /// when set).
    #[serde(default)]
    pub principal: Option<String>,
    /// GSSAPI: the realm of the default principal (and of `server_principal` without one).
    #[serde(default)]
    pub realm: Option<String>,
    /// GSSAPI: the directory's principal, `ldap/<host>[@REALM]`, when it differs from the
    /// URI's host (a virtual name shared by several servers).
    #[serde(default)]
    pub server_principal: Option<String>,
}

fn default_keytab() -> PathBuf {
    PathBuf::from("/etc/krb5.keytab")
}

/// `[servers.auth] method`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// Bind to the directory as the user with the password (the default).
    #[default]
    Bind,
    /// A Kerberos AS exchange with the password, the ticket verified against the host keytab.
    Krb5,
}

/// `[servers.auth]`: how user passwords are checked. Lookups use the directory either way.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    #[serde(default)]
    pub method: AuthMethod,
    /// krb5: the users' realm (`<user>@<realm>`); default krb5.conf's `default_realm`.
    #[serde(default)]
    pub realm: Option<String>,
    /// krb5: the host keytab that proves the KDC genuine (its tickets must decrypt with it).
    #[serde(default = "default_keytab")]
    pub keytab: PathBuf,
    /// krb5: the keytab's principal to verify with; default its `host/<fqdn>` entry.
    #[serde(default)]
    pub verify_principal: Option<String>,
    /// krb5: the user entry's attribute that holds the principal (`userPrincipalName`,
    /// `krbPrincipalName`); one value, `name@REALM` (`realm` appended when it has no `@`).
    /// Default: the entry's user name `@realm`.
    #[serde(default)]
    pub principal_attribute: Option<String>,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            method: AuthMethod::Bind,
            realm: None,
            keytab: default_keytab(),
            verify_principal: None,
            principal_attribute: None,
        }
    }
}
