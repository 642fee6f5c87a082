//! Desired against live objects: normalization tables, `ignoreDifferences`, and real live
//! objects written by server-side apply to an embedded cluster.

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use proptest::prelude::*;
use serde_json::{Value, json};
use windlass_embedded_cluster::{Config, EmbeddedCluster, Handle};
use windlass_entity_model::argocd::ResourceIgnoreDifferences;
use windlass_reconciler::diff::{
    DiffConfig, PathElement, diff, managed_fields, respect_ignore_differences,
};

fn rule(group: &str, kind: &str) -> ResourceIgnoreDifferences {
    ResourceIgnoreDifferences {
        group: Some(group.to_owned()),
        kind: kind.to_owned(),
        name: None,
        namespace: None,
        json_pointers: None,
        jq_path_expressions: None,
        managed_fields_managers: None,
        extra: Default::default(),
    }
}

fn pointers(mut r: ResourceIgnoreDifferences, p: &[&str]) -> ResourceIgnoreDifferences {
    r.json_pointers = Some(p.iter().map(|s| (*s).to_owned()).collect());
    r
}

fn config(ignore: Vec<ResourceIgnoreDifferences>) -> DiffConfig {
    DiffConfig {
        ignore,
        ..DiffConfig::default()
    }
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "web", "image": "nginx:1.27",
                    "args": ["--port", "80"],
                    "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
                    "env": [{"name": "MODE", "value": "fast"}],
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m"}}
                }],
                "tolerations": [{"key": "gpu", "operator": "Exists"}]}
            }
        }
    })
}

/// What an API server returns for `deployment()`: server metadata, defaults, status, other
/// managers' additions, quantities in canonical form and ports reordered.
fn deployment_live() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "shop", "labels": {"app": "web"},
            "uid": "3f1c", "resourceVersion": "812", "generation": 3,
            "creationTimestamp": "2025-01-01T00:00:00Z", "selfLink": "/x",
            "annotations": {
                "deployment.kubernetes.io/revision": "3",
                "kubectl.kubernetes.io/last-applied-configuration": "{}"
            },
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                "fieldsV1": {"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}}}]
        },
        "spec": {
            "replicas": 2.0,
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
                "spec": {
                    "containers": [{
                        "name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                        "args": ["--port", "80"],
                        "ports": [{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 80, "protocol": "TCP"}],
                        "env": [{"name": "MODE", "value": "fast"}],
                        "resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}, "requests": {"cpu": "0.1"}},
                        "terminationMessagePath": "/dev/termination-log"
                    }],
                    "tolerations": [{"key": "gpu", "operator": "Exists", "effect": ""}],
                    "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                    "securityContext": {}
                }
            }
        },
        "status": {"replicas": 2, "readyReplicas": 1}
    })
}

