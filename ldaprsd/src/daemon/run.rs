//! The run loop: the runtime, the socket, the service, the privilege switch, signals (SIGTERM
//! stops, SIGHUP reloads) and the background probes of dead URIs.

use super::detect::{detect_later, detect_pending};
use super::load::{load, Secrets};
use super::map::publisher;
use super::privileges::drop_privileges;
use super::reload::reload;
use crate::clock::SystemClock;
use crate::ldap::ServerBlock;
use crate::socket::{self, Current, OfflineFiles, Service};
use crate::system::notify;
use crate::{error, info, warn};
use ldaprs_common::config::Config;
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

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

/// The socket admits up to 768 clients (socket/admission.rs) plus one LDAP connection per
/// user bind and referral: the usual soft limit of 1024 descriptors is raised to the hard
/// limit, so that root's reserved connections are never refused with EMFILE.
fn raise_fd_limit() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on our own process with a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// Runs the daemon with the config at `path` until SIGTERM; the exit code says how it ended.
pub fn run(path: &Path) -> ExitCode {
    // Our own NSS module must never ask us about ourselves (see nss_ldaprs::recursion_guard).
    // Set before any thread exists.
    std::env::set_var("LDAPRS_NSS_DISABLE", "1");
    // Never leave the bind password in a core dump.
    // SAFETY: prctl with constant arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    raise_fd_limit();

    let mut secrets = HashMap::new();
    let (cfg, blocks) = match load(path, &mut secrets) {
        Ok(x) => x,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(78); // EX_CONFIG
        }
    };
    crate::log::set_level(cfg.daemon.log_level);
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
    rt.block_on(serve(path, cfg, blocks, secrets))
}

/// Everything after the config is read: switch user, listen, build the service, then serve
/// until SIGTERM.
async fn serve(
    path: &Path,
    cfg: Config,
    blocks: Vec<ServerBlock>,
    mut secrets: Secrets,
) -> ExitCode {
    // Before the socket exists: once it is visible the daemon runs as its final user (the
    // socket and the map are then created by that user, as under the systemd unit).
    if let Some(user) = &cfg.daemon.user {
        let state = (cfg.offline.max_age > 0).then_some(cfg.offline.dir.as_str());
        if let Err(e) = drop_privileges(user, &cfg.daemon.socket, state) {
            error!("cannot run as {user}: {e}");
            return ExitCode::FAILURE;
        }
    }
    // Before the socket too: lookups must not meet a block that is still asking the
    // directory what it is (bounded; see detect.rs).
    let blocks = detect_pending(blocks).await;
    let listener = match socket::bind(&cfg.daemon.socket) {
        Ok(l) => l,
        Err(e) => {
            error!("cannot listen on {}: {e}", cfg.daemon.socket);
            return ExitCode::FAILURE;
        }
    };
    let map = publisher(&cfg);
    let files = OfflineFiles::open_off_runtime(&cfg).await;
    let svc = Arc::new(Service::new(
        &cfg,
        blocks,
        Arc::new(SystemClock),
        map.clone(),
        files,
    ));
    tokio::spawn(svc.clone().run_refresher());
    let current: Current = Arc::new(RwLock::new(svc));
    info!(
        "ldaprsd {} listening on {} ({} server block(s))",
        env!("CARGO_PKG_VERSION"),
        cfg.daemon.socket,
        cfg.servers.len()
    );
    let signal =
        |kind| tokio::signal::unix::signal(kind).map_err(|e| error!("cannot handle signals: {e}"));
    let (Ok(mut term), Ok(mut hup)) = (
        signal(tokio::signal::unix::SignalKind::terminate()),
        signal(tokio::signal::unix::SignalKind::hangup()),
    ) else {
        return ExitCode::FAILURE;
    };
    let server = tokio::spawn(socket::serve(listener, current.clone()));
    notify::ready();
    tokio::spawn(probe_forever(current.clone()));
    tokio::spawn(detect_later(
        cfg.clone(),
        socket::snapshot(&current),
        current.clone(),
        map.clone(),
    ));
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = hup.recv() => reload(path, &cfg, &current, &map, &mut secrets).await,
        }
    }
    stop(&cfg, &current, server);
    ExitCode::SUCCESS
}

/// Probes dead URIs (and notices changed local files) four times a second, never inside a
/// request.
async fn probe_forever(current: Current) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let svc = socket::snapshot(&current);
        svc.probe_dead().await;
    }
}

/// Stopped on purpose: answers must come from a running daemon again (a crash leaves the map,
/// whose entries still expire on their own).
fn stop(cfg: &Config, current: &Current, server: tokio::task::JoinHandle<()>) {
    notify::stopping();
    socket::snapshot(current).stop();
    server.abort();
    let _ = std::fs::remove_file(&cfg.daemon.socket);
    info!("ldaprsd stopped");
}
