//! The simulated workload controllers and the garbage collector, seen
//! through `kube` clients the way Argo CD's health checks and `kubectl`
//! see a real cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Namespace, Node, PersistentVolumeClaim, Pod, Service,
};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::runtime::watcher;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use windlass_embedded_cluster::{Config, Controllers, EmbeddedCluster, Handle};

const TIMEOUT: Duration = Duration::from_secs(15);

async fn cluster() -> Handle {
    EmbeddedCluster::start(Config {
        controllers: Controllers {
            pod_start_delay: Duration::from_millis(20),
            ..Controllers::default()
        },
        ..Config::default()
    })
    .await
    .expect("cluster starts")
}

fn typed<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("valid object")
}

/// Waits (bounded) until `name` satisfies `cond`, then returns it.
async fn wait<K>(api: &Api<K>, name: &str, what: &str, cond: impl Fn(&K) -> bool) -> K
where
    K: Resource + Clone + std::fmt::Debug + DeserializeOwned + Send + Sync + 'static,
{
    let got = tokio::time::timeout(
        TIMEOUT,
        await_condition(api.clone(), name, move |o: Option<&K>| o.is_some_and(&cond)),
    )
    .await;
    match got {
        Ok(Ok(Some(o))) => o,
        other => {
            let current = api.get_opt(name).await.ok().flatten();
            panic!("timed out waiting for {name} to be {what}: {other:?}; now: {current:#?}")
        }
    }
}

/// Waits (bounded) until `name` is gone.
async fn wait_gone<K>(api: &Api<K>, name: &str)
where
    K: Resource + Clone + std::fmt::Debug + DeserializeOwned + Send + Sync + 'static,
{
    let got = tokio::time::timeout(
        TIMEOUT,
        await_condition(api.clone(), name, |o: Option<&K>| o.is_none()),
    )
    .await;
    assert!(
        matches!(got, Ok(Ok(_))),
        "timed out waiting for {name} to be deleted: {:#?}",
        api.get_opt(name).await
    );
}

/// Polls a list (bounded) until `cond` holds for it.
async fn wait_list<K>(
    api: &Api<K>,
    lp: &ListParams,
    what: &str,
    cond: impl Fn(&[K]) -> bool,
) -> Vec<K>
where
    K: Resource + Clone + std::fmt::Debug + DeserializeOwned,
{
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let items = api.list(lp).await.expect("list").items;
        if cond(&items) {
            return items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {items:#?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn deployment(name: &str, replicas: i32, image: &str, strategy: Value) -> Deployment {
    typed(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image,
                    "ports": [{"name": "http", "containerPort": 8080}]}]},
            },
        },
    }))
}

fn condition<'a>(d: &'a Deployment, kind: &str) -> Option<(&'a str, &'a str)> {
    d.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| (c.status.as_str(), c.reason.as_deref().unwrap_or_default()))
}