/// `(case, desired, live, expected changed paths)`: with the default configuration.
#[test]
fn normalization_table() {
    let d = deployment();
    let l = deployment_live();
    let with = |mut v: Value, pointer: &str, x: Value| {
        *v.pointer_mut(pointer).expect(pointer) = x;
        v
    };
    let secret = |data: Value| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "data": data});
    let cases: Vec<(&str, Value, Value, Vec<&str>)> = vec![
        (
            "server metadata, defaults, status, canonical quantities",
            d.clone(),
            l.clone(),
            vec![],
        ),
        ("identical objects", d.clone(), d.clone(), vec![]),
        (
            "a changed image",
            d.clone(),
            with(
                l.clone(),
                "/spec/template/spec/containers/0/image",
                json!("nginx:1.26"),
            ),
            vec!["/spec/template/spec/containers/0/image"],
        ),
        (
            "replicas",
            with(d.clone(), "/spec/replicas", json!(3)),
            l.clone(),
            vec!["/spec/replicas"],
        ),
        (
            "a different quantity",
            with(
                d.clone(),
                "/spec/template/spec/containers/0/resources/requests/cpu",
                json!("250m"),
            ),
            l.clone(),
            vec!["/spec/template/spec/containers/0/resources/requests/cpu"],
        ),
        (
            "a quantity given as a number",
            with(
                d.clone(),
                "/spec/template/spec/containers/0/resources/limits/cpu",
                json!(1),
            ),
            l.clone(),
            vec![],
        ),
        (
            "args are compared exactly, in order",
            with(
                d.clone(),
                "/spec/template/spec/containers/0/args",
                json!(["80", "--port"]),
            ),
            l.clone(),
            vec![
                "/spec/template/spec/containers/0/args/0",
                "/spec/template/spec/containers/0/args/1",
            ],
        ),
        (
            "an atomic list of another length",
            with(
                d.clone(),
                "/spec/template/spec/tolerations",
                json!([{"key": "gpu", "operator": "Exists"}, {"key": "a"}]),
            ),
            l.clone(),
            vec!["/spec/template/spec/tolerations"],
        ),
        (
            "a new env var of a container matched by name",
            with(
                d.clone(),
                "/spec/template/spec/containers/0/env",
                json!([{"name": "MODE", "value": "fast"}, {"name": "DEBUG", "value": "1"}]),
            ),
            l.clone(),
            vec!["/spec/template/spec/containers/0/env/1"],
        ),
        (
            "a sidecar in live that nobody applied from here",
            d.clone(),
            {
                let mut v = l.clone();
                v["spec"]["template"]["spec"]["containers"]
                    .as_array_mut()
                    .expect("list")
                    .insert(0, json!({"name": "istio-proxy", "image": "istio/proxyv2"}));
                v
            },
            vec![],
        ),
        (
            "empty and null fields count as absent",
            {
                let mut v = d.clone();
                v["metadata"]["annotations"] = json!({});
                v["spec"]["template"]["spec"]["volumes"] = json!([]);
                v["spec"]["paused"] = Value::Null;
                v
            },
            l.clone(),
            vec![],
        ),
        (
            "status is ignored by default",
            {
                let mut v = d.clone();
                v["status"] = json!({"replicas": 5});
                v
            },
            l.clone(),
            vec![],
        ),
        (
            "a label only in desired",
            with(
                d.clone(),
                "/metadata/labels",
                json!({"app": "web", "tier": "front"}),
            ),
            l.clone(),
            vec!["/metadata/labels/tier"],
        ),
        (
            "Secret stringData is data in base64",
            {
                let mut v = secret(json!({"a": "eA=="}));
                v["stringData"] = json!({"password": "hunter2"});
                v
            },
            secret(json!({"a": "eA==", "password": "aHVudGVyMg=="})),
            vec![],
        ),
        (
            "Secret stringData that differs",
            {
                let mut v = secret(json!({}));
                v["stringData"] = json!({"password": "hunter3"});
                v
            },
            secret(json!({"password": "aHVudGVyMg=="})),
            vec!["/data/password"],
        ),
        (
            "a custom resource's list matched by name",
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                   "spec": {"parts": [{"name": "b", "size": 2}, {"name": "a", "size": 1}]}}),
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                   "spec": {"parts": [{"name": "a", "size": 1, "color": "red"}, {"name": "b", "size": 3}]}}),
            vec!["/spec/parts/1/size"],
        ),
    ];
    for (case, desired, live, expected) in cases {
        let r = diff(&desired, Some(&live), &DiffConfig::default()).expect(case);
        assert_eq!(r.changed_paths, expected, "{case}");
        assert_eq!(r.modified, !expected.is_empty(), "{case}");
    }
}

#[test]
fn status_is_compared_when_not_ignored() {
    let mut d = deployment();
    d["status"] = json!({"replicas": 2, "readyReplicas": 2});
    let config = DiffConfig {
        ignore_status: false,
        ..DiffConfig::default()
    };
    let r = diff(&d, Some(&deployment_live()), &config).expect("diff");
    assert_eq!(r.changed_paths, ["/status/readyReplicas"]);
}

#[test]
fn a_missing_live_object_is_modified() {
    let r = diff(&deployment(), None, &DiffConfig::default()).expect("diff");
    assert!(r.modified);
    assert_eq!(r.changed_paths, [""]);
    assert_eq!(r.normalized_live, Value::Null);
    assert_eq!(r.normalized_desired["spec"]["replicas"], json!(2));
}

