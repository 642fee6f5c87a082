//! Health checks, table-tested against the cases Argo CD's own tests cover (gitops-engine
//! `pkg/health` testdata, Argo CD's Rollout customization tests), each asserting the
//! status and the message a user sees. Fixtures are written here, trimmed to the fields
//! the rules read plus enough context to look like live objects.

use HealthStatusCode::*;
use serde_json::{Value, json};
use windlass_reconciler::health::{
    CustomHealthCheck, HealthChecks, HealthStatusCode, ResourceHealth, is_worse, severity, worst,
};

/// (case name, object, expected status, expected message)
type Case = (&'static str, Value, HealthStatusCode, Option<&'static str>);

fn run(cases: Vec<Case>) {
    let checks = HealthChecks::new();
    let mut failures = Vec::new();
    for (name, obj, status, message) in cases {
        let got = checks.check(&obj);
        let want = ResourceHealth {
            status,
            message: message.map(str::to_owned),
        };
        if got.as_ref() != Some(&want) {
            failures.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn status_of(checks: &HealthChecks, obj: &Value) -> (HealthStatusCode, Option<String>) {
    let h = checks.check(obj).expect("a health");
    (h.status, h.message)
}

fn deployment(spec: Value, status: Value, generation: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "guestbook", "namespace": "default", "generation": generation},
        "spec": spec, "status": status,
    })
}

#[test]
fn deployment_health() {
    let ready = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                       {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
    run(vec![
        (
            "healthy",
            deployment(json!({"replicas": 3}), ready.clone(), 2),
            Healthy,
            None,
        ),
        (
            "paused wins over everything",
            deployment(json!({"replicas": 3, "paused": true}), json!({}), 5),
            Suspended,
            Some("Deployment is paused"),
        ),
        (
            "new generation not observed",
            deployment(json!({"replicas": 3}), ready.clone(), 3),
            Progressing,
            Some(
                "Waiting for rollout to finish: observed deployment generation less than desired generation",
            ),
        ),
        (
            "new replicas being updated",
            deployment(
                json!({"replicas": 3}),
                json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3}),
                2,
            ),
            Progressing,
            Some("Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."),
        ),
        (
            "old replicas terminating",
            deployment(
                json!({"replicas": 3}),
                json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}),
                2,
            ),
            Progressing,
            Some("Waiting for rollout to finish: 1 old replicas are pending termination..."),
        ),
        (
            "updated replicas not available",
            deployment(
                json!({"replicas": 3}),
                json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}),
                2,
            ),
            Progressing,
            Some("Waiting for rollout to finish: 1 of 3 updated replicas are available..."),
        ),
        (
            "progress deadline exceeded",
            deployment(
                json!({"replicas": 3}),
                json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                "message": "ReplicaSet \"guestbook-5d8f\" has timed out progressing."}]}),
                2,
            ),
            Degraded,
            Some("Deployment \"guestbook\" exceeded its progress deadline"),
        ),
        (
            "no status yet (generation 1, observed 0)",
            deployment(json!({"replicas": 1}), json!(null), 1),
            Progressing,
            Some(
                "Waiting for rollout to finish: observed deployment generation less than desired generation",
            ),
        ),
        (
            "scaled to zero",
            deployment(json!({"replicas": 0}), json!({"observedGeneration": 1}), 1),
            Healthy,
            None,
        ),
    ]);
}

#[test]
fn unsupported_versions_and_unreadable_objects_are_unknown() {
    let mut old = deployment(json!({"replicas": 1}), json!({}), 1);
    old["apiVersion"] = json!("extensions/v1beta1");
    // extensions/Deployment has no check at all in gitops-engine: no health.
    assert_eq!(HealthChecks::new().check(&old), None);
    old["apiVersion"] = json!("apps/v1beta2");
    let bad_replicas = deployment(json!({"replicas": "three"}), json!({}), 1);
    let (status, message) = status_of(&HealthChecks::new(), &bad_replicas);
    assert_eq!(status, Unknown);
    let message = message.expect("a message");
    assert!(
        message.starts_with("failed to convert unstructured Deployment to typed: "),
        "{message}"
    );
    run(vec![
        (
            "apps/v1beta2",
            old,
            Unknown,
            Some("unsupported Deployment GVK: apps/v1beta2, Kind=Deployment"),
        ),
        (
            "autoscaling/v2beta2",
            json!({"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}}),
            Unknown,
            Some("unsupported HPA GVK: autoscaling/v2beta2, Kind=HorizontalPodAutoscaler"),
        ),
        (
            "core Pod with a group-less odd version",
            json!({"apiVersion": "v2", "kind": "Pod", "metadata": {"name": "p"}}),
            Unknown,
            Some("unsupported Pod GVK: /v2, Kind=Pod"),
        ),
        (
            "no apiVersion at all (Go reads the group as core)",
            json!({"kind": "Pod", "metadata": {"name": "p"}}),
            Unknown,
            Some("unsupported Pod GVK: /, Kind=Pod"),
        ),
    ]);
}

fn statefulset(spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default", "generation": 1},
        "spec": spec, "status": status,
    })
}

