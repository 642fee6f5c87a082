//! The embedded cluster through the real `kubectl` binary, configured only by
//! the generated kubeconfig. Each test checks the stored objects through
//! `kube`, not just kubectl's exit code.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use kube::core::GroupVersionKind;
use serde_json::json;

mod support;

use support::{command, fixture, setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_namespace_apply_and_reapply_unchanged() {
    let s = setup().await;
    let out = s.ok(&["create", "namespace", "demo"]).await;
    assert_eq!(out.trim(), "namespace/demo created");
    let ns: Api<Namespace> = Api::all(s.cluster.client());
    let demo = ns.get("demo").await.expect("namespace stored");
    assert_eq!(
        demo.status.and_then(|st| st.phase).as_deref(),
        Some("Active")
    );

    let file = fixture("app.yaml");
    let file = file.to_str().expect("utf-8 path");
    let out = s.ok(&["apply", "-f", file]).await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "configmap/settings created",
            "deployment.apps/web created",
            "service/web created"
        ]
    );
    let cm = s
        .api::<ConfigMap>("demo")
        .get("settings")
        .await
        .expect("cm stored");
    assert_eq!(
        cm.data
            .as_ref()
            .and_then(|d| d.get("color"))
            .map(String::as_str),
        Some("blue")
    );
    let annotations = cm.metadata.annotations.clone().unwrap_or_default();
    assert!(annotations.contains_key("kubectl.kubernetes.io/last-applied-configuration"));
    let deploy = s
        .api::<Deployment>("demo")
        .get("web")
        .await
        .expect("deployment stored");
    let strategy = deploy
        .spec
        .as_ref()
        .and_then(|sp| sp.strategy.clone())
        .expect("defaulted");
    assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    let svc = s
        .api::<Service>("demo")
        .get("web")
        .await
        .expect("service stored");
    let ip = svc
        .spec
        .and_then(|sp| sp.cluster_ip)
        .expect("clusterIP allocated");
    assert!(ip.starts_with("10.96."), "{ip}");

    let out = s.ok(&["apply", "-f", file]).await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "configmap/settings unchanged",
            "deployment.apps/web unchanged",
            "service/web unchanged"
        ]
    );
    let again = s
        .api::<ConfigMap>("demo")
        .get("settings")
        .await
        .expect("cm");
    assert_eq!(
        again.metadata.resource_version, cm.metadata.resource_version,
        "nothing written"
    );
    s.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_get_yaml_show_the_stored_object() {
    let s = setup().await;
    s.ok(&["create", "configmap", "shown", "--from-literal=color=green"])
        .await;
    let table = s.ok(&["get", "configmaps"]).await;
    assert!(
        table.lines().next().is_some_and(|h| h.starts_with("NAME")),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("shown ")), "{table}");

    let yaml = s.ok(&["get", "configmap", "shown", "-o", "yaml"]).await;
    let v: serde_json::Value = serde_saphyr::from_str(&yaml).expect("kubectl prints YAML");
    assert_eq!(v["data"]["color"], "green");
    let stored = s
        .api::<ConfigMap>("default")
        .get("shown")
        .await
        .expect("stored");
    assert_eq!(
        v["metadata"]["uid"].as_str(),
        stored.metadata.uid.as_deref()
    );

    let missing = s.kubectl(&["get", "configmap", "nope"]).await;
    assert!(!missing.ok);
    assert!(
        missing.stderr.contains("(NotFound)") && missing.stderr.contains("\"nope\" not found"),
        "{}",
        missing.stderr
    );
    s.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_annotate_patch_scale_delete() {
    let s = setup().await;
    let file = fixture("app.yaml");
    s.ok(&["create", "namespace", "demo"]).await;
    s.ok(&["apply", "-f", file.to_str().expect("utf-8")]).await;
    let cms = s.api::<ConfigMap>("demo");

    s.ok(&["-n", "demo", "label", "configmap", "settings", "tier=front"])
        .await;
    s.ok(&[
        "-n",
        "demo",
        "annotate",
        "configmap",
        "settings",
        "note=hello",
    ])
    .await;
    let cm = cms.get("settings").await.expect("cm");
    assert_eq!(
        cm.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("tier"))
            .map(String::as_str),
        Some("front")
    );
    assert_eq!(
        cm.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("note"))
            .map(String::as_str),
        Some("hello")
    );

    s.ok(&[
        "-n",
        "demo",
        "patch",
        "configmap",
        "settings",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/data/size","value":"L"}]"#,
    ])
    .await;
    s.ok(&[
        "-n",
        "demo",
        "patch",
        "configmap",
        "settings",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"color":"red"}}"#,
    ])
    .await;
    let data = cms
        .get("settings")
        .await
        .expect("cm")
        .data
        .unwrap_or_default();
    assert_eq!(data.get("size").map(String::as_str), Some("L"));
    assert_eq!(data.get("color").map(String::as_str), Some("red"));

    let out = s
        .ok(&["-n", "demo", "scale", "deployment", "web", "--replicas=3"])
        .await;
    assert_eq!(out.trim(), "deployment.apps/web scaled");
    let d = s
        .api::<Deployment>("demo")
        .get("web")
        .await
        .expect("deployment");
    assert_eq!(d.spec.and_then(|sp| sp.replicas), Some(3));
    assert_eq!(d.metadata.generation, Some(2));

    let out = s
        .ok(&["-n", "demo", "delete", "configmap", "settings"])
        .await;
    assert_eq!(out.trim(), "configmap \"settings\" deleted");
    assert!(cms.get_opt("settings").await.expect("get").is_none());
    s.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_streams_changes() {
    let s = setup().await;
    let cms = s.api::<ConfigMap>("default");
    let before: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "before"}})).expect("cm");
    cms.create(&PostParams::default(), &before)
        .await
        .expect("create");
    let mut child = command(
        s.cluster.kubeconfig_path(),
        s.home.path(),
        &[
            "get",
            "configmaps",
            "--watch",
            "--output-watch-events",
            "--request-timeout=20s",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("kubectl starts");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_line = |rx: &mpsc::Receiver<String>, deadline: Instant| {
        rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .ok()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    // The header and the existing object come with the initial list.
    let header = tokio::task::block_in_place(|| next_line(&rx, deadline)).expect("header");
    assert!(header.starts_with("EVENT"), "{header}");
    let first = tokio::task::block_in_place(|| next_line(&rx, deadline)).expect("initial event");
    assert!(
        first.starts_with("ADDED") && first.contains("before"),
        "{first}"
    );
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "watched"}})).expect("cm");
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    cms.delete("watched", &Default::default())
        .await
        .expect("delete");
    let mut events = Vec::new();
    while events.len() < 2 {
        let line =
            tokio::task::block_in_place(|| next_line(&rx, deadline)).expect("watch event in time");
        let mut cols = line.split_whitespace();
        events.push(format!(
            "{} {}",
            cols.next().unwrap_or_default(),
            cols.next().unwrap_or_default()
        ));
    }
    assert_eq!(events, vec!["ADDED watched", "DELETED watched"]);
    child.kill().expect("stop kubectl");
    child.wait().expect("reap kubectl");
    reader.join().expect("reader");
    s.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_resources_lists_everything_served_including_crds() {
    let s = setup().await;
    let out = s.ok(&["api-resources", "-o", "wide"]).await;
    for (name, short) in [
        ("namespaces", "ns"),
        ("configmaps", "cm"),
        ("secrets", ""),
        ("services", "svc"),
        ("serviceaccounts", "sa"),
        ("pods", "po"),
        ("events", "ev"),
        ("endpoints", "ep"),
        ("persistentvolumeclaims", "pvc"),
        ("nodes", "no"),
        ("deployments", "deploy"),
        ("replicasets", "rs"),
        ("statefulsets", "sts"),
        ("daemonsets", "ds"),
        ("jobs", ""),
        ("cronjobs", "cj"),
        ("ingresses", "ing"),
        ("roles", ""),
        ("rolebindings", ""),
        ("clusterroles", ""),
        ("clusterrolebindings", ""),
        ("leases", ""),
        ("customresourcedefinitions", "crd,crds"),
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{out}"));
        if !short.is_empty() {
            assert_eq!(line.split_whitespace().nth(1), Some(short), "{line}");
        }
        assert!(
            line.contains("create,delete,deletecollection,get,list,patch,update,watch"),
            "{line}"
        );
    }

    let crd = fixture("widget-crd.yaml");
    s.ok(&["apply", "-f", crd.to_str().expect("utf-8")]).await;
    let out = s.ok(&["api-resources", "--api-group=example.com"]).await;
    assert!(
        out.lines()
            .any(|l| l.starts_with("widgets ") && l.contains(" wg ")),
        "{out}"
    );
    let widget = r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":"big","replicas":1}}"#;
    let path = s.home.path().join("widget.json");
    std::fs::write(&path, widget).expect("write");
    s.ok(&["apply", "-f", path.to_str().expect("utf-8")]).await;
    s.ok(&["scale", "wg", "w1", "--replicas=4"]).await;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(s.cluster.client(), "default", &ar);
    assert_eq!(
        widgets.get("w1").await.expect("widget").data["spec"]["replicas"],
        4
    );
    s.ok(&["delete", "crd", "widgets.example.com"]).await;
    let gone = s.kubectl(&["get", "widgets"]).await;
    assert!(!gone.ok, "widgets are no longer served");
    s.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_of_changed_objects_and_strategic_patch() {
    let s = setup().await;
    s.ok(&["create", "namespace", "demo"]).await;
    let v1 = fixture("app.yaml");
    s.ok(&["apply", "-f", v1.to_str().expect("utf-8")]).await;
    // A container the manifests do not mention survives client-side apply.
    s.ok(&[
        "-n",
        "demo",
        "patch",
        "deployment",
        "web",
        "--type",
        "strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}"#,
    ])
    .await;
    let d = s
        .api::<Deployment>("demo")
        .get("web")
        .await
        .expect("deployment");
    let names: Vec<String> = d
        .spec
        .as_ref()
        .and_then(|sp| sp.template.spec.as_ref())
        .map(|p| p.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["web", "sidecar"]);

    let v2 = fixture("app-changed.yaml");
    // `kubectl diff` sends the same patches with dryRun=All: nothing is stored.
    let before = s
        .api::<Deployment>("demo")
        .get("web")
        .await
        .expect("deployment");
    let diff = s
        .kubectl(&["diff", "-f", v2.to_str().expect("utf-8")])
        .await;
    assert!(!diff.ok, "differences exit 1: {}", diff.stderr);
    let changed = |sign: char, text: &str| {
        diff.stdout
            .lines()
            .any(|l| l.starts_with(sign) && l.contains(text))
    };
    assert!(
        changed('-', "image: nginx:1.27") && changed('+', "image: nginx:1.28"),
        "{}{}",
        diff.stdout,
        diff.stderr
    );
    let after = s
        .api::<Deployment>("demo")
        .get("web")
        .await
        .expect("deployment");
    // Simulated controllers may write status meanwhile: compare the spec.
    assert_eq!(after.metadata.generation, before.metadata.generation);
    assert_eq!(after.spec, before.spec);
    let out = s.ok(&["apply", "-f", v2.to_str().expect("utf-8")]).await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "configmap/settings configured",
            "deployment.apps/web configured",
            "service/web configured"
        ]
    );
    let cm = s
        .api::<ConfigMap>("demo")
        .get("settings")
        .await
        .expect("cm");
    assert_eq!(
        cm.data.unwrap_or_default().get("color").map(String::as_str),
        Some("green")
    );
    let d = s
        .api::<Deployment>("demo")
        .get("web")
        .await
        .expect("deployment");
    let spec = d.spec.clone().expect("spec");
    assert_eq!(spec.replicas, Some(2));
    let pod = spec.template.spec.expect("pod spec");
    assert_eq!(pod.containers.len(), 2, "the sidecar stays");
    let web = &pod.containers[0];
    assert_eq!(web.name, "web");
    assert_eq!(web.image.as_deref(), Some("nginx:1.28"));
    let ports: Vec<i32> = web
        .ports
        .iter()
        .flatten()
        .map(|p| p.container_port)
        .collect();
    assert_eq!(ports, [8080], "port 80 was removed from the manifest");
    let env = web.env.clone().unwrap_or_default();
    assert_eq!(env.len(), 1);
    assert_eq!(
        (env[0].name.as_str(), env[0].value.as_deref()),
        ("MODE", Some("fast"))
    );
    assert_eq!(d.metadata.generation, Some(3));
    let svc = s.api::<Service>("demo").get("web").await.expect("service");
    let ports: Vec<(Option<String>, i32)> = svc
        .spec
        .and_then(|sp| sp.ports)
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.name, p.port))
        .collect();
    assert_eq!(
        ports,
        [(Some("http".into()), 80), (Some("https".into()), 443)]
    );

    // kubectl still sends `$setElementOrder` for the containers (the live
    // list has the sidecar too), which changes nothing on the server.
    let out = s.ok(&["apply", "-f", v2.to_str().expect("utf-8")]).await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "configmap/settings unchanged",
            "deployment.apps/web configured",
            "service/web unchanged"
        ]
    );
    let again = s
        .api::<Deployment>("demo")
        .get("web")
        .await
        .expect("deployment");
    assert_eq!(again.metadata.generation, d.metadata.generation);
    assert_eq!(again.spec, d.spec);

    // Custom resources have no merge keys: the server refuses, as a real one does.
    let crd = fixture("widget-crd.yaml");
    s.ok(&["apply", "-f", crd.to_str().expect("utf-8")]).await;
    let widget = r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":"big","replicas":1}}"#;
    let path = s.home.path().join("widget.json");
    std::fs::write(&path, widget).expect("write");
    s.ok(&["apply", "-f", path.to_str().expect("utf-8")]).await;
    let refused = s
        .kubectl(&[
            "patch",
            "wg",
            "w1",
            "--type",
            "strategic",
            "-p",
            r#"{"spec":{"size":"small"}}"#,
        ])
        .await;
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains("UnsupportedMediaType")
            || refused.stderr.contains("unknown format"),
        "{}",
        refused.stderr
    );
    s.cluster.shutdown().await;
}

