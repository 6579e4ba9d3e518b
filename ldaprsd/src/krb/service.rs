//! The daemon's own Kerberos credential for one `[[servers]]` block: taken from the keytab
//! into a credential cache in the daemon's memory (`MEMORY:`, never a file in /tmp, never
//! shared with another process), renewed at half its life, before it can expire. No cron job,
//! no `kinit`. Each renewal uses a fresh cache, so that service tickets are fresh too.

use super::errors::{describe_initial, describe_service};
use super::gss;
use super::keytab;
use crate::{debug, info};
use ldaprs_common::config::SaslSection;
use libgssapi::credential::Cred;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A credential in use.
#[derive(Clone)]
pub struct Held {
    pub cred: Cred,
    pub principal: String,
    /// When its tickets end.
    pub expires: Instant,
    /// When a new one is taken (half its life).
    renew_at: Instant,
}

pub struct ServiceCreds {
    block: String,
    keytab: PathBuf,
    principal: Option<String>,
    realm: Option<String>,
    fqdn: String,
    held: Mutex<Option<Held>>,
    generation: std::sync::atomic::AtomicU64,
}

impl ServiceCreds {
    /// `keytab` is the file to read (the systemd credential in place of the configured path,
    /// when the unit passes one).
    pub fn new(block: &str, sasl: &SaslSection, keytab: PathBuf, fqdn: String) -> ServiceCreds {
        ServiceCreds {
            block: block.to_string(),
            keytab,
            principal: sasl.principal.clone(),
            realm: sasl.realm.clone(),
            fqdn,
            held: Mutex::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn keytab(&self) -> &std::path::Path {
        &self.keytab
    }

    fn current(&self) -> Option<Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A credential with life left: the held one until its renewal time, else a new one from
    /// the keytab (the AS exchange, on the blocking pool, within `timeout`).
    pub async fn get(&self, timeout: Duration) -> Result<Held, String> {
        let now = Instant::now();
        let old = self.current();
        if let Some(h) = old.as_ref().filter(|h| now < h.renew_at) {
            return Ok(h.clone());
        }
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ccache = format!("MEMORY:ldaprsd-{}-{generation}", self.block);
        let (keytab, wanted, realm, fqdn) = (
            self.keytab.clone(),
            self.principal.clone(),
            self.realm.clone(),
            self.fqdn.clone(),
        );
        let work = tokio::task::spawn_blocking(move || {
            let list = keytab::principals(&keytab)?;
            let principal =
                keytab::choose(&list, wanted.as_deref(), realm.as_deref(), &fqdn, &keytab)?;
            let kt = keytab.display().to_string();
            gss::acquire_from_keytab(&principal, &kt, &ccache)
                .map(|(cred, life)| (cred, life, principal.clone(), ccache))
                .map_err(|e| describe_initial(&e, &principal, &kt))
        });
        let (cred, life, principal, ccache) = match tokio::time::timeout(timeout, work).await {
            Err(_) => {
                return Err(format!(
                    "Kerberos: no ticket from keytab {} within {:.1}s (is a KDC of the realm reachable? krb5.conf's [realms] kdc)",
                    self.keytab.display(),
                    timeout.as_secs_f64()
                ))
            }
            Ok(Err(e)) => return Err(format!("Kerberos: {e}")),
            Ok(Ok(r)) => r?,
        };
        if life.is_zero() {
            return Err(format!(
                "Kerberos: the ticket for {principal} from {} has no life left",
                self.keytab.display()
            ));
        }
        let held = Held {
            cred,
            principal: principal.clone(),
            expires: now + life,
            renew_at: now + life / 2,
        };
        let verb = if old.is_some() { "renewed" } else { "obtained" };
        info!(
            "server {}: Kerberos ticket for {principal} {verb} from keytab {} into {ccache}: valid {}s, renewed after {}s",
            self.block,
            self.keytab.display(),
            life.as_secs(),
            (life / 2).as_secs()
        );
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some(held.clone());
        Ok(held)
    }

    /// The directory's ticket for `target` (`ldap/host[@REALM]`) with `held`: the KDC's
    /// answer named (server principal unknown, skew, unreachable) before the LDAP bind.
    pub async fn reach(
        &self,
        held: &Held,
        target: &str,
        key_set: bool,
        timeout: Duration,
    ) -> Result<(), String> {
        let (cred, t) = (held.cred.clone(), target.to_string());
        let principal = held.principal.clone();
        let work = tokio::task::spawn_blocking(move || {
            gss::reach_service(&cred, &t).map_err(|e| describe_service(&e, &principal, &t, key_set))
        });
        match tokio::time::timeout(timeout, work).await {
            Err(_) => Err(format!(
                "Kerberos: no service ticket for {target} within {:.1}s",
                timeout.as_secs_f64()
            )),
            Ok(Err(e)) => Err(format!("Kerberos: {e}")),
            Ok(Ok(r)) => {
                if r.is_ok() {
                    debug!(
                        "server {}: service ticket for {target} as {}",
                        self.block, held.principal
                    );
                }
                r
            }
        }
    }
}

/// The Kerberos credential of a block with `mech = "GSSAPI"`: the keytab (or the systemd
/// credential named like it) and this host's name for the default principal.
pub fn for_server(cfg: &ldaprs_common::config::Server) -> Option<std::sync::Arc<ServiceCreds>> {
    let sasl = cfg
        .sasl
        .as_ref()
        .filter(|s| s.mech == ldaprs_common::config::SaslMech::Gssapi)?;
    let keytab = keytab::resolve_path(&sasl.keytab);
    let fqdn = crate::system::hostname::hostname();
    Some(std::sync::Arc::new(ServiceCreds::new(
        &cfg.name, sasl, keytab, fqdn,
    )))
}
