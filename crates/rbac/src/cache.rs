//! Answers kept for a while.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A map whose entries expire `ttl` after they were inserted.
pub(crate) struct TtlCache<K, V> {
    ttl: Duration,
    map: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of `key` if it has not expired.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let mut map = self.lock();
        match map.get(key) {
            Some((v, at)) if at.elapsed() < self.ttl => Some(v.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn insert(&self, key: K, value: V) {
        let mut map = self.lock();
        // Expired entries go when the map would grow (bounded by what is fresh).
        if map.len() >= 1024 && !map.contains_key(&key) {
            let ttl = self.ttl;
            map.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        map.insert(key, (value, Instant::now()));
    }

    /// Drops the entries `drop` says.
    pub(crate) fn forget(&self, mut drop: impl FnMut(&K) -> bool) {
        self.lock().retain(|k, _| !drop(k));
    }
}
