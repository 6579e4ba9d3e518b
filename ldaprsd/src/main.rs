//! `ldaprsd [--config PATH]`: runs in the foreground, logs to stderr (the journal under
//! systemd).

use ldaprs_common::config;
use ldaprsd::cache::SystemClock;
use ldaprsd::directory::{IdLimits, ServerBlock};
use ldaprsd::service::Service;
use ldaprsd::{error, info, warn};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    match std::env::var("LDAPRS_WORKER_THREADS").ok().and_then(|v| v.parse::<usize>().ok()) {
        Some(n) if n > 1 => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build(),
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    }
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

    let cfg = match config::load(&path) {
        Ok(c) => c,
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
    let limits = IdLimits {
        min_uid: cfg.nss.min_uid,
        min_gid: cfg.nss.min_gid(),
    };
    let mut blocks = Vec::new();
    for s in &cfg.servers {
        let pw = match &s.bind_password_file {
            Some(f) => match config::read_secret(f) {
                Ok(p) => Some(p),
                Err(e) => {
                    error!("server {}: {e}", s.name);
                    return ExitCode::from(78);
                }
            },
            None => None,
        };
        if !s.tls.verify {
            warn!("server {}: TLS certificate verification is OFF (verify = false): anyone on the path can impersonate the directory", s.name);
        }
        match ServerBlock::new(s.clone(), limits, pw) {
            Ok(b) => {
                for w in b.transport_warnings() {
                    warn!("{w}");
                }
                blocks.push(b)
            }
            Err(e) => {
                error!("{e}");
                return ExitCode::from(78);
            }
        }
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
        let publisher = if cfg.cache.map_size_mb > 0 {
            let dir = std::path::Path::new(&cfg.daemon.socket).parent().map(|d| d.to_path_buf()).unwrap_or_default();
            let path = dir.join("cache.map").to_string_lossy().into_owned();
            let p = ldaprsd::publish::Publisher::open(&path, usize::try_from(cfg.cache.map_size_mb.min(4096) << 20).unwrap_or(32 << 20));
            if p.is_none() {
                warn!("shared-memory cache {path} could not be set up; lookups use the socket only");
            }
            p
        } else {
            None
        };
        let svc = Arc::new(Service::new(&cfg, blocks, Arc::new(SystemClock)).with_publisher(publisher));
        tokio::spawn(svc.clone().run_refresher());
        info!(
            "ldaprsd {} listening on {} ({} server block(s))",
            env!("CARGO_PKG_VERSION"),
            cfg.daemon.socket,
            cfg.servers.len()
        );
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    error!("cannot handle SIGTERM: {e}");
                    return ExitCode::FAILURE;
                }
            };
        let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                error!("cannot handle SIGHUP: {e}");
                return ExitCode::FAILURE;
            }
        };
        let server = tokio::spawn(ldaprsd::server::serve(listener, svc.clone()));
        ldaprsd::notify::ready();
        let prober = svc.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                prober.probe_dead().await;
            }
        });
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
                _ = hup.recv() => {
                    svc.flush();
                    info!("SIGHUP: cache flushed");
                }
            }
        }
        ldaprsd::notify::stopping();
        // Stopped on purpose: answers must come from a running daemon again (a crash leaves the
        // map, whose entries still expire on their own).
        svc.flush();
        server.abort();
        let _ = std::fs::remove_file(&cfg.daemon.socket);
        info!("ldaprsd stopped");
        ExitCode::SUCCESS
    })
}
