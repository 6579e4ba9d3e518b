//! The checks of `[servers.sasl]`: one service bind, EXTERNAL only with an identity on the
//! connection, GSSAPI names that are principals.

use super::errors::{semantic, ConfigError};
use super::sasl::{AuthMethod, SaslMech};
use super::server::Server;

const SASL: Option<&str> = Some("servers.sasl");

/// `[servers.auth]`: Kerberos logins need the user's entry from a search (the principal is
/// the name; `user_dn_pattern` would skip the directory, and with it the user's record).
fn check_auth(path: &str, src: &str, i: usize, s: &Server) -> Result<(), ConfigError> {
    if s.auth.method == AuthMethod::Krb5 && s.user_dn_pattern.is_some() {
        return Err(semantic(
            path,
            src,
            Some(i),
            None,
            "user_dn_pattern",
            "user_dn_pattern binds as the user, [servers.auth] method = \"krb5\" asks the KDC: choose one".into(),
            Some("remove user_dn_pattern (the user is then searched for, as the service account)"),
        ));
    }
    if let Some(a) = &s.auth.principal_attribute {
        if a.is_empty() || !a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(semantic(
                path,
                src,
                Some(i),
                Some("servers.auth"),
                "principal_attribute",
                format!("{a:?} is not an attribute name"),
                Some("principal_attribute = \"userPrincipalName\""),
            ));
        }
    }
    Ok(())
}

/// The SASL and auth keys of block `i`.
pub(super) fn check_sasl(path: &str, src: &str, i: usize, s: &Server) -> Result<(), ConfigError> {
    check_auth(path, src, i, s)?;
    let idx = Some(i);
    let Some(sasl) = &s.sasl else {
        return Ok(());
    };
    if s.bind_dn.is_some() {
        return Err(semantic(
            path,
            src,
            idx,
            None,
            "bind_dn",
            "bind_dn and [servers.sasl] are two service binds: choose one".into(),
            Some("remove bind_dn and bind_password_file to bind with SASL"),
        ));
    }
    if sasl.mech == SaslMech::External {
        let local = s.uris().iter().all(|u| u.starts_with("ldapi://"));
        if !local && s.tls.client_cert.is_none() {
            return Err(semantic(
                path,
                src,
                idx,
                SASL,
                "mech",
                "EXTERNAL needs an identity on the connection: ldapi:// URIs only, or a TLS client certificate".into(),
                Some("[servers.tls] client_cert and client_key, or uri = [\"ldapi://...\"]"),
            ));
        }
        for key in ["principal", "realm", "server_principal"] {
            let set = match key {
                "principal" => sasl.principal.is_some(),
                "realm" => sasl.realm.is_some(),
                _ => sasl.server_principal.is_some(),
            };
            if set {
                let msg = format!("{key} is a GSSAPI key; mech is EXTERNAL");
                return Err(semantic(path, src, idx, SASL, key, msg, None));
            }
        }
        return Ok(());
    }
    if let Some(sp) = &sasl.server_principal {
        let host = sp.strip_prefix("ldap/").unwrap_or_default();
        let host = host.split('@').next().unwrap_or_default();
        if host.is_empty() || sp.matches('@').count() > 1 {
            return Err(semantic(
                path,
                src,
                idx,
                SASL,
                "server_principal",
                format!("`{sp}` is not ldap/<host> or ldap/<host>@REALM"),
                Some("server_principal = \"ldap/ldap.example.com\""),
            ));
        }
    }
    if let Some(p) = &sasl.principal {
        if p.is_empty() || p.matches('@').count() > 1 || p.starts_with('@') {
            let msg = format!("`{p}` is not a Kerberos principal (name[/instance][@REALM])");
            return Err(semantic(path, src, idx, SASL, "principal", msg, None));
        }
    }
    Ok(())
}