#[test]
fn statefulset_health() {
    let rolling = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
    run(vec![
        (
            "never observed",
            statefulset(json!({"replicas": 3}), json!({"replicas": 0})),
            Progressing,
            Some("Waiting for statefulset spec update to be observed..."),
        ),
        (
            "pods not ready",
            statefulset(
                json!({"replicas": 3}),
                json!({"observedGeneration": 1, "readyReplicas": 1}),
            ),
            Progressing,
            Some("Waiting for 2 pods to be ready..."),
        ),
        (
            "partitioned rollout in progress",
            statefulset(
                json!({"replicas": 3, "updateStrategy": rolling}),
                json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1}),
            ),
            Progressing,
            Some(
                "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...",
            ),
        ),
        (
            "partitioned rollout complete",
            statefulset(
                json!({"replicas": 3, "updateStrategy": rolling}),
                json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 2}),
            ),
            Healthy,
            Some("partitioned roll out complete: 2 new pods have been updated..."),
        ),
        (
            "rollingUpdate without partition counts as partitioned",
            statefulset(
                json!({"replicas": 2, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {}}}),
                json!({"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 2}),
            ),
            Healthy,
            Some("partitioned roll out complete: 2 new pods have been updated..."),
        ),
        (
            "OnDelete",
            statefulset(
                json!({"replicas": 3, "updateStrategy": {"type": "OnDelete"}}),
                json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 0}),
            ),
            Healthy,
            Some("statefulset has 3 ready pods"),
        ),
        (
            "rolling update to a new revision",
            statefulset(
                json!({"replicas": 3}),
                json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1, "currentReplicas": 2,
                       "currentRevision": "web-1", "updateRevision": "web-2"}),
            ),
            Progressing,
            Some("waiting for statefulset rolling update to complete 1 pods at revision web-2..."),
        ),
        (
            "rolling update complete",
            statefulset(
                json!({"replicas": 3}),
                json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 3, "currentReplicas": 3,
                       "currentRevision": "web-2", "updateRevision": "web-2"}),
            ),
            Healthy,
            Some("statefulset rolling update complete 3 pods at revision web-2..."),
        ),
    ]);
}

fn daemonset(strategy: &str, generation: i64, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "fluentd", "namespace": "kube-system", "generation": generation},
        "spec": {"updateStrategy": {"type": strategy}}, "status": status,
    })
}

#[test]
fn daemonset_health() {
    run(vec![
        (
            "generation not observed",
            daemonset("RollingUpdate", 2, json!({"observedGeneration": 1})),
            Progressing,
            Some(
                "Waiting for rollout to finish: observed daemon set generation less than desired generation",
            ),
        ),
        (
            "OnDelete is healthy whatever is updated",
            daemonset(
                "OnDelete",
                1,
                json!({"observedGeneration": 1, "updatedNumberScheduled": 1, "desiredNumberScheduled": 3}),
            ),
            Healthy,
            Some("daemon set 1 out of 3 new pods have been updated"),
        ),
        (
            "pods being updated",
            daemonset(
                "RollingUpdate",
                1,
                json!({"observedGeneration": 1, "updatedNumberScheduled": 1, "desiredNumberScheduled": 3, "numberAvailable": 3}),
            ),
            Progressing,
            Some(
                "Waiting for daemon set \"fluentd\" rollout to finish: 1 out of 3 new pods have been updated...",
            ),
        ),
        (
            "pods not available",
            daemonset(
                "RollingUpdate",
                1,
                json!({"observedGeneration": 1, "updatedNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 2}),
            ),
            Progressing,
            Some(
                "Waiting for daemon set \"fluentd\" rollout to finish: 2 of 3 updated pods are available...",
            ),
        ),
        (
            "healthy",
            daemonset(
                "RollingUpdate",
                1,
                json!({"observedGeneration": 1, "updatedNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 3}),
            ),
            Healthy,
            None,
        ),
    ]);
}

#[test]
fn replicaset_health() {
    let rs = |generation: i64, status: Value| {
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": "guestbook-5d8f", "generation": generation},
               "spec": {"replicas": 2}, "status": status})
    };
    run(vec![
        (
            "generation not observed",
            rs(2, json!({"observedGeneration": 1})),
            Progressing,
            Some(
                "Waiting for rollout to finish: observed replica set generation less than desired generation",
            ),
        ),
        (
            "replica failure",
            rs(
                1,
                json!({"observedGeneration": 1, "conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                "message": "pods \"guestbook-5d8f-x\" is forbidden: exceeded quota"}]}),
            ),
            Degraded,
            Some("pods \"guestbook-5d8f-x\" is forbidden: exceeded quota"),
        ),
        (
            "replicas not available",
            rs(1, json!({"observedGeneration": 1, "availableReplicas": 1})),
            Progressing,
            Some("Waiting for rollout to finish: 1 out of 2 new replicas are available..."),
        ),
        (
            "healthy",
            rs(1, json!({"observedGeneration": 1, "availableReplicas": 2})),
            Healthy,
            None,
        ),
    ]);
}

fn pod(restart_policy: Option<&str>, annotations: Value, status: Value) -> Value {
    let mut spec = json!({"containers": [{"name": "main", "image": "busybox"}]});
    if let Some(p) = restart_policy {
        spec["restartPolicy"] = json!(p);
    }
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "my-pod", "namespace": "argocd", "annotations": annotations},
           "spec": spec, "status": status})
}

fn running(ready: bool, container: Value) -> Value {
    json!({"phase": "Running",
           "conditions": [{"type": "Initialized", "status": "True"},
                          {"type": "Ready", "status": if ready { "True" } else { "False" }}],
           "containerStatuses": [container]})
}

