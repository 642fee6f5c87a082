//! A cluster with a data directory keeps every acknowledged object across
//! restarts, and `resourceVersion` continues upward; a write is acknowledged, and
//! seen, only once durable, and readers do not wait for it meanwhile.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use support::{Setup, fixture, setup_with};
use windlass_embedded_cluster::{Backend, Change, Config, Controllers, EmbeddedCluster, Snapshot};

fn rv(meta: &kube::api::ObjectMeta) -> u64 {
    parse(meta.resource_version.as_deref())
}

fn parse(rv: Option<&str>) -> u64 {
    rv.and_then(|s| s.parse().ok())
        .expect("numeric resourceVersion")
}

fn config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: Some(dir.to_owned()),
        ..Config::default()
    }
}

#[tokio::test]
async fn objects_and_the_resource_version_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = EmbeddedCluster::start(config(dir.path()))
        .await
        .expect("cluster starts");
    let cms: Api<ConfigMap> = Api::default_namespaced(c.client());
    let kept: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "kept", "labels": {"a": "b"}}, "data": {"k": "v"}
    }))
    .expect("valid");
    let kept = cms
        .create(&PostParams::default(), &kept)
        .await
        .expect("create");
    let removed: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "removed"}})).expect("valid");
    cms.create(&PostParams::default(), &removed)
        .await
        .expect("create");
    cms.delete("removed", &DeleteParams::default())
        .await
        .expect("delete");
    let deploys: Api<Deployment> = Api::default_namespaced(c.client());
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
    }))
    .expect("valid");
    deploys
        .create(&PostParams::default(), &d)
        .await
        .expect("create");
    let last = parse(
        cms.list(&ListParams::default())
            .await
            .expect("list")
            .metadata
            .resource_version
            .as_deref(),
    );
    c.shutdown().await;

    let c = EmbeddedCluster::start(config(dir.path()))
        .await
        .expect("cluster restarts on the same data dir");
    let cms: Api<ConfigMap> = Api::default_namespaced(c.client());
    let back = cms.get("kept").await.expect("kept survives");
    assert_eq!(back.metadata.uid, kept.metadata.uid);
    assert_eq!(back.data, kept.data);
    assert_eq!(back.metadata.labels, kept.metadata.labels);
    assert!(
        cms.get_opt("removed").await.expect("get").is_none(),
        "deletes are durable too"
    );
    let deploys: Api<Deployment> = Api::default_namespaced(c.client());
    assert!(deploys.get_opt("web").await.expect("get").is_some());

    let listed = parse(
        cms.list(&ListParams::default())
            .await
            .expect("list")
            .metadata
            .resource_version
            .as_deref(),
    );
    assert!(
        listed >= last,
        "the counter is restored ({listed} < {last})"
    );
    let fresh: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "fresh"}})).expect("valid");
    let fresh = cms
        .create(&PostParams::default(), &fresh)
        .await
        .expect("create after restart");
    assert!(
        rv(&fresh.metadata) > last,
        "resourceVersion continues upward: {} after {last}",
        rv(&fresh.metadata)
    );
    c.shutdown().await;
}

