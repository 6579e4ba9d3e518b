//! Searches: one request with a deadline, a paged search (RFC 2696) with one watchdog, the
//! references they return followed where `referral.rs` allows it, base-scope reads, presence
//! tests. Enumerations are in `enumerate.rs`.

use super::block::ServerBlock;
use super::entry::{is_under, normalize_dn, Entry};
use super::error::{classify_search, transport, DirError};
use super::failover::Attempt;
use super::result_code as rc;
use crate::debug;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, Scope, SearchEntry};

/// Entries between two pushes of a paged search's watchdog.
const PROGRESS_BATCH: usize = 256;

/// The size of a page for searches that may return many entries (slapd's default size limit
/// is 500; RFC 2696).
const PAGE_SIZE: i32 = 400;

/// One search as asked: where, how deep, which filter and attributes, and whether it is
/// paged.
#[derive(Clone, Copy)]
pub(super) struct Query<'q> {
    pub(super) base: &'q str,
    pub(super) scope: Scope,
    pub(super) filter: &'q str,
    pub(super) attrs: &'q [String],
    pub(super) paged: bool,
    /// A size limit sent with the search (0: none).
    pub(super) limit: i32,
}

/// What one server answered: the entries, the references to the parts it does not hold, and
/// whether those are a referral result (the base itself is elsewhere) rather than
/// continuation references (parts of the answer are elsewhere).
type Answer = (Vec<Entry>, Vec<String>, bool);

impl ServerBlock {
    /// One search request, answered within `timeout`.
    async fn search_once(
        &self,
        ldap: &mut Ldap,
        uri: &str,
        q: Query<'_>,
    ) -> Result<Answer, DirError> {
        if q.limit > 0 {
            ldap.with_search_options(ldap3::SearchOptions::new().sizelimit(q.limit));
        }
        let fut =
            ldap.with_timeout(self.op_timeout)
                .search(q.base, q.scope, q.filter, q.attrs.to_vec());
        let res = match tokio::time::timeout(self.op_timeout, fut).await {
            Err(_) => {
                return Err(DirError::Unreachable(format!(
                    "{uri}: search: no answer within {:.1}s",
                    self.op_timeout.as_secs_f64()
                )))
            }
            Ok(r) => r.map_err(|e| transport(uri, "search", &e))?,
        };
        let ldap3::SearchResult(entries, result) = res;
        if result.rc == rc::REFERRAL {
            // The base itself is held elsewhere.
            return Ok((Vec::new(), result.refs, true));
        }
        if !classify_search(uri, "search", q.filter, q.base, result.rc, &result.text)? {
            return Ok((Vec::new(), Vec::new(), false));
        }
        // ldap3's search runs the EntriesOnly adapter: the continuation references are in
        // the result.
        let mut refs = result.refs;
        let mut out = Vec::new();
        for e in entries {
            if e.is_ref() {
                refs.extend(ldap3::parse_refs(e.0));
            } else if !e.is_intermediate() {
                out.push(Entry::from_search(SearchEntry::construct(e)));
            }
        }
        Ok((out, refs, false))
    }

    /// A paged search (RFC 2696), every entry collected.
    async fn search_paged(
        &self,
        ldap: &mut Ldap,
        uri: &str,
        q: Query<'_>,
    ) -> Result<Answer, DirError> {
        let mut out = Vec::new();
        let (refs, elsewhere) = self
            .search_paged_each(ldap, uri, q, &mut |e| out.push(e))
            .await?;
        Ok((out, refs, elsewhere))
    }

