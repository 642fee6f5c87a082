//! Simulated workload controllers in the spirit of kwok: nothing runs, but
//! the objects move through the states a real cluster's controllers and
//! kubelet would give them.
//!
//! One task owns every controller. It is driven by the store's change
//! events (plus timers for delays and deadlines), keeps a deduplicating work
//! queue, and writes through the store or the API's own write paths, so
//! watches see every change a controller makes.

mod apps;
mod batch;
mod core;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};

use crate::api::{self, AppState};
use crate::objects;
use crate::store::{EventType, ObjectKey, Write};

/// The name of the one simulated node every pod is scheduled to.
pub const NODE_NAME: &str = "windlass-node";

/// The annotation that makes a pod fail on purpose: `CrashLoopBackOff` or
/// `ImagePullBackOff`. Set it in a pod template to make every pod of a
/// workload fail.
pub const SIMULATE_ANNOTATION: &str = "windlass.dev/simulate";

/// Which simulated controllers run, and how simulated pods behave.
/// `Controllers::default()` turns every controller on.
#[derive(Debug, Clone)]
pub struct Controllers {
    /// Deployments get ReplicaSets, rolling updates and status.
    pub deployments: bool,
    /// ReplicaSets get pods and status.
    pub replica_sets: bool,
    /// Pods are scheduled to the simulated node and start (or fail).
    pub pods: bool,
    /// StatefulSets get ordered pods and status.
    pub stateful_sets: bool,
    /// DaemonSets get one pod on the simulated node.
    pub daemon_sets: bool,
    /// Jobs get pods that run to completion (or fail).
    pub jobs: bool,
    /// CronJobs create Jobs on their schedule.
    pub cron_jobs: bool,
    /// LoadBalancer Services get an ingress IP (127.0.0.1).
    pub services: bool,
    /// Ingresses get a load-balancer address (127.0.0.1), as an ingress
    /// controller that serves every class would give them.
    pub ingresses: bool,
    /// Services with a selector get Endpoints listing their pods.
    pub endpoints: bool,
    /// PersistentVolumeClaims are bound to a generated volume.
    pub persistent_volume_claims: bool,
    /// Dependents follow their owners (`ownerReferences`, propagation
    /// policies Background, Foreground and Orphan). Off: every policy
    /// deletes only the object itself.
    pub garbage_collector: bool,
    /// How long a scheduled pod stays Pending before it runs (0: at once).
    pub pod_start_delay: Duration,
    /// How long simulated containers take to stop after SIGTERM. A deleted
    /// pod stays (Terminating, with `deletionTimestamp`) until its containers
    /// stopped or its grace period (`terminationGracePeriodSeconds`, or the
    /// DELETE's `gracePeriodSeconds`) ended, whichever comes first.
    /// `Duration::MAX`: containers ignore SIGTERM and every pod takes its
    /// whole grace period.
    pub pod_stop_delay: Duration,
    /// Which pods fail instead of running.
    pub failure_rule: FailureRule,
}

impl Default for Controllers {
    fn default() -> Self {
        Self {
            deployments: true,
            replica_sets: true,
            pods: true,
            stateful_sets: true,
            daemon_sets: true,
            jobs: true,
            cron_jobs: true,
            services: true,
            ingresses: true,
            endpoints: true,
            persistent_volume_claims: true,
            garbage_collector: true,
            pod_start_delay: Duration::from_millis(100),
            pod_stop_delay: Duration::from_millis(100),
            failure_rule: FailureRule::default(),
        }
    }
}

impl Controllers {
    /// No controller at all: a bare API server.
    pub fn none() -> Self {
        Self {
            deployments: false,
            replica_sets: false,
            pods: false,
            stateful_sets: false,
            daemon_sets: false,
            jobs: false,
            cron_jobs: false,
            services: false,
            ingresses: false,
            endpoints: false,
            persistent_volume_claims: false,
            garbage_collector: false,
            ..Self::default()
        }
    }

    fn any(&self) -> bool {
        self.deployments
            || self.replica_sets
            || self.pods
            || self.stateful_sets
            || self.daemon_sets
            || self.jobs
            || self.cron_jobs
            || self.services
            || self.ingresses
            || self.endpoints
            || self.persistent_volume_claims
            || self.garbage_collector
    }
}

