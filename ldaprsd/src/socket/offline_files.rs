//! The two persistent files of offline mode, opened once for the daemon and shared by every
//! service a reload or a late detection swaps in: `answers.db` (`answers/stored.rs`) and
//! `credentials.db` (`login/cached.rs`). Two instances over one file would each keep their
//! own failure counts and hash removals, and the last to save would win (a password the
//! directory refused could come back). They are opened again only when the settings they
//! depend on change (`[offline]`, and the `[nss]`/`[pam]`/`[[servers]]` fingerprint); the
//! old ones then stop writing first. Reading a file (up to 512 MiB, hashed) is blocking work:
//! it runs on the blocking pool, never on the runtime's thread.

use crate::answers::stored::Stored;
use crate::login::cached::Credentials;
use crate::persist::settings_fingerprint;
use ldaprs_common::config::Config;
use sha2::Digest;
use std::sync::Arc;

pub struct OfflineFiles {
    /// What the files were opened under ([`key`]).
    key: Vec<u8>,
    pub stored: Arc<Stored>,
    pub credentials: Arc<Credentials>,
}

/// The settings the files depend on: `[offline]` and the fingerprint stored in them.
fn key(cfg: &Config) -> Vec<u8> {
    let mut h = sha2::Sha256::new();
    h.update(settings_fingerprint(cfg));
    h.update(format!("{:?}", cfg.offline).as_bytes());
    h.finalize().to_vec()
}

impl OfflineFiles {
    /// Opens both files (blocking: reads and checks them).
    pub fn open(cfg: &Config) -> OfflineFiles {
        let settings = settings_fingerprint(cfg);
        OfflineFiles {
            key: key(cfg),
            stored: Arc::new(Stored::open(&cfg.offline, &settings)),
            credentials: Arc::new(Credentials::open(&cfg.offline, &settings)),
        }
    }

    /// [`Self::open`] on the blocking pool.
    pub async fn open_off_runtime(cfg: &Config) -> Arc<OfflineFiles> {
        let c = cfg.clone();
        match tokio::task::spawn_blocking(move || OfflineFiles::open(&c)).await {
            Ok(f) => Arc::new(f),
            // Only if the open panicked (it does not): no persistent files, logged.
            Err(e) => {
                crate::warn!("persistent cache and cached credentials off: opening failed: {e}");
                Arc::new(OfflineFiles {
                    key: key(cfg),
                    stored: Arc::new(Stored::disabled()),
                    credentials: Arc::new(Credentials::disabled(&cfg.offline)),
                })
            }
        }
    }

    /// The files for `cfg`: `current` when its settings are the same, else new ones, opened
    /// after `current` stopped writing (its last write is finished and no other follows).
    pub async fn for_config(cfg: &Config, current: &Arc<OfflineFiles>) -> Arc<OfflineFiles> {
        if current.key == key(cfg) {
            return current.clone();
        }
        let old = current.clone();
        let _ = tokio::task::spawn_blocking(move || {
            old.stored.save();
            old.stored.retire();
            old.credentials.retire();
        })
        .await;
        OfflineFiles::open_off_runtime(cfg).await
    }
}