fn rolled_out(d: &Deployment) -> bool {
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let s = d.status.clone().unwrap_or_default();
    s.observed_generation >= d.metadata.generation
        && s.updated_replicas.unwrap_or(0) == want
        && s.replicas.unwrap_or(0) == want
        && s.available_replicas.unwrap_or(0) == want
        && condition(d, "Available") == Some(("True", "MinimumReplicasAvailable"))
        && condition(d, "Progressing") == Some(("True", "NewReplicaSetAvailable"))
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn image_of(p: &Pod) -> String {
    p.spec.as_ref().expect("spec").containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

fn labels(sel: &str) -> ListParams {
    ListParams::default().labels(sel)
}

#[tokio::test]
async fn a_deployment_becomes_available_with_ready_pods() {
    let c = cluster().await;
    let client = c.client();
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    deploys
        .create(
            &PostParams::default(),
            &deployment("web", 3, "nginx:1.27", json!({})),
        )
        .await
        .expect("create");
    let d = wait(&deploys, "web", "rolled out", rolled_out).await;
    assert_eq!(
        d.metadata.annotations.as_ref().expect("annotations")["deployment.kubernetes.io/revision"],
        "1"
    );
    let status = d.status.expect("status");
    assert_eq!(
        (status.ready_replicas, status.unavailable_replicas),
        (Some(3), None)
    );

    let rss: Api<ReplicaSet> = Api::default_namespaced(client.clone());
    let rs_list = rss.list(&labels("app=web")).await.expect("list").items;
    assert_eq!(rs_list.len(), 1);
    let rs = &rs_list[0];
    let hash = rs.metadata.labels.as_ref().expect("labels")["pod-template-hash"].clone();
    assert_eq!(
        rs.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    let owner = &rs.metadata.owner_references.as_ref().expect("owned")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("Deployment", "web", Some(true))
    );
    assert_eq!(owner.uid, d.metadata.uid.clone().expect("uid"));

    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod_list = pods.list(&labels("app=web")).await.expect("list").items;
    assert_eq!(pod_list.len(), 3);
    for p in &pod_list {
        let name = p.metadata.name.as_deref().expect("name");
        let suffix = name
            .strip_prefix(&format!("web-{hash}-"))
            .expect("named after the RS");
        assert_eq!(suffix.len(), 5);
        assert!(pod_ready(p), "{name} is ready");
        let spec = p.spec.as_ref().expect("spec");
        assert_eq!(spec.node_name.as_deref(), Some("windlass-node"));
        let status = p.status.as_ref().expect("status");
        assert_eq!(status.phase.as_deref(), Some("Running"));
        let cs = &status
            .container_statuses
            .as_ref()
            .expect("container statuses")[0];
        assert!(cs.ready && cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some());
        assert!(status.pod_ip.is_some());
    }
    let node: Api<Node> = Api::all(client.clone());
    node.get("windlass-node")
        .await
        .expect("the simulated node exists");

    // Scaling down and up.
    deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 1}})),
        )
        .await
        .expect("scale down");
    wait(&deploys, "web", "scaled to 1", |d| {
        rolled_out(d) && d.status.as_ref().and_then(|s| s.replicas) == Some(1)
    })
    .await;
    wait_list(&pods, &labels("app=web"), "one pod", |p| p.len() == 1).await;
    deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .expect("scale up");
    wait(&deploys, "web", "scaled to 2", |d| {
        rolled_out(d) && d.status.as_ref().and_then(|s| s.replicas) == Some(2)
    })
    .await;
    c.shutdown().await;
}