#[test]
fn normalized_sides_are_what_was_compared() {
    let mut l = deployment_live();
    l["spec"]["replicas"] = json!(5);
    let r = diff(&deployment(), Some(&l), &DiffConfig::default()).expect("diff");
    assert_eq!(r.changed_paths, ["/spec/replicas"]);
    // Desired is shown as live after the apply: server defaults kept, our value set.
    assert_eq!(r.normalized_desired["spec"]["replicas"], json!(2));
    assert_eq!(
        r.normalized_desired["spec"]["revisionHistoryLimit"],
        json!(10)
    );
    assert_eq!(r.normalized_live["spec"]["replicas"], json!(5));
    for side in [&r.normalized_desired, &r.normalized_live] {
        assert!(side.get("status").is_none());
        assert!(side["metadata"].get("managedFields").is_none());
        assert!(side["metadata"].get("uid").is_none());
        assert!(
            side["metadata"]["annotations"]
                .get("kubectl.kubernetes.io/last-applied-configuration")
                .is_none()
        );
    }
}

#[test]
fn ignore_rules_match_by_group_kind_name_and_namespace() {
    let mut l = deployment_live();
    l["spec"]["replicas"] = json!(5);
    let d = deployment();
    let named = |name: Option<&str>, namespace: Option<&str>| {
        let mut r = pointers(rule("apps", "Deployment"), &["/spec/replicas"]);
        r.name = name.map(str::to_owned);
        r.namespace = namespace.map(str::to_owned);
        r
    };
    let cases = [
        ("exact", named(None, None), false),
        (
            "name and namespace",
            named(Some("web"), Some("shop")),
            false,
        ),
        ("empty name and namespace", named(Some(""), Some("")), false),
        ("another name", named(Some("api"), None), true),
        ("another namespace", named(None, Some("prod")), true),
        (
            "group glob",
            pointers(rule("*", "*"), &["/spec/replicas"]),
            false,
        ),
        (
            "kind glob",
            pointers(rule("apps", "Deploy*"), &["/spec/replicas"]),
            false,
        ),
        // As in Argo CD, an empty group is the core group.
        (
            "core group",
            pointers(rule("", "Deployment"), &["/spec/replicas"]),
            true,
        ),
        (
            "another kind",
            pointers(rule("apps", "StatefulSet"), &["/spec/replicas"]),
            true,
        ),
        (
            "a pointer that is not there",
            pointers(rule("apps", "Deployment"), &["/spec/nope"]),
            true,
        ),
    ];
    for (case, r, modified) in cases {
        let result = diff(&d, Some(&l), &config(vec![r])).expect(case);
        assert_eq!(
            result.modified, modified,
            "{case}: {:?}",
            result.changed_paths
        );
        if !modified {
            assert!(
                result.normalized_live["spec"].get("replicas").is_none(),
                "{case}"
            );
            assert!(
                result.normalized_desired["spec"].get("replicas").is_none(),
                "{case}"
            );
        }
    }
}

#[test]
fn pointers_with_slashes_and_list_positions() {
    let d = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1",
        "labels": {"node-role.kubernetes.io/worker": "true"}}});
    let l = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1",
        "labels": {"node-role.kubernetes.io/worker": "false"}}});
    let r = pointers(
        rule("", "Node"),
        &["/metadata/labels/node-role.kubernetes.io~1worker"],
    );
    assert!(!diff(&d, Some(&l), &config(vec![r])).expect("diff").modified);

    let mut live = deployment_live();
    live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let r = pointers(
        rule("apps", "Deployment"),
        &["/spec/template/spec/containers/0/image"],
    );
    assert!(
        !diff(&deployment(), Some(&live), &config(vec![r]))
            .expect("diff")
            .modified
    );
}

