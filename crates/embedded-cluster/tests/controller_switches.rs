//! Each simulated controller can be switched off on its own: with one switch
//! off, its effect never shows up while the controllers it does not govern
//! keep working.
//!
//! "Never" is checked once the controllers have handled everything created
//! before ([`caught_up`]), never after a fixed sleep.

use std::future::Future;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use windlass_embedded_cluster::{Config, Controllers, EmbeddedCluster};

mod support;

use support::{Witness, caught_up};

/// Whether `check` turns true within a generous deadline.
async fn eventually<F: Future<Output = bool>>(mut check: impl FnMut() -> F) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn typed<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("valid object")
}

fn template(app: &str) -> Value {
    json!({"metadata": {"labels": {"app": app}},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
}

async fn create(client: &Client, path_kind: &str, object: Value) {
    let (group, version) = match object["apiVersion"].as_str().expect("apiVersion") {
        v if v.contains('/') => v.split_once('/').expect("group/version"),
        v => ("", v),
    };
    let ar = kube::api::ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk(group, version, object["kind"].as_str().expect("kind")),
        path_kind,
    );
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    api.create(&PostParams::default(), &typed(object))
        .await
        .unwrap_or_else(|e| panic!("create {path_kind}: {e}"));
}

async fn pods(client: &Client, selector: &str) -> Vec<Pod> {
    Api::<Pod>::default_namespaced(client.clone())
        .list(&ListParams::default().labels(selector))
        .await
        .expect("list pods")
        .items
}

/// Creates what `off` governs, waits until the controllers that are on have
/// handled it, and returns what is missing or present that should not be
/// (empty: the switch works).
async fn scenario(off: &str, client: &Client) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut check = |ok: bool, what: &str| {
        if !ok {
            wrong.push(what.to_owned());
        }
    };
    match off {
        "deployments" | "replica_sets" => {
            create(client, "deployments", json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "d"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}}, "template": template("d")}}))
            .await;
            let rs_api = Api::<ReplicaSet>::default_namespaced(client.clone());
            let list = || async {
                rs_api
                    .list(&ListParams::default())
                    .await
                    .expect("list")
                    .items
            };
            if off == "replica_sets" {
                // The ReplicaSet's own change must be handled too.
                eventually(|| async { !list().await.is_empty() }).await;
            }
            caught_up(client, Witness::Claim).await;
            let rss = list().await;
            if off == "deployments" {
                check(
                    rss.is_empty(),
                    "no ReplicaSet without the deployment controller",
                );
            } else {
                check(
                    rss.len() == 1,
                    "the deployment controller still makes a ReplicaSet",
                );
                check(
                    pods(client, "app=d").await.is_empty(),
                    "no pods without the replica set controller",
                );
            }
        }
        "pods" => {
            create(
                client,
                "pods",
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
            )
            .await;
            caught_up(client, Witness::Claim).await;
            let p = Api::<Pod>::default_namespaced(client.clone())
                .get("p")
                .await
                .expect("get");
            let spec = p.spec.expect("spec");
            check(spec.node_name.is_none(), "the pod is not scheduled");
            check(
                p.status.and_then(|s| s.container_statuses).is_none(),
                "the pod's containers never start",
            );
        }
        "stateful_sets" | "daemon_sets" | "jobs" => {
            let object = match off {
                "stateful_sets" => json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                    "metadata": {"name": "w"},
                    "spec": {"replicas": 1, "serviceName": "w", "selector": {"matchLabels": {"app": "w"}},
                             "template": template("w")}}),
                "daemon_sets" => json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                    "metadata": {"name": "w"},
                    "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": template("w")}}),
                _ => {
                    let mut t = template("w");
                    t["spec"]["restartPolicy"] = json!("Never");
                    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "w"},
                        "spec": {"template": t}})
                }
            };
            let plural = match off {
                "stateful_sets" => "statefulsets",
                "daemon_sets" => "daemonsets",
                _ => "jobs",
            };
            create(client, plural, object).await;
            // A bare pod still runs: the pod controller is on.
            create(
                client,
                "pods",
                json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "bare", "labels": {"app": "bare"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
            )
            .await;
            // Handled after the workload, so its running shows the workload
            // was handled.
            let runs = eventually(|| async {
                pods(client, "app=bare")
                    .await
                    .first()
                    .and_then(|p| p.status.as_ref())
                    .and_then(|s| s.phase.as_deref())
                    == Some("Running")
            })
            .await;
            check(runs, "the bare pod still runs");
            check(
                pods(client, "app=w").await.is_empty(),
                "no pods for the workload",
            );
        }
        "cron_jobs" => {
            create(client, "cronjobs", json!({"apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"name": "tick"},
                "spec": {"schedule": "* * * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}}))
            .await;
            // The schedule's first time is due within a second; a timer
            // that fires later is the witness: a pod whose containers
            // ignore SIGTERM, deleted with a 2 s grace period, goes when its
            // timer fires.
            let pods_api = Api::<Pod>::default_namespaced(client.clone());
            create(
                client,
                "pods",
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "clock"},
                "spec": {"terminationGracePeriodSeconds": 2,
                         "containers": [{"name": "c", "image": "nginx"}]}}),
            )
            .await;
            let scheduled = eventually(|| async {
                pods_api
                    .get("clock")
                    .await
                    .expect("get")
                    .spec
                    .and_then(|s| s.node_name)
                    .is_some()
            })
            .await;
            check(scheduled, "the clock pod is scheduled");
            pods_api
                .delete("clock", &DeleteParams::default())
                .await
                .expect("delete");
            let gone =
                eventually(|| async { pods_api.get_opt("clock").await.expect("get").is_none() })
                    .await;
            check(gone, "the clock pod goes after its grace period");
            let jobs = Api::<k8s_openapi::api::batch::v1::Job>::default_namespaced(client.clone())
                .list(&ListParams::default())
                .await
                .expect("list")
                .items;
            check(jobs.is_empty(), "no Jobs from the schedule");
        }
        "services" | "endpoints" => {
            create(client, "services", json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "s"},
                "spec": {"type": "LoadBalancer", "selector": {"app": "e"}, "ports": [{"port": 80}]}}))
            .await;
            create(
                client,
                "pods",
                json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "e", "labels": {"app": "e"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
            )
            .await;
            let addresses = || async {
                Api::<Endpoints>::default_namespaced(client.clone())
                    .get_opt("s")
                    .await
                    .expect("get")
                    .and_then(|e| e.subsets)
                    .unwrap_or_default()
                    .into_iter()
                    .flat_map(|s| s.addresses.unwrap_or_default())
                    .count()
            };
            if off == "services" {
                // The pod's address comes after the Service was handled.
                let follows = eventually(|| async { addresses().await == 1 }).await;
                check(follows, "Endpoints still follow the pod");
            } else {
                // Endpoints would follow the pod once it is ready.
                let ready = eventually(|| async {
                    pods(client, "app=e")
                        .await
                        .first()
                        .and_then(|p| p.status.as_ref())
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
                })
                .await;
                check(ready, "the pod gets ready");
                caught_up(client, Witness::Claim).await;
                check(addresses().await == 0, "no Endpoints addresses");
            }
            let ingress = Api::<Service>::default_namespaced(client.clone())
                .get("s")
                .await
                .expect("get")
                .status
                .and_then(|s| s.load_balancer)
                .and_then(|lb| lb.ingress)
                .unwrap_or_default();
            if off == "services" {
                check(ingress.is_empty(), "no load balancer IP");
            } else {
                check(ingress.len() == 1, "the load balancer still gets an IP");
            }
        }
        "ingresses" => {
            create(
                client,
                "ingresses",
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "web"},
                "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}),
            )
            .await;
            caught_up(client, Witness::Claim).await;
            let ingress = Api::<Ingress>::default_namespaced(client.clone())
                .get("web")
                .await
                .expect("get");
            check(
                ingress
                    .status
                    .and_then(|s| s.load_balancer)
                    .and_then(|l| l.ingress)
                    .is_none_or(|i| i.is_empty()),
                "no load-balancer address",
            );
        }
        "persistent_volume_claims" => {
            create(client, "persistentvolumeclaims", json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}))
            .await;
            caught_up(client, Witness::LoadBalancer).await;
            let pvc = Api::<PersistentVolumeClaim>::default_namespaced(client.clone())
                .get("data")
                .await
                .expect("get");
            check(
                pvc.status.and_then(|s| s.phase).as_deref() != Some("Bound"),
                "the claim is not bound",
            );
        }
        "garbage_collector" => {
            let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
            let owner = cms
                .create(
                    &PostParams::default(),
                    &typed(json!({"metadata": {"name": "owner"}})),
                )
                .await
                .expect("create");
            let dependent: ConfigMap = typed(json!({"metadata": {"name": "dependent",
                "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                     "uid": owner.meta().uid.clone().expect("uid")}]}}));
            cms.create(&PostParams::default(), &dependent)
                .await
                .expect("create");
            cms.delete("owner", &DeleteParams::foreground())
                .await
                .expect("delete");
            caught_up(client, Witness::Claim).await;
            check(
                cms.get_opt("owner").await.expect("get").is_none(),
                "the owner is deleted at once",
            );
            check(
                cms.get_opt("dependent").await.expect("get").is_some(),
                "the dependent stays",
            );
        }
        other => panic!("no scenario for {other}"),
    }
    wrong
}

/// Turns one controller off.
type SwitchOff = fn(&mut Controllers);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_controller_switches_off_on_its_own() {
    let switches: [(&str, SwitchOff); 12] = [
        ("deployments", |c| c.deployments = false),
        ("replica_sets", |c| c.replica_sets = false),
        ("pods", |c| c.pods = false),
        ("stateful_sets", |c| c.stateful_sets = false),
        ("daemon_sets", |c| c.daemon_sets = false),
        ("jobs", |c| c.jobs = false),
        ("cron_jobs", |c| c.cron_jobs = false),
        ("services", |c| c.services = false),
        ("endpoints", |c| c.endpoints = false),
        ("ingresses", |c| c.ingresses = false),
        ("persistent_volume_claims", |c| {
            c.persistent_volume_claims = false
        }),
        ("garbage_collector", |c| c.garbage_collector = false),
    ];
    // All at once: each scenario mostly waits.
    let runs = switches.map(|(name, off)| async move {
        // Pods start at once, and containers ignore SIGTERM (the cron
        // scenario's clock takes its whole grace period).
        let mut controllers = Controllers {
            pod_start_delay: Duration::ZERO,
            pod_stop_delay: Duration::MAX,
            ..Controllers::default()
        };
        off(&mut controllers);
        let cluster = EmbeddedCluster::start(Config {
            controllers,
            ..Config::default()
        })
        .await
        .expect("cluster starts");
        let wrong = scenario(name, &cluster.client()).await;
        cluster.shutdown().await;
        (name, wrong)
    });
    let failures: Vec<(&str, Vec<String>)> = futures::future::join_all(runs)
        .await
        .into_iter()
        .filter(|(_, wrong)| !wrong.is_empty())
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