#[tokio::test]
async fn a_rolling_update_respects_max_surge_and_max_unavailable() {
    let c = cluster().await;
    let client = c.client();
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    let strategy =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}});
    deploys
        .create(
            &PostParams::default(),
            &deployment("roll", 4, "nginx:1.26", strategy),
        )
        .await
        .expect("create");
    wait(&deploys, "roll", "rolled out", rolled_out).await;

    // Watch every pod change during the rollout.
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watch = tokio::spawn({
        let pods = pods.clone();
        async move {
            let mut stream = watcher(pods, watcher::Config::default().labels("app=roll")).boxed();
            while let Some(Ok(e)) = stream.next().await {
                if tx.send(e).is_err() {
                    return;
                }
            }
        }
    });
    // Let the watch deliver its initial list first.
    let mut seen: BTreeMap<String, Pod> = BTreeMap::new();
    loop {
        match tokio::time::timeout(TIMEOUT, rx.recv())
            .await
            .expect("initial list")
        {
            Some(watcher::Event::InitDone) => break,
            Some(watcher::Event::InitApply(p)) => {
                seen.insert(p.metadata.name.clone().expect("name"), p);
            }
            _ => {}
        }
    }
    assert_eq!(seen.len(), 4);

    deploys
        .patch(
            "roll",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "nginx:1.27", "ports": [{"name": "http", "containerPort": 8080}]}
            ]}}}})),
        )
        .await
        .expect("update image");

    let (mut min_ready, mut max_pods, mut events) = (usize::MAX, 0, 0);
    let done = |seen: &BTreeMap<String, Pod>| {
        seen.len() == 4
            && seen
                .values()
                .all(|p| pod_ready(p) && image_of(p) == "nginx:1.27")
    };
    while !done(&seen) {
        let e = tokio::time::timeout(TIMEOUT, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("rollout stalled; pods: {:#?}", seen.keys()))
            .expect("watch open");
        match e {
            watcher::Event::Apply(p) => {
                seen.insert(p.metadata.name.clone().expect("name"), p);
            }
            watcher::Event::Delete(p) => {
                seen.remove(p.metadata.name.as_deref().expect("name"));
            }
            _ => continue,
        }
        events += 1;
        // Terminating pods (deletionTimestamp set, gone after they stop) do
        // not count, as for the real deployment controller.
        let live: Vec<&Pod> = seen
            .values()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        min_ready = min_ready.min(live.iter().filter(|p| pod_ready(p)).count());
        max_pods = max_pods.max(live.len());
    }
    watch.abort();
    assert!(events > 8, "the watch saw the rollout ({events} events)");
    assert!(
        min_ready >= 3,
        "ready pods never dropped below replicas - maxUnavailable (min {min_ready})"
    );
    assert!(
        max_pods <= 5,
        "pods never exceeded replicas + maxSurge (max {max_pods})"
    );

    let d = wait(&deploys, "roll", "rolled out", rolled_out).await;
    assert_eq!(
        d.metadata.annotations.as_ref().expect("annotations")["deployment.kubernetes.io/revision"],
        "2"
    );
    let rss: Api<ReplicaSet> = Api::default_namespaced(client.clone());
    let mut replicas: Vec<i32> = rss
        .list(&labels("app=roll"))
        .await
        .expect("list")
        .items
        .iter()
        .map(|r| r.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0))
        .collect();
    replicas.sort();
    assert_eq!(
        replicas,
        vec![0, 4],
        "the old ReplicaSet is kept, scaled to zero"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn recreate_replaces_all_pods_at_once() {
    let c = cluster().await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.client());
    deploys
        .create(
            &PostParams::default(),
            &deployment("re", 2, "nginx:1", json!({"type": "Recreate"})),
        )
        .await
        .expect("create");
    wait(&deploys, "re", "rolled out", rolled_out).await;
    deploys
        .patch(
            "re",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"metadata": {"labels": {"v": "2"}}}}})),
        )
        .await
        .expect("update");
    let d = wait(&deploys, "re", "rolled out again", |d| {
        rolled_out(d) && d.metadata.generation == Some(2)
    })
    .await;
    assert_eq!(d.status.and_then(|s| s.updated_replicas), Some(2));
    let pods: Api<Pod> = Api::default_namespaced(c.client());
    let all = wait_list(&pods, &labels("app=re"), "two new pods", |p| p.len() == 2).await;
    assert!(all.iter().all(|p| {
        p.metadata
            .labels
            .as_ref()
            .expect("labels")
            .get("v")
            .is_some()
    }));
}

#[tokio::test]
async fn a_failing_image_exceeds_the_progress_deadline_and_rolls_back() {
    let c = cluster().await;
    let client = c.client();
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    let mut d = deployment("bad", 2, "nginx:1.27", json!({}));
    d.spec.as_mut().expect("spec").progress_deadline_seconds = Some(1);
    deploys
        .create(&PostParams::default(), &d)
        .await
        .expect("create");
    wait(&deploys, "bad", "rolled out", rolled_out).await;

    deploys
        .patch(
            "bad",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "nginx:fail"}
            ]}}}})),
        )
        .await
        .expect("bad image");
    let d = wait(&deploys, "bad", "past its progress deadline", |d| {
        condition(d, "Progressing") == Some(("False", "ProgressDeadlineExceeded"))
    })
    .await;
    assert_eq!(
        condition(&d, "Available"),
        Some(("True", "MinimumReplicasAvailable")),
        "the old pods keep serving"
    );
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let failing: Vec<Pod> = pods
        .list(&labels("app=bad"))
        .await
        .expect("list")
        .items
        .into_iter()
        .filter(|p| image_of(p) == "nginx:fail")
        .collect();
    assert!(!failing.is_empty());
    for p in &failing {
        assert!(!pod_ready(p));
        let cs = &p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.clone())
            .expect("statuses")[0];
        let waiting = cs
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .expect("waiting");
        assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
        assert!(cs.restart_count >= 1);
    }

    // Rolling back to the old template finishes the rollout as revision 3.
    deploys
        .patch(
            "bad",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "nginx:1.27", "ports": [{"name": "http", "containerPort": 8080}]}
            ]}}}})),
        )
        .await
        .expect("roll back");
    let d = wait(&deploys, "bad", "rolled back", rolled_out).await;
    assert_eq!(
        d.metadata.annotations.as_ref().expect("annotations")["deployment.kubernetes.io/revision"],
        "3"
    );
    wait_list(&pods, &labels("app=bad"), "only good pods", |p| {
        p.len() == 2
            && p.iter()
                .all(|p| image_of(p) == "nginx:1.27" && pod_ready(p))
    })
    .await;
}