/// A cluster-scoped CRD in a group that sorts before `example.com`'s, created
/// after it, so creation order and any sorted order differ.
const GIZMO_CRD: &str = r#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "gizmos.alpha.example.org"},
  "spec": {"group": "alpha.example.org", "scope": "Cluster",
    "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "shortNames": ["gz"]},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}"#;

/// What discovery says, as `kubectl` reads it.
async fn discovery(s: &Setup) -> Vec<String> {
    let mut out = vec![s.ok(&["api-resources", "-o", "wide"]).await];
    for path in [
        "/apis",
        "/apis/example.com/v1",
        "/apis/alpha.example.org/v1",
    ] {
        out.push(s.ok(&["get", "--raw", path]).await);
    }
    out
}

async fn crd_versions(s: &Setup) -> Vec<(String, Option<String>)> {
    let crds: Api<CustomResourceDefinition> = Api::all(s.cluster.client());
    let mut out = Vec::new();
    for name in ["widgets.example.com", "gizmos.alpha.example.org"] {
        let crd = crds.get(name).await.expect("CRD stored");
        out.push((name.to_owned(), crd.metadata.resource_version));
    }
    out
}

/// Waits until the server's clock (creation timestamps, whole seconds) has moved
/// past `after`, so that anything the server stamps with "now" would differ.
async fn wait_for_a_later_second(s: &Setup, after: &str) {
    let cms: Api<ConfigMap> = Api::default_namespaced(s.cluster.client());
    for i in 0.. {
        let tick: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("tick-{i}")}}))
                .expect("valid");
        let tick = cms
            .create(&PostParams::default(), &tick)
            .await
            .expect("create");
        let at = tick
            .metadata
            .creation_timestamp
            .expect("stamped")
            .0
            .to_string();
        if at.as_str() > after {
            return;
        }
        assert!(i < 10_000, "the server's clock never passed {after}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_and_their_discovery_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = setup_with(config(dir.path())).await;
    let widget_crd = fixture("widget-crd.yaml");
    let widget_crd = widget_crd.to_str().expect("utf-8");
    let gizmo_crd = s.home.path().join("gizmo-crd.json");
    std::fs::write(&gizmo_crd, GIZMO_CRD).expect("write");
    let gizmo_crd = gizmo_crd.to_str().expect("utf-8");
    let objects = s.home.path().join("objects.json");
    std::fs::write(
        &objects,
        r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "default"}, "spec": {"size": "big", "replicas": 2}},
            {"apiVersion": "alpha.example.org/v1", "kind": "Gizmo", "metadata": {"name": "g1"}, "spec": {"colour": "red"}}]}"#,
    )
    .expect("write");
    let objects = objects.to_str().expect("utf-8");
    for crd in [widget_crd, gizmo_crd] {
        s.ok(&["apply", "--server-side", "-f", crd]).await;
    }
    s.ok(&["apply", "-f", objects]).await;
    let served = discovery(&s).await;
    let versions = crd_versions(&s).await;
    let crds: Api<CustomResourceDefinition> = Api::all(s.cluster.client());
    let created = crds
        .get("widgets.example.com")
        .await
        .expect("CRD")
        .metadata
        .creation_timestamp
        .expect("stamped")
        .0
        .to_string();
    s.cluster.shutdown().await;

    let s = setup_with(config(dir.path())).await;
    let widgets = s
        .ok(&["get", "widgets", "-n", "default", "-o", "name"])
        .await;
    assert_eq!(widgets.trim(), "widget.example.com/w1");
    let replicas = s
        .ok(&["get", "wg", "w1", "-o", "jsonpath={.spec.replicas}"])
        .await;
    assert_eq!(replicas, "2");
    let gizmos = s.ok(&["get", "gizmos", "-o", "name"]).await;
    assert_eq!(gizmos.trim(), "gizmo.alpha.example.org/g1");
    assert_eq!(
        discovery(&s).await,
        served,
        "the same discovery after a restart"
    );

    // Re-applying the unchanged CRDs (as an installer does at every start) writes
    // nothing and serves nothing twice, even once the clock has moved on.
    wait_for_a_later_second(&s, &created).await;
    for crd in [widget_crd, gizmo_crd] {
        s.ok(&["apply", "--server-side", "-f", crd]).await;
    }
    assert_eq!(crd_versions(&s).await, versions, "nothing written");
    assert_eq!(discovery(&s).await, served, "nothing registered twice");
    s.cluster.shutdown().await;
}