#[test]
fn pod_health() {
    let ok = json!({"name": "main", "ready": true, "state": {"running": {}}});
    let crashloop = json!({"name": "main", "ready": false,
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
        "state": {"waiting": {"reason": "CrashLoopBackOff",
                              "message": "back-off 40s restarting failed container=main pod=my-pod"}}});
    let errored = json!({"name": "main", "ready": false,
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
        "state": {"terminated": {"exitCode": 1, "reason": "Error"}}});
    let ignore = json!({"argocd.argoproj.io/ignore-restart-policy": "true"});
    let ignore_hook = json!({"argocd.argoproj.io/ignore-restart-policy": "true", "argocd.argoproj.io/hook": "PreSync"});
    run(vec![
        (
            "pending",
            pod(
                Some("Always"),
                json!({}),
                json!({"phase": "Pending", "message": "0/1 nodes are available"}),
            ),
            Progressing,
            Some("0/1 nodes are available"),
        ),
        (
            "running and ready",
            pod(Some("Always"), json!({}), running(true, ok.clone())),
            Healthy,
            None,
        ),
        (
            "running, not ready",
            pod(
                Some("Always"),
                json!({}),
                running(false, json!({"name": "main", "state": {"running": {}}})),
            ),
            Progressing,
            None,
        ),
        (
            "crash loop",
            pod(Some("Always"), json!({}), running(false, crashloop.clone())),
            Degraded,
            Some("back-off 40s restarting failed container=main pod=my-pod"),
        ),
        (
            "image pull back-off while pending",
            pod(
                Some("Always"),
                json!({}),
                json!({"phase": "Pending", "containerStatuses": [{"name": "main",
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"nginx:nope\""}}}]}),
            ),
            Degraded,
            Some("Back-off pulling image \"nginx:nope\""),
        ),
        (
            "ErrImagePull, two containers, messages joined",
            pod(
                Some("Always"),
                json!({}),
                json!({"phase": "Pending", "containerStatuses": [
                {"name": "a", "state": {"waiting": {"reason": "ErrImagePull", "message": "pull a failed"}}},
                {"name": "b", "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret \"x\" not found"}}}]}),
            ),
            Degraded,
            Some("pull a failed, secret \"x\" not found"),
        ),
        (
            "restarted container, not ready",
            pod(Some("Always"), json!({}), running(false, errored)),
            Degraded,
            None,
        ),
        (
            "restartPolicy Never, running: a hook still running",
            pod(Some("Never"), json!({}), running(true, ok.clone())),
            Progressing,
            None,
        ),
        (
            "restartPolicy OnFailure, running",
            pod(Some("OnFailure"), json!({}), running(true, ok.clone())),
            Progressing,
            None,
        ),
        (
            "restartPolicy Never, back-off is not Degraded (hooks)",
            pod(Some("Never"), json!({}), running(false, crashloop.clone())),
            Progressing,
            None,
        ),
        (
            "ignore-restart-policy: assessed as long-running",
            pod(Some("Never"), ignore.clone(), running(true, ok.clone())),
            Healthy,
            None,
        ),
        (
            "ignore-restart-policy with back-off",
            pod(Some("Never"), ignore, running(false, crashloop)),
            Degraded,
            Some("back-off 40s restarting failed container=main pod=my-pod"),
        ),
        (
            "ignore-restart-policy is not honoured on hooks",
            pod(Some("Never"), ignore_hook, running(true, ok.clone())),
            Progressing,
            None,
        ),
        (
            "failed with the pod's message",
            pod(
                Some("Never"),
                json!({}),
                json!({"phase": "Failed", "message": "Pod was evicted", "reason": "Evicted"}),
            ),
            Degraded,
            Some("Pod was evicted"),
        ),
        (
            "failed: the container's exit code",
            pod(
                Some("Never"),
                json!({}),
                json!({"phase": "Failed", "containerStatuses": [
                {"name": "main", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
            ),
            Degraded,
            Some("container \"main\" failed with exit code 1"),
        ),
        (
            "failed: init container first, terminated message preferred",
            pod(
                Some("Never"),
                json!({}),
                json!({"phase": "Failed",
                "initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 2, "message": "migration failed"}}}],
                "containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": 1}}}]}),
            ),
            Degraded,
            Some("migration failed"),
        ),
        (
            "failed: OOMKilled",
            pod(
                Some("Never"),
                json!({}),
                json!({"phase": "Failed", "containerStatuses": [
                {"name": "main", "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}),
            ),
            Degraded,
            Some("OOMKilled"),
        ),
        (
            "succeeded",
            pod(Some("Never"), json!({}), json!({"phase": "Succeeded"})),
            Healthy,
            None,
        ),
        (
            "no restartPolicy (not defaulted): running is Unknown",
            pod(None, json!({}), running(true, ok.clone())),
            Unknown,
            None,
        ),
        (
            "no status",
            pod(Some("Always"), json!({}), json!(null)),
            Unknown,
            None,
        ),
    ]);
}

#[test]
fn objects_being_deleted_are_progressing_unless_a_hook_finalizer_holds_them() {
    let mut p = pod(Some("Always"), json!({}), json!({"phase": "Succeeded"}));
    p["metadata"]["deletionTimestamp"] = json!("2024-05-01T10:00:00Z");
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",
        "deletionTimestamp": "2024-05-01T10:00:00Z", "finalizers": ["example.com/keep"]}});
    run(vec![
        ("pod", p.clone(), Progressing, Some("Pending deletion")),
        (
            "even a kind without health",
            cm.clone(),
            Progressing,
            Some("Pending deletion"),
        ),
    ]);
    p["metadata"]["finalizers"] = json!(["argocd.argoproj.io/hook-finalizer"]);
    run(vec![("hook held by its finalizer", p, Healthy, None)]);
    cm["metadata"]["deletionTimestamp"] = Value::Null;
    assert_eq!(HealthChecks::new().check(&cm), None);
}

