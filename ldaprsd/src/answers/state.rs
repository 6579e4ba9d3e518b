//! What the answers room keeps: the cached answers (positive and negative TTLs), the encoded
//! enumerations, the shared-map publisher and the background refresher's queue. Reading and
//! filling it is in `lookup.rs`; the refresher in `refresh.rs`; encoded frames in
//! `frames.rs`; `ldaprsctl user show` in `explain.rs`; the SSH keys in `ssh_keys.rs`.

use super::key::Key;
use super::offline_mode::Offline;
use super::publish::Publisher;
use super::stored::Stored;
use crate::clock::Clock;
use crate::directory::Directory;
use crate::info;
use crate::ttl_cache::TtlCache;
use ldaprs_common::config::Config;
use ldaprs_common::protocol::Response;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Answers {
    pub(super) dir: Arc<Directory>,
    pub(super) cache: TtlCache<Key, Arc<Response>>,
    /// Encoded enumeration answers (see `frames.rs`).
    pub(super) frames: TtlCache<Key, Arc<Vec<u8>>>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) entry_ttl: Duration,
    pub(super) negative_ttl: Duration,
    pub(super) publisher: Option<Arc<Publisher>>,
    pub(super) refresh_tx: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Key>>>,
    pub(super) refreshing: Mutex<HashSet<Key>>,
    next_id: AtomicU64,
    /// The map generation (+1) the local names were last published in (0: never).
    pub(super) local_published: AtomicU64,
    pub(super) local_published_at: Mutex<Option<Instant>>,
    /// Negative answers published per non-root uid in the current window (see `lookup.rs`).
    pub(super) negatives: Mutex<NegativeQuota>,
    /// The SSH keys answered per user name (see `ssh_keys.rs`).
    pub(super) ssh_keys: TtlCache<String, Response>,
    /// The persistent copy of the answers (`stored.rs`), and offline mode (`offline.rs`).
    pub(super) stored: Arc<Stored>,
    pub(super) offline: Mutex<Offline>,
    /// Keys restored into the map at start, to be fetched again (see `offline.rs`).
    pub(super) restored: Mutex<Vec<Key>>,
}

/// Random-name lookups must not fill the shared map for everyone: each non-root uid may put
/// at most [`NEGATIVE_QUOTA`] "not found" records into it per `[cache] negative_ttl` (at least
/// a minute); beyond that its negative answers are still given, from the daemon's memory.
#[derive(Default)]
pub struct NegativeQuota {
    pub window_start: Option<Instant>,
    pub per_uid: HashMap<u32, usize>,
}

pub const NEGATIVE_QUOTA: usize = 1000;

impl Answers {
    pub fn new(
        cfg: &Config,
        dir: Arc<Directory>,
        clock: Arc<dyn Clock>,
        publisher: Option<Arc<Publisher>>,
        stored: Arc<Stored>,
    ) -> Answers {
        let a = Answers {
            dir,
            cache: TtlCache::default(),
            frames: TtlCache::default(),
            clock,
            entry_ttl: Duration::from_secs(cfg.cache.entry_ttl),
            negative_ttl: Duration::from_secs(cfg.cache.negative_ttl),
            publisher,
            refresh_tx: Mutex::new(None),
            refreshing: Mutex::new(HashSet::new()),
            next_id: AtomicU64::new(1),
            local_published: AtomicU64::new(0),
            local_published_at: Mutex::new(None),
            negatives: Mutex::new(NegativeQuota::default()),
            ssh_keys: TtlCache::default(),
            stored,
            offline: Mutex::new(Offline::default()),
            restored: Mutex::new(Vec::new()),
        };
        // Before the socket accepts requests (the listener is served after this).
        a.restore();
        a
    }

    /// A new request id (one per request, in every log line about it).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn directory(&self) -> &Arc<Directory> {
        &self.dir
    }

    pub fn publisher(&self) -> Option<&Arc<Publisher>> {
        self.publisher.as_ref()
    }

    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Drops every cached answer when the local files changed since they were made (a user
    /// added to /etc/passwd must stop being answered from the directory at once, including
    /// from cached enumerations and the shared map).
    pub fn check_local_files(&self) {
        if self.dir.local().changed() {
            info!("local account files changed: cached answers dropped");
            if let Some(p) = &self.publisher {
                p.clear();
            }
            self.cache.clear();
            self.frames.clear();
            self.ssh_keys.clear();
            self.publish_local_names();
        }
    }

    /// Forgets everything cached, in memory and in the shared map.
    pub fn flush(&self) {
        if let Some(p) = &self.publisher {
            p.clear();
        }
        self.cache.clear();
        self.frames.clear();
        self.ssh_keys.clear();
        self.dir.flush();
        // The local names come back at the next background tick (`keep_local_names_fresh`
        // sees the cleared map); a stopping daemon leaves the map empty.
    }
}
