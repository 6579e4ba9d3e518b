//! SIGHUP: a new service from the config file, swapped in while requests in flight finish
//! on the old one.

use super::detect::{detect_later, detect_pending};
use super::load::{load, Secrets};
use super::swap::swap_in;
use crate::answers::publish::Publisher;
use crate::socket::Current;
use crate::system::notify;
use crate::{error, info, warn};
use ldaprs_common::config::Config;
use std::path::Path;
use std::sync::Arc;

/// SIGHUP: build a new service from the config file and swap it in. Requests already being
/// answered finish on the old one; a config that does not load leaves the running one in place.
pub async fn reload(
    path: &Path,
    running: &Config,
    current: &Current,
    map: &Option<Arc<Publisher>>,
    secrets: &mut Secrets,
) {
    notify::reloading();
    match load(path, secrets) {
        Err(e) => error!("SIGHUP: config not reloaded, keeping the running one: {e}"),
        Ok((cfg, blocks)) => {
            if cfg.daemon.socket != running.daemon.socket
                || cfg.cache.map_size_mb != running.cache.map_size_mb
                || cfg.daemon.user != running.daemon.user
            {
                warn!("SIGHUP: [daemon] socket and user and [cache] map_size_mb take effect at the next restart");
            }
            crate::log::set_level(cfg.daemon.log_level);
            let blocks = detect_pending(blocks).await;
            if let Some(svc) = swap_in(&cfg, blocks, current, map, None).await {
                tokio::spawn(detect_later(cfg.clone(), svc, current.clone(), map.clone()));
            }
            info!(
                "SIGHUP: configuration reloaded from {} ({} server block(s))",
                path.display(),
                cfg.servers.len()
            );
        }
    }
    notify::ready();
}
