//! The object store: every object of every resource, one global
//! `resourceVersion` counter, and a bounded history of changes for watches.
//!
//! Objects live in memory, and every write is made durable by a [`Backend`] before
//! anyone sees it: a write is decided under the store's lock (on the latest state,
//! its own not yet durable predecessors included), queued with its
//! resourceVersion, and committed outside the lock, together with the writes
//! queued meanwhile (group commit). Only then is it applied to the maps that
//! readers read, recorded in the history and sent to watchers, in
//! resourceVersion order, and acknowledged. So readers are never held up by a
//! commit, and nothing is visible or acknowledged that a crash could lose.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use serde_json::Value;
use tokio::sync::broadcast;

pub(crate) use crate::backend::{Backend, Change, MemoryBackend, Snapshot};
use crate::status::ApiError;

/// The storage key of a resource: `configmaps`, `deployments.apps`.
pub(crate) type ResourceKey = String;

/// An object's key within a resource: (namespace or "", name).
pub(crate) type ObjectKey = (String, String);

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
    /// The resourceVersion of the last durable write: what readers see.
    resource_version: u64,
    /// Durable objects: what readers see.
    objects: HashMap<ResourceKey, BTreeMap<ObjectKey, Value>>,
    history: VecDeque<Arc<Event>>,
    /// Events with a resourceVersion at or below this are gone from history.
    compacted: u64,
    /// The last resourceVersion handed to a write (ahead of `resource_version`
    /// while writes wait for their commit).
    assigned: u64,
    /// Writes waiting for the next commit, in resourceVersion order.
    queued: Vec<Pending>,
    /// For each key written by a write not yet durable (queued or being
    /// committed): the latest such write. Writes are decided on it.
    overlay: HashMap<ResourceKey, HashMap<ObjectKey, Pending>>,
    /// A commit is running (outside the lock).
    committing: bool,
}

/// Whether a write became durable: set once, by whoever committed it.
type Outcome = OnceLock<Result<(), String>>;

/// A write decided but not yet durable.
#[derive(Clone)]
struct Pending {
    event: Arc<Event>,
    outcome: Arc<Outcome>,
}

/// The store shared by all request handlers.
pub(crate) struct Store {
    inner: Mutex<Inner>,
    /// Signalled when a commit ends.
    committed: Condvar,
    events: broadcast::Sender<Arc<Event>>,
    backend: Arc<dyn Backend>,
    /// The backend keeps nothing: writes are applied at once, without a queue.
    in_memory: bool,
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
    pub fn new(backend: Arc<dyn Backend>, history_limit: usize) -> Result<Self, String> {
        Self::build(backend, history_limit, false)
    }

    /// A store that keeps nothing beyond the process.
    pub fn in_memory(history_limit: usize) -> Self {
        Self::build(Arc::new(MemoryBackend), history_limit, true)
            .expect("the memory backend loads nothing, so it cannot fail")
    }

