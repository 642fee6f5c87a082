//! The object store: every object of every resource, one global
//! `resourceVersion` counter, and a bounded history of changes for watches.
//!
//! Objects live in memory; each acknowledged write also goes to a
//! [`Backend`] first; the persistent one (`crate::persist_redb`) only has
//! to implement two methods. Writes and event fan-out happen under one lock, which
//! is what makes watch order equal `resourceVersion` order.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::status::ApiError;

/// The storage key of a resource: `configmaps`, `deployments.apps`.
pub(crate) type ResourceKey = String;

/// An object's key within a resource: (namespace or "", name).
pub(crate) type ObjectKey = (String, String);

/// One acknowledged change, as a backend persists it (see
/// `crate::persist_redb`).
#[derive(Debug)]
pub(crate) enum Change<'a> {
    /// The object was created or replaced.
    Put {
        resource: &'a str,
        key: &'a ObjectKey,
        object: &'a Value,
    },
    /// The object was removed.
    Delete {
        resource: &'a str,
        key: &'a ObjectKey,
    },
}

/// What a backend hands back at start: every object and the last `resourceVersion`.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub resource_version: u64,
    pub objects: Vec<(ResourceKey, ObjectKey, Value)>,
}

/// Durable storage behind the in-memory maps.
pub(crate) trait Backend: Send + Sync + 'static {
    /// Everything stored, read once at start.
    fn load(&self) -> Result<Snapshot, String>;
    /// Makes one change durable before it is acknowledged; `resource_version`
    /// is the counter's value after the change.
    fn commit(&self, resource_version: u64, change: Change<'_>) -> Result<(), String>;
}

/// Keeps nothing beyond the process: the default, and what tests use.
#[derive(Debug, Default)]
pub(crate) struct MemoryBackend;

impl Backend for MemoryBackend {
    fn load(&self) -> Result<Snapshot, String> {
        Ok(Snapshot::default())
    }
    fn commit(&self, _: u64, _: Change<'_>) -> Result<(), String> {
        Ok(())
    }
}

/// ADDED / MODIFIED / DELETED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change as watchers see it.
#[derive(Debug)]
pub(crate) struct Event {
    pub resource_version: u64,
    pub resource: ResourceKey,
    /// The object's key in its resource.
    pub key: ObjectKey,
    pub kind: EventType,
    /// The object after the change (for DELETED: as it was, with the deletion's rv).
    pub object: Value,
    /// The object before the change (MODIFIED and DELETED): turns selector
    /// transitions into ADDED/DELETED for filtered watches, and lets a list be
    /// read as it was at an earlier resourceVersion.
    pub old: Option<Value>,
}

/// A page of a list: [`Store::list_page`].
#[derive(Debug)]
pub(crate) struct Page {
    /// The resourceVersion the page was read at.
    pub resource_version: u64,
    pub items: Vec<(ObjectKey, Value)>,
    /// How many more objects the list has after `items`.
    pub remaining: usize,
}

/// Why a list cannot be read at the resourceVersion asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PastList {
    /// The changes since then are gone from the history (the oldest
    /// resourceVersion still readable).
    Compacted(u64),
    /// The resourceVersion is newer than the store's (which it is).
    Future(u64),
}

/// What a write closure decides.
pub(crate) enum Write {
    /// Store this object (create or replace).
    Put(Value),
    /// Remove the object.
    Delete,
    /// Change nothing; the value is the response.
    Unchanged(Value),
}

struct Inner {
    resource_version: u64,
    objects: HashMap<ResourceKey, BTreeMap<ObjectKey, Value>>,
    history: VecDeque<Arc<Event>>,
    /// Events with a resourceVersion at or below this are gone from history.
    compacted: u64,
}

/// The store shared by all request handlers.
pub(crate) struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
    backend: Box<dyn Backend>,
    history_limit: usize,
}