/// Which simulated pods fail. A pod fails when any container image contains
/// one of the substrings, or when it carries the [`SIMULATE_ANNOTATION`]
/// annotation. Failing pods of Jobs end `Failed`; others stay not ready with
/// their containers waiting in `CrashLoopBackOff` or `ImagePullBackOff`.
#[derive(Debug, Clone)]
pub struct FailureRule {
    /// Image substrings that make containers crash (`CrashLoopBackOff`).
    pub crash_loop_images: Vec<String>,
    /// Image substrings whose pull fails (`ImagePullBackOff`).
    pub image_pull_failure_images: Vec<String>,
}

impl Default for FailureRule {
    fn default() -> Self {
        Self {
            crash_loop_images: vec![":fail".into(), "crashloop".into()],
            image_pull_failure_images: vec![":missing".into(), "imagepullbackoff".into()],
        }
    }
}

/// Why a simulated pod fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    CrashLoopBackOff,
    ImagePullBackOff,
}

impl FailureRule {
    pub(crate) fn failure_of(&self, pod: &Value) -> Option<Failure> {
        match pod["metadata"]["annotations"][SIMULATE_ANNOTATION].as_str() {
            Some("CrashLoopBackOff") => return Some(Failure::CrashLoopBackOff),
            Some("ImagePullBackOff" | "ErrImagePull") => return Some(Failure::ImagePullBackOff),
            _ => {}
        }
        let images: Vec<String> = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["image"].as_str().map(str::to_lowercase))
            .collect();
        let hit = |pats: &[String]| {
            images
                .iter()
                .any(|i| pats.iter().any(|p| i.contains(&p.to_lowercase())))
        };
        if hit(&self.image_pull_failure_images) {
            Some(Failure::ImagePullBackOff)
        } else if hit(&self.crash_loop_images) {
            Some(Failure::CrashLoopBackOff)
        } else {
            None
        }
    }
}

/// One unit of work for the controller task.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Work {
    /// Reconcile one object of a resource (storage key). For `services`
    /// an empty name means every Service of the namespace (Endpoints).
    Object(&'static str, ObjectKey),
    /// Garbage-collect around the object with this uid (gone or being
    /// deleted with a foreground/orphan finalizer).
    Collect(String),
}

pub(crate) const DEPLOYMENTS: &str = "deployments.apps";
pub(crate) const REPLICASETS: &str = "replicasets.apps";
pub(crate) const STATEFULSETS: &str = "statefulsets.apps";
pub(crate) const DAEMONSETS: &str = "daemonsets.apps";
pub(crate) const PODS: &str = "pods";
pub(crate) const JOBS: &str = "jobs.batch";
pub(crate) const CRONJOBS: &str = "cronjobs.batch";
pub(crate) const SERVICES: &str = "services";
pub(crate) const ENDPOINTS: &str = "endpoints";
pub(crate) const PVCS: &str = "persistentvolumeclaims";
pub(crate) const INGRESSES: &str = "ingresses.networking.k8s.io";

fn resource_of_kind(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Deployment" => DEPLOYMENTS,
        "ReplicaSet" => REPLICASETS,
        "StatefulSet" => STATEFULSETS,
        "DaemonSet" => DAEMONSETS,
        "Job" => JOBS,
        "CronJob" => CRONJOBS,
        _ => return None,
    })
}

fn static_resource(resource: &str) -> Option<&'static str> {
    [
        DEPLOYMENTS,
        REPLICASETS,
        STATEFULSETS,
        DAEMONSETS,
        PODS,
        JOBS,
        CRONJOBS,
        SERVICES,
        PVCS,
        INGRESSES,
    ]
    .into_iter()
    .find(|r| *r == resource)
}