#[test]
fn service_and_ingress_health() {
    let svc = |type_: &str, status: Value| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"type": type_, "ports": [{"port": 80}]}, "status": status})
    };
    let ing = |api: &str, status: Value| json!({"apiVersion": api, "kind": "Ingress", "metadata": {"name": "i"}, "status": status});
    run(vec![
        (
            "ClusterIP",
            svc("ClusterIP", json!({"loadBalancer": {}})),
            Healthy,
            None,
        ),
        (
            "LoadBalancer unassigned",
            svc("LoadBalancer", json!({"loadBalancer": {}})),
            Progressing,
            None,
        ),
        (
            "LoadBalancer empty list",
            svc("LoadBalancer", json!({"loadBalancer": {"ingress": []}})),
            Progressing,
            None,
        ),
        (
            "LoadBalancer assigned",
            svc(
                "LoadBalancer",
                json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}),
            ),
            Healthy,
            None,
        ),
        (
            "LoadBalancer hostname",
            svc(
                "LoadBalancer",
                json!({"loadBalancer": {"ingress": [{"hostname": "a.elb.example.com"}]}}),
            ),
            Healthy,
            None,
        ),
        (
            "Ingress assigned",
            ing(
                "networking.k8s.io/v1",
                json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}]}}),
            ),
            Healthy,
            None,
        ),
        (
            "Ingress unassigned",
            ing("networking.k8s.io/v1", json!({"loadBalancer": {}})),
            Progressing,
            None,
        ),
        (
            "Ingress, no status",
            ing("networking.k8s.io/v1", json!(null)),
            Progressing,
            None,
        ),
        (
            "extensions Ingress",
            ing(
                "extensions/v1beta1",
                json!({"loadBalancer": {"ingress": [{"hostname": "x"}]}}),
            ),
            Healthy,
            None,
        ),
    ]);
}

#[test]
fn pvc_job_apiservice_health() {
    let pvc = |phase: Value| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "status": {"phase": phase}});
    let job = |conditions: Value| json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"}, "status": {"conditions": conditions}});
    let apiservice = |version: &str, conditions: Value| {
        json!({"apiVersion": format!("apiregistration.k8s.io/{version}"), "kind": "APIService",
               "metadata": {"name": "v1beta1.metrics.k8s.io"}, "status": {"conditions": conditions}})
    };
    run(vec![
        ("pvc bound", pvc(json!("Bound")), Healthy, None),
        ("pvc pending", pvc(json!("Pending")), Progressing, None),
        ("pvc lost", pvc(json!("Lost")), Degraded, None),
        ("pvc no phase", pvc(json!(null)), Unknown, None),
        ("job running", job(json!([])), Progressing, None),
        (
            "job complete",
            job(
                json!([{"type": "Complete", "status": "True", "message": "Reached expected number of succeeded pods"}]),
            ),
            Healthy,
            Some("Reached expected number of succeeded pods"),
        ),
        (
            "job failed",
            job(
                json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit"}]),
            ),
            Degraded,
            Some("Job has reached the specified backoff limit"),
        ),
        (
            "job suspended",
            job(
                json!([{"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "Job suspended"}]),
            ),
            Suspended,
            Some("Job suspended"),
        ),
        (
            "job resumed (Suspended False) counts as complete",
            job(
                json!([{"type": "Suspended", "status": "False", "reason": "JobResumed", "message": "Job resumed"}]),
            ),
            Healthy,
            Some("Job resumed"),
        ),
        (
            "apiservice v1 available",
            apiservice(
                "v1",
                json!([{"type": "Available", "status": "True", "reason": "Passed", "message": "all checks passed"}]),
            ),
            Healthy,
            Some("Passed: all checks passed"),
        ),
        (
            "apiservice v1beta1 unavailable",
            apiservice(
                "v1beta1",
                json!([{"type": "Available", "status": "False", "reason": "MissingEndpoints",
                "message": "endpoints for service/metrics-server in \"kube-system\" have no addresses"}]),
            ),
            Progressing,
            Some(
                "MissingEndpoints: endpoints for service/metrics-server in \"kube-system\" have no addresses",
            ),
        ),
        (
            "apiservice no conditions",
            apiservice("v1", json!(null)),
            Progressing,
            Some("Waiting to be processed"),
        ),
    ]);
}

#[test]
fn hpa_health() {
    let v2 = |conditions: Value| {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
               "status": {"currentReplicas": 1, "desiredReplicas": 1, "conditions": conditions}})
    };
    let v1 = |annotation: Option<&str>| {
        let mut hpa = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                             "metadata": {"name": "web", "annotations": {}}, "status": {"currentReplicas": 1}});
        if let Some(a) = annotation {
            hpa["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/conditions"] = json!(a);
        }
        hpa
    };
    run(vec![
        (
            "v2 healthy",
            v2(
                json!([{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                       "message": "recommended size matches current size"},
                      {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"}]),
            ),
            Healthy,
            Some("recommended size matches current size"),
        ),
        (
            "v2 degraded wins over healthy",
            v2(
                json!([{"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale", "message": "ok"},
                      {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
                       "message": "the HPA was unable to compute the replica count: unable to get metrics for resource cpu"}]),
            ),
            Degraded,
            Some(
                "the HPA was unable to compute the replica count: unable to get metrics for resource cpu",
            ),
        ),
        (
            "v2 limited (too few replicas) is healthy",
            v2(
                json!([{"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas",
                       "message": "the desired replica count is less than the minimum replica count"}]),
            ),
            Healthy,
            Some("the desired replica count is less than the minimum replica count"),
        ),
        (
            "v2 no conditions",
            v2(json!(null)),
            Progressing,
            Some("Waiting to Autoscale"),
        ),
        (
            "v2 only false conditions",
            v2(json!([{"type": "AbleToScale", "status": "False", "reason": "BackoffBoth"}])),
            Progressing,
            Some("Waiting to Autoscale"),
        ),
        (
            "v1 degraded (annotation)",
            v1(Some(
                r#"[{"type":"AbleToScale","status":"True","reason":"SucceededGetScale","message":"the HPA controller was able to get the target's current scale"},{"type":"ScalingActive","status":"False","reason":"FailedGetObjectMetric","message":"the HPA was unable to compute the replica count: unable to get metric"}]"#,
            )),
            Degraded,
            Some("the HPA was unable to compute the replica count: unable to get metric"),
        ),
        (
            "v1 healthy (annotation)",
            v1(Some(
                r#"[{"type":"AbleToScale","status":"True","reason":"ReadyForNewScale","message":"recommended size matches current size"}]"#,
            )),
            Healthy,
            Some("recommended size matches current size"),
        ),
        (
            "v1 no annotation",
            v1(None),
            Progressing,
            Some("Waiting to Autoscale"),
        ),
        (
            "v1 empty list",
            v1(Some("[]")),
            Progressing,
            Some("Waiting to Autoscale"),
        ),
    ]);
    let (status, message) = status_of(&HealthChecks::new(), &v1(Some("{not json")));
    assert_eq!(status, Unknown);
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.starts_with("failed to convert conditions annotation to typed: ")),
        "{message:?}"
    );
}

