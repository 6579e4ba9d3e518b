//! User binds: a new connection per bind with the password policy request control, then the
//! identity confirmed with "Who am I?" (RFC 4532) or a read of the user's own entry.

use super::ad_diagnostic::AdReason;
use super::block::ServerBlock;
use super::entry::{normalize_dn, Entry};
use super::error::{transport, DirError};
use super::failover::Attempt;
use super::ppolicy::{self, PolicyError, PolicyResponse};
use super::result_code as rc;
use crate::debug;
use ldap3::exop::WhoAmI;
use ldap3::{Ldap, Scope, SearchEntry};
use std::time::Duration;

/// Outcome of binding as a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindOutcome {
    Success,
    /// resultCode 49: wrong password (or unknown DN). Never retried on another server.
    InvalidCredentials,
    /// Any other refusal (locked, unwilling to perform, identity mismatch after the bind).
    Refused(String),
}

/// What a user bind produced: the verdict, the user's entry when it was read as the user,
/// and the password policy control the server attached (OpenLDAP ppolicy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindResult {
    pub outcome: BindOutcome,
    pub entry: Option<Entry>,
    pub policy: Option<PolicyResponse>,
    /// AD's reason for a refused bind (`data 533` in the diagnostic, `ad_diagnostic.rs`).
    pub ad_reason: Option<AdReason>,
}

/// How recently a URI must have answered for a password to be sent there without a probe.
const PROOF_OF_LIFE: Duration = Duration::from_secs(2);

/// How long a kept connection has to answer its probe before it takes a password.
const KEPT_PROBE: Duration = Duration::from_millis(200);

/// A kept connection that waited less than this is not probed (NATs and load balancers
/// forget idle connections after minutes, not within a second).
const KEPT_FRESH: Duration = Duration::from_secs(1);

/// A transport failure after the password was sent, as the error that stops failover.
fn interrupted(e: DirError) -> DirError {
    match e {
        DirError::Unreachable(m) => DirError::Interrupted(m),
        other => other,
    }
}

/// A connection bound as a user, with the bind's result.
pub(super) struct BoundConn(pub(super) Ldap, pub(super) BindResult);

pub(super) fn r_of(c: &BoundConn) -> BindResult {
    c.1.clone()
}

