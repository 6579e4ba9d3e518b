//! SIGHUP: a new service from the config file, swapped in while requests in flight finish
//! on the old one.

use super::load::{load, Secrets};
use crate::answers::publish::Publisher;
use crate::clock::SystemClock;
use crate::socket::{Current, Service};
use crate::system::notify;
use crate::{error, info, warn};
use ldaprs_common::config::Config;
use std::path::Path;
use std::sync::Arc;

/// SIGHUP: build a new service from the config file and swap it in. Requests already being
/// answered finish on the old one; a config that does not load leaves the running one in place.
pub fn reload(
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
            let svc = Arc::new(Service::new(
                &cfg,
                blocks,
                Arc::new(SystemClock),
                map.clone(),
            ));
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
    notify::ready();
}