    /// A paged search (RFC 2696) with one watchdog for the whole stream, pushed forward every
    /// PROGRESS_BATCH entries: a timer per entry (ldap3's with_timeout, or
    /// tokio::time::timeout around each next()) costs more than the entries themselves on a
    /// 10,000-user enumeration. Each entry goes to `each` as it arrives (an enumeration keeps
    /// what it makes of it, not the entry); returns the references and whether they are a
    /// referral result.
    pub(super) async fn search_paged_each(
        &self,
        ldap: &mut Ldap,
        uri: &str,
        q: Query<'_>,
        each: &mut (dyn FnMut(Entry) + Send),
    ) -> Result<(Vec<String>, bool), DirError> {
        let adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(PAGE_SIZE)),
        ];
        let op_timeout = self.op_timeout;
        let stalled = || {
            DirError::Unreachable(format!(
                "{uri}: paged search stalled for {:.1}s",
                op_timeout.as_secs_f64()
            ))
        };
        let watchdog = tokio::time::sleep(op_timeout);
        tokio::pin!(watchdog);
        let mut stream = tokio::select! {
            s = ldap.streaming_search_with(adapters, q.base, q.scope, q.filter, q.attrs.to_vec()) => s.map_err(|e| transport(uri, "search", &e))?,
            _ = &mut watchdog => return Err(stalled()),
        };
        let mut n = 0usize;
        loop {
            let item = tokio::select! {
                r = stream.next() => r.map_err(|e| transport(uri, "search", &e))?,
                _ = &mut watchdog => return Err(stalled()),
            };
            let Some(e) = item else { break };
            each(Entry::from_search(SearchEntry::construct(e)));
            n += 1;
            if n.is_multiple_of(PROGRESS_BATCH) {
                watchdog
                    .as_mut()
                    .reset(tokio::time::Instant::now() + op_timeout);
            }
        }
        let result = stream.finish().await;
        if result.rc == rc::REFERRAL {
            return Ok((result.refs, true));
        }
        if !classify_search(
            uri,
            "paged search",
            q.filter,
            q.base,
            result.rc,
            &result.text,
        )? {
            return Ok((Vec::new(), false));
        }
        // EntriesOnly collects the continuation references into the result.
        Ok((result.refs, false))
    }

    /// One search on an open connection, paged or not, then the references it returned.
    /// References to hosts not allowed are skipped (continuation references: that part is
    /// missing), but a base that is itself held elsewhere and not followed is an error: the
    /// answer would be empty, not partial.
    async fn search_and_follow(
        &self,
        ldap: &mut Ldap,
        uri: &str,
        q: Query<'_>,
    ) -> Result<Vec<Entry>, DirError> {
        let (mut entries, refs, base_elsewhere) = if q.paged {
            self.search_paged(ldap, uri, q).await?
        } else {
            self.search_once(ldap, uri, q).await?
        };
        if refs.is_empty() {
            return Ok(entries);
        }
        let mut visited = std::collections::HashSet::new();
        let (more, followed) = self.follow(&refs, q, 0, &mut visited).await?;
        if base_elsewhere && followed == 0 {
            return Err(DirError::Server(format!(
                "{uri}: {} is held by another server ({}), which is neither one of this block's URIs nor in referral_hosts",
                q.base,
                refs.join(" ")
            )));
        }
        // The same entry reached twice (two references to one subtree) counts once.
        let mut seen: std::collections::HashSet<String> =
            entries.iter().map(|e| normalize_dn(&e.dn)).collect();
        entries.extend(
            more.into_iter()
                .filter(|e| seen.insert(normalize_dn(&e.dn))),
        );
        Ok(entries)
    }

    /// Follows references (see `referral.rs`): for each part held elsewhere, the first allowed
    /// alternative that answers, on a new connection with the block's service bind, the same
    /// filter and attributes, under the DN it names; only entries under that DN are taken.
    /// A failure of every alternative is the search's error (not a reason to ask the block's
    /// next URI). Returns the entries and how many parts were followed.
    pub(super) async fn follow(
        &self,
        refs: &[String],
        q: Query<'_>,
        hop: usize,
        visited: &mut std::collections::HashSet<String>,
    ) -> Result<(Vec<Entry>, usize), DirError> {
        let mut out = Vec::new();
        let parts = self.references_to_follow(refs, visited, hop)?;
        for alternatives in &parts {
            let mut last = None;
            let mut done = false;
            for r in alternatives {
                match self.follow_one(r, q).await {
                    Ok((entries, more)) => {
                        out.extend(entries);
                        if !more.is_empty() {
                            let base = r.base.clone().unwrap_or_else(|| q.base.to_string());
                            let sub = Query { base: &base, ..q };
                            let (deeper, _) =
                                Box::pin(self.follow(&more, sub, hop + 1, visited)).await?;
                            out.extend(deeper);
                        }
                        done = true;
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            if let (false, Some(e)) = (done, last) {
                return Err(e);
            }
        }
        Ok((out, parts.len()))
    }

    /// One reference followed: the entries under its DN, and the references it answered with.
    async fn follow_one(
        &self,
        r: &super::referral::Reference,
        q: Query<'_>,
    ) -> Result<(Vec<Entry>, Vec<String>), DirError> {
        let held_elsewhere =
            |e: DirError| DirError::Server(format!("reference to {}: {e}", r.server));
        let mut ldap = self.connect(&r.server).await.map_err(held_elsewhere)?;
        self.service_bind(&mut ldap, &r.server)
            .await
            .map_err(held_elsewhere)?;
        let base = r.base.clone().unwrap_or_else(|| q.base.to_string());
        let sub = Query {
            base: &base,
            scope: r.scope.unwrap_or(q.scope),
            ..q
        };
        let found = if sub.paged {
            self.search_paged(&mut ldap, &r.server, sub).await
        } else {
            self.search_once(&mut ldap, &r.server, sub).await
        };
        let _ = tokio::time::timeout(std::time::Duration::from_millis(200), ldap.unbind()).await;
        let (entries, more, _) = found.map_err(held_elsewhere)?;
        // A server trusted for one subtree answers for that subtree only.
        let (inside, outside): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| is_under(&e.dn, &base));
        if !outside.is_empty() {
            debug!(
                "server {}: {} returned {} entries outside {base}; ignored",
                self.cfg.name,
                r.server,
                outside.len()
            );
        }
        debug!(
            "server {}: followed a reference to {} under {base}: {} entries",
            self.cfg.name,
            r.server,
            inside.len()
        );
        self.remember_referred(&inside, &r.server);
        Ok((inside, more))
    }

    /// Searches under `base`, failing over between URIs (see [`Self::failover`]). Allowed
    /// references are followed, a base held elsewhere and not followed is an error, and
    /// continuation references to hosts not allowed are skipped (ldaprs.toml(5) says what that
    /// means for `deny_groups`).
    pub async fn search(
        &self,
        base: &str,
        f: &str,
        attrs: &[String],
        paged: bool,
    ) -> Result<Vec<Entry>, DirError> {
        self.search_ex(base, Scope::Subtree, f, attrs, paged).await
    }

    /// Reads one entry if it matches `f` (a base-scope search): `Ok(None)` if it does not
    /// match or does not exist.
    pub async fn read_entry(
        &self,
        dn: &str,
        f: &str,
        attrs: &[String],
    ) -> Result<Option<Entry>, DirError> {
        Ok(self
            .search_ex(dn, Scope::Base, f, attrs, false)
            .await?
            .into_iter()
            .next())
    }

    async fn search_ex(
        &self,
        base: &str,
        scope: Scope,
        f: &str,
        attrs: &[String],
        paged: bool,
    ) -> Result<Vec<Entry>, DirError> {
        let q = Query {
            base,
            scope,
            filter: f,
            attrs,
            paged,
            limit: 0,
        };
        self.failover(!paged, |i| -> Attempt<'_, Vec<Entry>> {
            Box::pin(async move {
                let res = match self.conn(i).await {
                    Ok((mut ldap, uri)) => self.search_and_follow(&mut ldap, &uri, q).await,
                    Err(e) => Err(e),
                };
                if matches!(res, Err(DirError::Unreachable(_))) {
                    if let Some(s) = self.slot(i) {
                        s.state().conn = None;
                    }
                }
                (i, res)
            })
        })
        .await
    }

    /// Whether any entry under `base` matches `f`: one search with a size limit of 1 (the
    /// server stops at the first match).
    pub async fn exists(&self, base: &str, f: &str) -> Result<bool, DirError> {
        let attrs = ["1.1".to_string()];
        let q = Query {
            base,
            scope: Scope::Subtree,
            filter: f,
            attrs: &attrs,
            paged: false,
            limit: 1,
        };
        let found = self
            .failover(true, |i| -> Attempt<'_, Vec<Entry>> {
                Box::pin(async move {
                    let res = match self.conn(i).await {
                        Ok((mut ldap, uri)) => self
                            .search_once(&mut ldap, &uri, q)
                            .await
                            .map(|(v, _, _)| v),
                        Err(e) => Err(e),
                    };
                    (i, res)
                })
            })
            .await;
        match found {
            Ok(v) => Ok(!v.is_empty()),
            // More than the one entry asked for: there is one.
            Err(DirError::SizeLimit(_)) => Ok(true),
            Err(e) => Err(e),
        }
    }
}