impl ServerBlock {
    /// Binds as `dn` with `password` on a new connection, then checks with "Who am I?"
    /// (RFC 4532) that the server really authenticated that DN; with `read_attrs`, also
    /// reads those attributes of the user's own entry as the user (for the user-DN-pattern
    /// mode). URIs are
    /// tried as in [`Self::failover`]; a refused password is final and never retried.
    pub async fn user_bind(
        &self,
        dn: &str,
        password: &str,
        read_attrs: Option<&[String]>,
    ) -> Result<BindResult, DirError> {
        // Found through a referral: the bind goes to the server that holds the entry.
        if let Some(uri) = self.referred_uri(dn) {
            let (mut conn, uri) = self.bound_user_conn_to(&uri, None, dn, password).await?;
            let bind = r_of(&conn);
            let r = self
                .finish_user_bind(&mut conn, &uri, dn, read_attrs, bind)
                .await;
            self.after_user_bind(&uri, conn.0, &r).await;
            return r;
        }
        // Not hedged: a password goes to one URI at a time (the next one only after a failure
        // before it was sent; see `bound_user_conn`), so a wrong one never counts twice.
        self.failover(false, |i| -> Attempt<'_, BindResult> {
            Box::pin(async move {
                let res = async {
                    let (mut conn, uri) = self.bound_user_conn(i, dn, password).await?;
                    let bind = r_of(&conn);
                    let r = self
                        .finish_user_bind(&mut conn, &uri, dn, read_attrs, bind)
                        .await;
                    self.after_user_bind(&uri, conn.0, &r).await;
                    r
                }
                .await;
                (i, res)
            })
        })
        .await
    }

    /// Whether URI `slot` answered within [`PROOF_OF_LIFE`].
    fn answered_recently(&self, slot: Option<usize>) -> bool {
        slot.and_then(|i| self.slot(i))
            .and_then(|s| s.state().last_answer)
            .is_some_and(|t| self.clock.now().saturating_duration_since(t) < PROOF_OF_LIFE)
    }

    /// A connection kept from an earlier login (`bind_pool.rs`), when the URI answered
    /// within [`PROOF_OF_LIFE`] and the connection itself, when it waited [`KEPT_FRESH`] or
    /// more, answers a RootDSE read within [`KEPT_PROBE`] (a connection a NAT or load balancer dropped silently must not take the
    /// password: that would end the login without failover). Otherwise a new connection.
    async fn reusable_bind_conn(&self, slot: Option<usize>, uri: &str) -> Option<Ldap> {
        if !self.answered_recently(slot) {
            return None;
        }
        let (mut l, waited) = self.bind_pool.take(uri, self.clock.now())?;
        // Used a moment ago (logins in a row): nothing on the path has had time to forget it.
        if waited < KEPT_FRESH {
            return Some(l);
        }
        let fut = l.search("", Scope::Base, "(objectClass=*)", vec!["1.1"]);
        match tokio::time::timeout(KEPT_PROBE, fut).await {
            Ok(Ok(_)) => Some(l),
            _ => {
                debug!("{uri}: a kept connection did not answer; a new one takes the bind");
                None
            }
        }
    }

    /// Before a password goes to URI `i`: unless the URI answered within [`PROOF_OF_LIFE`], a
    /// RootDSE read on the new connection must answer within `failover_delay`. A server that
    /// accepts TCP and then says nothing (SIGSTOPped, black-holed after the handshake) is then
    /// a failure *before* the password was sent, and the next URI may be asked.
    async fn alive_before_password(
        &self,
        slot: Option<usize>,
        ldap: &mut Ldap,
        uri: &str,
    ) -> Result<(), DirError> {
        if self.answered_recently(slot) {
            return Ok(());
        }
        // With other URIs to try, a short wait (the failover delay, at least 0.5 s) keeps the
        // first login fast when this one is hung; alone, the whole operation deadline.
        let alone = self.slots().len() <= 1 || slot.is_none();
        let wait = if alone {
            self.op_timeout
        } else {
            self.failover_delay.max(Duration::from_millis(500))
        };
        // Only our deadline (the connection is dropped if it passes), so that a silent server
        // is always reported in the words below.
        let fut = ldap.search("", Scope::Base, "(objectClass=*)", vec!["1.1"]);
        match tokio::time::timeout(wait, fut).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(transport(
                uri,
                "probe before the bind (the password was not sent)",
                &e,
            )),
            Err(_) => Err(DirError::Unreachable(format!(
                "{uri}: no answer within {:.1}s to a probe before the bind; the password was not sent",
                wait.as_secs_f64()
            ))),
        }
    }

    /// A new connection to URI `i` and a bind as `dn` with the password policy request
    /// control: the connection, its URI, and the bind's verdict and policy control.
    pub(super) async fn bound_user_conn(
        &self,
        i: usize,
        dn: &str,
        password: &str,
    ) -> Result<(BoundConn, String), DirError> {
        let uri = self.slot(i).map(|s| s.uri.clone()).unwrap_or_default();
        self.bound_user_conn_to(&uri, Some(i), dn, password).await
    }

    /// As [`Self::bound_user_conn`], to any URI (`slot`: the block's URI index, if it is one).
    async fn bound_user_conn_to(
        &self,
        uri: &str,
        slot: Option<usize>,
        dn: &str,
        password: &str,
    ) -> Result<(BoundConn, String), DirError> {
        let uri = uri.to_string();
        if !self.password_transport_ok(&uri) {
            return Err(DirError::Server(format!("{uri} is neither TLS nor ldapi:// and allow_cleartext_passwords is off: the password was not sent")));
        }
        let mut ldap = match self.reusable_bind_conn(slot, &uri).await {
            Some(l) => l,
            None => {
                let mut l = self.connect(&uri).await?;
                self.alive_before_password(slot, &mut l, &uri).await?;
                l
            }
        };
        let fut = ldap
            .with_controls(ppolicy::request())
            .with_timeout(self.op_timeout)
            .simple_bind(dn, password);
        // From here on the password was sent: a failure is final for this operation.
        let res = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => {
                return Err(DirError::Interrupted(format!(
                    "{uri}: bind: no answer within {:.1}s; not retried on another URI",
                    self.op_timeout.as_secs_f64()
                )))
            }
            Ok(r) => r.map_err(|e| interrupted(transport(&uri, "bind", &e)))?,
        };
        let policy = ppolicy::from_controls(&res.ctrls);
        let ad_reason = (res.rc == rc::INVALID_CREDENTIALS)
            .then(|| AdReason::parse(&res.text))
            .flatten();
        let (outcome, policy) = match (res.rc, policy) {
            // A success we cannot fully read could hide "change your password first".
            (rc::SUCCESS, Err(e)) => (BindOutcome::Refused(format!("{uri}: {e}")), None),
            (rc::SUCCESS, Ok(p)) => (BindOutcome::Success, p),
            (rc::INVALID_CREDENTIALS, p) => (BindOutcome::InvalidCredentials, p.ok().flatten()),
            (rc, p) => (
                BindOutcome::Refused(format!(
                    "{uri}: bind refused: resultCode {rc} {}{}",
                    res.text,
                    super::wording::bind_refusal_hint(rc)
                )),
                p.ok().flatten(),
            ),
        };
        Ok((
            BoundConn(
                ldap,
                BindResult {
                    outcome,
                    entry: None,
                    policy,
                    ad_reason,
                },
            ),
            uri,
        ))
    }

    /// A connection that answered the whole login is kept for the next one; after a
    /// transport failure it is dropped. One that cannot be kept is unbound.
    async fn after_user_bind(&self, uri: &str, ldap: Ldap, r: &Result<BindResult, DirError>) {
        let left = if r.is_ok() {
            self.bind_pool.keep(uri, ldap, self.clock.now())
        } else {
            Some(ldap)
        };
        if let Some(mut l) = left {
            let _ = tokio::time::timeout(Duration::from_millis(200), l.unbind()).await;
        }
    }

    /// After a user bind: confirm the identity (and read the entry) if the bind succeeded.
    async fn finish_user_bind(
        &self,
        ldap: &mut BoundConn,
        uri: &str,
        dn: &str,
        read_attrs: Option<&[String]>,
        bind: BindResult,
    ) -> Result<BindResult, DirError> {
        if bind.outcome != BindOutcome::Success {
            return Ok(bind);
        }
        let (outcome, entry) = self
            .confirm_identity(&mut ldap.0, uri, dn, read_attrs)
            .await?;
        // OpenLDAP's ppolicy restricts a session that must change its password to bind and
        // Password Modify, so neither "Who am I?" nor a read works there. The control itself
        // shows that the server checked this DN's password.
        let restricted = bind.policy.as_ref().is_some_and(|p| {
            p.error == Some(PolicyError::ChangeAfterReset) || p.grace_remaining.is_some()
        });
        if restricted && matches!(outcome, BindOutcome::Refused(_)) {
            debug!("{uri}: bind as {dn} restricted by the password policy; identity vouched for by the policy control");
            return Ok(BindResult {
                outcome: BindOutcome::Success,
                entry: None,
                policy: bind.policy,
                ad_reason: None,
            });
        }
        Ok(BindResult {
            outcome,
            entry,
            policy: bind.policy,
            ad_reason: None,
        })
    }

    async fn confirm_identity(
        &self,
        ldap: &mut Ldap,
        uri: &str,
        dn: &str,
        read_attrs: Option<&[String]>,
    ) -> Result<(BindOutcome, Option<Entry>), DirError> {
        let fut = ldap.with_timeout(self.op_timeout).extended(WhoAmI);
        let r = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => return Err(DirError::Interrupted(format!("{uri}: whoami: no answer"))),
            Ok(r) => r.map_err(|e| interrupted(transport(uri, "whoami", &e)))?,
        };
        let ldap3::result::ExopResult(exop, result) = r;
        let confirmed_by_whoami = if result.rc == rc::SUCCESS {
            let authzid = exop
                .val
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let got = authzid.strip_prefix("dn:").unwrap_or("");
            if got.is_empty() || normalize_dn(got) != normalize_dn(dn) {
                return Ok((
                    BindOutcome::Refused(format!(
                        "{uri}: bind succeeded but the server says we are {authzid:?}, not {dn}"
                    )),
                    None,
                ));
            }
            true
        } else {
            false
        };
        if confirmed_by_whoami && read_attrs.is_none() {
            return Ok((BindOutcome::Success, None));
        }
        // No "Who am I?" on this server, or the entry is wanted: read our own entry as the
        // user (nslcd's way of confirming the identity).
        let attrs = match read_attrs {
            Some(a) => a.to_vec(),
            None => vec!["1.1".to_string()],
        };
        let fut =
            ldap.with_timeout(self.op_timeout)
                .search(dn, Scope::Base, "(objectClass=*)", attrs);
        let res = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => {
                return Err(DirError::Interrupted(format!(
                    "{uri}: self search: no answer"
                )))
            }
            Ok(r) => r.map_err(|e| interrupted(transport(uri, "self search", &e)))?,
        };
        let ldap3::SearchResult(mut entries, result) = res;
        if result.rc == rc::SUCCESS && entries.len() == 1 {
            let e = entries
                .pop()
                .map(|e| Entry::from_search(SearchEntry::construct(e)));
            Ok((BindOutcome::Success, e))
        } else {
            Ok((
                BindOutcome::Refused(format!(
                    "{uri}: bind succeeded but the user cannot read its own entry (resultCode {})",
                    result.rc
                )),
                None,
            ))
        }
    }
}
