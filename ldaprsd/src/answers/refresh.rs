//! Refresh ahead of expiry: entries asked for in the last quarter of their TTL are answered
//! from the cache at once and fetched again in the background, so entries in use never expire.

use super::key::Key;
use super::state::Answers;
use crate::debug;
use std::sync::Arc;

impl Answers {
    /// Background refresh: entries asked for in the last quarter of their TTL are answered
    /// from the cache at once and fetched again here, so entries in use never expire.
    pub async fn run_refresher(self: Arc<Self>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Key>();
        *self.refresh_tx.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        for key in self.take_restored() {
            self.request_refresh(&key);
        }
        while let Some(key) = rx.recv().await {
            let id = self.next_id();
            if self.is_offline() {
                // Never wait for a server while offline; asked again, it is due again.
                debug!("req={id} refresh of {key:?} skipped: offline");
                self.refreshing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&key);
                continue;
            }
            if matches!(key, Key::AllUsers | Key::AllGroups) {
                match self.fetch_frame(id, &key).await {
                    Ok(_) => debug!("req={id} refreshed {key:?}"),
                    Err(e) => {
                        debug!("req={id} refresh of {key:?} failed, keeping the cached answer: {e}")
                    }
                }
                self.refreshing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&key);
                continue;
            }
            let resp = self.fetch(&key).await;
            match resp {
                Ok(r) => {
                    debug!("req={id} refreshed {key:?}");
                    self.remember(key.clone(), r);
                }
                Err(e) => {
                    debug!("req={id} refresh of {key:?} failed, keeping the cached answer: {e}")
                }
            }
            self.refreshing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        }
    }

    /// Retired by a reload: stop the refresher (it holds a reference to us).
    pub fn shutdown(&self) {
        self.stored.save();
        self.refresh_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    pub(super) fn request_refresh(&self, key: &Key) {
        let mut set = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        if set.contains(key) {
            return;
        }
        if let Some(tx) = self
            .refresh_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if tx.send(key.clone()).is_ok() {
                set.insert(key.clone());
            }
        }
    }
}