#[test]
fn workflow_health() {
    let wf = |status: Value| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "wf"},
               "spec": {"entrypoint": "main"}, "status": status})
    };
    run(vec![
        ("no status", wf(json!(null)), Progressing, None),
        (
            "pending",
            wf(json!({"phase": "Pending"})),
            Progressing,
            None,
        ),
        (
            "running",
            wf(json!({"phase": "Running", "message": "This node is running"})),
            Progressing,
            Some("This node is running"),
        ),
        (
            "succeeded",
            wf(json!({"phase": "Succeeded", "message": "done"})),
            Healthy,
            Some("done"),
        ),
        (
            "failed",
            wf(json!({"phase": "Failed", "message": "child 'a' failed"})),
            Degraded,
            Some("child 'a' failed"),
        ),
        ("error", wf(json!({"phase": "Error"})), Degraded, None),
        (
            "unknown phase",
            wf(json!({"phase": "Exploded"})),
            Unknown,
            None,
        ),
    ]);
}

#[test]
fn application_health_is_the_childs_own() {
    let app = |status: Value| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "child", "namespace": "argocd"},
               "spec": {"project": "default"}, "status": status})
    };
    run(vec![
        ("no status yet", app(json!(null)), Progressing, None),
        (
            "status without health",
            app(json!({"sync": {"status": "Synced"}})),
            Progressing,
            None,
        ),
        (
            "healthy child",
            app(json!({"health": {"status": "Healthy"}})),
            Healthy,
            None,
        ),
        (
            "degraded child, its message",
            app(
                json!({"health": {"status": "Degraded", "message": "Deployment \"x\" exceeded its progress deadline"}}),
            ),
            Degraded,
            Some("Deployment \"x\" exceeded its progress deadline"),
        ),
        (
            "missing child",
            app(json!({"health": {"status": "Missing"}})),
            Missing,
            None,
        ),
        (
            "a status that is not a health code",
            app(json!({"health": {"status": "Fine"}})),
            Unknown,
            Some("Lua returned an invalid health status"),
        ),
    ]);
}

fn rollout(generation: i64, spec: Value, status: Value) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
           "metadata": {"name": "basic", "namespace": "default", "generation": generation},
           "spec": spec, "status": status})
}

