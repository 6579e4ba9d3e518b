//! The shared-memory map the NSS module reads (`/run/ldaprs/cache.map`).

use crate::answers::publish::Publisher;
use crate::warn;
use ldaprs_common::config::Config;
use std::sync::Arc;

pub fn publisher(cfg: &Config) -> Option<Arc<Publisher>> {
    if cfg.cache.map_size_mb == 0 {
        return None;
    }
    let path = ldaprs_common::shm::map_path_for_socket(&cfg.daemon.socket);
    let size = usize::try_from(cfg.cache.map_size_mb.min(4096) << 20).unwrap_or(32 << 20);
    let p = Publisher::open(&path, size);
    if p.is_none() {
        warn!("shared-memory cache {path} could not be set up; lookups use the socket only");
    }
    p.map(Arc::new)
}
