//! `kubectl describe`, `kubectl logs`, `kubectl get -o wide` and `kubectl
//! explain` against the embedded cluster: what a user reads, checked line by
//! line.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, PostParams};
use serde_json::json;

mod support;

use support::{Setup, fixture, setup};

/// Applies `app.yaml` (Deployment `web` with one nginx pod, Service `web`) to
/// namespace `demo` and waits until the pod runs.
async fn running_app(s: &Setup) -> Pod {
    s.ok(&["create", "namespace", "demo"]).await;
    let file = fixture("app.yaml");
    s.ok(&["apply", "-f", file.to_str().expect("utf-8 path")])
        .await;
    s.ok(&[
        "-n",
        "demo",
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "--timeout=20s",
    ])
    .await;
    let pods = s
        .api::<Pod>("demo")
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list");
    assert_eq!(pods.items.len(), 1);
    pods.items.into_iter().next().expect("one pod")
}

fn field<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .map(str::trim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_shows_the_objects_and_their_relations() {
    let s = setup().await;
    let pod = running_app(&s).await;
    let pod_name = pod.metadata.name.clone().expect("name");

    let out = s.ok(&["-n", "demo", "describe", "deployment", "web"]).await;
    assert_eq!(field(&out, "Name:"), Some("web"), "{out}");
    assert_eq!(field(&out, "Namespace:"), Some("demo"), "{out}");
    assert_eq!(
        field(&out, "Replicas:"),
        Some("1 desired | 1 updated | 1 total | 1 available | 0 unavailable"),
        "{out}"
    );
    assert_eq!(field(&out, "StrategyType:"), Some("RollingUpdate"));
    assert_eq!(
        field(&out, "RollingUpdateStrategy:"),
        Some("25% max unavailable, 25% max surge")
    );
    assert_eq!(field(&out, "Image:"), Some("nginx:1.27"));
    assert!(
        out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == ["Available", "True", "MinimumReplicasAvailable"]),
        "{out}"
    );
    let rs = field(&out, "NewReplicaSet:").expect("new replica set");
    assert!(
        rs.starts_with("web-") && rs.ends_with("(1/1 replicas created)"),
        "{rs}"
    );

    let out = s.ok(&["-n", "demo", "describe", "pod", &pod_name]).await;
    assert_eq!(field(&out, "Status:"), Some("Running"), "{out}");
    assert_eq!(field(&out, "Node:"), Some("windlass-node/127.0.0.1"));
    let ip = pod
        .status
        .as_ref()
        .and_then(|st| st.pod_ip.clone())
        .expect("pod IP");
    assert_eq!(field(&out, "IP:"), Some(ip.as_str()));
    let rs_name = rs.split_whitespace().next().expect("name");
    assert_eq!(
        field(&out, "Controlled By:"),
        Some(format!("ReplicaSet/{rs_name}").as_str())
    );
    assert_eq!(field(&out, "State:"), Some("Running"));
    assert_eq!(field(&out, "Ready:"), Some("True"));

    let out = s.ok(&["-n", "demo", "describe", "service", "web"]).await;
    assert_eq!(field(&out, "Selector:"), Some("app=web"), "{out}");
    assert_eq!(field(&out, "Type:"), Some("ClusterIP"));
    assert!(
        field(&out, "IP:").is_some_and(|ip| ip.starts_with("10.96.")),
        "{out}"
    );

    let out = s.ok(&["describe", "namespace", "demo"]).await;
    assert_eq!(field(&out, "Status:"), Some("Active"), "{out}");

    let out = s.ok(&["describe", "node"]).await;
    assert_eq!(
        field(&out, "HolderIdentity:"),
        Some("windlass-node"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("demo") && l.contains(pod_name.as_str())),
        "the node lists its pods: {out}"
    );

    let missing = s.kubectl(&["-n", "demo", "describe", "pod", "nope"]).await;
    assert!(!missing.ok);
    assert!(
        missing.stderr.contains("pods \"nope\" not found"),
        "{}",
        missing.stderr
    );
    s.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_come_from_the_simulated_kubelet() {
    let s = setup().await;
    running_app(&s).await;
    let out = s.ok(&["-n", "demo", "logs", "deployment/web"]).await;
    assert_eq!(
        out,
        "windlass: simulated container web started (image nginx:1.27)\n"
    );
    let out = s
        .ok(&["-n", "demo", "logs", "deployment/web", "--timestamps"])
        .await;
    let (at, rest) = out.split_once(' ').expect("timestamp first");
    assert!(at.parse::<jiff::Timestamp>().is_ok(), "{out}");
    assert!(
        rest.starts_with("windlass: simulated container web"),
        "{out}"
    );

    // Two containers: kubectl picks the default one unless told, like with a
    // real pod; an unknown container is an error from the server.
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "two", "annotations": {"kubectl.kubernetes.io/default-container": "b"}},
        "spec": {"containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "redis"}]},
    }))
    .expect("pod");
    let pods = s.api::<Pod>("demo");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = pods.get("two").await.expect("get");
        if p.status.and_then(|st| st.phase).as_deref() == Some("Running") {
            break;
        }
        assert!(Instant::now() < deadline, "pod two never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = s.ok(&["-n", "demo", "logs", "two"]).await;
    assert!(out.contains("container b started (image redis)"), "{out}");
    let out = s.ok(&["-n", "demo", "logs", "two", "-c", "a"]).await;
    assert!(out.contains("container a started (image busybox)"), "{out}");
    let bad = s.kubectl(&["-n", "demo", "logs", "two", "-c", "zzz"]).await;
    assert!(!bad.ok);
    assert!(
        bad.stderr
            .contains("container zzz is not valid for pod two"),
        "{}",
        bad.stderr
    );

    // A crash-looping container shows its last run.
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "crash"},
        "spec": {"containers": [{"name": "app", "image": "app:fail"}]},
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create");
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = s.kubectl(&["-n", "demo", "logs", "crash"]).await;
        if out.ok {
            break out.stdout;
        }
        assert!(
            out.stderr
                .contains("is waiting to start: ContainerCreating"),
            "{}",
            out.stderr
        );
        assert!(Instant::now() < deadline, "crash never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        out.ends_with("container app failed with exit code 1 (the failure rule matched)\n"),
        "{out}"
    );
    s.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_wide_adds_the_wide_columns() {
    let s = setup().await;
    let pod = running_app(&s).await;
    let ip = pod.status.and_then(|st| st.pod_ip).expect("pod IP");

    let header_and_row = |out: &str, name: &str| -> (Vec<String>, Vec<String>) {
        let mut lines = out.lines();
        let header = lines.next().unwrap_or_default();
        // Split on runs of 2+ spaces: some headers contain one space.
        let cells = |l: &str| -> Vec<String> {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let row = lines
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}: {out}"));
        (cells(header), cells(row))
    };

    let out = s.ok(&["-n", "demo", "get", "pods", "-o", "wide"]).await;
    let (h, r) = header_and_row(&out, "web-");
    assert_eq!(
        h,
        [
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES"
        ]
    );
    assert_eq!(r[1..4], ["1/1", "Running", "0"]);
    assert_eq!(r[5..], [ip.as_str(), "windlass-node", "<none>", "<none>"]);

    let out = s
        .ok(&["-n", "demo", "get", "deployment", "web", "-o", "wide"])
        .await;
    let (h, r) = header_and_row(&out, "web");
    assert_eq!(
        h,
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert_eq!(r[5..], ["web", "nginx:1.27", "app=web"]);

    let out = s
        .ok(&["-n", "demo", "get", "replicasets", "-o", "wide"])
        .await;
    let (h, r) = header_and_row(&out, "web-");
    assert_eq!(
        h,
        [
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert_eq!(r[1..4], ["1", "1", "1"]);
    assert!(r[7].starts_with("app=web,pod-template-hash="), "{r:?}");

    let out = s
        .ok(&["-n", "demo", "get", "service", "web", "-o", "wide"])
        .await;
    let (h, r) = header_and_row(&out, "web");
    assert_eq!(
        h,
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR"
        ]
    );
    assert_eq!(r[6], "app=web");

    let out = s.ok(&["-n", "demo", "get", "endpoints", "web"]).await;
    let (h, r) = header_and_row(&out, "web");
    assert_eq!(h, ["NAME", "ENDPOINTS", "AGE"]);
    assert_eq!(r[1], format!("{ip}:80"));

    // Without -o wide the priority-1 columns stay hidden.
    let out = s.ok(&["-n", "demo", "get", "deployment", "web"]).await;
    let (h, _) = header_and_row(&out, "web");
    assert_eq!(h, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    s.cluster.shutdown().await;
}

/// `kubectl explain` reads the schemas from `/openapi/v3` (and, asked for the
/// old format, `/openapi/v2`): built-in kinds' fields with Kubernetes'
/// descriptions, and a CRD's fields from its `openAPIV3Schema`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_built_in_and_custom_resource_fields() {
    let s = setup().await;
    for args in [
        &["explain", "deployment.spec.replicas"][..],
        &[
            "explain",
            "deployment.spec.replicas",
            "--output",
            "plaintext-openapiv2",
        ][..],
    ] {
        let out = s.ok(args).await;
        assert!(out.contains("KIND:") && out.contains("Deployment"), "{out}");
        assert!(
            out.contains("replicas <integer>") || out.contains("replicas\t<integer>"),
            "{out}"
        );
        assert!(out.contains("Number of desired pods"), "{out}");
    }
    let out = s
        .ok(&["explain", "pod.spec.containers.livenessProbe.httpGet"])
        .await;
    assert!(out.contains("path\t<string>"), "{out}");

    let crd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/crds/applications.argoproj.io.yaml");
    s.ok(&[
        "apply",
        "--server-side",
        "-f",
        crd.to_str().expect("utf-8 path"),
    ])
    .await;
    let out = s.ok(&["explain", "application.spec"]).await;
    assert!(out.contains("GROUP:      argoproj.io"), "{out}");
    assert!(out.contains("FIELD: spec <Object>"), "{out}");
    for field in [
        "destination\t<Object> -required-",
        "project\t<string> -required-",
    ] {
        assert!(out.contains(field), "{field} in {out}");
    }
    let out = s
        .ok(&["explain", "application.spec.destination.namespace"])
        .await;
    assert!(
        out.contains("Namespace for namespaced resources that set none."),
        "{out}"
    );
    let out = s
        .ok(&["explain", "application", "--output", "plaintext-openapiv2"])
        .await;
    assert!(out.contains("apiVersion\t<string>"), "{out}");
    assert!(out.contains("metadata\t<Object>"), "{out}");
}