/// The controller task's state; everything runs on one task, so no locks.
pub(crate) struct Ctx {
    pub state: Arc<AppState>,
    pub cfg: Controllers,
    queue: VecDeque<Work>,
    queued: HashSet<Work>,
    timers: mpsc::UnboundedSender<Work>,
    /// Live objects by uid (for owner lookups).
    uids: HashMap<String, (String, ObjectKey)>,
    /// Owner uid → dependents.
    dependents: HashMap<String, BTreeSet<(String, ObjectKey)>>,
    /// When a pending pod (by uid) may start.
    pub pod_due: HashMap<String, tokio::time::Instant>,
    /// Deleted pods (by uid): when the kubelet removes them, and the grace
    /// period that time was computed from.
    pub pod_gone_due: HashMap<String, (tokio::time::Instant, i64)>,
    /// Pending timers, so repeated reconciles do not pile them up.
    timer_due: HashMap<Work, tokio::time::Instant>,
}

/// Starts the controllers (when any is on) and creates the simulated node.
pub(crate) fn start(state: Arc<AppState>, cfg: Controllers, mut shutdown: watch::Receiver<bool>) {
    if !cfg.any() {
        return;
    }
    if cfg.pods || cfg.daemon_sets || cfg.stateful_sets {
        ensure_node(&state);
    }
    // Subscribe before reading the initial state so nothing falls between.
    let Ok(sub) = state.store.subscribe("", None) else {
        return;
    };
    let mut live = sub.live;
    let (tx, mut timer_rx) = mpsc::unbounded_channel();
    let mut ctx = Ctx {
        state,
        cfg,
        queue: VecDeque::new(),
        queued: HashSet::new(),
        timers: tx,
        uids: HashMap::new(),
        dependents: HashMap::new(),
        pod_due: HashMap::new(),
        pod_gone_due: HashMap::new(),
        timer_due: HashMap::new(),
    };
    ctx.resync();
    tokio::spawn(async move {
        loop {
            if *shutdown.borrow() {
                return;
            }
            loop {
                match live.try_recv() {
                    Ok(e) => ctx.on_event(e.kind, &e.resource, &e.object, e.old.as_ref()),
                    Err(broadcast::error::TryRecvError::Empty) => break,
                    Err(broadcast::error::TryRecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "controllers fell behind; resyncing");
                        ctx.resync();
                    }
                    Err(broadcast::error::TryRecvError::Closed) => return,
                }
            }
            while let Ok(w) = timer_rx.try_recv() {
                ctx.fired(w);
            }
            if let Some(w) = ctx.queue.pop_front() {
                ctx.queued.remove(&w);
                ctx.reconcile(w);
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                received = live.recv() => match received {
                    Ok(e) => ctx.on_event(e.kind, &e.resource, &e.object, e.old.as_ref()),
                    Err(broadcast::error::RecvError::Lagged(_)) => ctx.resync(),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                Some(w) = timer_rx.recv() => ctx.fired(w),
            }
            if *shutdown.borrow() {
                return;
            }
        }
    });
}

fn ensure_node(state: &AppState) {
    let key = (String::new(), NODE_NAME.to_owned());
    if state.store.get("nodes", &key).is_some() {
        return;
    }
    let node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE_NAME, "labels": {
            "kubernetes.io/hostname": NODE_NAME,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "node-role.kubernetes.io/control-plane": "",
            "type": "windlass",
        }},
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
    });
    match api::create_internal(state, "nodes", "", node) {
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e.message, "creating the simulated node failed");
            return;
        }
    }
    let t = objects::now();
    // The kubelet's heartbeat Lease, which `kubectl describe node` shows.
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": NODE_NAME, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": NODE_NAME, "leaseDurationSeconds": 40,
                 "renewTime": objects::now_micro()},
    });
    if let Err(e) = api::create_internal(
        state,
        "leases.coordination.k8s.io",
        "kube-node-lease",
        lease,
    ) {
        tracing::warn!(error = %e.message, "creating the simulated node's lease failed");
    }
    let status = json!({
        "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
        "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
        "conditions": [
            {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
             "message": "kubelet has sufficient memory available", "lastHeartbeatTime": t, "lastTransitionTime": t},
            {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
             "message": "kubelet has no disk pressure", "lastHeartbeatTime": t, "lastTransitionTime": t},
            {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
             "message": "kubelet has sufficient PID available", "lastHeartbeatTime": t, "lastTransitionTime": t},
            {"type": "Ready", "status": "True", "reason": "KubeletReady",
             "message": "kubelet is posting ready status (simulated by windlass)", "lastHeartbeatTime": t, "lastTransitionTime": t},
        ],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
        "nodeInfo": {
            "kubeletVersion": "v1.32.0", "kubeProxyVersion": "v1.32.0",
            "containerRuntimeVersion": "windlass://simulated", "operatingSystem": "linux",
            "architecture": "amd64", "osImage": "Windlass simulated node", "kernelVersion": "",
            "machineID": "", "systemUUID": "", "bootID": "",
        },
        "phase": "Running",
    });
    let _ = state.store.write("nodes", &key, false, |cur, _| {
        Ok(match cur {
            Some(c) => {
                let mut n = c.clone();
                n["status"] = status;
                Write::Put(n)
            }
            None => Write::Unchanged(Value::Null),
        })
    });
}