#[test]
fn malformed_rules_are_errors_naming_the_rule() {
    let mut r = pointers(rule("apps", "Deployment"), &["spec/replicas"]);
    r.name = Some("web".into());
    let e =
        diff(&deployment(), Some(&deployment_live()), &config(vec![r])).expect_err("bad pointer");
    insta::assert_snapshot!(e.to_string(), @"ignoreDifferences rule apps/Deployment name=web: jsonPointers `spec/replicas`: a JSON pointer starts with `/`");

    // Reported even on objects the rule does not name.
    let r = pointers(rule("", "ConfigMap"), &["/data/a~9"]);
    let e =
        diff(&deployment(), Some(&deployment_live()), &config(vec![r])).expect_err("bad escape");
    insta::assert_snapshot!(e.to_string(), @"ignoreDifferences rule ConfigMap: jsonPointers `/data/a~9`: `~` must be followed by 0 or 1 in `a~9`");
}

#[test]
fn desired_objects_need_a_kind() {
    let e = diff(
        &json!({"apiVersion": "v1", "metadata": {"name": "x", "namespace": "a"}}),
        None,
        &DiffConfig::default(),
    )
    .expect_err("no kind");
    insta::assert_snapshot!(e.to_string(), @"cannot compare v1  a/x: the desired object has no `kind`");
    let e = diff(&json!([1]), None, &DiffConfig::default()).expect_err("not an object");
    insta::assert_snapshot!(e.to_string(), @"cannot compare desired object: expected a JSON object, got [1]");
}

/// managedFields of a ConfigMap: we applied `data.a`, `data.b` and a label; `other`
/// applied `data.b` too (shared ownership).
fn configmap_live() -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default", "labels": {"team": "x"},
            "managedFields": [
                {"manager": "windlass-controller", "operation": "Apply", "apiVersion": "v1",
                 "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:team": {}}}}},
                {"manager": "other", "operation": "Apply", "apiVersion": "v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:b": {}, "f:c": {}}}}
            ]},
        "data": {"a": "1", "b": "2", "c": "3"}
    })
}

#[test]
fn fields_we_applied_and_dropped_are_differences() {
    let live = configmap_live();
    let desired = |data: Value, labels: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "labels": labels}, "data": data})
    };
    let cases = [
        (
            "all still desired",
            desired(json!({"a": "1", "b": "2"}), json!({"team": "x"})),
            vec![],
        ),
        (
            "a dropped field we own alone",
            desired(json!({"b": "2"}), json!({"team": "x"})),
            vec!["/data/a"],
        ),
        (
            "a dropped label",
            desired(json!({"a": "1", "b": "2"}), json!({})),
            vec!["/metadata/labels/team"],
        ),
        (
            "a dropped field another manager co-owns",
            desired(json!({"a": "1"}), json!({"team": "x"})),
            vec![],
        ),
    ];
    for (case, d, expected) in cases {
        let r = diff(&d, Some(&live), &DiffConfig::default()).expect(case);
        assert_eq!(r.changed_paths, expected, "{case}");
    }
    // Another manager name: nothing of ours to remove.
    let config = DiffConfig {
        manager: "argocd-controller".into(),
        ..DiffConfig::default()
    };
    let r = diff(&desired(json!({}), json!({})), Some(&live), &config).expect("diff");
    assert!(!r.modified, "{:?}", r.changed_paths);
}

#[test]
fn managed_fields_are_parsed_paths() {
    let live = configmap_live();
    let ours = managed_fields(&live, "windlass-controller");
    let f = |s: &str| PathElement::Field(s.to_owned());
    assert_eq!(ours.len(), 3);
    assert!(ours.contains(&[f("data"), f("a")]));
    assert!(ours.contains(&[f("metadata"), f("labels"), f("team")]));
    assert!(!ours.contains(&[f("data"), f("c")]));
    assert_eq!(managed_fields(&live, "other").len(), 2);
    assert!(managed_fields(&live, "nobody").is_empty());
}

#[test]
fn managed_fields_managers_are_trusted() {
    let mut live = configmap_live();
    live["data"]["b"] = json!("changed-by-other");
    let d = json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "c", "labels": {"team": "x"}},
                   "data": {"a": "1", "b": "2"}});
    let r = diff(&d, Some(&live), &DiffConfig::default()).expect("diff");
    assert_eq!(r.changed_paths, ["/data/b"]);
    let mut trust = rule("", "ConfigMap");
    trust.managed_fields_managers = Some(vec!["other".into()]);
    let r = diff(&d, Some(&live), &config(vec![trust.clone()])).expect("diff");
    assert!(!r.modified, "{:?}", r.changed_paths);
    assert!(r.normalized_live["data"].get("b").is_none());

    // RespectIgnoreDifferences: the trusted value goes into what is applied.
    let mut applied = d.clone();
    respect_ignore_differences(&mut applied, &live, &config(vec![trust])).expect("respect");
    assert_eq!(
        applied["data"],
        json!({"a": "1", "b": "changed-by-other", "c": "3"})
    );
}