/// Owners of `field` (e.g. `f:replicas`) in the deployment's managedFields.
fn owners(d: &Deployment, field: &str) -> Vec<(String, String)> {
    d.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|e| {
            e.fields_v1
                .as_ref()
                .is_some_and(|f| f.0.to_string().contains(&format!("\"{field}\"")))
        })
        .map(|e| {
            (
                e.manager.clone().unwrap_or_default(),
                e.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_change_conflict_and_force() {
    let s = setup().await;
    s.ok(&["create", "namespace", "demo"]).await;
    let v1 = fixture("app.yaml");
    let v2 = fixture("app-changed.yaml");
    let (v1, v2) = (v1.to_str().expect("utf-8"), v2.to_str().expect("utf-8"));
    let out = s.ok(&["apply", "--server-side", "-f", v1]).await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "configmap/settings serverside-applied",
            "deployment.apps/web serverside-applied",
            "service/web serverside-applied"
        ]
    );
    let deployments = s.api::<Deployment>("demo");
    let d = deployments.get("web").await.expect("created by apply");
    assert_eq!(
        owners(&d, "f:image"),
        [("kubectl".to_owned(), "Apply".to_owned())]
    );
    let entry = &d.metadata.managed_fields.as_ref().expect("managedFields")[0];
    assert_eq!(entry.fields_type.as_deref(), Some("FieldsV1"));
    assert_eq!(entry.api_version.as_deref(), Some("apps/v1"));
    let fields = entry.fields_v1.as_ref().expect("fieldsV1").0.to_string();
    assert!(fields.contains(r#"k:{\"name\":\"web\"}"#), "{fields}");

    // Server-side diff of the change: dry run, nothing stored.
    let diff = s
        .kubectl(&["diff", "--server-side", "--force-conflicts", "-f", v2])
        .await;
    assert!(
        !diff.ok
            && diff
                .stdout
                .lines()
                .any(|l| l.starts_with('+') && l.contains("image: nginx:1.28")),
        "{}{}",
        diff.stdout,
        diff.stderr
    );
    let after = deployments.get("web").await.expect("d");
    assert_eq!(after.metadata.generation, d.metadata.generation);
    assert_eq!(after.spec, d.spec);

    // A change: fields no longer applied (port 80) are removed.
    s.ok(&["apply", "--server-side", "-f", v2]).await;
    let d = deployments.get("web").await.expect("d");
    let web = &d
        .spec
        .as_ref()
        .and_then(|sp| sp.template.spec.clone())
        .expect("pod")
        .containers[0];
    assert_eq!(web.image.as_deref(), Some("nginx:1.28"));
    let ports: Vec<i32> = web
        .ports
        .iter()
        .flatten()
        .map(|p| p.container_port)
        .collect();
    assert_eq!(ports, [8080]);

    // Another manager changes replicas; applying 2 again conflicts.
    s.ok(&[
        "-n",
        "demo",
        "patch",
        "deployment",
        "web",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"replicas":5}}"#,
    ])
    .await;
    let d = deployments.get("web").await.expect("d");
    assert_eq!(
        owners(&d, "f:replicas"),
        [("kubectl-patch".to_owned(), "Update".to_owned())]
    );
    let conflict = s.kubectl(&["apply", "--server-side", "-f", v2]).await;
    assert!(!conflict.ok);
    assert!(
        conflict.stderr.contains(r#"Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas"#),
        "{}",
        conflict.stderr
    );
    assert_eq!(
        deployments
            .get("web")
            .await
            .expect("d")
            .spec
            .and_then(|sp| sp.replicas),
        Some(5)
    );

    s.ok(&["apply", "--server-side", "--force-conflicts", "-f", v2])
        .await;
    let d = deployments.get("web").await.expect("d");
    assert_eq!(d.spec.as_ref().and_then(|sp| sp.replicas), Some(2));
    assert_eq!(
        owners(&d, "f:replicas"),
        [("kubectl".to_owned(), "Apply".to_owned())]
    );
    s.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_server_side_tables() {
    let s = setup().await;
    s.ok(&["create", "namespace", "demo"]).await;
    let file = fixture("app.yaml");
    s.ok(&["apply", "-f", file.to_str().expect("utf-8")]).await;
    let header = |out: &str| -> Vec<String> {
        out.lines()
            .next()
            .unwrap_or_default()
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let out = s.ok(&["-n", "demo", "get", "deployments"]).await;
    assert_eq!(
        header(&out),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "{out}"
    );
    assert!(
        out.lines().nth(1).is_some_and(|l| l.starts_with("web ")),
        "{out}"
    );
    let out = s.ok(&["-n", "demo", "get", "services"]).await;
    assert_eq!(
        header(&out),
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ],
        "{out}"
    );
    assert!(out.contains("80/TCP"), "{out}");
    let out = s.ok(&["-n", "demo", "get", "configmaps", "settings"]).await;
    assert_eq!(header(&out), ["NAME", "DATA", "AGE"], "{out}");
    let out = s.ok(&["get", "namespaces"]).await;
    assert_eq!(header(&out), ["NAME", "STATUS", "AGE"], "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("demo ") && l.contains("Active")),
        "{out}"
    );
    s.cluster.shutdown().await;
}
