//! The ldap3 ways of sending the daemon's search (see main.rs for the modes).

use crate::stats::Run;
use crate::{filter, Args, ATTRS, OP_TIMEOUT};
use ldap3::{Ldap, LdapConn, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use std::time::Instant;

pub fn runtime_ct() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

pub fn runtime_mt() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// host:port of an ldap:// URI.
fn host_port(uri: &str) -> Result<(String, u16), String> {
    let rest = uri.strip_prefix("ldap://").ok_or("only ldap:// URIs")?;
    let hp = rest.trim_end_matches('/');
    let (h, p) = hp.rsplit_once(':').unwrap_or((hp, "389"));
    Ok((
        h.to_string(),
        p.parse().map_err(|_| format!("bad port in {uri}"))?,
    ))
}

/// One connection as ldaprsd's `connect.rs` makes it: our own TCP stream (TCP_NODELAY unless
/// `--nodelay 0`), handed to ldap3, and its driver spawned as a task.
pub(crate) async fn connect(a: &Args) -> Result<Ldap, String> {
    let (h, p) = host_port(&a.uri)?;
    let tcp = tokio::net::TcpStream::connect((h.as_str(), p))
        .await
        .map_err(|e| format!("connect {}: {e}", a.uri))?;
    tcp.set_nodelay(a.nodelay).map_err(|e| e.to_string())?;
    let std = tcp.into_std().map_err(|e| e.to_string())?;
    let settings = LdapConnSettings::new().set_std_stream(ldap3::StdStream::Tcp(std));
    let (conn, ldap) = LdapConnAsync::with_settings(settings, &a.uri)
        .await
        .map_err(|e| format!("ldap3 {}: {e}", a.uri))?;
    tokio::spawn(async move {
        if let Err(e) = conn.drive().await {
            eprintln!("ldap-floor: connection ended: {e}");
        }
    });
    Ok(ldap)
}

/// `Ldap::search`: the number of entries.
pub(crate) async fn search(ldap: &mut Ldap, base: &str, name: &str) -> Result<usize, String> {
    let r = ldap
        .search(base, Scope::Subtree, &filter(name), ATTRS)
        .await
        .map_err(|e| e.to_string())?;
    let (entries, res) = (r.0, r.1);
    if res.rc != 0 {
        return Err(format!("rc {} {}", res.rc, res.text));
    }
    Ok(entries.len())
}

/// `streaming_search`, entry by entry.
pub(crate) async fn streaming(ldap: &mut Ldap, base: &str, name: &str) -> Result<usize, String> {
    let f = filter(name);
    let mut s = ldap
        .streaming_search(base, Scope::Subtree, &f, ATTRS)
        .await
        .map_err(|e| e.to_string())?;
    let mut n = 0;
    while let Some(e) = s.next().await.map_err(|e| e.to_string())? {
        if !e.is_ref() && !e.is_intermediate() {
            n += 1;
        }
    }
    let res = s.finish().await;
    if res.rc != 0 {
        return Err(format!("rc {} {}", res.rc, res.text));
    }
    Ok(n)
}

/// What ldaprsd's `search_once` does around the search: ldap3's own timeout, a tokio
/// timeout around the call, and every entry parsed into a `SearchEntry`.
/// `timers` picks the deadlines: "both" (as the daemon), "ldap3" (its `with_timeout` only),
/// "tokio" (`tokio::time::timeout` only) or "none".
pub(crate) async fn daemon_shape(
    mut ldap: Ldap,
    base: String,
    name: String,
    timers: &'static str,
) -> Result<usize, String> {
    let f = filter(&name);
    if matches!(timers, "both" | "ldap3") {
        ldap.with_timeout(OP_TIMEOUT);
    }
    let fut = ldap.search(&base, Scope::Subtree, &f, ATTRS.to_vec());
    let r = if matches!(timers, "both" | "tokio") {
        tokio::time::timeout(OP_TIMEOUT, fut)
            .await
            .map_err(|_| "timeout".to_string())?
    } else {
        fut.await
    }
    .map_err(|e| e.to_string())?;
    if r.1.rc != 0 {
        return Err(format!("rc {} {}", r.1.rc, r.1.text));
    }
    let entries: Vec<SearchEntry> = r.0.into_iter().map(SearchEntry::construct).collect();
    Ok(entries
        .iter()
        .filter(|e| e.attrs.contains_key("uid"))
        .count())
}

/// One search at a time over `a.count` names, in the way `a.mode` names.
pub async fn latency(a: &Args) -> Result<Run, String> {
    let mut ldap = connect(a).await?;
    let mut run = Run::default();
    let start = Instant::now();
    for name in a.users.iter().cycle().take(a.count) {
        let t0 = Instant::now();
        let found = match a.mode.as_str() {
            "streaming" => streaming(&mut ldap, &a.base, name).await,
            "spawned" => {
                let (mut l, b, n) = (ldap.clone(), a.base.clone(), name.clone());
                let h = tokio::spawn(async move { search(&mut l, &b, &n).await });
                h.await.map_err(|e| e.to_string()).and_then(|r| r)
            }
            m @ ("daemon" | "daemon-ldap3to" | "daemon-tokioto" | "daemon-noto") => {
                let timers = match m {
                    "daemon" => "both",
                    "daemon-ldap3to" => "ldap3",
                    "daemon-tokioto" => "tokio",
                    _ => "none",
                };
                let (l, b, n) = (ldap.clone(), a.base.clone(), name.clone());
                let h = tokio::spawn(daemon_shape(l, b, n, timers));
                h.await.map_err(|e| e.to_string()).and_then(|r| r)
            }
            _ => search(&mut ldap, &a.base, name).await,
        };
        run.record(t0, found);
    }
    run.wall_s = start.elapsed().as_secs_f64();
    let _ = ldap.unbind().await;
    Ok(run)
}

/// `a.inflight` tasks over `a.conns` connections (task i on connection i % conns), each
/// searching its share of the names one after the other.
pub async fn throughput(a: &Args) -> Result<Run, String> {
    let mut conns = Vec::new();
    for _ in 0..a.conns {
        conns.push(connect(a).await?);
    }
    let per = a.count / a.inflight;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, base_conn) in (0..a.inflight).zip(conns.iter().cycle()) {
        let mut ldap = base_conn.clone();
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
                let found = search(&mut ldap, &base, n).await;
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

/// A synchronous `LdapConn` on our own TCP stream (TCP_NODELAY unless `--nodelay 0`).
pub(crate) fn sync_conn(a: &Args) -> Result<LdapConn, String> {
    let (h, p) = host_port(&a.uri)?;
    let tcp = std::net::TcpStream::connect((h.as_str(), p))
        .map_err(|e| format!("connect {}: {e}", a.uri))?;
    tcp.set_nodelay(a.nodelay).map_err(|e| e.to_string())?;
    let settings = LdapConnSettings::new().set_std_stream(ldap3::StdStream::Tcp(tcp));
    LdapConn::with_settings(settings, &a.uri).map_err(|e| format!("ldap3 {}: {e}", a.uri))
}

/// `LdapConn::search`: the number of entries.
pub(crate) fn sync_search(ldap: &mut LdapConn, base: &str, name: &str) -> Result<usize, String> {
    let r = ldap
        .search(base, Scope::Subtree, &filter(name), ATTRS)
        .map_err(|e| e.to_string())?;
    if r.1.rc != 0 {
        return Err(format!("rc {} {}", r.1.rc, r.1.text));
    }
    Ok(r.0.len())
}

/// ldap3's synchronous `LdapConn` (a current-thread runtime inside, block_on per call).
pub fn run_sync(a: &Args) -> Result<Run, String> {
    let mut ldap = sync_conn(a)?;
    let mut run = Run::default();
    let start = Instant::now();
    for name in a.users.iter().cycle().take(a.count) {
        let t0 = Instant::now();
        let found = sync_search(&mut ldap, &a.base, name);
        run.record(t0, found);
    }
    run.wall_s = start.elapsed().as_secs_f64();
    let _ = ldap.unbind();
    Ok(run)
}
