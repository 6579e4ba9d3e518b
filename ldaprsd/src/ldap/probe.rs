//! Background probes of dead URIs, and the RootDSE read behind `ldaprsctl server test`.

use super::block::ServerBlock;
use super::entry::Entry;
use super::error::{transport, DirError};
use super::health::{backoff, jitter_unit};
use super::result_code as rc;
use super::wording::known_oid;
use crate::debug;
use ldap3::{Scope, SearchEntry};
use std::time::Duration;

impl ServerBlock {
    /// read, within the usual timeouts. Runs in the background, never inside a request.
    pub async fn probe_dead(&self) {
        let now = self.clock.now();
        // All down: this block alone cannot tell whether others answer, so its probes are
        // capped at the offline maximum (30 s) whenever the whole block is dark.
        let max = match self.all_down() {
            true => self.retry_max.min(super::health::OFFLINE_PROBE_MAX),
            false => self.retry_max,
        };
        let slots = self.slots();
        let due: Vec<usize> = slots
            .iter()
            .filter(|s| s.state().dead.as_ref().is_some_and(|d| d.retry_at <= now))
            .map(|s| s.id)
            .collect();
        let slots = &slots;
        let probes = due.into_iter().map(|i| async move {
            let res = async {
                let (mut ldap, uri) = self.conn(i).await?;
                let fut = ldap.with_timeout(self.op_timeout).search(
                    "",
                    Scope::Base,
                    "(objectClass=*)",
                    vec!["namingContexts"],
                );
                match tokio::time::timeout(self.op_timeout, fut).await {
                    Err(_) => Err(DirError::Unreachable(format!("{uri}: RootDSE: no answer"))),
                    Ok(Err(e)) => Err(transport(&uri, "RootDSE", &e)),
                    Ok(Ok(_)) => Ok(()),
                }
            }
            .await;
            let Some(slot) = slots.iter().find(|s| s.id == i) else {
                return;
            };
            match res {
                Ok(()) => self.mark_alive(i),
                Err(e) => {
                    let mut st = slot.state();
                    st.conn = None;
                    if let Some(d) = st.dead.as_mut() {
                        d.failures = d.failures.saturating_add(1);
                        let wait =
                            backoff(self.retry_base.min(max), max, d.failures, jitter_unit());
                        d.retry_at = self.clock.now() + wait;
                        d.reason = e.to_string();
                        debug!(
                            "server {}: {} still down ({e}); next probe in {:.1}s",
                            self.cfg.name,
                            slot.uri,
                            wait.as_secs_f64()
                        );
                    }
                }
            }
        });
        futures_util::future::join_all(probes).await;
    }

    /// For `ldaprsctl server test`: connect as the daemon would, bind as the service account
    /// and read the RootDSE. Over a URI where the service bind may not be sent (plain
    /// `ldap://` without `allow_cleartext_passwords`) it is not sent, and the URI fails, as it
    /// does in the daemon.
    pub async fn diagnose(&self, uri: &str) -> Result<(String, Vec<(String, String)>), DirError> {
        self.service_bind_transport(uri)?;
        let mut ldap = self.connect(uri).await?;
        let bind = self.diagnose_bind(&mut ldap, uri).await?;
        let attrs = vec![
            "namingContexts",
            "supportedControl",
            "supportedExtension",
            "supportedLDAPVersion",
            "vendorName",
            "vendorVersion",
        ];
        let fut =
            ldap.with_timeout(self.op_timeout)
                .search("", Scope::Base, "(objectClass=*)", attrs);
        let res = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => return Err(DirError::Unreachable(format!("{uri}: RootDSE: no answer"))),
            Ok(r) => r.map_err(|e| transport(uri, "RootDSE", &e))?,
        };
        let ldap3::SearchResult(entries, _) = res;
        let mut out = Vec::new();
        if let Some(e) = entries
            .into_iter()
            .next()
            .map(|e| Entry::from_search(SearchEntry::construct(e)))
        {
            for (k, label) in [
                ("namingContexts", "naming contexts"),
                ("supportedControl", "supported controls"),
                ("supportedExtension", "supported extensions"),
                ("supportedLDAPVersion", "LDAP versions"),
                ("vendorName", "vendor"),
            ] {
                let v = e.values(k);
                if !v.is_empty() {
                    let named: Vec<String> = v
                        .iter()
                        .map(|o| match known_oid(o) {
                            Some(n) => format!("{o} ({n})"),
                            None => o.clone(),
                        })
                        .collect();
                    out.push((label.to_string(), named.join(", ")));
                }
            }
            if !e
                .values("supportedControl")
                .iter()
                .any(|c| c == "1.2.840.113556.1.4.319")
            {
                out.push((
                    "warning".into(),
                    "no Simple Paged Results control: enumerations are limited by the size limit"
                        .into(),
                ));
            }
        } else {
            out.push(("RootDSE".into(), "not readable".into()));
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), ldap.unbind()).await;
        Ok((bind, out))
    }

    /// The service bind of `ldaprsctl server test`, in words (SASL with the identity the
    /// directory gave us, the bind DN's result, or anonymous).
    async fn diagnose_bind(&self, ldap: &mut ldap3::Ldap, uri: &str) -> Result<String, DirError> {
        let sasl = match self.cfg.sasl {
            Some(_) => Some(self.sasl_bind(ldap, uri).await?),
            None => None,
        };
        let bind = match self.service_account() {
            _ if sasl.is_some() => sasl
                .map(|b| format!("SASL {}: ok; who am I: {}", b.how, b.identity))
                .unwrap_or_default(),
            Some((dn, pw)) => {
                let fut = ldap.with_timeout(self.op_timeout).simple_bind(dn, pw);
                match tokio::time::timeout(self.op_timeout, fut).await {
                    Err(_) => {
                        return Err(DirError::Unreachable(format!(
                            "{uri}: service bind: no answer"
                        )))
                    }
                    Ok(Err(e)) => return Err(transport(uri, "service bind", &e)),
                    Ok(Ok(r)) if r.rc == rc::SUCCESS => format!("{dn}: ok (resultCode 0)"),
                    Ok(Ok(r)) => format!(
                        "{dn}: REFUSED (resultCode {} {}){}",
                        r.rc,
                        r.text,
                        super::wording::bind_refusal_hint(r.rc)
                    ),
                }
            }
            None => "anonymous (no bind_dn)".to_string(),
        };
        Ok(bind)
    }
}
