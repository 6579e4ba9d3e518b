//! Connections: TCP (with TCP_NODELAY) and TLS or StartTLS within `connect_timeout`, the
//! service bind, and the one shared service connection per URI.

use super::block::ServerBlock;
use super::error::{transport, DirError};
use super::health::Slot;
use super::result_code as rc;
use super::uri::host_port;
use crate::debug;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use ldaprs_common::config::TlsMode;

/// How long before its Kerberos context ends a service connection is replaced.
const CONTEXT_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

impl ServerBlock {
    /// A new, unbound connection to `uri`; TCP and TLS/StartTLS within `connect_timeout`.
    pub(super) async fn connect(&self, uri: &str) -> Result<Ldap, DirError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(self.connect_timeout);
        if let Some(c) = &self.tls {
            settings = settings.set_config(c.clone());
        }
        if self.cfg.tls.mode == TlsMode::Starttls && uri.starts_with("ldap://") {
            settings = settings.set_starttls(true);
        }
        let work = async {
            // Our own TCP connection, so that it gets TCP_NODELAY: LDAP is request/response
            // with small messages, and Nagle's algorithm only adds latency to it.
            if let Some((host, port)) = host_port(uri).filter(|_| !uri.starts_with("ldapi://")) {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
                    .await
                    .map_err(ldap3::LdapError::from)?;
                let _ = tcp.set_nodelay(true);
                let std = tcp.into_std().map_err(ldap3::LdapError::from)?;
                settings = settings.set_std_stream(ldap3::StdStream::Tcp(std));
            }
            LdapConnAsync::with_settings(settings, uri).await
        };
        let (conn, ldap) = match tokio::time::timeout(self.connect_timeout, work).await {
            Err(_) => {
                return Err(DirError::Unreachable(format!(
                    "{uri}: connect: no answer within {:.1}s",
                    self.connect_timeout.as_secs_f64()
                )))
            }
            Ok(Err(e)) => return Err(transport(uri, "connect", &e)),
            Ok(Ok(x)) => x,
        };
        let u = uri.to_string();
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                debug!("connection to {u} ended: {e}");
            }
        });
        Ok(ldap)
    }

    /// Binds as the service account (or stays anonymous). Not over a URI where passwords may
    /// not travel (plain `ldap://` without `allow_cleartext_passwords`): the URI fails instead.
    ///
    /// The password is lent to ldap3 as `&str`; ldap3 copies it into its BER buffers (and
    /// rustls into TLS records) that are freed unwiped: outside our control.
    ///
    /// With `[servers.sasl]` the bind is SASL (`sasl.rs`); the result is then when the
    /// connection's Kerberos context ends, if it does.
    pub(super) async fn service_bind(
        &self,
        ldap: &mut Ldap,
        uri: &str,
    ) -> Result<Option<std::time::Instant>, DirError> {
        if self.cfg.sasl.is_some() {
            return Ok(self.sasl_bind(ldap, uri).await?.until);
        }
        self.service_bind_transport(uri)?;
        let Some((dn, pw)) = self.service_account() else {
            return Ok(None);
        };
        let res = ldap
            .with_timeout(self.op_timeout)
            .simple_bind(dn, pw)
            .await
            .map_err(|e| transport(uri, "service bind", &e))?;
        if res.rc != rc::SUCCESS {
            // A refused service bind is the same on every replica; but another URI may be a
            // differently configured server, so it still counts as this URI failing (though
            // not as a server that is gone: see `SlotState::refused`).
            self.note_refused(uri);
            return Err(DirError::Unreachable(format!(
                "{uri}: service bind as {dn} refused: resultCode {} {}{}",
                res.rc,
                res.text,
                super::wording::bind_refusal_hint(res.rc)
            )));
        }
        Ok(None)
    }

    /// Notes that the server at `uri` answered and refused the service bind.
    pub(super) fn note_refused(&self, uri: &str) {
        if let Some(s) = self.slots().iter().find(|s| s.uri == uri) {
            s.state().refused = true;
        }
    }

    fn open_conn(slot: &Slot) -> Option<Ldap> {
        let mut st = slot.state();
        // A Kerberos context about to end: a new connection (a fresh ticket) instead.
        let ending = st.conn_until.is_some_and(|t| {
            t.saturating_duration_since(std::time::Instant::now()) < CONTEXT_MARGIN
        });
        let l = st.conn.as_mut()?;
        if l.is_closed() || ending {
            st.conn = None;
            return None;
        }
        Some(l.clone())
    }

    /// The open service connection to URI `i`, made (connect + service bind) if needed.
    pub(super) async fn conn(&self, i: usize) -> Result<(Ldap, String), DirError> {
        let slot = self
            .slot(i)
            .ok_or_else(|| DirError::Unreachable("no such URI".into()))?;
        if let Some(l) = Self::open_conn(&slot) {
            return Ok((l, slot.uri.clone()));
        }
        let _guard = slot.connecting.lock().await;
        if let Some(l) = Self::open_conn(&slot) {
            return Ok((l, slot.uri.clone()));
        }
        // Checked before connecting too: a URI the service bind may not use is not dialled.
        self.service_bind_transport(&slot.uri)?;
        let mut ldap = self.connect(&slot.uri).await?;
        let until = self.service_bind(&mut ldap, &slot.uri).await?;
        debug!("server {}: connected to {}", self.cfg.name, slot.uri);
        let mut st = slot.state();
        st.conn = Some(ldap.clone());
        st.conn_until = until;
        st.refused = false;
        drop(st);
        Ok((ldap, slot.uri.clone()))
    }
}