#[test]
fn rollout_health() {
    let canary = json!({"replicas": 3, "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}});
    let bluegreen = json!({"replicas": 3, "strategy": {"blueGreen": {"activeService": "active"}}});
    let done = |extra: Value| {
        let mut s = json!({"observedGeneration": "1", "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3,
                           "currentPodHash": "6b8cf6f7db", "stableRS": "6b8cf6f7db",
                           "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
        if let (Value::Object(s), Value::Object(extra)) = (&mut s, extra) {
            s.extend(extra);
        }
        s
    };
    let mut with_workload = rollout(
        1,
        json!({"replicas": 3, "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
        "strategy": {"canary": {}}}),
        done(json!({"observedGeneration": "1", "workloadObservedGeneration": "1"})),
    );
    with_workload["metadata"]["annotations"] =
        json!({"rollout.argoproj.io/workload-generation": "2"});
    let mut workload_observed = with_workload.clone();
    workload_observed["status"]["workloadObservedGeneration"] = json!("2");
    run(vec![
        (
            "no status",
            rollout(1, canary.clone(), json!(null)),
            Progressing,
            Some("Waiting for rollout spec update to be observed"),
        ),
        (
            "new generation not observed",
            rollout(2, canary.clone(), done(json!({"observedGeneration": "1"}))),
            Progressing,
            Some("Waiting for rollout spec update to be observed"),
        ),
        (
            "new workload generation not observed",
            with_workload,
            Progressing,
            Some("Waiting for rollout spec update to be observed"),
        ),
        (
            "workload generation observed",
            workload_observed,
            Healthy,
            None,
        ),
        (
            "v0.9 hash observedGeneration counts as observed",
            rollout(
                5,
                canary.clone(),
                done(json!({"observedGeneration": "7d6b8f5c9d"})),
            ),
            Healthy,
            None,
        ),
        (
            "numeric observedGeneration",
            rollout(1, canary.clone(), done(json!({"observedGeneration": 1}))),
            Healthy,
            None,
        ),
        (
            "v1.0 phase and message surfaced",
            rollout(
                1,
                canary.clone(),
                json!({"observedGeneration": "1", "phase": "Degraded", "message": "InvalidSpec"}),
            ),
            Degraded,
            Some("InvalidSpec"),
        ),
        (
            "v1.0 Paused phase is Suspended",
            rollout(
                1,
                canary.clone(),
                json!({"observedGeneration": "1", "phase": "Paused", "message": "CanaryPauseStep"}),
            ),
            Suspended,
            Some("CanaryPauseStep"),
        ),
        (
            "v1.0 Healthy phase",
            rollout(
                1,
                canary.clone(),
                json!({"observedGeneration": "1", "phase": "Healthy"}),
            ),
            Healthy,
            None,
        ),
        (
            "a phase that is not a health code",
            rollout(
                1,
                canary.clone(),
                json!({"observedGeneration": "1", "phase": "Weird"}),
            ),
            Unknown,
            Some("Lua returned an invalid health status"),
        ),
        (
            "InvalidSpec condition",
            rollout(
                1,
                json!({}),
                json!({"observedGeneration": "1", "conditions": [{"type": "InvalidSpec", "status": "True",
                "message": "The Rollout \"basic\" is invalid: spec.strategy.strategy: Required value"}]}),
            ),
            Degraded,
            Some("The Rollout \"basic\" is invalid: spec.strategy.strategy: Required value"),
        ),
        (
            "aborted",
            rollout(
                1,
                canary.clone(),
                done(
                    json!({"conditions": [{"type": "Progressing", "status": "False",
                "reason": "RolloutAborted", "message": "Rollout is aborted"}]}),
                ),
            ),
            Degraded,
            Some("Rollout is aborted"),
        ),
        (
            "timed out",
            rollout(
                1,
                bluegreen.clone(),
                done(
                    json!({"conditions": [{"type": "Progressing", "status": "False",
                "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"guestbook-6b8cf6f7db\" has timed out progressing."}]}),
                ),
            ),
            Degraded,
            Some("ReplicaSet \"guestbook-6b8cf6f7db\" has timed out progressing."),
        ),
        (
            "controller pause",
            rollout(
                1,
                canary.clone(),
                done(json!({"pauseConditions": [{"reason": "CanaryPauseStep"}]})),
            ),
            Suspended,
            Some("Rollout is paused"),
        ),
        (
            "user pause",
            rollout(
                1,
                json!({"replicas": 3, "paused": true, "strategy": {"canary": {}}}),
                done(json!({})),
            ),
            Suspended,
            Some("Rollout is paused"),
        ),
        (
            "not reconciled yet",
            rollout(
                1,
                canary.clone(),
                json!({"observedGeneration": "1", "conditions": []}),
            ),
            Progressing,
            Some("Waiting for rollout to finish: status has not been reconciled."),
        ),
        (
            "replicas being updated",
            rollout(1, canary.clone(), done(json!({"updatedReplicas": 1}))),
            Progressing,
            Some("Waiting for roll out to finish: More replicas need to be updated"),
        ),
        (
            "replicas becoming available",
            rollout(1, bluegreen.clone(), done(json!({"availableReplicas": 2}))),
            Progressing,
            Some("Waiting for roll out to finish: updated replicas are still becoming available"),
        ),
        (
            "blue-green cutover pending",
            rollout(
                1,
                bluegreen.clone(),
                done(json!({"blueGreen": {"activeSelector": "5f6d7c"}})),
            ),
            Progressing,
            Some("active service cutover pending"),
        ),
        (
            "blue-green waiting for analysis",
            rollout(
                1,
                bluegreen.clone(),
                done(json!({"blueGreen": {"activeSelector": "6b8cf6f7db"}, "stableRS": "5f6d7c"})),
            ),
            Progressing,
            Some("waiting for analysis to complete"),
        ),
        (
            "blue-green serving the active service",
            rollout(
                1,
                bluegreen.clone(),
                done(json!({"blueGreen": {"activeSelector": "6b8cf6f7db"}})),
            ),
            Healthy,
            None,
        ),
        (
            "canary killing old replicas",
            rollout(1, canary.clone(), done(json!({"replicas": 4}))),
            Progressing,
            Some("Waiting for roll out to finish: old replicas are pending termination"),
        ),
        (
            "canary steps not finished",
            rollout(1, canary.clone(), done(json!({"stableRS": "5f6d7c"}))),
            Progressing,
            Some("Waiting for rollout to finish steps"),
        ),
        (
            "canary before v0.8 (status.canary.stableRS)",
            rollout(1, canary.clone(), {
                let mut s = done(json!({"canary": {"stableRS": "6b8cf6f7db"}}));
                s.as_object_mut().map(|s| s.remove("stableRS"));
                s
            }),
            Healthy,
            None,
        ),
        (
            "canary done",
            rollout(1, canary, done(json!({}))),
            Healthy,
            None,
        ),
        (
            "replicas default to 1",
            rollout(
                1,
                json!({"strategy": {"canary": {}}}),
                done(json!({"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1})),
            ),
            Healthy,
            None,
        ),
    ]);
}

#[test]
fn kinds_without_a_check_have_no_health() {
    let checks = HealthChecks::new();
    for obj in [
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
        json!({"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "hello"},
               "status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}}),
        json!("not an object"),
    ] {
        assert_eq!(checks.check(&obj), None, "{obj}");
    }
}

#[test]
fn health_order_is_argos() {
    let order = [Healthy, Suspended, Progressing, Missing, Degraded, Unknown];
    let severities: Vec<u8> = order.iter().map(|s| severity(*s)).collect();
    assert!(severities.windows(2).all(|w| w[0] < w[1]), "{severities:?}");
    assert!(is_worse(Degraded, Missing));
    assert!(!is_worse(Missing, Degraded));
    assert!(!is_worse(Healthy, Healthy));
    assert!(is_worse(Unknown, Degraded));
    assert_eq!(worst([Healthy, Missing, Suspended]), Missing);
    assert_eq!(worst([]), Healthy);
}

// --- custom checks (CEL) -----------------------------------------------------------------

fn certificate(generation: i64, status: Value) -> Value {
    json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
           "metadata": {"name": "tls", "namespace": "default", "generation": generation},
           "spec": {"secretName": "tls"}, "status": status})
}

fn ready_check() -> CustomHealthCheck {
    CustomHealthCheck {
        current: "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')".into(),
        in_progress: Some(
            "status.conditions.exists(e, e.type == 'Issuing' && e.status == 'True')".into(),
        ),
        failed: Some(
            "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'False')".into(),
        ),
    }
}

#[test]
fn custom_checks_follow_fluxs_semantics() {
    let checks = HealthChecks::new()
        .with_custom("cert-manager.io", "Certificate", ready_check())
        .expect("compiles");
    let cond = |t: &str, s: &str| json!({"type": t, "status": s});
    let cases = [
        (
            "ready",
            certificate(
                1,
                json!({"observedGeneration": 1, "conditions": [cond("Ready", "True")]}),
            ),
            Healthy,
        ),
        (
            "failed",
            certificate(
                1,
                json!({"observedGeneration": 1, "conditions": [cond("Ready", "False")]}),
            ),
            Degraded,
        ),
        (
            "inProgress is evaluated first",
            certificate(
                1,
                json!({"observedGeneration": 1, "conditions": [cond("Ready", "True"), cond("Issuing", "True")]}),
            ),
            Progressing,
        ),
        (
            "ready but a newer generation is not observed",
            certificate(
                2,
                json!({"observedGeneration": 1, "conditions": [cond("Ready", "True")]}),
            ),
            Progressing,
        ),
        (
            "a string observedGeneration skips the generation guard",
            certificate(
                2,
                json!({"observedGeneration": "1", "conditions": [cond("Ready", "True")]}),
            ),
            Healthy,
        ),
        (
            "none true",
            certificate(1, json!({"conditions": [cond("Ready", "Unknown")]})),
            Progressing,
        ),
    ];
    for (name, obj, want) in cases {
        assert_eq!(status_of(&checks, &obj), (want, None), "{name}");
    }
}

#[test]
fn custom_check_evaluation_errors_are_unknown_with_the_reason() {
    let checks = HealthChecks::new()
        .with_custom("cert-manager.io", "Certificate", ready_check())
        .expect("compiles")
        .with_custom(
            "example.com",
            "Widget",
            CustomHealthCheck {
                current: "status.phase".into(),
                ..Default::default()
            },
        )
        .expect("compiles");
    // No status.conditions yet: the field access fails, as in cel-go.
    let (status, message) = status_of(&checks, &certificate(1, json!({})));
    assert_eq!(status, Unknown);
    let message = message.expect("a message");
    assert!(
        message.starts_with(
            "failed to evaluate the CEL expression 'status.conditions.exists(e, e.type == 'Issuing' && e.status == 'True')': "
        ),
        "{message}"
    );
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                        "status": {"phase": "Ready"}});
    assert_eq!(
        status_of(&checks, &widget),
        (
            Unknown,
            Some("failed to evaluate CEL expression as boolean: 'status.phase'".to_owned())
        )
    );
}

#[test]
fn custom_checks_see_top_level_fields_self_and_optionals() {
    let checks = HealthChecks::new()
        .with_custom("example.com", "Widget", CustomHealthCheck {
            current: "self.metadata.name == 'w' && has(spec.size) && status.?conditions.orValue([]).exists(c, c.type == 'Ready')".into(),
            failed: Some("status.?phase.orValue('') == 'Failed'".into()),
            in_progress: None,
        })
        .expect("compiles");
    let widget = |status: Value| {
        json!({"apiVersion": "example.com/v1alpha1", "kind": "Widget", "metadata": {"name": "w"},
               "spec": {"size": 3}, "status": status})
    };
    assert_eq!(
        status_of(&checks, &widget(json!({"conditions": [{"type": "Ready"}]}))).0,
        Healthy
    );
    assert_eq!(
        status_of(&checks, &widget(json!({"phase": "Failed"}))).0,
        Degraded
    );
    assert_eq!(status_of(&checks, &widget(json!({}))).0, Progressing);
}

#[test]
fn custom_checks_take_precedence_over_built_ins_and_can_cover_a_group() {
    let checks = HealthChecks::new()
        .with_custom(
            "apps",
            "Deployment",
            CustomHealthCheck {
                current: "metadata.?labels.?tier.orValue('') == 'web'".into(),
                ..Default::default()
            },
        )
        .expect("compiles")
        .with_custom(
            "example.com",
            "*",
            CustomHealthCheck {
                current: "true".into(),
                ..Default::default()
            },
        )
        .expect("compiles");
    let mut d = deployment(json!({"replicas": 3, "paused": true}), json!({}), 1);
    d["metadata"]["labels"] = json!({"tier": "web"});
    assert_eq!(status_of(&checks, &d), (Healthy, None));
    let gadget =
        json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}});
    assert_eq!(status_of(&checks, &gadget), (Healthy, None));
    assert!(checks.has_custom("example.com", "Anything"));
    assert!(!checks.has_custom("other.com", "Gadget"));
    // The built-ins are untouched for other kinds.
    let ss = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "generation": 1}, "status": {}});
    assert_eq!(status_of(&checks, &ss).0, Progressing);
}