#[test]
fn an_injected_sidecar_owned_by_a_trusted_manager_is_ignored() {
    let mut live = deployment_live();
    live["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .expect("list")
        .push(json!({"name": "istio-proxy", "image": "istio/proxyv2"}));
    live["metadata"]["managedFields"] = json!([
        {"manager": "windlass-controller", "operation": "Apply", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}},
            "k:{\"name\":\"istio-proxy\"}": {".": {}, "f:image": {}, "f:name": {}}
        }}}}}},
        {"manager": "istio", "operation": "Update", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"web\"}": {"f:env": {}},
            "k:{\"name\":\"istio-proxy\"}": {".": {}, "f:image": {}, "f:name": {}}
        }}}}}}
    ]);
    // We applied the sidecar once; it is co-owned by istio, so dropping it changes nothing.
    let r = diff(&deployment(), Some(&live), &DiffConfig::default()).expect("diff");
    assert!(!r.modified, "{:?}", r.changed_paths);

    // Owned by us alone, dropping it is a difference.
    live["metadata"]["managedFields"][1]["fieldsV1"] = json!({});
    let r = diff(&deployment(), Some(&live), &DiffConfig::default()).expect("diff");
    assert_eq!(r.changed_paths, ["/spec/template/spec/containers/1"]);
}

#[test]
fn respect_ignore_differences_copies_live_values_at_ignored_pointers() {
    let mut live = deployment_live();
    live["spec"]["replicas"] = json!(7);
    let r = pointers(
        rule("apps", "Deployment"),
        &["/spec/replicas", "/spec/paused", "/status"],
    );
    let mut desired = deployment();
    desired["spec"]["paused"] = json!(true);
    respect_ignore_differences(&mut desired, &live, &config(vec![r.clone()])).expect("respect");
    assert_eq!(desired["spec"]["replicas"], json!(7));
    // Absent in live: removed from what is applied, so the apply leaves it absent.
    assert!(desired["spec"].get("paused").is_none());
    // status is never copied.
    assert!(desired.get("status").is_none());
    // Rules of other objects leave it alone.
    let mut other = deployment();
    let r = pointers(rule("apps", "StatefulSet"), &["/spec/replicas"]);
    respect_ignore_differences(&mut other, &live, &config(vec![r])).expect("respect");
    assert_eq!(other, deployment());
}

// --- against a real API server ------------------------------------------------------------

async fn cluster() -> Handle {
    EmbeddedCluster::start(Config::default())
        .await
        .expect("cluster starts")
}

fn api(client: &Client, object: &Value) -> Api<DynamicObject> {
    let (group, version) = match object["apiVersion"]
        .as_str()
        .expect("apiVersion")
        .split_once('/')
    {
        Some((g, v)) => (g.to_owned(), v.to_owned()),
        None => (
            String::new(),
            object["apiVersion"]
                .as_str()
                .expect("apiVersion")
                .to_owned(),
        ),
    };
    let kind = object["kind"].as_str().expect("kind");
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(&group, &version, kind));
    let ns = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default");
    Api::namespaced_with(client.clone(), ns, &ar)
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().expect("name")
}

/// Server-side applies `object` with `manager` (force) and returns the live object.
async fn apply(client: &Client, object: &Value, manager: &str) -> Value {
    let live = api(client, object)
        .patch(
            name(object),
            &PatchParams::apply(manager).force(),
            &Patch::Apply(object),
        )
        .await
        .unwrap_or_else(|e| panic!("apply {}: {e}", name(object)));
    serde_json::to_value(live).expect("json")
}

