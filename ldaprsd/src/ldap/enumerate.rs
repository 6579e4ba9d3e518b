//! Enumerations: every user or group entry of a block. Each entry is turned into what the
//! caller keeps (a passwd record) as it arrives, so 100,000 users never sit in memory as
//! parsed entries; each paged search has a connection of its own (slapd keeps one paged
//! search per connection, and a lookup on the shared connection in between would invalidate
//! its cookie). Where the server caps even paged results (OpenLDAP's default `size.prtotal`
//! is the hard size limit), the search is split by the first characters of the name
//! attribute until each part fits.

use super::block::ServerBlock;
use super::entry::{normalize_dn, Entry};
use super::error::DirError;
use super::failover::Attempt;
use super::search::Query;
use crate::{debug, info};
use ldap3::Scope;
use ldaprs_common::filter;
use std::collections::HashSet;

/// The characters a served name can start with (see `names::valid_name`); LDAP matches
/// `uid=a*` case-insensitively, so lower case covers upper case.
const PREFIX_CHARS: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's',
    't', 'u', 'v', 'w', 'x', 'y', 'z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '.', '_',
    '@',
];

/// Bound on the searches one split enumeration may make.
const MAX_SPLIT_SEARCHES: usize = 20_000;

/// What an enumeration makes of each entry (None: not kept; the converter logs why).
pub type Convert<'c, T> = &'c (dyn Fn(Entry) -> Option<T> + Sync);

impl ServerBlock {
    /// Every entry matching `f` under `base`, converted. Only names that ldaprs would answer
    /// (`[A-Za-z0-9._@-]`) can start a part of a split search, so the split loses nothing we
    /// serve.
    pub async fn search_all<T: Send>(
        &self,
        base: &str,
        f: &str,
        name_attr: &str,
        attrs: &[String],
        convert: Convert<'_, T>,
    ) -> Result<Vec<T>, DirError> {
        match self.enumerate_once(base, f, attrs, convert).await {
            Err(DirError::SizeLimit(m)) => {
                info!(
                    "server {}: {m}; splitting the enumeration by {name_attr} prefix",
                    self.cfg.name
                );
                self.enumerate_split(base, f, name_attr, attrs, convert)
                    .await
            }
            other => other,
        }
    }

    async fn enumerate_split<T: Send>(
        &self,
        base: &str,
        f: &str,
        name_attr: &str,
        attrs: &[String],
        convert: Convert<'_, T>,
    ) -> Result<Vec<T>, DirError> {
        let mut out = Vec::new();
        let mut todo: Vec<String> = PREFIX_CHARS.iter().map(|c| c.to_string()).collect();
        let mut searches = 0usize;
        while let Some(prefix) = todo.pop() {
            searches += 1;
            if searches > MAX_SPLIT_SEARCHES {
                return Err(DirError::SizeLimit(format!("server {}: enumeration still over the size limit after {MAX_SPLIT_SEARCHES} split searches", self.cfg.name)));
            }
            let part = format!("({name_attr}={}*)", filter::escape_filter_value(&prefix));
            match self
                .enumerate_once(base, &filter::and(f, &part), attrs, convert)
                .await
            {
                Ok(found) => out.extend(found),
                Err(DirError::SizeLimit(_)) if prefix.len() < 64 => {
                    todo.extend(PREFIX_CHARS.iter().map(|c| format!("{prefix}{c}")));
                    // An entry whose name is exactly the prefix matches no longer part.
                    let exact = format!("({name_attr}={})", filter::escape_filter_value(&prefix));
                    let entries = self
                        .search(base, &filter::and(f, &exact), attrs, false)
                        .await?;
                    out.extend(entries.into_iter().filter_map(convert));
                }
                Err(e) => return Err(e),
            }
        }
        debug!(
            "server {}: split enumeration took {searches} searches",
            self.cfg.name
        );
        Ok(out)
    }

    /// One paged search, failing over between URIs (never hedged: it may be long).
    async fn enumerate_once<T: Send>(
        &self,
        base: &str,
        f: &str,
        attrs: &[String],
        convert: Convert<'_, T>,
    ) -> Result<Vec<T>, DirError> {
        let q = Query {
            base,
            scope: Scope::Subtree,
            filter: f,
            attrs,
            paged: true,
            limit: 0,
        };
        self.failover(false, |i| -> Attempt<'_, Vec<T>> {
            Box::pin(async move { (i, self.enumerate_on(i, q, convert).await) })
        })
        .await
    }

    /// The paged search on a new connection to URI `i`, then the references it returned
    /// (followed as `search.rs` does for every search).
    async fn enumerate_on<T: Send>(
        &self,
        i: usize,
        q: Query<'_>,
        convert: Convert<'_, T>,
    ) -> Result<Vec<T>, DirError> {
        let uri = self
            .slot(i)
            .map(|s| s.uri.clone())
            .ok_or_else(|| DirError::Unreachable("no such URI".into()))?;
        self.service_bind_transport(&uri)?;
        let mut ldap = self.connect(&uri).await?;
        self.service_bind(&mut ldap, &uri).await?;
        let mut out = Vec::new();
        let found = self
            .search_paged_each(&mut ldap, &uri, q, &mut |e| out.extend(convert(e)))
            .await;
        let _ = tokio::time::timeout(std::time::Duration::from_millis(200), ldap.unbind()).await;
        let (refs, base_elsewhere) = found?;
        if refs.is_empty() {
            return Ok(out);
        }
        let mut visited = HashSet::new();
        let (more, followed) = self.follow(&refs, q, 0, &mut visited).await?;
        if base_elsewhere && followed == 0 {
            return Err(DirError::Server(format!(
                "{uri}: {} is held by another server ({}), which is neither one of this block's URIs nor in referral_hosts",
                q.base,
                refs.join(" ")
            )));
        }
        // The same entry reached through two references counts once.
        let mut seen = HashSet::new();
        out.extend(
            more.into_iter()
                .filter(|e| seen.insert(normalize_dn(&e.dn)))
                .filter_map(convert),
        );
        Ok(out)
    }
}
