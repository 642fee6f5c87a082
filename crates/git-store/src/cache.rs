//! Caches of immutable objects, keyed by object id: a tree or blob never changes.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use gix::ObjectId;

/// A decoded tree entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TreeEntry {
    /// The entry's name (one path component).
    pub name: Vec<u8>,
    /// Whether the entry is a tree (directory).
    pub is_tree: bool,
    /// Whether the entry is a submodule commit.
    pub is_commit: bool,
    /// Whether the entry is a regular, non-executable file (mode 100644).
    pub plain: bool,
    /// The entry's object.
    pub id: ObjectId,
}

/// A decoded tree, its entries sorted by name (plain byte order, not git's order in
/// which a directory sorts as `name/`) so that lookups are binary searches.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    pub entries: Vec<TreeEntry>,
}

impl Tree {
    pub fn new(mut entries: Vec<TreeEntry>) -> Self {
        entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Tree { entries }
    }

    pub fn get(&self, name: &[u8]) -> Option<&TreeEntry> {
        self.entries
            .binary_search_by(|e| e.name.as_slice().cmp(name))
            .ok()
            .map(|i| &self.entries[i])
    }
}

/// Hashes object ids by their first bytes: they are already uniformly distributed, so
/// SipHash over all 20 bytes buys nothing.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_usize(&mut self, _: usize) {
        // Slice lengths are always 20 (or 32) for ids: skip them.
    }
}

type IdMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// What history and diffs need of a commit.
#[derive(Debug)]
pub(crate) struct CommitMeta {
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    pub author: crate::history::Person,
    pub committer: crate::history::Person,
    pub message: String,
}

/// A bounded map with two generations: when the young one is full it becomes the old
/// one and the previous old one is dropped. Hits in the old generation are promoted.
/// Cheap approximate LRU without per-entry bookkeeping.
pub(crate) struct GenCache<K, V> {
    inner: Mutex<Generations<K, V>>,
    capacity: usize,
}

struct Generations<K, V> {
    young: IdMap<K, V>,
    old: IdMap<K, V>,
}

impl<K: Eq + Hash + Clone, V: Clone> GenCache<K, V> {
    pub fn new(capacity: usize) -> Self {
        GenCache {
            inner: Mutex::new(Generations {
                young: IdMap::default(),
                old: IdMap::default(),
            }),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = g.young.get(key) {
            return Some(v.clone());
        }
        let v = g.old.remove(key)?;
        Self::insert_locked(&mut g, self.capacity, key.clone(), v.clone());
        Some(v)
    }

    pub fn insert(&self, key: K, value: V) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Self::insert_locked(&mut g, self.capacity, key, value);
    }

    fn insert_locked(g: &mut Generations<K, V>, capacity: usize, key: K, value: V) {
        if g.young.len() >= capacity {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, value);
    }
}

/// The caches of one store.
pub(crate) struct Caches {
    pub trees: GenCache<ObjectId, Arc<Tree>>,
    pub blobs: GenCache<ObjectId, Arc<Vec<u8>>>,
    pub commits: GenCache<ObjectId, Arc<CommitMeta>>,
}

impl Caches {
    pub fn new() -> Self {
        Caches {
            trees: GenCache::new(32 * 1024),
            blobs: GenCache::new(16 * 1024),
            commits: GenCache::new(64 * 1024),
        }
    }
}