/// What a watch starts from.
pub(crate) struct Subscription {
    /// Events after the requested resourceVersion still in history.
    pub backlog: Vec<Arc<Event>>,
    /// Everything after those.
    pub live: broadcast::Receiver<Arc<Event>>,
    /// The store's resourceVersion at subscription time.
    pub resource_version: u64,
}

impl Store {
    /// A store over `backend`, keeping `history_limit` events for watch resume.
    pub fn new(backend: Box<dyn Backend>, history_limit: usize) -> Result<Self, String> {
        let snapshot = backend.load()?;
        let mut objects: HashMap<ResourceKey, BTreeMap<ObjectKey, Value>> = HashMap::new();
        for (resource, key, object) in snapshot.objects {
            objects.entry(resource).or_default().insert(key, object);
        }
        let (events, _) = broadcast::channel(history_limit.max(16));
        Ok(Self {
            inner: Mutex::new(Inner {
                resource_version: snapshot.resource_version,
                objects,
                history: VecDeque::new(),
                compacted: snapshot.resource_version,
            }),
            events,
            backend,
            history_limit: history_limit.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves maps consistent (every write is
        // one insert or remove), so keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One object.
    pub fn get(&self, resource: &str, key: &ObjectKey) -> Option<Value> {
        self.lock()
            .objects
            .get(resource)
            .and_then(|m| m.get(key))
            .cloned()
    }

    /// Objects of a resource (in `namespace` when given) that `keep` accepts, in key
    /// order, with the resourceVersion they were read at.
    pub fn list(
        &self,
        resource: &str,
        namespace: Option<&str>,
        keep: impl FnMut(&Value) -> bool,
    ) -> (u64, Vec<(ObjectKey, Value)>) {
        let inner = self.lock();
        let page = read_page(
            &inner,
            resource,
            namespace,
            Bound::Unbounded,
            inner.resource_version,
            None,
            keep,
        );
        (page.resource_version, page.items)
    }

    /// One page of a resource's objects (in `namespace` when given) that `keep`
    /// accepts, in key order from `from`, as they were at resourceVersion `at`
    /// (`None`: now): at most `limit` of them, and how many more there are.
    /// Reading the past needs the changes since `at` in the history.
    pub fn list_page(
        &self,
        resource: &str,
        namespace: Option<&str>,
        from: Bound<&ObjectKey>,
        at: Option<u64>,
        limit: Option<usize>,
        keep: impl FnMut(&Value) -> bool,
    ) -> Result<Page, PastList> {
        let inner = self.lock();
        let rv = at.unwrap_or(inner.resource_version);
        if rv > inner.resource_version {
            return Err(PastList::Future(inner.resource_version));
        }
        if rv < inner.compacted {
            return Err(PastList::Compacted(inner.compacted));
        }
        Ok(read_page(
            &inner, resource, namespace, from, rv, limit, keep,
        ))
    }

    /// Visits the objects of a resource (in `namespace` when given) that `keep` accepts,
    /// in key order, under the store's lock and without copying them; returns the
    /// resourceVersion the visit saw.
    pub fn visit(
        &self,
        resource: &str,
        namespace: Option<&str>,
        mut keep: impl FnMut(&Value) -> bool,
        mut visit: impl FnMut(&Value),
    ) -> u64 {
        let inner = self.lock();
        if let Some(map) = inner.objects.get(resource) {
            let start = match namespace {
                Some(ns) => std::ops::Bound::Included((ns.to_owned(), String::new())),
                None => std::ops::Bound::Unbounded,
            };
            for (k, v) in map.range((start, std::ops::Bound::Unbounded)) {
                if namespace.is_some_and(|ns| k.0 != ns) {
                    break;
                }
                if keep(v) {
                    visit(v);
                }
            }
        }
        inner.resource_version
    }

    /// Every resource key that has objects in `namespace`, with those keys.
    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<(ResourceKey, ObjectKey)> {
        let inner = self.lock();
        let mut out = Vec::new();
        for (r, m) in &inner.objects {
            for k in m.keys().filter(|k| k.0 == namespace) {
                out.push((r.clone(), k.clone()));
            }
        }
        out
    }

    /// Read-modify-write of one object under the store lock. `decide` sees the
    /// current object and the resourceVersion a write would get. With
    /// `dry_run` nothing is stored and no event is sent. Returns the object
    /// as stored (or as deleted) and whether anything was written.
    pub fn write(
        &self,
        resource: &str,
        key: &ObjectKey,
        dry_run: bool,
        decide: impl FnOnce(Option<&Value>, u64) -> Result<Write, ApiError>,
    ) -> Result<(Value, Option<EventType>), ApiError> {
        let mut inner = self.lock();
        let next = inner.resource_version + 1;
        let current = inner.objects.get(resource).and_then(|m| m.get(key));
        let existed = current.is_some();
        let old = current.cloned();
        let decision = decide(current, next)?;
        let (mut object, kind) = match decision {
            Write::Unchanged(v) => return Ok((v, None)),
            Write::Put(v) => (
                v,
                if existed {
                    EventType::Modified
                } else {
                    EventType::Added
                },
            ),
            Write::Delete => match old.clone() {
                Some(v) => (v, EventType::Deleted),
                None => return Err(ApiError::internal("delete of a missing object")),
            },
        };
        if dry_run {
            return Ok((object, Some(kind)));
        }
        set_resource_version(&mut object, next);
        let change = match kind {
            EventType::Deleted => Change::Delete { resource, key },
            _ => Change::Put {
                resource,
                key,
                object: &object,
            },
        };
        self.backend
            .commit(next, change)
            .map_err(|e| ApiError::internal(format!("storage: {e}")))?;
        inner.resource_version = next;
        let map = inner.objects.entry(resource.to_owned()).or_default();
        if kind == EventType::Deleted {
            map.remove(key);
        } else {
            map.insert(key.clone(), object.clone());
        }
        self.record(
            &mut inner,
            Event {
                resource_version: next,
                resource: resource.to_owned(),
                key: key.clone(),
                kind,
                object: object.clone(),
                old,
            },
        );
        Ok((object, Some(kind)))
    }

    fn record(&self, inner: &mut Inner, event: Event) {
        let event = Arc::new(event);
        inner.history.push_back(event.clone());
        while inner.history.len() > self.history_limit {
            if let Some(e) = inner.history.pop_front() {
                inner.compacted = e.resource_version;
            }
        }
        // No receivers is fine: nobody watches.
        let _ = self.events.send(event);
    }

    /// Starts a watch of `resource` after `from` (None: from now).
    /// `Err` means `from` is older than the kept history (410 Gone).
    pub fn subscribe(&self, resource: &str, from: Option<u64>) -> Result<Subscription, u64> {
        let inner = self.lock();
        let live = self.events.subscribe();
        let backlog = match from {
            Some(rv) if rv < inner.resource_version => {
                if rv < inner.compacted {
                    return Err(inner.compacted);
                }
                inner
                    .history
                    .iter()
                    .filter(|e| e.resource_version > rv && e.resource == resource)
                    .cloned()
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(Subscription {
            backlog,
            live,
            resource_version: inner.resource_version,
        })
    }
}

/// [`Store::list_page`] at a resourceVersion known to be readable.
fn read_page(
    inner: &Inner,
    resource: &str,
    namespace: Option<&str>,
    from: Bound<&ObjectKey>,
    rv: u64,
    limit: Option<usize>,
    mut keep: impl FnMut(&Value) -> bool,
) -> Page {
    // Each key changed since `rv`: its state then (the first change's `old`).
    let mut then: BTreeMap<&ObjectKey, Option<&Value>> = BTreeMap::new();
    if rv < inner.resource_version {
        let start = inner.history.partition_point(|e| e.resource_version <= rv);
        for e in inner.history.range(start..) {
            if e.resource == resource {
                then.entry(&e.key).or_insert(match e.kind {
                    EventType::Added => None,
                    _ => e.old.as_ref(),
                });
            }
        }
    }
    let (lower, in_namespace) = match (from, namespace) {
        (Bound::Unbounded, Some(ns)) => (Bound::Included((ns.to_owned(), String::new())), Some(ns)),
        (b, ns) => (b.cloned(), ns),
    };
    let empty = BTreeMap::new();
    let now = inner.objects.get(resource).unwrap_or(&empty);
    let mut now_iter = now
        .range((lower.clone(), Bound::Unbounded))
        .map(|(k, v)| (k, Some(v)))
        .peekable();
    let mut then_iter = then
        .range::<ObjectKey, _>((lower.as_ref(), Bound::Unbounded))
        .map(|(k, v)| (*k, *v))
        .peekable();
    let mut page = Page {
        resource_version: rv,
        items: Vec::new(),
        remaining: 0,
    };
    loop {
        // The smaller key next; where both have it, the past wins.
        let (key, value) = match (now_iter.peek(), then_iter.peek()) {
            (None, None) => break,
            (Some(_), None) => now_iter.next(),
            (None, Some(_)) => then_iter.next(),
            (Some((a, _)), Some((b, _))) => {
                if a < b {
                    now_iter.next()
                } else {
                    if a == b {
                        now_iter.next();
                    }
                    then_iter.next()
                }
            }
        }
        .expect("peeked");
        if in_namespace.is_some_and(|ns| key.0 != ns) {
            break;
        }
        let Some(value) = value else { continue };
        if !keep(value) {
            continue;
        }
        if limit.is_some_and(|n| page.items.len() >= n) {
            page.remaining += 1;
        } else {
            page.items.push((key.clone(), value.clone()));
        }
    }
    page
}

/// Sets `metadata.resourceVersion`.
pub(crate) fn set_resource_version(object: &mut Value, rv: u64) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(limit: usize) -> Store {
        Store::new(Box::new(MemoryBackend), limit).expect("memory backend loads")
    }

    fn put(s: &Store, name: &str) -> u64 {
        let key = ("ns".to_owned(), name.to_owned());
        let (v, _) = s
            .write("configmaps", &key, false, |_, _| {
                Ok(Write::Put(json!({"metadata": {"name": name}})))
            })
            .expect("write");
        v["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("rv set")
    }

    #[test]
    fn resource_versions_increase_and_history_is_bounded() {
        let s = store(3);
        let rvs: Vec<u64> = (0..5).map(|i| put(&s, &format!("c{i}"))).collect();
        assert_eq!(rvs, vec![1, 2, 3, 4, 5]);
        assert!(
            s.subscribe("configmaps", Some(1)).is_err(),
            "rv 1 is compacted"
        );
        let sub = s
            .subscribe("configmaps", Some(2))
            .expect("rv 2 still resumable");
        let got: Vec<u64> = sub.backlog.iter().map(|e| e.resource_version).collect();
        assert_eq!(got, vec![3, 4, 5]);
    }

    #[derive(Default)]
    struct Recording(std::sync::Mutex<Vec<String>>);

    impl Backend for std::sync::Arc<Recording> {
        fn load(&self) -> Result<Snapshot, String> {
            Ok(Snapshot {
                resource_version: 41,
                objects: vec![(
                    "configmaps".into(),
                    ("ns".into(), "old".into()),
                    json!({"metadata": {"name": "old"}}),
                )],
            })
        }
        fn commit(&self, rv: u64, change: Change<'_>) -> Result<(), String> {
            let line = match change {
                Change::Put {
                    resource,
                    key,
                    object,
                } => format!(
                    "{rv} put {resource} {}/{} {}",
                    key.0, key.1, object["metadata"]["resourceVersion"]
                ),
                Change::Delete { resource, key } => {
                    format!("{rv} delete {resource} {}/{}", key.0, key.1)
                }
            };
            self.0.lock().expect("not poisoned").push(line);
            Ok(())
        }
    }

    #[test]
    fn a_backend_sees_every_write_and_restores_the_counter() {
        let rec = std::sync::Arc::new(Recording::default());
        let s = Store::new(Box::new(rec.clone()), 10).expect("loads");
        let old = ("ns".to_owned(), "old".to_owned());
        assert!(
            s.get("configmaps", &old).is_some(),
            "loaded objects are served"
        );
        assert_eq!(put(&s, "new"), 42, "resourceVersion continues upward");
        s.write("configmaps", &old, false, |_, _| Ok(Write::Delete))
            .expect("delete");
        assert_eq!(
            *rec.0.lock().expect("not poisoned"),
            vec![
                "42 put configmaps ns/new \"42\"".to_owned(),
                "43 delete configmaps ns/old".to_owned()
            ]
        );
    }

    /// One write of the property below: (namespace, name, value or delete).
    type Op = (u8, u8, Option<u8>);

    fn apply(s: &Store, (ns, name, value): Op) {
        let key = (format!("ns{ns}"), format!("o{name}"));
        let _ = s.write("configmaps", &key, false, |current, _| {
            Ok(match (value, current) {
                (Some(v), _) => Write::Put(json!({"metadata": {"name": key.1}, "v": v})),
                (None, Some(_)) => Write::Delete,
                (None, None) => Write::Unchanged(Value::Null),
            })
        });
    }

    proptest::proptest! {
        /// Paging through a list at the resourceVersion of its first page, with
        /// writes between the pages, yields exactly the list as it was then.
        #[test]
        fn pages_read_at_an_earlier_resource_version_are_that_list(
            before in proptest::collection::vec((0u8..3, 0u8..8, proptest::option::of(0u8..4)), 0..30),
            between in proptest::collection::vec(
                proptest::collection::vec((0u8..3, 0u8..8, proptest::option::of(0u8..4)), 0..6), 1..8),
            limit in 1usize..4,
            namespace in proptest::option::of(0u8..3),
        ) {
            let s = store(1_000);
            for op in before {
                apply(&s, op);
            }
            let namespace = namespace.map(|n| format!("ns{n}"));
            let (rv, want) = s.list("configmaps", namespace.as_deref(), |_| true);
            let mut got = Vec::new();
            let mut from: Option<ObjectKey> = None;
            let mut writes = between.into_iter();
            loop {
                let bound = from.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
                let page = s
                    .list_page("configmaps", namespace.as_deref(), bound, Some(rv), Some(limit), |_| true)
                    .expect("within the history");
                proptest::prop_assert_eq!(page.resource_version, rv);
                proptest::prop_assert!(page.items.len() <= limit);
                from = page.items.last().map(|(k, _)| k.clone());
                let remaining = page.remaining;
                got.extend(page.items);
                proptest::prop_assert_eq!(got.len() + remaining, want.len());
                if remaining == 0 {
                    break;
                }
                for op in writes.next().unwrap_or_default() {
                    apply(&s, op);
                }
            }
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn a_list_older_than_the_history_or_newer_than_the_store_is_refused() {
        let s = store(2);
        for i in 0..4 {
            put(&s, &format!("c{i}"));
        }
        let page = |at| {
            s.list_page("configmaps", None, Bound::Unbounded, Some(at), None, |_| {
                true
            })
        };
        assert_eq!(
            page(1).map(|p| p.items.len()).err(),
            Some(PastList::Compacted(2))
        );
        assert_eq!(page(2).map(|p| p.items.len()), Ok(2));
        assert_eq!(
            page(5).map(|p| p.items.len()).err(),
            Some(PastList::Future(4))
        );
    }

    #[test]
    fn dry_run_stores_nothing() {
        let s = store(10);
        let key = ("ns".to_owned(), "a".to_owned());
        s.write("configmaps", &key, true, |_, _| {
            Ok(Write::Put(json!({"metadata": {}})))
        })
        .expect("dry run");
        assert_eq!(
            s.subscribe("configmaps", None)
                .map(|s| s.resource_version)
                .ok(),
            Some(0)
        );
        assert!(s.get("configmaps", &key).is_none());
    }
}
