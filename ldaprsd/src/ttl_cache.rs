//! Answer cache with positive and negative TTLs. Time is a parameter (`now` from the
//! [`crate::clock::Clock`]) so expiry is tested without sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Slot<V> {
    value: V,
    refresh_at: Instant,
    expires: Instant,
}

/// A map whose entries expire. Thread-safe; values are cloned out.
pub struct TtlCache<K, V> {
    map: Mutex<HashMap<K, Slot<V>>>,
}

impl<K: Eq + Hash, V: Clone> Default for TtlCache<K, V> {
    fn default() -> Self {
        TtlCache {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn get(&self, key: &K, now: Instant) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|s| s.expires > now)
            .map(|s| s.value.clone())
    }

    /// The value and whether it is in the last quarter of its life (time to refresh it).
    pub fn get_fresh(&self, key: &K, now: Instant) -> Option<(V, bool)> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|s| s.expires > now)
            .map(|s| (s.value.clone(), now >= s.refresh_at))
    }

    pub fn put(&self, key: K, value: V, ttl: Duration, now: Instant) {
        if ttl.is_zero() {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(
            key,
            Slot {
                value,
                refresh_at: now + ttl / 4 * 3,
                expires: now + ttl,
            },
        );
        // Keep memory bounded: drop expired entries when the map grows.
        if map.len().is_multiple_of(4096) {
            map.retain(|_, s| s.expires > now);
        }
    }

    pub fn remove(&self, key: &K) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_exactly_at_ttl() {
        let c: TtlCache<&str, u32> = TtlCache::default();
        let t0 = Instant::now();
        c.put("a", 1, Duration::from_secs(10), t0);
        assert_eq!(c.get(&"a", t0), Some(1));
        assert_eq!(c.get(&"a", t0 + Duration::from_secs(9)), Some(1));
        assert_eq!(c.get(&"a", t0 + Duration::from_secs(10)), None);
        assert_eq!(
            c.get_fresh(&"a", t0 + Duration::from_secs(7)),
            Some((1, false))
        );
        assert_eq!(
            c.get_fresh(&"a", t0 + Duration::from_millis(7500)),
            Some((1, true))
        );
        c.put("z", 1, Duration::ZERO, t0);
        assert_eq!(c.get(&"z", t0), None);
        c.clear();
        assert!(c.is_empty());
    }
}