#[tokio::test]
async fn image_pull_failures_are_reported() {
    let c = cluster().await;
    let pods: Api<Pod> = Api::default_namespaced(c.client());
    let pod: Pod = typed(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "annotations": {"windlass.dev/simulate": "ImagePullBackOff"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }));
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create");
    let p = wait(&pods, "p", "failing to pull", |p| {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some()
    })
    .await;
    let status = p.status.expect("status");
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    let waiting = status.container_statuses.expect("statuses")[0]
        .state
        .clone()
        .and_then(|s| s.waiting)
        .expect("waiting");
    assert_eq!(waiting.reason.as_deref(), Some("ImagePullBackOff"));
}

fn job(name: &str, image: &str, completions: i32, backoff: i32) -> Job {
    typed(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": {"completions": completions, "backoffLimit": backoff, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": image}],
        }}},
    }))
}

fn job_condition(j: &Job, kind: &str) -> bool {
    j.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == kind && c.status == "True"))
}

#[tokio::test]
async fn jobs_complete_and_failing_jobs_fail() {
    let c = cluster().await;
    let jobs: Api<Job> = Api::default_namespaced(c.client());
    jobs.create(&PostParams::default(), &job("ok", "busybox", 2, 6))
        .await
        .expect("create");
    let j = wait(&jobs, "ok", "complete", |j| job_condition(j, "Complete")).await;
    let s = j.status.expect("status");
    assert_eq!(s.succeeded, Some(2));
    assert!(s.completion_time.is_some() && s.start_time.is_some());
    let pods: Api<Pod> = Api::default_namespaced(c.client());
    let done = pods.list(&labels("job-name=ok")).await.expect("list").items;
    assert_eq!(done.len(), 2);
    assert!(
        done.iter()
            .all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded"))
    );

    jobs.create(&PostParams::default(), &job("bad", "busybox:fail", 1, 1))
        .await
        .expect("create");
    let j = wait(&jobs, "bad", "failed", |j| job_condition(j, "Failed")).await;
    let s = j.status.expect("status");
    assert_eq!(s.failed, Some(2), "backoffLimit 1 allows one retry");
    assert!(!job_condition(
        &Job {
            status: Some(s),
            ..Job::default()
        },
        "Complete"
    ));
}

#[tokio::test]
async fn claims_bind_load_balancers_get_an_ip_and_endpoints_follow_pods() {
    let c = cluster().await;
    let client = c.client();
    let pvcs: Api<PersistentVolumeClaim> = Api::default_namespaced(client.clone());
    pvcs.create(
        &PostParams::default(),
        &typed(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})),
    )
    .await
    .expect("create pvc");
    let pvc = wait(&pvcs, "data", "bound", |p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
    })
    .await;
    let volume = pvc.spec.and_then(|s| s.volume_name).expect("volume name");
    assert!(volume.starts_with("pvc-"));

    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    deploys
        .create(
            &PostParams::default(),
            &deployment("api", 2, "nginx", json!({})),
        )
        .await
        .expect("create");
    let services: Api<Service> = Api::default_namespaced(client.clone());
    services
        .create(
            &PostParams::default(),
            &typed(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
                "spec": {"type": "LoadBalancer", "selector": {"app": "api"},
                    "ports": [{"name": "web", "port": 80, "targetPort": "http"}]}}),
            ),
        )
        .await
        .expect("create service");
    let svc = wait(&services, "api", "given an ingress IP", |s| {
        s.status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|l| l.ingress.as_ref())
            .is_some()
    })
    .await;
    let ingress = svc
        .status
        .and_then(|s| s.load_balancer)
        .and_then(|l| l.ingress)
        .expect("ingress");
    assert_eq!(ingress[0].ip.as_deref(), Some("127.0.0.1"));
    assert!(svc.spec.and_then(|s| s.cluster_ip).is_some());

    let endpoints: Api<Endpoints> = Api::default_namespaced(client.clone());
    let ep = wait(&endpoints, "api", "listing two ready pods", |e| {
        e.subsets
            .as_ref()
            .is_some_and(|s| s.len() == 1 && s[0].addresses.as_ref().is_some_and(|a| a.len() == 2))
    })
    .await;
    let subset = &ep.subsets.expect("subsets")[0];
    assert_eq!(
        subset.ports.as_ref().expect("ports")[0].port,
        8080,
        "named targetPort resolved"
    );
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let ips: Vec<String> = pods
        .list(&labels("app=api"))
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|p| p.status.and_then(|s| s.pod_ip))
        .collect();
    for a in subset.addresses.as_ref().expect("addresses") {
        assert!(ips.contains(&a.ip));
    }
    // Scaling to zero empties the Endpoints.
    deploys
        .patch(
            "api",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 0}})),
        )
        .await
        .expect("scale");
    wait(&endpoints, "api", "empty", |e| {
        e.subsets.as_ref().is_none_or(|s| s.is_empty())
    })
    .await;
    services
        .delete("api", &DeleteParams::default())
        .await
        .expect("delete");
    wait_gone(&endpoints, "api").await;
}