/// A merge patch by `manager`, as `kubectl edit` or a controller would do.
async fn patch(client: &Client, object: &Value, manager: &str, patch: Value) -> Value {
    let params = PatchParams {
        field_manager: Some(manager.to_owned()),
        ..PatchParams::default()
    };
    let live = api(client, object)
        .patch(name(object), &params, &Patch::Merge(patch))
        .await
        .expect("merge patch");
    serde_json::to_value(live).expect("json")
}

async fn get(client: &Client, object: &Value) -> Value {
    serde_json::to_value(api(client, object).get(name(object)).await.expect("get")).expect("json")
}

/// The object once the simulated controllers are done with it: a Deployment rolled out
/// (status and revision annotation written), a Service with its Endpoints; nothing acts
/// on other kinds.
async fn settled(client: &Client, object: &Value) -> Value {
    let start = std::time::Instant::now();
    loop {
        let live = get(client, object).await;
        let done = match object["kind"].as_str() {
            Some("Deployment") => {
                let status = &live["status"];
                let replicas = &live["spec"]["replicas"];
                status["observedGeneration"] == live["metadata"]["generation"]
                    && status["updatedReplicas"] == *replicas
                    && status["availableReplicas"] == *replicas
            }
            Some("Service") => {
                let endpoints: Api<k8s_openapi::api::core::v1::Endpoints> =
                    Api::namespaced(client.clone(), "default");
                endpoints
                    .get_opt(name(object))
                    .await
                    .expect("read Endpoints")
                    .is_some()
            }
            _ => true,
        };
        if done {
            return live;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the controllers never finished with {}: {live:#}",
            object["kind"]
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                        "ports": [{"containerPort": 80}],
                        "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"}}}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "data": {"mode": "fast", "level": "3"}}),
    ]
}

#[tokio::test]
async fn applied_objects_read_back_are_in_sync() {
    let c = cluster().await;
    let client = c.client();
    for object in objects() {
        apply(&client, &object, "windlass-controller").await;
        let live = settled(&client, &object).await;
        assert!(
            !managed_fields(&live, "windlass-controller").is_empty(),
            "{}: live has our managedFields",
            object["kind"]
        );
        let r = diff(&object, Some(&live), &DiffConfig::default()).expect("diff");
        assert!(!r.modified, "{}: {:?}", object["kind"], r.changed_paths);
    }
    c.shutdown().await;
}

#[tokio::test]
async fn drift_by_another_manager_and_ignore_rules() {
    let c = cluster().await;
    let client = c.client();
    let deploy = objects().remove(0);
    apply(&client, &deploy, "windlass-controller").await;
    let live = patch(
        &client,
        &deploy,
        "kubectl-edit",
        json!({"spec": {"replicas": 5}}),
    )
    .await;

    let r = diff(&deploy, Some(&live), &DiffConfig::default()).expect("diff");
    assert!(r.modified);
    assert_eq!(r.changed_paths, ["/spec/replicas"]);

    let by_pointer = pointers(rule("apps", "Deployment"), &["/spec/replicas"]);
    let r = diff(&deploy, Some(&live), &config(vec![by_pointer.clone()])).expect("diff");
    assert!(!r.modified, "{:?}", r.changed_paths);

    let mut by_manager = rule("apps", "Deployment");
    by_manager.managed_fields_managers = Some(vec!["kubectl-edit".into()]);
    let r = diff(&deploy, Some(&live), &config(vec![by_manager])).expect("diff");
    assert!(!r.modified, "{:?}", r.changed_paths);

    // RespectIgnoreDifferences: applying the respected object keeps the edit.
    let mut desired = deploy.clone();
    respect_ignore_differences(&mut desired, &live, &config(vec![by_pointer.clone()]))
        .expect("respect");
    let live = apply(&client, &desired, "windlass-controller").await;
    assert_eq!(live["spec"]["replicas"], json!(5));
    let r = diff(&deploy, Some(&live), &config(vec![by_pointer])).expect("diff");
    assert!(!r.modified, "{:?}", r.changed_paths);
    c.shutdown().await;
}