    fn build(
        backend: Arc<dyn Backend>,
        history_limit: usize,
        in_memory: bool,
    ) -> Result<Self, String> {
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
                assigned: snapshot.resource_version,
                queued: Vec::new(),
                overlay: HashMap::new(),
                committing: false,
            }),
            committed: Condvar::new(),
            events,
            backend,
            in_memory,
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

    /// Read-modify-write of one object. `decide` sees the latest object (a write
    /// still waiting for its commit included) and the resourceVersion a write
    /// would get, under the store's lock. With `dry_run` nothing is stored and no
    /// event is sent. Returns, once durable, the object as stored (or as deleted)
    /// and whether anything was written. Whatever `decide` answers from a write
    /// not yet durable is returned only once that write is.
    pub fn write(
        &self,
        resource: &str,
        key: &ObjectKey,
        dry_run: bool,
        decide: impl FnOnce(Option<&Value>, u64) -> Result<Write, ApiError>,
    ) -> Result<(Value, Option<EventType>), ApiError> {
        let mut inner = self.lock();
        let next = inner.assigned + 1;
        let (current, seen) = match inner.overlay.get(resource).and_then(|m| m.get(key)) {
            Some(p) => (
                (p.event.kind != EventType::Deleted).then_some(&p.event.object),
                Some(p.outcome.clone()),
            ),
            None => (inner.objects.get(resource).and_then(|m| m.get(key)), None),
        };
        let old = current.cloned();
        let decision = decide(current, next);
        let (mut object, kind) = match decision {
            Err(e) => return self.answer(inner, seen.as_deref(), Err(e)),
            Ok(Write::Unchanged(v)) => return self.answer(inner, seen.as_deref(), Ok((v, None))),
            Ok(Write::Put(v)) => {
                let kind = if old.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                (v, kind)
            }
            Ok(Write::Delete) => match old.clone() {
                Some(v) => (v, EventType::Deleted),
                None => {
                    return self.answer(
                        inner,
                        seen.as_deref(),
                        Err(ApiError::internal("delete of a missing object")),
                    );
                }
            },
        };
        if dry_run {
            return self.answer(inner, seen.as_deref(), Ok((object, Some(kind))));
        }
        set_resource_version(&mut object, next);
        inner.assigned = next;
        let event = Arc::new(Event {
            resource_version: next,
            resource: resource.to_owned(),
            key: key.clone(),
            kind,
            object: object.clone(),
            old,
        });
        if self.in_memory {
            self.publish(&mut inner, event);
            return Ok((object, Some(kind)));
        }
        let outcome = Arc::new(Outcome::new());
        let pending = Pending {
            event,
            outcome: outcome.clone(),
        };
        inner
            .overlay
            .entry(resource.to_owned())
            .or_default()
            .insert(key.clone(), pending.clone());
        inner.queued.push(pending);
        blocking(|| self.wait(inner, &outcome))?;
        Ok((object, Some(kind)))
    }

    /// The answer of a write that wrote nothing: when `decide` read a write not yet
    /// durable (`seen`), only once that write is.
    fn answer<'a, T>(
        &'a self,
        inner: MutexGuard<'a, Inner>,
        seen: Option<&Outcome>,
        result: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        match seen {
            Some(outcome) => self.wait(inner, outcome).and(result),
            None => result,
        }
    }

    /// Waits until the write of `outcome` is durable (or failed), committing the
    /// queued writes itself when no one else is.
    fn wait<'a>(
        &'a self,
        mut inner: MutexGuard<'a, Inner>,
        outcome: &Outcome,
    ) -> Result<(), ApiError> {
        loop {
            if let Some(result) = outcome.get() {
                return result
                    .clone()
                    .map_err(|e| ApiError::internal(format!("storage: {e}")));
            }
            if inner.committing || inner.queued.is_empty() {
                inner = self
                    .committed
                    .wait(inner)
                    .unwrap_or_else(|p| p.into_inner());
                continue;
            }
            inner.committing = true;
            let batch = std::mem::take(&mut inner.queued);
            drop(inner);
            let result = self.commit(&batch);
            inner = self.lock();
            inner.committing = false;
            match result {
                Ok(()) => {
                    for p in batch {
                        forget(&mut inner.overlay, &p.event);
                        self.publish(&mut inner, p.event);
                        let _ = p.outcome.set(Ok(()));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, writes = batch.len() + inner.queued.len(), "storage commit failed");
                    // Writes queued since were decided on top of these: they fail too.
                    let queued = std::mem::take(&mut inner.queued);
                    for p in batch.into_iter().chain(queued) {
                        let _ = p.outcome.set(Err(e.clone()));
                    }
                    inner.overlay.clear();
                    inner.assigned = inner.resource_version;
                }
            }
            self.committed.notify_all();
        }
    }

    /// One backend commit of `batch`, outside the store's lock.
    fn commit(&self, batch: &[Pending]) -> Result<(), String> {
        let changes: Vec<Change<'_>> = batch
            .iter()
            .map(|p| {
                let e = &p.event;
                match e.kind {
                    EventType::Deleted => Change::Delete {
                        resource: &e.resource,
                        key: &e.key,
                    },
                    _ => Change::Put {
                        resource: &e.resource,
                        key: &e.key,
                        object: &e.object,
                    },
                }
            })
            .collect();
        let rv = batch.last().map_or(0, |p| p.event.resource_version);
        // A panicking backend fails its writes instead of leaving every writer waiting.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.backend.commit(rv, &changes)
        }))
        .unwrap_or_else(|_| Err("the storage backend panicked".to_owned()))
    }

    /// Makes a durable write visible: the maps, the history, the watchers.
    fn publish(&self, inner: &mut Inner, event: Arc<Event>) {
        inner.resource_version = event.resource_version;
        let map = inner.objects.entry(event.resource.clone()).or_default();
        if event.kind == EventType::Deleted {
            map.remove(&event.key);
        } else {
            map.insert(event.key.clone(), event.object.clone());
        }
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

/// Runs `f`, which blocks (on a commit), so that the other tasks of a tokio
/// worker thread move on to another one meanwhile: readers are answered even when
/// every worker holds a write that waits for its commit.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Drops the overlay entry of a write now durable, unless a later write of the
/// same key replaced it.
fn forget(overlay: &mut HashMap<ResourceKey, HashMap<ObjectKey, Pending>>, event: &Arc<Event>) {
    if let Some(keys) = overlay.get_mut(&event.resource) {
        if keys
            .get(&event.key)
            .is_some_and(|latest| Arc::ptr_eq(&latest.event, event))
        {
            keys.remove(&event.key);
        }
        if keys.is_empty() {
            overlay.remove(&event.resource);
        }
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
mod tests;
