//! One service replaced by another (a SIGHUP reload, blocks detected after start): requests
//! in flight finish on the old one.

use crate::answers::publish::Publisher;
use crate::clock::SystemClock;
use crate::ldap::ServerBlock;
use crate::socket::{snapshot, Current, OfflineFiles, Service};
use ldaprs_common::config::Config;
use std::sync::Arc;

/// A new service over `blocks` swapped in for the current one (only if the current one is
/// still `only_if`, when given); the old one finishes what it is answering and stops. The
/// shared map is cleared: answers of the old settings (filters, id limits, bases) must not be
/// served any more.
pub async fn swap_in(
    cfg: &Config,
    blocks: Vec<ServerBlock>,
    current: &Current,
    map: &Option<Arc<Publisher>>,
    only_if: Option<&Arc<Service>>,
) -> Option<Arc<Service>> {
    // The persistent files are shared (opened again only for other settings).
    let files = OfflineFiles::for_config(cfg, snapshot(current).files()).await;
    let svc = Arc::new(Service::new(
        cfg,
        blocks,
        Arc::new(SystemClock),
        map.clone(),
        files,
    ));
    let old = {
        let mut slot = current.write().unwrap_or_else(|p| p.into_inner());
        if only_if.is_some_and(|expected| !Arc::ptr_eq(&slot, expected)) {
            return None;
        }
        std::mem::replace(&mut *slot, svc.clone())
    };
    tokio::spawn(svc.clone().run_refresher());
    old.shutdown();
    if let Some(m) = map {
        m.clear();
    }
    Some(svc)
}