/// Every pod of the namespace with an IP, waiting (bounded) until `count` have one.
async fn pod_ips(client: kube::Client, count: usize) -> Vec<String> {
    let pods: Api<Pod> = Api::default_namespaced(client);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ips: Vec<String> = pods
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .into_iter()
            .filter_map(|p| p.status.and_then(|s| s.pod_ip))
            .collect();
        if ips.len() >= count {
            return ips;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {ips:?} of {count} pods got an IP"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Two Services (one NodePort with two ports) and a Deployment of three pods.
async fn services_and_pods(client: kube::Client, suffix: &str) {
    let svcs: Api<Service> = Api::default_namespaced(client.clone());
    for (name, ty) in [("cip", "ClusterIP"), ("np", "NodePort")] {
        let svc: Service = serde_json::from_value(json!({
            "metadata": {"name": format!("{name}-{suffix}")},
            "spec": {"type": ty, "selector": {"app": suffix},
                "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]},
        }))
        .expect("valid");
        svcs.create(&PostParams::default(), &svc)
            .await
            .expect("create service");
    }
    let deploys: Api<Deployment> = Api::default_namespaced(client);
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": format!("web-{suffix}")},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": suffix}},
            "template": {"metadata": {"labels": {"app": suffix}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
    }))
    .expect("valid");
    deploys
        .create(&PostParams::default(), &d)
        .await
        .expect("create deployment");
}

fn duplicates(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    let mut dups: Vec<String> = values
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0].clone())
        .collect();
    dups.dedup();
    dups
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_ips_node_ports_and_pod_ips_stay_unique_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = EmbeddedCluster::start(config(dir.path()))
        .await
        .expect("cluster starts");
    services_and_pods(c.client(), "before").await;
    pod_ips(c.client(), 3).await;
    c.shutdown().await;

    let c = EmbeddedCluster::start(config(dir.path()))
        .await
        .expect("cluster restarts");
    services_and_pods(c.client(), "after").await;
    let pods = pod_ips(c.client(), 6).await;
    assert_eq!(pods.len(), 6, "{pods:?}");
    let svcs: Api<Service> = Api::default_namespaced(c.client());
    let (mut ips, mut ports) = (Vec::new(), Vec::new());
    for svc in svcs.list(&ListParams::default()).await.expect("list").items {
        let spec = svc.spec.expect("spec");
        ips.extend(spec.cluster_ip);
        ports.extend(
            spec.ports
                .into_iter()
                .flatten()
                .filter_map(|p| p.node_port.map(|n| n.to_string())),
        );
    }
    assert_eq!(ips.len(), 4, "{ips:?}");
    assert_eq!(ports.len(), 4, "{ports:?}");
    assert_eq!(
        duplicates(ips.clone()),
        Vec::<String>::new(),
        "cluster IPs {ips:?}"
    );
    assert_eq!(
        duplicates(ports.clone()),
        Vec::<String>::new(),
        "node ports {ports:?}"
    );
    assert_eq!(
        duplicates(pods.clone()),
        Vec::<String>::new(),
        "pod IPs {pods:?}"
    );
    c.shutdown().await;
}

/// Generous: only a deadlock takes this long.
const DEADLOCK: std::time::Duration = std::time::Duration::from_secs(60);