async fn pods_of(client: &Client, sel: &str) -> Vec<Pod> {
    Api::<Pod>::default_namespaced(client.clone())
        .list(&labels(sel))
        .await
        .expect("list")
        .items
}

#[tokio::test]
async fn background_deletion_removes_dependents_after_the_owner() {
    let c = cluster().await;
    let client = c.client();
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    deploys
        .create(
            &PostParams::default(),
            &deployment("bg", 2, "nginx", json!({})),
        )
        .await
        .expect("create");
    wait(&deploys, "bg", "rolled out", rolled_out).await;
    deploys
        .delete("bg", &DeleteParams::background())
        .await
        .expect("delete");
    assert!(
        deploys.get_opt("bg").await.expect("get").is_none(),
        "the owner goes first"
    );
    let rss: Api<ReplicaSet> = Api::default_namespaced(client.clone());
    wait_list(&rss, &labels("app=bg"), "no ReplicaSets", |l| l.is_empty()).await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    wait_list(&pods, &labels("app=bg"), "no pods", |l| l.is_empty()).await;
}

#[tokio::test]
async fn foreground_deletion_keeps_the_owner_until_dependents_are_gone() {
    let c = cluster().await;
    let client = c.client();
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    deploys
        .create(
            &PostParams::default(),
            &deployment("fg", 2, "nginx", json!({})),
        )
        .await
        .expect("create");
    wait(&deploys, "fg", "rolled out", rolled_out).await;
    let rss: Api<ReplicaSet> = Api::default_namespaced(client.clone());

    // Watch the Deployment and its ReplicaSet to see the order of removal.
    let deleted = deploys
        .delete("fg", &DeleteParams::foreground())
        .await
        .expect("delete");
    let d = deleted
        .left()
        .expect("the owner is kept while dependents go");
    assert!(d.metadata.deletion_timestamp.is_some());
    assert!(
        d.metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| f.iter().any(|f| f == "foregroundDeletion"))
    );
    wait_gone(&deploys, "fg").await;
    assert!(
        rss.list(&labels("app=fg"))
            .await
            .expect("list")
            .items
            .is_empty(),
        "ReplicaSet gone before the owner"
    );
    assert!(
        pods_of(&client, "app=fg").await.is_empty(),
        "pods gone before the owner"
    );
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_owner_references() {
    let c = cluster().await;
    let client = c.client();
    let rss: Api<ReplicaSet> = Api::default_namespaced(client.clone());
    rss.create(
        &PostParams::default(),
        &typed(
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "orph"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "orph"}},
                "template": {"metadata": {"labels": {"app": "orph"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}),
        ),
    )
    .await
    .expect("create");
    wait(&rss, "orph", "ready", |r| {
        r.status.as_ref().and_then(|s| s.ready_replicas) == Some(2)
    })
    .await;
    rss.delete("orph", &DeleteParams::orphan())
        .await
        .expect("delete");
    wait_gone(&rss, "orph").await;
    let pods = pods_of(&client, "app=orph").await;
    assert_eq!(pods.len(), 2, "pods survive");
    assert!(pods.iter().all(|p| {
        p.metadata
            .owner_references
            .as_ref()
            .is_none_or(|r| r.is_empty())
    }));
    // And they stay: nothing collects them later.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(pods_of(&client, "app=orph").await.len(), 2);

    // A dependent whose owner never existed is collected.
    let pods_api: Api<Pod> = Api::default_namespaced(client.clone());
    pods_api
        .create(
            &PostParams::default(),
            &typed(
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray",
                "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "gone",
                    "uid": "00000000-0000-4000-8000-000000000000"}]},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
            ),
        )
        .await
        .expect("create");
    wait_gone(&pods_api, "stray").await;
}

