//! The same search through ldap-rs (rasn-ldap codec, tokio), the alternative crate measured.
//! ldap-rs opens its own TCP stream and does not set TCP_NODELAY (`--nodelay` has no effect).

use crate::stats::Run;
use crate::{filter, Args, ATTRS};
use futures_util::TryStreamExt;
use ldap_rs::{LdapClient, SearchRequest, SearchRequestDerefAliases, SearchRequestScope};
use std::time::Instant;

pub(crate) async fn connect(a: &Args) -> Result<LdapClient, String> {
    let rest = a.uri.strip_prefix("ldap://").ok_or("only ldap:// URIs")?;
    let hp = rest.trim_end_matches('/');
    let (h, p) = hp.rsplit_once(':').unwrap_or((hp, "389"));
    let port: u16 = p.parse().map_err(|_| format!("bad port in {}", a.uri))?;
    LdapClient::builder(h)
        .port(port)
        .connect()
        .await
        .map_err(|e| format!("ldap-rs {}: {e}", a.uri))
}

pub(crate) async fn search(c: &mut LdapClient, base: &str, name: &str) -> Result<usize, String> {
    let req = SearchRequest::builder()
        .base_dn(base)
        .scope(SearchRequestScope::WholeSubtree)
        .deref_aliases(SearchRequestDerefAliases::NeverDerefAliases)
        .filter(filter(name))
        .attributes(ATTRS)
        .build()
        .map_err(|e| e.to_string())?;
    let entries: Vec<_> = c
        .search(req)
        .await
        .map_err(|e| e.to_string())?
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(entries.len())
}

pub async fn latency(a: &Args) -> Result<Run, String> {
    let mut c = connect(a).await?;
    let mut run = Run::default();
    let start = Instant::now();
    for name in a.users.iter().cycle().take(a.count) {
        let t0 = Instant::now();
        let found = search(&mut c, &a.base, name).await;
        run.record(t0, found);
    }
    run.wall_s = start.elapsed().as_secs_f64();
    let _ = c.unbind().await;
    Ok(run)
}

/// `a.inflight` tasks over `a.conns` connections, as `ldap3_modes::throughput`.
pub async fn throughput(a: &Args) -> Result<Run, String> {
    let mut conns = Vec::new();
    for _ in 0..a.conns {
        conns.push(connect(a).await?);
    }
    let per = a.count / a.inflight;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, c) in (0..a.inflight).zip(conns.iter().cycle()) {
        let mut c = c.clone();
        let base = a.base.clone();
        let names: Vec<String> = a
            .users
            .iter()
            .cycle()
            .skip(i * per)
            .take(per)
            .cloned()
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut run = Run::default();
            for n in &names {
                let t0 = Instant::now();
                let found = search(&mut c, &base, n).await;
                run.record(t0, found);
            }
            run
        }));
    }
    let mut run = Run::default();
    for t in tasks {
        run.merge(t.await.map_err(|e| e.to_string())?);
    }
    run.wall_s = start.elapsed().as_secs_f64();
    Ok(run)
}
