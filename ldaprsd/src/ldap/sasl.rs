//! SASL service binds (`[servers.sasl]`): GSSAPI with the daemon's own Kerberos ticket
//! (`krb/`), EXTERNAL with the identity the connection already carries (the daemon's uid over
//! `ldapi://`, the TLS client certificate otherwise). After the bind, "Who am I?" (RFC 4532)
//! says which identity the directory mapped us to, and that is logged.

use super::block::ServerBlock;
use super::error::{transport, DirError};
use super::result_code as rc;
use super::uri::host_port;
use crate::info;
use ldap3::exop::WhoAmI;
use ldap3::Ldap;
use ldaprs_common::config::SaslMech;
use std::time::Instant;

/// What a SASL bind established.
pub struct SaslBound {
    /// "GSSAPI as host/h@REALM" or "EXTERNAL".
    pub how: String,
    /// The authzId the directory answered to "Who am I?" (`dn:…`, `u:…`, or "" anonymous).
    pub identity: String,
    /// When the connection's Kerberos context ends (GSSAPI): it is replaced before then.
    pub until: Option<Instant>,
}

impl ServerBlock {
    /// The directory's principal for `uri`: `server_principal` without its `ldap/`, else the
    /// URI's host; `@realm` added when `realm` is set and the name has none. ldap3 prefixes
    /// `ldap/` itself.
    fn gssapi_target(&self, uri: &str) -> Result<String, DirError> {
        let sasl = self.cfg.sasl.as_ref();
        let base = match sasl.and_then(|s| s.server_principal.as_deref()) {
            Some(sp) => sp.strip_prefix("ldap/").unwrap_or(sp).to_string(),
            None => host_port(uri).map(|(h, _)| h).ok_or_else(|| {
                DirError::Unreachable(format!(
                    "{uri}: GSSAPI bind: no host in the URI to name the server principal after; set [servers.sasl] server_principal"
                ))
            })?,
        };
        match sasl.and_then(|s| s.realm.as_deref()) {
            Some(r) if !base.contains('@') => Ok(format!("{base}@{r}")),
            _ => Ok(base),
        }
    }

    /// The SASL service bind on a new connection to `uri`, then "Who am I?".
    pub(super) async fn sasl_bind(
        &self,
        ldap: &mut Ldap,
        uri: &str,
    ) -> Result<SaslBound, DirError> {
        let Some(sasl) = &self.cfg.sasl else {
            return Err(DirError::Unreachable(format!("{uri}: no [servers.sasl]")));
        };
        let wait = self.op_timeout.max(self.connect_timeout);
        let (res, how, until) = match sasl.mech {
            SaslMech::External => {
                let fut = ldap.with_timeout(self.op_timeout).sasl_external_bind();
                let r = tokio::time::timeout(wait, fut).await;
                (r, "EXTERNAL".to_string(), None)
            }
            SaslMech::Gssapi => {
                let krb = self.krb.as_ref().ok_or_else(|| {
                    DirError::Unreachable(format!(
                        "{uri}: GSSAPI bind: no Kerberos credential set up"
                    ))
                })?;
                let fail = |e: String| DirError::Unreachable(format!("{uri}: GSSAPI bind: {e}"));
                let held = krb.get(wait).await.map_err(fail)?;
                let target = self.gssapi_target(uri)?;
                let key_set = sasl.server_principal.is_some();
                krb.reach(&held, &format!("ldap/{target}"), key_set, wait)
                    .await
                    .map_err(fail)?;
                let cred = cross_krb5::Cred::from(held.cred.clone());
                let fut = ldap
                    .with_timeout(self.op_timeout)
                    .sasl_gssapi_cred_bind(cred, &target);
                let r = tokio::time::timeout(wait, fut).await;
                (
                    r,
                    format!("GSSAPI as {} to ldap/{target}", held.principal),
                    Some(held.expires),
                )
            }
        };
        let res = match res {
            Err(_) => {
                return Err(DirError::Unreachable(format!(
                    "{uri}: SASL {how}: no answer within {:.1}s",
                    wait.as_secs_f64()
                )))
            }
            Ok(r) => r.map_err(|e| transport(uri, &format!("SASL {how} bind"), &e))?,
        };
        if res.rc != rc::SUCCESS {
            self.note_refused(uri);
            return Err(DirError::Unreachable(format!(
                "{uri}: SASL {how} bind refused: resultCode {} {}",
                res.rc, res.text
            )));
        }
        let identity = self.who_am_i(ldap, uri).await?;
        info!(
            "server {}: {uri}: SASL {how}: the directory knows us as {}",
            self.cfg.name,
            if identity.is_empty() {
                "anonymous (empty authzId)"
            } else {
                identity.as_str()
            }
        );
        Ok(SaslBound {
            how,
            identity,
            until,
        })
    }

    /// The authzId of this connection (RFC 4532).
    async fn who_am_i(&self, ldap: &mut Ldap, uri: &str) -> Result<String, DirError> {
        let fut = ldap.with_timeout(self.op_timeout).extended(WhoAmI);
        let r = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => return Err(DirError::Unreachable(format!("{uri}: whoami: no answer"))),
            Ok(r) => r.map_err(|e| transport(uri, "whoami", &e))?,
        };
        let ldap3::result::ExopResult(exop, result) = r;
        // Samba's AD DC has no "Who am I?" and answers protocolError, as RFC 4511 says for an
        // unknown extended operation: the bind stands, the authzId is just not told.
        if result.rc == 2 {
            return Ok(format!(
                "not told ({uri} has no \"Who am I?\" operation: resultCode 2 {})",
                result.text
            ));
        }
        if result.rc != rc::SUCCESS {
            return Err(DirError::Unreachable(format!(
                "{uri}: whoami after the SASL bind: resultCode {} {}",
                result.rc, result.text
            )));
        }
        Ok(exop
            .val
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
            .into_owned())
    }
}