/// The uid of an object.
pub(crate) fn uid_of(o: &Value) -> &str {
    o["metadata"]["uid"].as_str().unwrap_or_default()
}

/// The name of an object.
pub(crate) fn name_of(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or_default()
}

/// The namespace of an object ("" for cluster-scoped).
pub(crate) fn ns_of(o: &Value) -> &str {
    o["metadata"]["namespace"].as_str().unwrap_or_default()
}

/// Whether the object has a deletionTimestamp.
pub(crate) fn deleting(o: &Value) -> bool {
    !o["metadata"]["deletionTimestamp"].is_null()
}

/// The uid of the object's controller owner, if any.
pub(crate) fn controller_uid(o: &Value) -> Option<&str> {
    o["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == Value::Bool(true))
        .and_then(|r| r["uid"].as_str())
}

/// An ownerReference making `owner` the controller of a new object.
pub(crate) fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Whether the pod has condition Ready=True.
pub(crate) fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// How many of `pods` are available: Ready for at least `min_ready_seconds`
/// (`podutil.IsPodAvailable`), and when the next ready-but-not-yet-available
/// one becomes available (to look again then).
pub(crate) fn available_pods(pods: &[&Value], min_ready_seconds: i64) -> (i64, Option<Duration>) {
    let now = jiff::Timestamp::now();
    let mut available = 0;
    let mut next: Option<Duration> = None;
    for pod in pods {
        let Some(ready) = pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Ready" && c["status"] == "True")
        else {
            continue;
        };
        if min_ready_seconds <= 0 {
            available += 1;
            continue;
        }
        let since = ready["lastTransitionTime"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .unwrap_or(now);
        let at = since
            .checked_add(jiff::SignedDuration::from_secs(min_ready_seconds))
            .unwrap_or(since);
        if at <= now {
            available += 1;
        } else {
            let wait = Duration::try_from(at.duration_since(now)).unwrap_or_default();
            next = Some(next.map_or(wait, |n| n.min(wait)));
        }
    }
    (available, next)
}

/// Whether the pod has finished (Succeeded or Failed).
pub(crate) fn pod_finished(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

/// FNV-1a over a canonical (key-sorted) JSON rendering.
pub(crate) fn fnv32(v: &Value) -> u32 {
    fn canon(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(&serde_json::to_string(k).unwrap_or_default());
                    out.push(':');
                    canon(&m[k], out);
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for x in a {
                    canon(x, out);
                    out.push(',');
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut s = String::new();
    canon(v, &mut s);
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The hash label value Kubernetes derives from a pod template
/// (`rand.SafeEncodeString` of the decimal hash).
pub(crate) fn template_hash(template: &Value) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut t = template.clone();
    if let Some(l) = t["metadata"]["labels"].as_object_mut() {
        l.remove("pod-template-hash");
        l.remove("controller-revision-hash");
    }
    fnv32(&t)
        .to_string()
        .bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

impl Ctx {
    fn fired(&mut self, w: Work) {
        if self
            .timer_due
            .get(&w)
            .is_some_and(|d| *d <= tokio::time::Instant::now())
        {
            self.timer_due.remove(&w);
        }
        self.enqueue(w);
    }

    pub fn enqueue(&mut self, w: Work) {
        if self.queued.insert(w.clone()) {
            self.queue.push_back(w);
        }
    }

    /// Enqueues `w` after `delay` (unless a timer for `w` fires earlier).
    pub fn after(&mut self, delay: Duration, w: Work) {
        let now = tokio::time::Instant::now();
        let due = now + delay;
        if let Some(d) = self.timer_due.get(&w)
            && *d > now
            && *d <= due
        {
            return;
        }
        self.timer_due.insert(w.clone(), due);
        let tx = self.timers.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(w);
        });
    }

    pub fn get(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        self.state
            .store
            .get(resource, &(ns.to_owned(), name.to_owned()))
    }

    pub fn list(&self, resource: &str, ns: &str) -> Vec<Value> {
        self.state
            .store
            .list(resource, Some(ns), |_| true)
            .1
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }

    /// Objects of `resource` in `ns` whose controller is `owner_uid`.
    pub fn owned(&self, resource: &str, ns: &str, owner_uid: &str) -> Vec<Value> {
        self.state
            .store
            .list(resource, Some(ns), |o| controller_uid(o) == Some(owner_uid))
            .1
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }

    /// Creates an object through the API's create path.
    pub fn create(&self, resource: &str, ns: &str, object: Value) -> Option<Value> {
        match api::create_internal(&self.state, resource, ns, object) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::debug!(resource, namespace = ns, error = %e.message, "controller create failed");
                None
            }
        }
    }

    /// Deletes an object through the API's delete path.
    /// Deletes a pod for good (`gracePeriodSeconds=0`), as the kubelet does.
    pub fn delete_now(&self, resource: &str, ns: &str, name: &str) {
        let key = (ns.to_owned(), name.to_owned());
        if let Err(e) = api::delete_internal_now(&self.state, resource, &key)
            && e.code != 404
        {
            tracing::debug!(resource, namespace = ns, name, error = %e.message, "kubelet delete failed");
        }
    }

    pub fn delete(&self, resource: &str, ns: &str, name: &str, policy: Option<&str>) {
        let key = (ns.to_owned(), name.to_owned());
        if let Err(e) = api::delete_internal(&self.state, resource, &key, policy)
            && e.code != 404
        {
            tracing::debug!(resource, namespace = ns, name, error = %e.message, "controller delete failed");
        }
    }

    /// Read-modify-write of an object as a controller (status, spec fields
    /// it owns, metadata). Bumps `generation` on spec changes. Returns the
    /// stored object, or `None` when it is gone.
    pub fn modify(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let key = (ns.to_owned(), name.to_owned());
        let r = self.state.store.write(resource, &key, false, |cur, _| {
            let Some(cur) = cur else {
                return Ok(Write::Unchanged(Value::Null));
            };
            let mut new = cur.clone();
            f(&mut new);
            if new == *cur {
                return Ok(Write::Unchanged(new));
            }
            if let Some(g) = cur["metadata"]["generation"].as_i64()
                && objects::spec_changed(cur, &new)
            {
                new["metadata"]["generation"] = json!(g + 1);
            }
            Ok(Write::Put(new))
        });
        match r {
            Ok((v, _)) if !v.is_null() => Some(v),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(resource, namespace = ns, name, error = %e.message, "controller update failed");
                None
            }
        }
    }

    /// Sets `status` of an object when it differs.
    pub fn set_status(&self, resource: &str, ns: &str, name: &str, status: Value) {
        self.modify(resource, ns, name, |o| o["status"] = status);
    }

    /// Reads every object once: the GC index and a first reconcile of all
    /// controlled resources.
    fn resync(&mut self) {
        self.uids.clear();
        self.dependents.clear();
        let mut resources: Vec<String> = self
            .state
            .registry
            .all()
            .iter()
            .map(|r| r.storage_key())
            .collect();
        resources.sort();
        resources.dedup();
        for r in resources {
            let (_, objs) = self.state.store.list(&r, None, |_| true);
            for (_, o) in objs {
                self.on_event(EventType::Added, &r, &o, None);
            }
        }
    }

    fn index(&mut self, resource: &str, o: &Value, add: bool) {
        let key = (ns_of(o).to_owned(), name_of(o).to_owned());
        for r in o["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(owner) = r["uid"].as_str() else {
                continue;
            };
            let entry = (resource.to_owned(), key.clone());
            if add {
                self.dependents
                    .entry(owner.to_owned())
                    .or_default()
                    .insert(entry);
            } else if let Some(set) = self.dependents.get_mut(owner) {
                set.remove(&entry);
            }
        }
    }

    fn on_event(&mut self, kind: EventType, resource: &str, o: &Value, old: Option<&Value>) {
        let uid = uid_of(o).to_owned();
        let ns = ns_of(o).to_owned();
        let key = (ns.clone(), name_of(o).to_owned());
        // Garbage collector bookkeeping.
        if let Some(old) = old {
            self.index(resource, old, false);
        }
        let owners: Vec<String> = o["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["uid"].as_str().map(str::to_owned))
            .collect();
        if kind == EventType::Deleted {
            self.index(resource, o, false);
            self.uids.remove(&uid);
            if resource == PODS {
                self.pod_due.remove(&uid);
                self.pod_gone_due.remove(&uid);
            }
            if self.cfg.garbage_collector {
                if self.dependents.get(&uid).is_some_and(|d| !d.is_empty()) {
                    self.enqueue(Work::Collect(uid.clone()));
                }
                for owner in owners {
                    self.enqueue(Work::Collect(owner));
                }
            }
        } else {
            self.index(resource, o, true);
            if !uid.is_empty() {
                self.uids
                    .insert(uid.clone(), (resource.to_owned(), key.clone()));
            }
            if self.cfg.garbage_collector {
                let finalizers = o["metadata"]["finalizers"].as_array();
                if deleting(o)
                    && finalizers.is_some_and(|f| {
                        f.iter().any(|x| x == "orphan" || x == "foregroundDeletion")
                    })
                {
                    self.enqueue(Work::Collect(uid.clone()));
                }
                if kind == EventType::Added {
                    for owner in owners {
                        if !self.uids.contains_key(&owner) {
                            self.enqueue(Work::Collect(owner));
                        }
                    }
                }
            }
        }
        // Controllers: the object itself and its controller owner.
        if let Some(r) = static_resource(resource) {
            self.enqueue(Work::Object(r, key.clone()));
        }
        for r in o["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if r["controller"] == Value::Bool(true)
                && let (Some(res), Some(name)) = (
                    r["kind"].as_str().and_then(resource_of_kind),
                    r["name"].as_str(),
                )
            {
                self.enqueue(Work::Object(res, (ns.clone(), name.to_owned())));
            }
        }
        if resource == PODS && self.cfg.endpoints {
            self.enqueue(Work::Object(SERVICES, (ns, String::new())));
        }
    }

    fn reconcile(&mut self, w: Work) {
        match w {
            Work::Collect(uid) => {
                if self.cfg.garbage_collector {
                    self.collect(&uid);
                }
            }
            Work::Object(resource, (ns, name)) => {
                let c = &self.cfg;
                match resource {
                    DEPLOYMENTS if c.deployments => apps::deployment(self, &ns, &name),
                    REPLICASETS if c.replica_sets => apps::replica_set(self, &ns, &name),
                    STATEFULSETS if c.stateful_sets => apps::stateful_set(self, &ns, &name),
                    DAEMONSETS if c.daemon_sets => apps::daemon_set(self, &ns, &name),
                    PODS if c.pods => core::pod(self, &ns, &name),
                    JOBS if c.jobs => batch::job(self, &ns, &name),
                    CRONJOBS if c.cron_jobs => batch::cron_job(self, &ns, &name),
                    SERVICES => core::service(self, &ns, &name),
                    PVCS if c.persistent_volume_claims => core::pvc(self, &ns, &name),
                    INGRESSES if c.ingresses => core::ingress(self, &ns, &name),
                    _ => {}
                }
            }
        }
    }

    /// The garbage collector's step for one owner uid.
    fn collect(&mut self, owner_uid: &str) {
        let deps: Vec<(String, ObjectKey)> = self
            .dependents
            .get(owner_uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        let owner = self
            .uids
            .get(owner_uid)
            .cloned()
            .and_then(|(r, k)| self.state.store.get(&r, &k).map(|o| (r, k, o)))
            .filter(|(_, _, o)| uid_of(o) == owner_uid);
        let refs_owner = |d: &Value| {
            d["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["uid"] == owner_uid)
        };
        let drop_ref = |o: &mut Value| {
            if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                refs.retain(|r| r["uid"] != owner_uid);
                if refs.is_empty()
                    && let Some(m) = o["metadata"].as_object_mut()
                {
                    m.remove("ownerReferences");
                }
            }
        };
        let Some((resource, key, owner)) = owner else {
            // The owner is gone: delete dependents that have no other live
            // owner; drop the dangling reference from the others.
            for (r, (ns, name)) in deps {
                let Some(d) = self.get(&r, &ns, &name) else {
                    continue;
                };
                if !refs_owner(&d) {
                    continue;
                }
                let other_live = d["metadata"]["ownerReferences"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x["uid"].as_str())
                    .any(|u| u != owner_uid && self.uids.contains_key(u));
                if other_live {
                    self.modify(&r, &ns, &name, drop_ref);
                } else if !deleting(&d) {
                    self.delete(&r, &ns, &name, Some("Background"));
                }
            }
            self.dependents.remove(owner_uid);
            return;
        };
        if !deleting(&owner) {
            return;
        }
        let finalizers: Vec<String> = owner["metadata"]["finalizers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect();
        let remove_finalizer = |ctx: &Ctx, fin: &str| {
            let fin = fin.to_owned();
            let _ = api::update_internal(&ctx.state, &resource, &key, move |o| {
                if let Some(f) = o["metadata"]["finalizers"].as_array_mut() {
                    f.retain(|x| x != fin.as_str());
                }
            });
        };
        if finalizers.iter().any(|f| f == "orphan") {
            for (r, (ns, name)) in &deps {
                self.modify(r, ns, name, drop_ref);
            }
            remove_finalizer(self, "orphan");
        } else if finalizers.iter().any(|f| f == "foregroundDeletion") {
            let mut blocking = false;
            for (r, (ns, name)) in &deps {
                let Some(d) = self.get(r, ns, name) else {
                    continue;
                };
                if !refs_owner(&d) {
                    continue;
                }
                if !deleting(&d) {
                    let has_deps = self
                        .dependents
                        .get(uid_of(&d))
                        .is_some_and(|s| !s.is_empty());
                    let policy = if has_deps { "Foreground" } else { "Background" };
                    self.delete(r, ns, name, Some(policy));
                }
                if let Some(d) = self.get(r, ns, name)
                    && d["metadata"]["ownerReferences"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|x| x["uid"] == owner_uid && x["blockOwnerDeletion"] == true)
                {
                    blocking = true;
                }
            }
            if !blocking {
                remove_finalizer(self, "foregroundDeletion");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hash_ignores_the_hash_label_and_key_order() {
        let a = json!({"metadata": {"labels": {"app": "a"}}, "spec": {"x": 1, "y": 2}});
        let b = json!({"spec": {"y": 2, "x": 1}, "metadata": {"labels": {"app": "a", "pod-template-hash": "zz"}}});
        assert_eq!(template_hash(&a), template_hash(&b));
        let c = json!({"metadata": {"labels": {"app": "b"}}, "spec": {"x": 1, "y": 2}});
        assert_ne!(template_hash(&a), template_hash(&c));
    }

    #[test]
    fn failure_rule_reads_images_and_the_annotation() {
        let rule = FailureRule::default();
        let pod = |image: &str, ann: Value| json!({"metadata": {"annotations": ann}, "spec": {"containers": [{"image": image}]}});
        assert_eq!(rule.failure_of(&pod("nginx:1.27", json!({}))), None);
        assert_eq!(
            rule.failure_of(&pod("nginx:fail", json!({}))),
            Some(Failure::CrashLoopBackOff)
        );
        assert_eq!(
            rule.failure_of(&pod("nginx:missing", json!({}))),
            Some(Failure::ImagePullBackOff)
        );
        assert_eq!(
            rule.failure_of(&pod(
                "nginx",
                json!({SIMULATE_ANNOTATION: "ImagePullBackOff"})
            )),
            Some(Failure::ImagePullBackOff)
        );
    }
}