#[tokio::test]
async fn deleting_a_namespace_terminates_it_and_its_workloads() {
    let c = cluster().await;
    let client = c.client();
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &typed(json!({"metadata": {"name": "doomed"}})),
    )
    .await
    .expect("create ns");
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "doomed");
    deploys
        .create(
            &PostParams::default(),
            &deployment("w", 2, "nginx", json!({})),
        )
        .await
        .expect("create");
    wait(&deploys, "w", "rolled out", rolled_out).await;
    // An object with a finalizer holds the namespace in Terminating.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    cms.create(
        &PostParams::default(),
        &typed(json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})),
    )
    .await
    .expect("create");
    let deleted = nss
        .delete("doomed", &DeleteParams::default())
        .await
        .expect("delete");
    let ns = deleted.left().expect("the namespace terminates first");
    assert_eq!(
        ns.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    assert!(ns.metadata.deletion_timestamp.is_some());
    // The workloads go; the held ConfigMap waits for its finalizer.
    wait_list(&deploys, &ListParams::default(), "workloads gone", |d| {
        d.is_empty()
    })
    .await;
    let held = cms.get("held").await.expect("held");
    assert!(held.metadata.deletion_timestamp.is_some());
    // Nothing new may be created in a terminating namespace.
    let err = cms
        .create(
            &PostParams::default(),
            &typed(json!({"metadata": {"name": "late"}})),
        )
        .await
        .expect_err("forbidden");
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
            assert!(
                s.message.contains("because it is being terminated"),
                "{}",
                s.message
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        nss.get("doomed")
            .await
            .expect("still there")
            .status
            .and_then(|s| s.phase)
            .as_deref(),
        Some("Terminating")
    );
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release");
    wait_gone(&nss, "doomed").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "doomed");
    assert!(
        pods.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn stateful_sets_get_ordered_pods_and_daemon_sets_one_per_node() {
    let c = cluster().await;
    let client = c.client();
    let sts: Api<StatefulSet> = Api::default_namespaced(client.clone());
    sts.create(
        &PostParams::default(),
        &typed(json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "c", "image": "postgres"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})),
    )
    .await
    .expect("create");
    let s = wait(&sts, "db", "ready", |s| {
        s.status.as_ref().is_some_and(|st| {
            st.ready_replicas == Some(3)
                && st.current_revision.is_some()
                && st.current_revision == st.update_revision
        })
    })
    .await;
    assert_eq!(s.status.as_ref().and_then(|s| s.updated_replicas), Some(3));
    let mut names: Vec<String> = pods_of(&client, "app=db")
        .await
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    names.sort();
    assert_eq!(names, ["db-0", "db-1", "db-2"]);
    let pvcs: Api<PersistentVolumeClaim> = Api::default_namespaced(client.clone());
    wait(&pvcs, "data-db-2", "bound", |p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
    })
    .await;

    // An update rolls every pod to the new revision.
    sts.patch(
        "db",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"template": {"metadata": {"labels": {"v": "2"}}}}})),
    )
    .await
    .expect("update");
    wait(&sts, "db", "updated", |s| {
        s.status.as_ref().is_some_and(|st| {
            st.updated_replicas == Some(3)
                && st.ready_replicas == Some(3)
                && st.current_revision == st.update_revision
                && st.observed_generation == s.metadata.generation
        })
    })
    .await;

    let dss: Api<DaemonSet> = Api::default_namespaced(client.clone());
    dss.create(
        &PostParams::default(),
        &typed(
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "c", "image": "fluentd"}]}}}}),
        ),
    )
    .await
    .expect("create");
    let ds = wait(&dss, "agent", "ready", |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.number_ready == 1 && s.updated_number_scheduled == Some(1))
    })
    .await;
    let s = ds.status.expect("status");
    assert_eq!(
        (s.desired_number_scheduled, s.number_available),
        (1, Some(1))
    );
    let pods = pods_of(&client, "app=agent").await;
    assert_eq!(pods.len(), 1);
    assert_eq!(
        pods[0].spec.as_ref().and_then(|s| s.node_name.as_deref()),
        Some("windlass-node")
    );
}

