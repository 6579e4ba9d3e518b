//! One service replaced by another (a SIGHUP reload, blocks detected after start): requests
//! in flight finish on the old one.

use crate::answers::publish::Publisher;
use crate::clock::SystemClock;
use crate::ldap::ServerBlock;
use crate::socket::{Current, Service};
use ldaprs_common::config::Config;
use std::sync::Arc;

/// A new service over `blocks` swapped in for the current one (only if the current one is
/// still `only_if`, when given); the old one finishes what it is answering and stops. The
/// shared map is cleared: answers of the old settings (filters, id limits, bases) must not be
/// served any more.
pub fn swap_in(
    cfg: &Config,
    blocks: Vec<ServerBlock>,
    current: &Current,
    map: &Option<Arc<Publisher>>,
    only_if: Option<&Arc<Service>>,
) -> Option<Arc<Service>> {
    let svc = Arc::new(Service::new(
        cfg,
        blocks,
        Arc::new(SystemClock),
        map.clone(),
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
