//! Blocks whose schema or base the config leaves to the directory (`schema = "auto"`, the
//! default, or no `base`): detected before the socket opens, within a short budget so that a
//! host booting without its network still starts at once; when no server answered, detected
//! again in the background (jittered backoff, 1 s doubling to 30 s) and a service with the
//! detected blocks swapped in. Until then such a block answers "unavailable", never
//! "not found", and says why.

use super::swap::swap_in;
use crate::answers::publish::Publisher;
use crate::ldap::health::{backoff, jitter_unit};
use crate::ldap::{DirError, ServerBlock};
use crate::socket::{snapshot, Current, Service};
use crate::{debug, info, warn};
use ldaprs_common::config::Config;
use std::sync::Arc;
use std::time::Duration;

/// How long start-up waits for detection before opening the socket anyway.
const START_BUDGET: Duration = Duration::from_secs(2);
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// A pending block detected, or still pending with the reason and whether it is that no
/// server answered (then the block counts as down for offline mode).
async fn detect_one(b: &ServerBlock) -> Result<ServerBlock, (String, bool)> {
    match b.detector().detect().await {
        Ok(d) => {
            info!("server {}: detected {}", b.name(), d.summary());
            Ok(b.detected(d))
        }
        Err(e) => Err((
            format!("schema and base not detected yet: {e}"),
            matches!(e, DirError::Unreachable(_)),
        )),
    }
}

/// Detects every pending block (at once, within [`START_BUDGET`]); the others pass through.
pub async fn detect_pending(blocks: Vec<ServerBlock>) -> Vec<ServerBlock> {
    let work = blocks.into_iter().map(|b| async move {
        if b.pending().is_none() {
            return b;
        }
        let found = tokio::time::timeout(START_BUDGET, detect_one(&b))
            .await
            .unwrap_or_else(|_| {
                Err((
                    format!(
                        "schema and base not detected yet: no server answered within {}s",
                        START_BUDGET.as_secs()
                    ),
                    true,
                ))
            });
        match found {
            Ok(d) => d,
            Err((why, unreachable)) => {
                warn!("server {}: {why}; its lookups and logins answer \"unavailable\" until a server answers (retried in the background, at least every {}s; set `schema` and `base` to start without asking)", b.name(), RETRY_MAX.as_secs());
                b.into_pending(why, unreachable)
            }
        }
    });
    futures_util::future::join_all(work).await
}

/// Retries detection for `svc`'s pending blocks and swaps in a service with them detected.
/// Ends when none is pending, or when another service (a reload) replaced `svc`.
pub async fn detect_later(
    cfg: Config,
    mut svc: Arc<Service>,
    current: Current,
    map: Option<Arc<Publisher>>,
) {
    let mut failures = 0u32;
    while svc.blocks().iter().any(|b| b.pending().is_some()) {
        failures += 1;
        tokio::time::sleep(backoff(RETRY_FIRST, RETRY_MAX, failures, jitter_unit())).await;
        if !Arc::ptr_eq(&snapshot(&current), &svc) {
            return;
        }
        let mut found = false;
        let mut blocks = Vec::new();
        for b in svc.blocks() {
            if b.pending().is_none() {
                blocks.push(b.renewed());
                continue;
            }
            match detect_one(b).await {
                Ok(d) => {
                    found = true;
                    blocks.push(d);
                }
                Err((why, unreachable)) => {
                    debug!("server {}: {why}", b.name());
                    blocks.push(b.renewed().into_pending(why, unreachable));
                }
            }
        }
        if !found {
            continue;
        }
        match swap_in(&cfg, blocks, &current, &map, Some(&svc)).await {
            Some(next) => {
                info!("the service now uses the detected settings");
                svc = next;
                failures = 0;
            }
            None => return,
        }
    }
}