#[tokio::test]
async fn dropped_fields_and_foreign_labels() {
    let c = cluster().await;
    let client = c.client();
    let cm = objects().remove(2);
    apply(&client, &cm, "windlass-controller").await;

    // Another manager adds a label: not ours to compare.
    let live = patch(
        &client,
        &cm,
        "labeller",
        json!({"metadata": {"labels": {"owner": "ops"}}}),
    )
    .await;
    let r = diff(&cm, Some(&live), &DiffConfig::default()).expect("diff");
    assert!(!r.modified, "{:?}", r.changed_paths);

    // Desired drops a field we applied: the next apply would remove it.
    let mut dropped = cm.clone();
    dropped["data"]
        .as_object_mut()
        .expect("data")
        .remove("level");
    let r = diff(&dropped, Some(&live), &DiffConfig::default()).expect("diff");
    assert_eq!(r.changed_paths, ["/data/level"]);

    // And after that apply, live matches.
    let live = apply(&client, &dropped, "windlass-controller").await;
    assert!(live["data"].get("level").is_none());
    let r = diff(&dropped, Some(&live), &DiffConfig::default()).expect("diff");
    assert!(!r.modified, "{:?}", r.changed_paths);

    // Desired drops the Service port's targetPort it applied: a difference too.
    let svc = objects().remove(1);
    apply(&client, &svc, "windlass-controller").await;
    let mut svc2 = svc.clone();
    svc2["spec"]["ports"][0]
        .as_object_mut()
        .expect("port")
        .remove("targetPort");
    let live = get(&client, &svc).await;
    let r = diff(&svc2, Some(&live), &DiffConfig::default()).expect("diff");
    assert_eq!(r.changed_paths, ["/spec/ports/0/targetPort"]);
    c.shutdown().await;
}

// --- invariants ---------------------------------------------------------------------------

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z0-9]{0,4}".prop_map(Value::from),
        prop_oneof![Just("100m"), Just("1Gi"), Just("0.5")].prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("name".to_owned()),
                        Just("containers".to_owned()),
                        Just("ports".to_owned()),
                        Just("containerPort".to_owned()),
                        Just("limits".to_owned()),
                        Just("finalizers".to_owned()),
                        "[a-z]{1,3}"
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("Deployment"), Just("Service"), Just("Widget")],
        prop::collection::btree_map("[a-z]{1,3}", json_value(), 0..4),
        json_value(),
    )
        .prop_map(|(kind, fields, meta)| {
            let mut m = serde_json::Map::new();
            m.insert("apiVersion".into(), json!("example.com/v1"));
            m.insert("kind".into(), json!(kind));
            m.insert("metadata".into(), json!({"name": "x", "extra": meta}));
            for (k, v) in fields {
                m.insert(k, v);
            }
            Value::Object(m)
        })
}

/// Pointers to the map fields of `v` (no list positions, nothing the identity needs).
fn map_pointers(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, child) in m {
            let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
            if !matches!(
                p.as_str(),
                "/kind" | "/apiVersion" | "/metadata" | "/metadata/name"
            ) {
                out.push(p.clone());
            }
            map_pointers(child, &p, out);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_object_never_differs_from_itself(x in object()) {
        let r = diff(&x, Some(&x), &DiffConfig::default()).expect("diff");
        prop_assert!(!r.modified, "{:?}", r.changed_paths);
    }

    #[test]
    fn removing_an_ignored_field_never_flips_the_result(
        x in object(), y in object(), pick in any::<prop::sample::Index>(), from_live in any::<bool>()
    ) {
        // Live: x with some of y's fields, so that both outcomes occur.
        let mut live = x.clone();
        if let (Some(l), Some(o)) = (live.as_object_mut(), y.as_object()) {
            for (k, v) in o.iter().filter(|(k, _)| !["kind", "apiVersion", "metadata"].contains(&k.as_str())) {
                l.insert(k.clone(), v.clone());
            }
        }
        let mut candidates = Vec::new();
        map_pointers(&x, "", &mut candidates);
        prop_assume!(!candidates.is_empty());
        let pointer = pick.get(&candidates).clone();
        let config = config(vec![pointers(rule("example.com", "*"), &[&pointer])]);
        let before = diff(&x, Some(&live), &config).expect("diff");
        let (mut x2, mut live2) = (x.clone(), live.clone());
        let target = if from_live { &mut live2 } else { &mut x2 };
        if let Some((parent, last)) = pointer.rsplit_once('/') {
            let last = last.replace("~1", "/").replace("~0", "~");
            if let Some(Value::Object(m)) = target.pointer_mut(parent) {
                m.shift_remove(&last);
            }
        }
        let after = diff(&x2, Some(&live2), &config).expect("diff");
        prop_assert_eq!(before.modified, after.modified, "{} {:?} {:?}", pointer, before.changed_paths, after.changed_paths);
    }
}

