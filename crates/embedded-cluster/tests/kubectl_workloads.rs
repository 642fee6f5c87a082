//! Workload commands of the real `kubectl` against the simulated
//! controllers: `rollout status`, `wait --for=condition=Available` and
//! cascading deletes. Each checks the cluster's state through `kube` too.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

mod support;

use support::{setup, setup_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_and_wait_for_available_succeed() {
    let s = setup().await;
    s.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--replicas=3",
    ])
    .await;
    let out = s
        .ok(&["rollout", "status", "deployment/web", "--timeout=20s"])
        .await;
    assert!(
        out.contains("deployment \"web\" successfully rolled out"),
        "{out}"
    );
    let out = s
        .ok(&[
            "wait",
            "--for=condition=Available",
            "deployment/web",
            "--timeout=20s",
        ])
        .await;
    assert_eq!(out.trim(), "deployment.apps/web condition met");
    let d: Deployment = Api::default_namespaced(s.cluster.client())
        .get("web")
        .await
        .expect("get");
    assert_eq!(d.status.and_then(|s| s.available_replicas), Some(3));

    // A new image rolls out too; `rollout history` sees both revisions.
    s.ok(&[
        "patch",
        "deployment/web",
        "--type=merge",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}"#,
    ])
    .await;
    let out = s
        .ok(&["rollout", "status", "deployment/web", "--timeout=20s"])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let pods: Api<Pod> = Api::default_namespaced(s.cluster.client());
    let images: Vec<String> = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list")
        .items
        .iter()
        // Old pods may still be terminating, as in a real cluster.
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.spec.as_ref()?.containers[0].image.clone())
        .collect();
    assert_eq!(images, vec!["nginx:1.28"; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_reports_an_exceeded_progress_deadline() {
    let s = setup().await;
    s.ok(&["create", "deployment", "bad", "--image=nginx:1.27"])
        .await;
    s.ok(&["rollout", "status", "deployment/bad", "--timeout=20s"])
        .await;
    s.ok(&[
        "patch",
        "deployment/bad",
        "--type=merge",
        "-p",
        r#"{"spec":{"progressDeadlineSeconds":1,"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:fail"}]}}}}"#,
    ])
    .await;
    let out = s
        .kubectl(&["rollout", "status", "deployment/bad", "--timeout=20s"])
        .await;
    assert!(!out.ok, "a stuck rollout fails: {}", out.stdout);
    assert!(
        out.stderr.contains("exceeded its progress deadline"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascading_deletes_follow_the_propagation_policy() {
    let s = setup().await;
    for name in ["fg", "orphan"] {
        s.ok(&[
            "create",
            "deployment",
            name,
            "--image=nginx",
            "--replicas=2",
        ])
        .await;
        s.ok(&[
            "rollout",
            "status",
            &format!("deployment/{name}"),
            "--timeout=20s",
        ])
        .await;
    }
    // --cascade=foreground waits for the dependents before the owner goes.
    s.ok(&[
        "delete",
        "deployment/fg",
        "--cascade=foreground",
        "--wait=true",
        "--timeout=20s",
    ])
    .await;
    let pods: Api<Pod> = Api::default_namespaced(s.cluster.client());
    let rss: Api<ReplicaSet> = Api::default_namespaced(s.cluster.client());
    assert!(
        pods.list(&ListParams::default().labels("app=fg"))
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert!(
        rss.list(&ListParams::default().labels("app=fg"))
            .await
            .expect("list")
            .items
            .is_empty()
    );
    // --cascade=orphan leaves the ReplicaSet and its pods behind.
    s.ok(&[
        "delete",
        "deployment/orphan",
        "--cascade=orphan",
        "--wait=true",
        "--timeout=20s",
    ])
    .await;
    let left = rss
        .list(&ListParams::default().labels("app=orphan"))
        .await
        .expect("list")
        .items;
    assert_eq!(left.len(), 1);
    assert!(
        left[0]
            .metadata
            .owner_references
            .as_ref()
            .is_none_or(|r| r.is_empty())
    );
    assert_eq!(
        pods.list(&ListParams::default().labels("app=orphan"))
            .await
            .expect("list")
            .items
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_pod_waits_for_the_grace_period_unless_forced() {
    use std::time::Duration;
    use windlass_embedded_cluster::{Config, Controllers};
    // Containers ignore SIGTERM: a pod takes its whole grace period.
    let s = setup_with(Config {
        controllers: Controllers {
            pod_start_delay: Duration::ZERO,
            pod_stop_delay: Duration::MAX,
            ..Controllers::default()
        },
        ..Config::default()
    })
    .await;
    let pod = |name: &str| {
        let path = s.home.path().join(format!("{name}.json"));
        let json = format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}"}},"spec":{{"terminationGracePeriodSeconds":2,"containers":[{{"name":"c","image":"busybox"}}]}}}}"#
        );
        std::fs::write(&path, json).expect("write");
        path
    };
    for name in ["graceful", "forced"] {
        let file = pod(name);
        s.ok(&["apply", "-f", file.to_str().expect("utf-8")]).await;
    }
    s.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/graceful",
        "pod/forced",
        "--timeout=20s",
    ])
    .await;

    // Without waiting: the pod shows Terminating within its grace period.
    let out = s.ok(&["delete", "pod", "graceful", "--wait=false"]).await;
    assert_eq!(out.trim(), "pod \"graceful\" deleted");
    let table = s.ok(&["get", "pod", "graceful"]).await;
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("Terminating")),
        "{table}"
    );
    let api: Api<Pod> = Api::default_namespaced(s.cluster.client());
    let p = api.get("graceful").await.expect("still there");
    assert_eq!(p.metadata.deletion_grace_period_seconds, Some(2));
    // `kubectl wait --for=delete` returns once the kubelet removed it, not
    // before the deletionTimestamp the server announced.
    s.ok(&["wait", "--for=delete", "pod/graceful", "--timeout=20s"])
        .await;
    let due = p.metadata.deletion_timestamp.expect("deletionTimestamp").0;
    assert!(jiff::Timestamp::now() >= due, "removed before {due}");
    assert!(api.get_opt("graceful").await.expect("get").is_none());

    // --grace-period=0 --force: gone at once (kubectl warns, as it does
    // against a real cluster).
    let out = s
        .kubectl(&["delete", "pod", "forced", "--grace-period=0", "--force"])
        .await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout.contains("pod \"forced\" force deleted"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("Immediate deletion does not wait for confirmation"),
        "{}",
        out.stderr
    );
    assert!(api.get_opt("forced").await.expect("get").is_none());
    s.cluster.shutdown().await;
}

/// `kubectl create job --from=cronjob/...` sends the Job as protobuf, where a
/// pointer field set to its zero value (`backoffLimit: 0`, `runAsUser: 0`,
/// `automountServiceAccountToken: false`, `emptyDir: {}`) is present on the
/// wire: it must survive decoding instead of being dropped (and defaulted).
/// Fields that are no pointers keep their JSON omission (`paused: false` is
/// not added to a Deployment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_bodies_keep_zero_values_that_were_set() {
    let s = setup().await;
    let cronjob = support::fixture("cronjob-zero-values.yaml");
    s.ok(&["create", "-f", cronjob.to_str().expect("utf-8 path")])
        .await;
    s.ok(&["create", "job", "manual", "--from=cronjob/nightly"])
        .await;
    let job: k8s_openapi::api::batch::v1::Job = Api::default_namespaced(s.cluster.client())
        .get("manual")
        .await
        .expect("get");
    let spec = job.spec.expect("spec");
    assert_eq!(spec.backoff_limit, Some(0));
    let pod = spec.template.spec.expect("pod spec");
    assert_eq!(pod.automount_service_account_token, Some(false));
    let security = pod.security_context.expect("securityContext");
    assert_eq!(
        (security.run_as_user, security.run_as_non_root),
        (Some(0), Some(false))
    );
    let volumes = pod.volumes.expect("volumes");
    assert!(
        volumes[0].empty_dir.is_some(),
        "the volume keeps its source: {volumes:?}"
    );
    // Fields Go inlines into their parent (a probe's handler, a reference's name).
    let container = &pod.containers[0];
    let probe = container.readiness_probe.as_ref().expect("readinessProbe");
    assert_eq!(
        probe.http_get.as_ref().and_then(|h| h.path.as_deref()),
        Some("/ready")
    );
    let env = container.env.as_ref().expect("env");
    let from = env[0]
        .value_from
        .as_ref()
        .and_then(|v| v.config_map_key_ref.as_ref());
    assert_eq!(
        from.map(|r| (r.name.as_str(), r.key.as_str())),
        Some(("settings", "mode"))
    );

    s.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=0",
    ])
    .await;
    let raw = s
        .ok(&["get", "deployment", "web", "-o", "jsonpath={.spec}"])
        .await;
    let spec: serde_json::Value = serde_json::from_str(&raw).expect("json");
    assert_eq!(spec["replicas"], 0);
    for absent in ["paused", "minReadySeconds"] {
        assert!(spec.get(absent).is_none(), "{absent} in {spec}");
    }
}
