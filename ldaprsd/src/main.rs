//! `ldaprsd [--config PATH]`: runs in the foreground, logs to stderr (the journal under
//! systemd). SIGHUP re-reads the config (a bad config is reported and the running one kept);
//! SIGTERM stops.

use ldaprs_common::config::{self, Config};
use ldaprsd::cache::SystemClock;
use ldaprsd::directory::{IdLimits, ServerBlock};
use ldaprsd::publish::Publisher;
use ldaprsd::server::Current;
use ldaprsd::service::Service;
use ldaprsd::{error, info, warn};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

fn usage() -> ExitCode {
    eprintln!(
        "usage: ldaprsd [--config PATH]   (default {})",
        ldaprs_common::DEFAULT_CONFIG
    );
    ExitCode::from(2)
}

/// One thread by default: every request is a few microseconds of CPU between network waits,
/// and hopping between worker threads costs more than it brings (measured: cold getpwnam
/// p50 290 µs multi-threaded vs. less single-threaded). `LDAPRS_WORKER_THREADS=N` overrides.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    match std::env::var("LDAPRS_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(n) if n > 1 => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
}

/// Reads the config and its secrets and builds the server blocks; every problem is one
/// message naming the file, the server and the key.
///
/// `secrets` remembers the secret files read so far: after the switch to `[daemon] user` the
/// root-only files cannot be read again, so a reload keeps what was read at start for the same
/// path (and says so); a new path needs a restart.
fn load(
    path: &Path,
    secrets: &mut HashMap<PathBuf, String>,
) -> Result<(Config, Vec<ServerBlock>), String> {
    let cfg = config::load(path).map_err(|e| e.to_string())?;
    let limits = IdLimits {
        min_uid: cfg.nss.min_uid,
        min_gid: cfg.nss.min_gid(),
    };
    let mut blocks = Vec::new();
    let mut secret = |f: &PathBuf, key: &str, server: &str| -> Result<String, String> {
        match config::read_secret_for(f, key) {
            Ok(p) => {
                secrets.insert(f.clone(), p.clone());
                Ok(p)
            }
            Err(e) => match secrets.get(f) {
                Some(p) if e.message.contains("Permission denied") => {
                    warn!("server {server}: {} cannot be read any more (the daemon no longer runs as root); keeping the password read at start — restart to change it", f.display());
                    Ok(p.clone())
                }
                _ => Err(format!("server {server}: {e}")),
            },
        }
    };
    for s in &cfg.servers {
        let pw = match &s.bind_password_file {
            Some(f) => Some(secret(f, "bind_password_file", &s.name)?),
            None => None,
        };
        if !s.tls.verify {
            warn!("server {}: TLS certificate verification is OFF (verify = false): anyone on the path can impersonate the directory", s.name);
        }
        let admin_pw = match &s.admin_password_file {
            Some(f) => Some(secret(f, "admin_password_file", &s.name)?),
            None => None,
        };
        let b = ServerBlock::new(s.clone(), limits, pw)
            .map_err(|e| e.to_string())?
            .with_admin_password(admin_pw);
        for w in b.transport_warnings() {
            warn!("{w}");
        }
        blocks.push(b);
    }
    Ok((cfg, blocks))
}

fn publisher(cfg: &Config) -> Option<Arc<Publisher>> {
    if cfg.cache.map_size_mb == 0 {
        return None;
    }
    let dir = Path::new(&cfg.daemon.socket)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = dir.join("cache.map").to_string_lossy().into_owned();
    let size = usize::try_from(cfg.cache.map_size_mb.min(4096) << 20).unwrap_or(32 << 20);
    let p = Publisher::open(&path, size);
    if p.is_none() {
        warn!("shared-memory cache {path} could not be set up; lookups use the socket only");
    }
    p.map(Arc::new)
}

