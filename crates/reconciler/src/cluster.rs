//! A destination cluster: its API resources and a watch-based cache of the objects
//! Applications track.
//!
//! One `kube-runtime` watcher runs per served resource type (all namespaces); objects
//! carrying Argo's tracking annotation of this installation ([`Tracking`]) are kept,
//! indexed by the Application that owns them, and every change to one is announced so
//! the controller refreshes that Application. Comparing an Application never lists the
//! cluster.
//!
//! A type whose list fails (403, 500, ...) does not hold anything up: it counts as
//! listed, its error is kept for [`Cluster::list_error`] (Applications with objects of
//! that type say so in a condition), and its watcher keeps retrying with a backoff.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::watcher;
use serde_json::Value;
use tokio::sync::{Notify, broadcast};

use crate::resource::{ResourceKey, Tracking};
use crate::{Error, Result};

/// The in-cluster address, as Argo CD names the cluster the controller runs in.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// Resource types never watched (high churn, never managed from Git), like Argo's
/// default `resource.exclusions`.
const EXCLUDED: &[(&str, &str)] = &[
    ("", "Event"),
    ("events.k8s.io", "Event"),
    ("", "Endpoints"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("coordination.k8s.io", "Lease"),
];

/// A served resource type.
#[derive(Clone, Debug)]
pub struct ApiInfo {
    /// How to address it (group, version, plural).
    pub resource: ApiResource,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
}

/// A cluster the reconciler deploys to.
pub struct Cluster {
    client: kube::Client,
    server: String,
    tracking: Tracking,
    apis: RwLock<HashMap<(String, String), ApiInfo>>,
    objects: RwLock<HashMap<ResourceKey, Arc<Value>>>,
    by_app: RwLock<HashMap<String, HashSet<ResourceKey>>>,
    watched: Mutex<HashSet<(String, String)>>,
    list_errors: RwLock<HashMap<(String, String), String>>,
    pending_lists: Mutex<usize>,
    listed: Notify,
    changes: broadcast::Sender<String>,
}

impl Cluster {
    /// Connects: discovers the served types and starts their watchers. Returns once every
    /// watcher has listed its objects or failed to. Only objects `tracking` reads as this
    /// installation's are kept.
    pub async fn connect(
        client: kube::Client,
        server: impl Into<String>,
        tracking: Tracking,
    ) -> Result<Arc<Cluster>> {
        let (changes, _) = broadcast::channel(4096);
        Cluster::connect_sharing(client, server, tracking, changes).await
    }

    /// [`Cluster::connect`], announcing changes on `changes` (one channel for every
    /// cluster a reconciler deploys to).
    pub(crate) async fn connect_sharing(
        client: kube::Client,
        server: impl Into<String>,
        tracking: Tracking,
        changes: broadcast::Sender<String>,
    ) -> Result<Arc<Cluster>> {
        let cluster = Arc::new(Cluster {
            client,
            server: server.into(),
            tracking,
            apis: RwLock::default(),
            objects: RwLock::default(),
            by_app: RwLock::default(),
            watched: Mutex::default(),
            list_errors: RwLock::default(),
            pending_lists: Mutex::new(0),
            listed: Notify::new(),
            changes,
        });
        cluster.refresh_discovery().await?;
        cluster.wait_listed().await;
        Ok(cluster)
    }

    /// The client for this cluster.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The API server URL the Applications name.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// How this installation tracks objects.
    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    /// Re-reads the served types (after a CRD was applied) and watches new ones.
    pub async fn refresh_discovery(self: &Arc<Self>) -> Result<()> {
        let discovery = Discovery::new(self.client.clone())
            .run()
            .await
            .map_err(|source| Error::Kube {
                context: format!("discovering the API resources of {}", self.server),
                source,
            })?;
        let mut found = HashMap::new();
        for group in discovery.groups() {
            for (resource, caps) in group.recommended_resources() {
                let key = (resource.group.clone(), resource.kind.clone());
                let watchable =
                    caps.supports_operation(verbs::LIST) && caps.supports_operation(verbs::WATCH);
                found.insert(
                    key,
                    (
                        ApiInfo {
                            resource,
                            namespaced: caps.scope == Scope::Namespaced,
                        },
                        watchable,
                    ),
                );
            }
        }
        let mut apis = self.apis.write().expect("not poisoned");
        for (key, (info, watchable)) in found {
            let excluded = EXCLUDED.iter().any(|(g, k)| *g == key.0 && *k == key.1);
            if watchable && !excluded {
                let fresh = self
                    .watched
                    .lock()
                    .expect("not poisoned")
                    .insert(key.clone());
                if fresh {
                    self.spawn_watcher(info.resource.clone());
                }
            }
            apis.insert(key, info);
        }
        Ok(())
    }

    /// Waits until every started watcher has listed its objects once.
    pub async fn wait_listed(&self) {
        loop {
            let notified = self.listed.notified();
            if *self.pending_lists.lock().expect("not poisoned") == 0 {
                return;
            }
            notified.await;
        }
    }

    fn spawn_watcher(self: &Arc<Self>, resource: ApiResource) {
        *self.pending_lists.lock().expect("not poisoned") += 1;
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        let cluster = Arc::downgrade(self);
        let group = resource.group.clone();
        let kind = resource.kind.clone();
        tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default()).boxed();
            let mut first_list = true;
            let mut relisted: HashSet<ResourceKey> = HashSet::new();
            let mut backoff = RETRY_FIRST;
            let type_key = (group.clone(), kind.clone());
            while let Some(event) = stream.next().await {
                let Some(cluster) = cluster.upgrade() else {
                    return;
                };
                match event {
                    Ok(watcher::Event::Init) => relisted.clear(),
                    Ok(watcher::Event::InitApply(obj)) => {
                        if let Some(key) = cluster.observe(obj, false) {
                            relisted.insert(key);
                        }
                    }
                    Ok(watcher::Event::InitDone) => {
                        cluster.forget_unlisted(&group, &kind, &relisted);
                        relisted.clear();
                        backoff = RETRY_FIRST;
                        let failed_before = cluster
                            .list_errors
                            .write()
                            .expect("not poisoned")
                            .remove(&type_key)
                            .is_some();
                        if failed_before {
                            tracing::info!(server = %cluster.server, %group, %kind, "listed after failing");
                        }
                        if std::mem::take(&mut first_list) {
                            cluster.listed_once();
                        }
                    }
                    Ok(watcher::Event::Apply(obj)) => {
                        cluster.observe(obj, false);
                    }
                    Ok(watcher::Event::Delete(obj)) => {
                        cluster.observe(obj, true);
                    }
                    Err(e) => {
                        // A type that is gone (its CRD deleted) stops being watched.
                        let gone = matches!(&e, watcher::Error::InitialListFailed(kube::Error::Api(s))
                            | watcher::Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 404);
                        if gone {
                            cluster.forget_unlisted(&group, &kind, &HashSet::new());
                            cluster
                                .watched
                                .lock()
                                .expect("not poisoned")
                                .remove(&type_key);
                            cluster
                                .apis
                                .write()
                                .expect("not poisoned")
                                .remove(&type_key);
                            cluster
                                .list_errors
                                .write()
                                .expect("not poisoned")
                                .remove(&type_key);
                            if first_list {
                                cluster.listed_once();
                            }
                            return;
                        }
                        if let watcher::Error::InitialListFailed(source) = &e {
                            // Nothing waits for a list that fails; Applications using the
                            // type are told why instead.
                            let message = format!(
                                "failed to load initial state of resource {}: {}",
                                group_kind(&group, &kind),
                                crate::error::describe(source)
                            );
                            tracing::warn!(server = %cluster.server, %group, %kind, error = %message, "list failed; retrying");
                            cluster
                                .list_errors
                                .write()
                                .expect("not poisoned")
                                .insert(type_key.clone(), message);
                            if std::mem::take(&mut first_list) {
                                cluster.listed_once();
                            }
                        } else {
                            tracing::debug!(%group, %kind, error = %e, "watch failed; retrying");
                        }
                        drop(cluster);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(RETRY_MAX);
                    }
                }
            }
        });
    }

    /// One more watcher has listed its objects once (or failed to).
    fn listed_once(&self) {
        let mut pending = self.pending_lists.lock().expect("not poisoned");
        *pending = pending.saturating_sub(1);
        self.listed.notify_waiters();
    }

    /// Why objects of a type cannot be seen: its list failed (forbidden, server error,
    /// ...) and is being retried. `None` while the type is listed and watched.
    pub fn list_error(&self, group: &str, kind: &str) -> Option<String> {
        self.list_errors
            .read()
            .expect("not poisoned")
            .get(&(group.to_owned(), kind.to_owned()))
            .cloned()
    }

    /// Takes one watched object into the cache; returns its key when it is tracked.
    fn observe(&self, obj: DynamicObject, deleted: bool) -> Option<ResourceKey> {
        let value = match serde_json::to_value(&obj) {
            Ok(v) => v,
            Err(_) => return None,
        };
        self.observe_value(value, deleted)
    }

    /// Takes a live object (from a watch or from a write's response) into the cache.
    pub fn observe_value(&self, value: Value, deleted: bool) -> Option<ResourceKey> {
        let key = ResourceKey::of(&value);
        let tracking = self.tracking.read(&value).filter(|t| t.key == key);
        let mut objects = self.objects.write().expect("not poisoned");
        let previous = objects.get(&key).cloned();
        if let (Some(prev), false) = (&previous, deleted) {
            // Writes answer before their watch event arrives; never go back in time.
            if older(&value, prev) {
                return tracking.map(|_| key);
            }
        }
        let previous_app = previous
            .as_deref()
            .and_then(|p| self.tracking.read(p))
            .map(|t| t.app);
        let app = tracking.as_ref().map(|t| t.app.clone());
        if deleted || app.is_none() {
            objects.remove(&key);
        } else {
            objects.insert(key.clone(), Arc::new(value));
        }
        drop(objects);
        let mut by_app = self.by_app.write().expect("not poisoned");
        if let Some(prev) = &previous_app
            && (Some(prev) != app.as_ref() || deleted)
            && let Some(set) = by_app.get_mut(prev)
        {
            set.remove(&key);
        }
        if let (Some(app), false) = (&app, deleted) {
            by_app.entry(app.clone()).or_default().insert(key.clone());
        }
        drop(by_app);
        for a in previous_app.iter().chain(app.iter()) {
            let _ = self.changes.send(a.clone());
        }
        tracking.map(|_| key)
    }

    fn forget_unlisted(&self, group: &str, kind: &str, seen: &HashSet<ResourceKey>) {
        let stale: Vec<Arc<Value>> = self
            .objects
            .read()
            .expect("not poisoned")
            .iter()
            .filter(|(k, _)| k.group == group && k.kind == kind && !seen.contains(*k))
            .map(|(_, v)| v.clone())
            .collect();
        for obj in stale {
            self.observe_value((*obj).clone(), true);
        }
    }

    /// The resource type of a group and kind, if served.
    pub fn api(&self, group: &str, kind: &str) -> Option<ApiInfo> {
        self.apis
            .read()
            .expect("not poisoned")
            .get(&(group.to_owned(), kind.to_owned()))
            .cloned()
    }

    /// A tracked live object.
    pub fn get(&self, key: &ResourceKey) -> Option<Arc<Value>> {
        self.objects.read().expect("not poisoned").get(key).cloned()
    }

    /// Every live object tracked by `app`.
    pub fn tracked_by(&self, app: &str) -> Vec<Arc<Value>> {
        let by_app = self.by_app.read().expect("not poisoned");
        let objects = self.objects.read().expect("not poisoned");
        by_app
            .get(app)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| objects.get(k).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many tracked objects the cache holds.
    pub fn len(&self) -> usize {
        self.objects.read().expect("not poisoned").len()
    }

    /// Whether the cache holds no tracked object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Names of Applications whose tracked objects changed, as they change.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    /// Reads one object straight from the API server (for objects the cache does not
    /// hold: untracked ones, or hooks).
    pub async fn fetch(&self, key: &ResourceKey) -> Result<Option<Value>> {
        let Some(info) = self.api(&key.group, &key.kind) else {
            return Ok(None);
        };
        let api = self.dynamic_api(&info, &key.namespace);
        match api.get_opt(&key.name).await {
            Ok(obj) => Ok(obj.and_then(|o| serde_json::to_value(o).ok())),
            Err(source) => Err(Error::Kube {
                context: format!("reading {key}"),
                source,
            }),
        }
    }

    /// A dynamic API handle for a type in a namespace (ignored for cluster-scoped types).
    pub fn dynamic_api(&self, info: &ApiInfo, namespace: &str) -> Api<DynamicObject> {
        if info.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &info.resource)
        } else {
            Api::all_with(self.client.clone(), &info.resource)
        }
    }
}

/// The first pause before a failed list or watch is tried again; doubled per failure.
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(500);
/// The longest pause between tries of a failing list or watch.
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// A group and kind as Kubernetes prints them (`Deployment.apps`, `ConfigMap`).
pub fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    }
}

/// Whether `a` is an older version of the object than `b` (resourceVersions compared as
/// numbers, which both etcd and the embedded cluster use).
fn older(a: &Value, b: &Value) -> bool {
    let rv = |v: &Value| {
        v["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
    };
    matches!((rv(a), rv(b)), (Some(x), Some(y)) if x < y)
}