#[test]
fn jq_path_expressions_ignore_what_they_select() {
    let mut live = deployment_live();
    live["spec"]["template"]["spec"]["initContainers"] =
        json!([{"name": "injected-init-container", "image": "mesh/init"}]);
    live["metadata"]["managedFields"] = json!([
        {"manager": "windlass-controller", "operation": "Apply", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {
            "f:initContainers": {"k:{\"name\":\"injected-init-container\"}": {".": {}, "f:name": {}, "f:image": {}}}
        }}}}}
    ]);
    // Applied once by us and dropped since: a difference...
    let r = diff(&deployment(), Some(&live), &DiffConfig::default()).expect("diff");
    assert_eq!(r.changed_paths, ["/spec/template/spec/initContainers/0"]);
    // ...unless a jq rule ignores it, as Argo CD's documentation shows.
    let mut r = rule("apps", "Deployment");
    r.jq_path_expressions = Some(vec![
        r#".spec.template.spec.initContainers[] | select(.name == "injected-init-container")"#
            .into(),
    ]);
    let result = diff(&deployment(), Some(&live), &config(vec![r.clone()])).expect("diff");
    assert!(!result.modified, "{:?}", result.changed_paths);

    // An expression that fails on this object (no such list) selects nothing.
    let mut other = rule("apps", "Deployment");
    other.jq_path_expressions = Some(vec![".spec.nothing[].x".into()]);
    let result = diff(
        &deployment(),
        Some(&deployment_live()),
        &config(vec![other]),
    )
    .expect("diff");
    assert!(!result.modified);

    // RespectIgnoreDifferences keeps the injected element in what is applied.
    let mut desired = deployment();
    respect_ignore_differences(&mut desired, &live, &config(vec![r])).expect("respect");
    assert_eq!(
        desired["spec"]["template"]["spec"]["initContainers"],
        json!([{"name": "injected-init-container", "image": "mesh/init"}])
    );
}

#[test]
fn jq_caveats_are_ignored_per_webhook() {
    let hook = |ca: &str| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
               "metadata": {"name": "m"},
               "webhooks": [{"name": "a.example.com", "clientConfig": {"caBundle": ca, "service": {"name": "s"}}}]})
    };
    let mut r = rule(
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    );
    r.jq_path_expressions = Some(vec![".webhooks[]?.clientConfig.caBundle".into()]);
    let result = diff(&hook("Zm9v"), Some(&hook("YmFy")), &config(vec![r])).expect("diff");
    assert!(!result.modified, "{:?}", result.changed_paths);
    let result = diff(&hook("Zm9v"), Some(&hook("YmFy")), &DiffConfig::default()).expect("diff");
    assert_eq!(result.changed_paths, ["/webhooks/0/clientConfig/caBundle"]);
}

#[test]
fn bad_jq_expressions_are_errors_naming_the_rule() {
    let mut r = rule("apps", "Deployment");
    r.jq_path_expressions = Some(vec![".spec | frobnicate".into()]);
    let e = diff(&deployment(), None, &config(vec![r])).expect_err("undefined filter");
    insta::assert_snapshot!(e.to_string(), @"ignoreDifferences rule apps/Deployment: jqPathExpressions `.spec | frobnicate`: does not compile: undefined filter `frobnicate`");
    let mut r = rule("apps", "Deployment");
    r.jq_path_expressions = Some(vec![".spec[".into()]);
    let e = diff(&deployment(), None, &config(vec![r])).expect_err("parse error");
    assert!(
        e.to_string().starts_with(
            "ignoreDifferences rule apps/Deployment: jqPathExpressions `.spec[`: does not parse"
        ),
        "{e}"
    );
}