#[tokio::test]
async fn cron_jobs_create_jobs_on_schedule() {
    let c = cluster().await;
    let cjs: Api<CronJob> = Api::default_namespaced(c.client());
    // Every second, as Kubernetes' parser (robfig/cron) reads `@every`.
    cjs.create(
        &PostParams::default(),
        &typed(json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
            "spec": {"schedule": "@every 1s", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}})),
    )
    .await
    .expect("create");
    let cj = wait(&cjs, "tick", "scheduled", |c| {
        c.status
            .as_ref()
            .and_then(|s| s.last_schedule_time.as_ref())
            .is_some()
    })
    .await;
    let jobs: Api<Job> = Api::default_namespaced(c.client());
    let list = wait_list(&jobs, &ListParams::default(), "a job", |j| !j.is_empty()).await;
    let owner = &list[0].metadata.owner_references.as_ref().expect("owned")[0];
    assert_eq!(owner.uid, cj.metadata.uid.expect("uid"));
    assert!(
        list[0]
            .metadata
            .name
            .as_deref()
            .expect("name")
            .starts_with("tick-")
    );
    // Finished jobs beyond successfulJobsHistoryLimit (3) are removed.
    wait_list(&jobs, &ListParams::default(), "history trimmed", |j| {
        j.iter().filter(|j| job_condition(j, "Complete")).count() == 3
    })
    .await;
    cjs.delete("tick", &DeleteParams::default())
        .await
        .expect("delete");
    wait_list(&jobs, &ListParams::default(), "jobs collected", |j| {
        j.is_empty()
    })
    .await;
}

#[tokio::test]
async fn controllers_can_be_switched_off() {
    let c = EmbeddedCluster::start(Config {
        controllers: Controllers::none(),
        ..Config::default()
    })
    .await
    .expect("cluster starts");
    let deploys: Api<Deployment> = Api::default_namespaced(c.client());
    deploys
        .create(
            &PostParams::default(),
            &deployment("idle", 1, "nginx", json!({})),
        )
        .await
        .expect("create");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss: Api<ReplicaSet> = Api::default_namespaced(c.client());
    assert!(
        rss.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert!(deploys.get("idle").await.expect("get").status.is_none());
}

#[tokio::test]
async fn min_ready_seconds_delays_availability() {
    let c = cluster().await;
    let deploys: Api<Deployment> = Api::default_namespaced(c.client());
    let mut d = deployment("slow", 1, "nginx", json!({}));
    d.spec.as_mut().expect("spec").min_ready_seconds = Some(2);
    deploys
        .create(&PostParams::default(), &d)
        .await
        .expect("create");
    // Ready first, but not yet available: Argo CD sees it progressing.
    let d = wait(&deploys, "slow", "ready", |d| {
        d.status.as_ref().and_then(|s| s.ready_replicas) == Some(1)
    })
    .await;
    let status = d.status.clone().expect("status");
    assert_eq!(status.available_replicas.unwrap_or(0), 0, "{status:?}");
    assert_eq!(status.unavailable_replicas, Some(1));
    assert_eq!(
        condition(&d, "Available"),
        Some(("False", "MinimumReplicasUnavailable"))
    );
    let pods: Api<Pod> = Api::default_namespaced(c.client());
    let pod = &pods.list(&labels("app=slow")).await.expect("list").items[0];
    let ready_since = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.last_transition_time.clone())
        .expect("ready since")
        .0;

    let d = wait(&deploys, "slow", "available", rolled_out).await;
    let available_at = jiff::Timestamp::now();
    assert!(
        available_at.as_second() >= ready_since.as_second() + 2,
        "available at {available_at}, ready since {ready_since}"
    );
    let rs: Api<ReplicaSet> = Api::default_namespaced(c.client());
    let rs = &rs.list(&labels("app=slow")).await.expect("list").items[0];
    assert_eq!(rs.spec.as_ref().and_then(|s| s.min_ready_seconds), Some(2));
    assert_eq!(
        rs.status.as_ref().and_then(|s| s.available_replicas),
        Some(1)
    );
    assert_eq!(
        d.status.and_then(|s| s.unavailable_replicas),
        None,
        "nothing unavailable once available"
    );
}