/// A backend that keeps objects in memory and holds every commit of a ConfigMap
/// named `slow-*` until the test releases it.
struct Gate {
    entered: tokio::sync::mpsc::UnboundedSender<()>,
    release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl Backend for Gate {
    fn load(&self) -> Result<Snapshot, String> {
        Ok(Snapshot::default())
    }
    fn commit(&self, _: u64, changes: &[Change<'_>]) -> Result<(), String> {
        let slow = changes.iter().any(|c| {
            matches!(c, Change::Put { resource: "configmaps", key, .. } if key.1.starts_with("slow-"))
        });
        if slow {
            let _ = self.entered.send(());
            let _ = self.release.lock().expect("not poisoned").recv();
        }
        Ok(())
    }
}

fn names(list: &kube::core::ObjectList<ConfigMap>) -> Vec<String> {
    list.items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect()
}

/// A get of `before` and a list of ConfigMaps from a thread with its own runtime
/// and client: a server that does not answer is reported (`None`) after
/// [`DEADLOCK`] even when it holds every worker thread of the test's runtime.
#[allow(clippy::type_complexity)]
fn read_elsewhere(
    kubeconfig: std::path::PathBuf,
) -> std::thread::JoinHandle<Option<(ConfigMap, kube::core::ObjectList<ConfigMap>)>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig");
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .expect("client config");
            let client = kube::Client::try_from(config).expect("client");
            let cms: Api<ConfigMap> = Api::default_namespaced(client);
            let reads = async {
                let before = cms.get("before").await.ok()?;
                let listed = cms.list(&ListParams::default()).await.ok()?;
                Some((before, listed))
            };
            tokio::time::timeout(DEADLOCK, reads).await.ok().flatten()
        })
    })
}

/// While writes wait for a slow commit (more of them than the runtime has worker
/// threads), reads are answered, and see none of them until they are durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_are_answered_while_writes_wait_for_their_commit() {
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let gate = Gate {
        entered: entered_tx,
        release: std::sync::Mutex::new(release_rx),
    };
    let c = EmbeddedCluster::start_with_backend(
        Config {
            controllers: Controllers::none(),
            ..Config::default()
        },
        std::sync::Arc::new(gate),
    )
    .await
    .expect("cluster starts");
    let cms: Api<ConfigMap> = Api::default_namespaced(c.client());
    let cm = |name: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": name}})).expect("valid")
    };
    cms.create(&PostParams::default(), &cm("before"))
        .await
        .expect("create");
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let cms = cms.clone();
            let cm = cm(&format!("slow-{i}"));
            tokio::spawn(async move { cms.create(&PostParams::default(), &cm).await })
        })
        .collect();
    entered.recv().await.expect("a slow commit starts");

    // Joining blocks this thread, which is not one of the runtime's workers.
    let (before, listed) = read_elsewhere(c.kubeconfig_path().to_owned())
        .join()
        .expect("the reader thread ends")
        .expect("reads are answered while a write commits");
    assert_eq!(before.metadata.name.as_deref(), Some("before"));
    assert_eq!(
        names(&listed),
        ["before"],
        "nothing not yet durable is seen"
    );

    // Release every commit, the first and the one(s) the others were grouped in.
    let releaser = tokio::spawn(async move {
        let _ = release.send(());
        while entered.recv().await.is_some() {
            let _ = release.send(());
        }
    });
    for w in writers {
        w.await.expect("joined").expect("acknowledged once durable");
    }
    let listed = cms.list(&ListParams::default()).await.expect("list");
    assert_eq!(
        names(&listed),
        ["before", "slow-0", "slow-1", "slow-2", "slow-3"]
    );
    releaser.abort();
    c.shutdown().await;
}

/// What a disk holds: the last resourceVersion and every object by
/// (resource, namespace, name).
type DiskState = (
    u64,
    std::collections::BTreeMap<(String, String, String), serde_json::Value>,
);