/// Switches to `[daemon] user` once the socket, the shared map and the secrets are in hand.
fn drop_privileges(user: &str, socket: &str) -> Result<(), String> {
    use ldaprsd::privdrop;
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    let (uid, gid) =
        privdrop::lookup(&passwd, user).ok_or_else(|| format!("no user {user} in /etc/passwd"))?;
    if uid == 0 {
        return Err(format!("{user} is root"));
    }
    if let Some(dir) = Path::new(socket).parent() {
        privdrop::hand_over(dir, uid, gid)?;
    }
    privdrop::become_user(uid, gid)?;
    info!("running as {user} (uid {uid}, gid {gid})");
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut path = PathBuf::from(ldaprs_common::DEFAULT_CONFIG);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => match args.next() {
                Some(p) => path = PathBuf::from(p),
                None => return usage(),
            },
            "--version" => {
                println!("ldaprsd {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    // Our own NSS module must never ask us about ourselves (see nss_ldaprs::recursion_guard).
    // Set before any thread exists.
    std::env::set_var("LDAPRS_NSS_DISABLE", "1");
    // Never leave the bind password in a core dump.
    // SAFETY: prctl with constant arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };

    let mut secrets = HashMap::new();
    let (cfg, blocks) = match load(&path, &mut secrets) {
        Ok(x) => x,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(78); // EX_CONFIG
        }
    };
    ldaprsd::log::set_level(cfg.daemon.log_level);
    if cfg.daemon.socket != ldaprs_common::DEFAULT_SOCKET {
        warn!(
            "listening on {} — the NSS and PAM modules use {}",
            cfg.daemon.socket,
            ldaprs_common::DEFAULT_SOCKET
        );
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let listener = match ldaprsd::server::bind(&cfg.daemon.socket) {
            Ok(l) => l,
            Err(e) => {
                error!("cannot listen on {}: {e}", cfg.daemon.socket);
                return ExitCode::FAILURE;
            }
        };
        let map = publisher(&cfg);
        let svc =
            Arc::new(Service::new(&cfg, blocks, Arc::new(SystemClock)).with_publisher(map.clone()));
        tokio::spawn(svc.clone().run_refresher());
        let current: Current = Arc::new(RwLock::new(svc));
        if let Some(user) = &cfg.daemon.user {
            if let Err(e) = drop_privileges(user, &cfg.daemon.socket) {
                error!("cannot run as {user}: {e}");
                return ExitCode::FAILURE;
            }
        }
        info!(
            "ldaprsd {} listening on {} ({} server block(s))",
            env!("CARGO_PKG_VERSION"),
            cfg.daemon.socket,
            cfg.servers.len()
        );
        let signal = |kind| {
            tokio::signal::unix::signal(kind).map_err(|e| error!("cannot handle signals: {e}"))
        };
        let (Ok(mut term), Ok(mut hup)) = (
            signal(tokio::signal::unix::SignalKind::terminate()),
            signal(tokio::signal::unix::SignalKind::hangup()),
        ) else {
            return ExitCode::FAILURE;
        };
        let server = tokio::spawn(ldaprsd::server::serve(listener, current.clone()));
        ldaprsd::notify::ready();
        let probing = current.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                let svc = ldaprsd::server::snapshot(&probing);
                svc.probe_dead().await;
            }
        });
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
                _ = hup.recv() => reload(&path, &cfg, &current, &map, &mut secrets),
            }
        }
        ldaprsd::notify::stopping();
        // Stopped on purpose: answers must come from a running daemon again (a crash leaves the
        // map, whose entries still expire on their own).
        ldaprsd::server::snapshot(&current).flush();
        server.abort();
        let _ = std::fs::remove_file(&cfg.daemon.socket);
        info!("ldaprsd stopped");
        ExitCode::SUCCESS
    })
}

/// SIGHUP: build a new service from the config file and swap it in. Requests already being
/// answered finish on the old one; a config that does not load leaves the running one in place.
fn reload(
    path: &Path,
    running: &Config,
    current: &Current,
    map: &Option<Arc<Publisher>>,
    secrets: &mut HashMap<PathBuf, String>,
) {
    ldaprsd::notify::reloading();
    match load(path, secrets) {
        Err(e) => error!("SIGHUP: config not reloaded, keeping the running one: {e}"),
        Ok((cfg, blocks)) => {
            if cfg.daemon.socket != running.daemon.socket
                || cfg.cache.map_size_mb != running.cache.map_size_mb
                || cfg.daemon.user != running.daemon.user
            {
                warn!("SIGHUP: [daemon] socket and user and [cache] map_size_mb take effect at the next restart");
            }
            ldaprsd::log::set_level(cfg.daemon.log_level);
            let svc = Arc::new(
                Service::new(&cfg, blocks, Arc::new(SystemClock)).with_publisher(map.clone()),
            );
            tokio::spawn(svc.clone().run_refresher());
            let old = {
                let mut slot = current.write().unwrap_or_else(|p| p.into_inner());
                std::mem::replace(&mut *slot, svc)
            };
            old.shutdown();
            // Answers of the old config (filters, id limits) must not be served any more.
            if let Some(m) = map {
                m.clear();
            }
            info!(
                "SIGHUP: configuration reloaded from {} ({} server block(s))",
                path.display(),
                cfg.servers.len()
            );
        }
    }
    ldaprsd::notify::ready();
}