#[test]
fn bad_custom_expressions_are_errors_naming_the_check() {
    let err = HealthChecks::new()
        .with_custom(
            "example.com",
            "Widget",
            CustomHealthCheck {
                current: "true".into(),
                failed: Some("status.phase == ".into()),
                in_progress: None,
            },
        )
        .expect_err("does not compile");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "custom health check for example.com/Widget: failed expression `status.phase == `: "
        ),
        "{text}"
    );
    let err = HealthChecks::new()
        .with_custom("example.com", "Widget", CustomHealthCheck::default())
        .expect_err("current is required");
    assert_eq!(
        err.to_string(),
        "custom health check for example.com/Widget: current expression ``: expression is empty"
    );
}

#[test]
fn custom_checks_deserialize_from_fluxs_field_names() {
    let check: CustomHealthCheck = serde_json::from_value(json!({
        "current": "status.ready", "inProgress": "status.progressing", "failed": "status.failed"
    }))
    .expect("deserializes");
    assert_eq!(check.in_progress.as_deref(), Some("status.progressing"));
    assert_eq!(check.failed.as_deref(), Some("status.failed"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn code() -> impl Strategy<Value = HealthStatusCode> {
        prop_oneof![
            Just(Healthy),
            Just(Suspended),
            Just(Progressing),
            Just(Missing),
            Just(Degraded),
            Just(Unknown)
        ]
    }

    proptest! {
        #[test]
        fn worst_is_the_most_severe_whatever_the_order(mut codes in prop::collection::vec(code(), 0..8)) {
            let w = worst(codes.iter().copied());
            prop_assert!(codes.iter().all(|c| !is_worse(*c, w)));
            prop_assert!(codes.is_empty() || codes.contains(&w));
            codes.reverse();
            prop_assert_eq!(worst(codes), w);
        }

        /// Whatever a Deployment's numbers, the check answers with one of the codes a
        /// Deployment can have, and never panics.
        #[test]
        fn deployment_check_is_total(
            generation in 0i64..4, observed in 0i64..4, replicas in 0i64..5, updated in 0i64..5,
            total in 0i64..6, available in 0i64..5, paused in any::<bool>(),
        ) {
            let obj = deployment(json!({"replicas": replicas, "paused": paused}),
                json!({"observedGeneration": observed, "replicas": total, "updatedReplicas": updated,
                       "availableReplicas": available}), generation);
            let h = HealthChecks::new().check(&obj).expect("a Deployment has health");
            prop_assert!(matches!(h.status, Healthy | Progressing | Suspended | Degraded));
            prop_assert_eq!(h.status == Healthy, !paused && generation <= observed
                && updated >= replicas && total <= updated && available >= updated);
        }
    }
}

#[test]
fn hooks_are_recognised_as_gitops_engine_does() {
    use windlass_reconciler::health::is_hook;
    let with = |annotations: Value| json!({"metadata": {"annotations": annotations}});
    assert!(is_hook(&with(
        json!({"argocd.argoproj.io/hook": "PreSync"})
    )));
    assert!(is_hook(&with(
        json!({"argocd.argoproj.io/hook": "PostSync,Skip"})
    )));
    assert!(!is_hook(&with(json!({"argocd.argoproj.io/hook": "Skip"}))));
    assert!(is_hook(&with(json!({"helm.sh/hook": "pre-install"}))));
    assert!(!is_hook(&with(json!({"helm.sh/hook": "crd-install"}))));
    assert!(!is_hook(&with(json!({}))));
}

#[test]
fn custom_checks_load_from_a_flux_style_list() {
    use windlass_reconciler::health::{HealthChecks, HealthStatusCode};
    let text = "- apiVersion: example.com/v1\n  kind: Widget\n  current: status.ready == true\n  failed: status.broken == true\n";
    let checks = HealthChecks::new()
        .with_config(text, "health.yaml")
        .expect("valid");
    let widget = |ready: bool, broken: bool| {
        serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "status": {"ready": ready, "broken": broken}})
    };
    assert_eq!(
        checks.check(&widget(true, false)).map(|h| h.status),
        Some(HealthStatusCode::Healthy)
    );
    assert_eq!(
        checks.check(&widget(false, true)).map(|h| h.status),
        Some(HealthStatusCode::Degraded)
    );
    let Err(bad) = HealthChecks::new().with_config(
        "- apiVersion: example.com/v1\n  kind: Widget\n  current: status.ready ==\n",
        "health.yaml",
    ) else {
        panic!("a compile error expected");
    };
    assert!(bad.to_string().contains("example.com/Widget"), "{bad}");
    let Err(not_a_list) = HealthChecks::new().with_config("- kind: [\n", "health.yaml") else {
        panic!("a YAML error expected");
    };
    assert!(
        not_a_list.to_string().starts_with("health.yaml"),
        "{not_a_list}"
    );
}