fn sleeper(name: &str, grace: Option<i64>) -> Pod {
    let mut spec = json!({"containers": [{"name": "c", "image": "busybox"}]});
    if let Some(g) = grace {
        spec["terminationGracePeriodSeconds"] = json!(g);
    }
    typed(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}))
}

async fn running(pods: &Api<Pod>, name: &str) {
    pods.create(&PostParams::default(), &sleeper(name, None))
        .await
        .expect("create");
    wait(pods, name, "running", pod_ready).await;
}

#[tokio::test]
async fn pod_deletion_honours_the_grace_period() {
    // Containers that ignore SIGTERM: every pod takes its whole grace period.
    let c = EmbeddedCluster::start(Config {
        controllers: Controllers {
            pod_start_delay: Duration::ZERO,
            pod_stop_delay: Duration::MAX,
            ..Controllers::default()
        },
        ..Config::default()
    })
    .await
    .expect("cluster starts");
    let pods: Api<Pod> = Api::default_namespaced(c.client());

    // terminationGracePeriodSeconds: 1.
    pods.create(&PostParams::default(), &sleeper("one", Some(1)))
        .await
        .expect("create");
    wait(&pods, "one", "running", pod_ready).await;
    let started = std::time::Instant::now();
    let answer = pods
        .delete("one", &DeleteParams::default())
        .await
        .expect("delete")
        .left()
        .expect("the pod is still there, terminating");
    assert!(answer.metadata.deletion_timestamp.is_some());
    assert_eq!(answer.metadata.deletion_grace_period_seconds, Some(1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let terminating = pods.get_opt("one").await.expect("get");
    assert!(
        terminating.is_some_and(|p| p.metadata.deletion_timestamp.is_some()),
        "still terminating within its grace period"
    );
    wait_gone(&pods, "one").await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(3),
        "gone after the 1 s grace period: {took:?}"
    );

    // gracePeriodSeconds=0 (kubectl --grace-period=0 --force): at once, also
    // for a pod already terminating with a long grace period.
    running(&pods, "long").await;
    let t = pods
        .delete("long", &DeleteParams::default())
        .await
        .expect("delete")
        .left()
        .expect("terminating");
    assert_eq!(t.metadata.deletion_grace_period_seconds, Some(30));
    let forced = pods
        .delete(
            "long",
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..DeleteParams::default()
            },
        )
        .await
        .expect("force delete");
    assert!(forced.is_left(), "answers with the last state");
    assert!(
        pods.get_opt("long").await.expect("get").is_none(),
        "gone at once"
    );

    // A later DELETE may shorten the grace period (never lengthen it).
    running(&pods, "shortened").await;
    pods.delete("shortened", &DeleteParams::default())
        .await
        .expect("delete");
    let started = std::time::Instant::now();
    let again = pods
        .delete(
            "shortened",
            &DeleteParams {
                grace_period_seconds: Some(1),
                ..DeleteParams::default()
            },
        )
        .await
        .expect("delete again")
        .left()
        .expect("terminating");
    assert_eq!(again.metadata.deletion_grace_period_seconds, Some(1));
    wait_gone(&pods, "shortened").await;
    assert!(started.elapsed() < Duration::from_secs(3));

    // A pod that never ran (not scheduled) or has finished goes at once.
    let done: Pod = typed(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "done"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}),
    );
    pods.create(&PostParams::default(), &done)
        .await
        .expect("create");
    wait(&pods, "done", "succeeded", |p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded")
    })
    .await;
    assert!(
        pods.delete("done", &DeleteParams::default())
            .await
            .expect("delete")
            .is_left()
    );
    assert!(pods.get_opt("done").await.expect("get").is_none());
    c.shutdown().await;
}

#[tokio::test]
async fn pods_stop_as_soon_as_their_containers_do() {
    // Default: containers stop 100 ms after SIGTERM, well within 30 s.
    let c = cluster().await;
    let pods: Api<Pod> = Api::default_namespaced(c.client());
    running(&pods, "quick").await;
    let started = std::time::Instant::now();
    let answer = pods
        .delete("quick", &DeleteParams::default())
        .await
        .expect("delete")
        .left()
        .expect("terminating first");
    assert_eq!(answer.metadata.deletion_grace_period_seconds, Some(30));
    wait_gone(&pods, "quick").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
