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

/// What an entry of a [`GenCache`] costs, in bytes (about: the heap it holds plus a
/// fixed overhead per entry).
pub(crate) trait Weigh {
    fn weight(&self) -> usize;
}

/// The map's own cost per entry: key, value pointer, hash table slack.
const ENTRY: usize = 64;

impl Weigh for Arc<Tree> {
    fn weight(&self) -> usize {
        ENTRY
            + self
                .entries
                .iter()
                .map(|e| e.name.len() + std::mem::size_of::<TreeEntry>())
                .sum::<usize>()
    }
}

impl Weigh for Arc<Vec<u8>> {
    fn weight(&self) -> usize {
        ENTRY + self.len()
    }
}

impl Weigh for Arc<CommitMeta> {
    fn weight(&self) -> usize {
        ENTRY
            + std::mem::size_of::<CommitMeta>()
            + self.message.len()
            + self.parents.len() * std::mem::size_of::<ObjectId>()
            + self.author.name.len()
            + self.author.email.len()
            + self.committer.name.len()
            + self.committer.email.len()
    }
}

/// A map bounded in bytes with two generations: when the young one holds half the
/// bytes it becomes the old one and the previous old one is dropped. Hits in the old
/// generation are promoted. Cheap approximate LRU without per-entry bookkeeping; an
/// entry larger than an eighth of the bound is not kept at all.
pub(crate) struct GenCache<K, V> {
    inner: Mutex<Generations<K, V>>,
    /// Bytes per generation.
    capacity: usize,
}

struct Generations<K, V> {
    young: IdMap<K, V>,
    young_bytes: usize,
    old: IdMap<K, V>,
    old_bytes: usize,
}

impl<K: Eq + Hash + Clone, V: Clone + Weigh> GenCache<K, V> {
    /// A cache holding at most `bytes` (by [`Weigh`]).
    pub fn new(bytes: usize) -> Self {
        GenCache {
            inner: Mutex::new(Generations {
                young: IdMap::default(),
                young_bytes: 0,
                old: IdMap::default(),
                old_bytes: 0,
            }),
            capacity: (bytes / 2).max(1),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = g.young.get(key) {
            return Some(v.clone());
        }
        let v = g.old.remove(key)?;
        g.old_bytes -= v.weight();
        Self::insert_locked(&mut g, self.capacity, key.clone(), v.clone());
        Some(v)
    }

    pub fn insert(&self, key: K, value: V) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Self::insert_locked(&mut g, self.capacity, key, value);
    }

    fn insert_locked(g: &mut Generations<K, V>, capacity: usize, key: K, value: V) {
        let weight = value.weight();
        if weight > capacity / 4 {
            return;
        }
        if g.young_bytes + weight > capacity {
            g.old = std::mem::take(&mut g.young);
            g.old_bytes = std::mem::take(&mut g.young_bytes);
        }
        if let Some(previous) = g.young.insert(key, value) {
            g.young_bytes -= previous.weight();
        }
        g.young_bytes += weight;
    }

    /// The bytes held, by [`Weigh`].
    #[cfg(test)]
    fn bytes(&self) -> usize {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.young_bytes + g.old_bytes
    }
}

/// The caches of one store.
pub(crate) struct Caches {
    pub trees: GenCache<ObjectId, Arc<Tree>>,
    pub blobs: GenCache<ObjectId, Arc<Vec<u8>>>,
    pub commits: GenCache<ObjectId, Arc<CommitMeta>>,
}

impl Caches {
    /// Caches holding `bytes` together: half for blobs, a quarter each for trees and
    /// commits.
    pub fn new(bytes: usize) -> Self {
        Caches {
            trees: GenCache::new(bytes / 4),
            blobs: GenCache::new(bytes / 2),
            commits: GenCache::new(bytes / 4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_are_bounded_in_bytes_whatever_the_entries_hold() {
        let id = |i: u32| {
            let mut bytes = [0u8; 20];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            ObjectId::from_bytes_or_panic(&bytes)
        };
        let bound = 1024 * 1024;
        let cache: GenCache<ObjectId, Arc<Vec<u8>>> = GenCache::new(bound);
        // A few large blobs or many small ones: never more than the bound.
        for (i, size) in (0..2000).map(|i| (i, if i % 3 == 0 { 100_000 } else { 10 })) {
            cache.insert(id(i), Arc::new(vec![0u8; size]));
            assert!(cache.bytes() <= bound, "{} bytes after {i}", cache.bytes());
        }
        // The latest entries are there, large or small.
        assert!(cache.get(&id(1998)).is_some());
        assert!(cache.get(&id(1999)).is_some());
        // One entry too large for the cache is not kept (and evicts nothing).
        cache.insert(id(5000), Arc::new(vec![0u8; bound]));
        assert!(cache.get(&id(5000)).is_none());
        assert!(cache.get(&id(1999)).is_some());
    }
}