/// A backend in memory that can "crash": once a commit matching `crash_after` is
/// durable, every later commit fails, as if the process had died right then. A
/// new `Disk` on the same state is the restarted process.
struct Disk {
    state: std::sync::Arc<std::sync::Mutex<DiskState>>,
    crash_after: fn(&Change<'_>) -> bool,
    crashed: std::sync::atomic::AtomicBool,
}

impl Disk {
    fn new(
        state: &std::sync::Arc<std::sync::Mutex<DiskState>>,
        crash_after: fn(&Change<'_>) -> bool,
    ) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            state: state.clone(),
            crash_after,
            crashed: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

impl Backend for Disk {
    fn load(&self) -> Result<Snapshot, String> {
        let state = self.state.lock().expect("not poisoned");
        Ok(Snapshot {
            resource_version: state.0,
            objects: state
                .1
                .iter()
                .map(|((r, ns, name), o)| (r.clone(), (ns.clone(), name.clone()), o.clone()))
                .collect(),
        })
    }
    fn commit(&self, rv: u64, changes: &[Change<'_>]) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        if self.crashed.load(Ordering::SeqCst) {
            return Err("the process is gone".into());
        }
        let mut state = self.state.lock().expect("not poisoned");
        state.0 = rv;
        for change in changes {
            match *change {
                Change::Put {
                    resource,
                    key,
                    object,
                } => {
                    state.1.insert(
                        (resource.into(), key.0.clone(), key.1.clone()),
                        object.clone(),
                    );
                }
                Change::Delete { resource, key } => {
                    state
                        .1
                        .remove(&(resource.into(), key.0.clone(), key.1.clone()));
                }
            }
            if (self.crash_after)(change) {
                self.crashed.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

fn namespace_marked_terminating(change: &Change<'_>) -> bool {
    matches!(change, Change::Put { resource: "namespaces", key, object }
        if key.1 == "doomed" && !object["metadata"]["deletionTimestamp"].is_null())
}

fn never(_: &Change<'_>) -> bool {
    false
}

/// The process dies right after a namespace was marked Terminating, before its
/// content was deleted. After the restart the termination goes on: what has no
/// finalizer is deleted, what has one is marked deleted, and the namespace is gone
/// once the last finalizer is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_termination_resumes_after_a_restart() {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Patch, PatchParams};
    let disk = std::sync::Arc::new(std::sync::Mutex::new(DiskState::default()));
    let config = || Config {
        controllers: Controllers::none(),
        ..Config::default()
    };
    let c = EmbeddedCluster::start_with_backend(
        config(),
        Disk::new(&disk, namespace_marked_terminating),
    )
    .await
    .expect("cluster starts");
    let namespaces: Api<Namespace> = Api::all(c.client());
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "doomed"}})).expect("valid");
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    let doomed: Api<ConfigMap> = Api::namespaced(c.client(), "doomed");
    for (name, finalizers) in [
        ("a", json!([])),
        ("b", json!([])),
        ("held", json!(["example.com/hold"])),
    ] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "finalizers": finalizers}}))
                .expect("valid");
        doomed
            .create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    let kept: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "kept"}})).expect("valid");
    Api::<ConfigMap>::default_namespaced(c.client())
        .create(&PostParams::default(), &kept)
        .await
        .expect("create");
    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .expect("delete accepted");
    // The crash: the namespace is Terminating, its content untouched.
    assert_eq!(
        doomed
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        3
    );
    c.shutdown().await;

    let c = EmbeddedCluster::start_with_backend(config(), Disk::new(&disk, never))
        .await
        .expect("cluster restarts");
    let namespaces: Api<Namespace> = Api::all(c.client());
    let doomed: Api<ConfigMap> = Api::namespaced(c.client(), "doomed");
    let left = doomed.list(&ListParams::default()).await.expect("list");
    assert_eq!(
        left.items
            .iter()
            .map(|c| (
                c.metadata.name.clone().unwrap_or_default(),
                c.metadata.deletion_timestamp.is_some()
            ))
            .collect::<Vec<_>>(),
        [("held".to_owned(), true)],
        "what has no finalizer is deleted, the rest is marked"
    );
    let ns = namespaces.get("doomed").await.expect("still there");
    assert_eq!(
        ns.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    doomed
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("finalizer removed");
    assert!(doomed.get_opt("held").await.expect("get").is_none());
    assert!(
        namespaces.get_opt("doomed").await.expect("get").is_none(),
        "the namespace is gone with its last object"
    );
    assert!(
        Api::<ConfigMap>::default_namespaced(c.client())
            .get_opt("kept")
            .await
            .expect("get")
            .is_some(),
        "other namespaces are untouched"
    );
    c.shutdown().await;
}
