//! API semantics through `kube` that the other test files only touch: dry run
//! on every write verb, watch options, CRD scopes and subresources, CRD
//! deletion, and what keeps a cluster's start cheap.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};
use windlass_embedded_cluster::{Config, Controllers, EmbeddedCluster, Handle};

async fn bare_cluster() -> Handle {
    EmbeddedCluster::start(Config {
        controllers: Controllers::none(),
        ..Config::default()
    })
    .await
    .expect("cluster starts")
}

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("valid object")
}

fn code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("expected an API error, got {other}"),
    }
}

/// Every write verb with `dryRun=All` answers as if it had written, and
/// nothing is stored or announced to watchers.
#[tokio::test]
async fn dry_run_on_every_write_verb_stores_nothing() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("cluster starts");
    let cms: Api<ConfigMap> = Api::default_namespaced(c.client());
    let deploys: Api<Deployment> = Api::default_namespaced(c.client());
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let pdry = PatchParams::default().dry_run();
    let ddry = DeleteParams::default().dry_run();

    let cm: ConfigMap =
        typed(json!({"metadata": {"name": "a", "labels": {"g": "x"}}, "data": {"k": "v"}}));
    let stored = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let d: Deployment = typed(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
    }));
    deploys
        .create(&PostParams::default(), &d)
        .await
        .expect("create deployment");
    // Let the controllers settle so only our writes could change anything.
    let deadline = Instant::now() + Duration::from_secs(10);
    while deploys
        .get("web")
        .await
        .expect("get")
        .status
        .and_then(|s| s.available_replicas)
        != Some(1)
    {
        assert!(
            Instant::now() < deadline,
            "deployment never became available"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cm_before = cms.get("a").await.expect("get");
    let deploy_before = deploys.get("web").await.expect("get");
    let rv = cm_before
        .metadata
        .resource_version
        .clone()
        .expect("resourceVersion");

    // A watcher from now on must see only the final, real write.
    let mut events = cms
        .watch(&WatchParams::default().disable_bookmarks().timeout(10), &rv)
        .await
        .expect("watch")
        .boxed();

    // create
    let created = cms
        .create(&dry, &typed(json!({"metadata": {"name": "b"}})))
        .await
        .expect("dry create");
    assert_eq!(created.metadata.name.as_deref(), Some("b"));
    assert!(cms.get_opt("b").await.expect("get").is_none());
    let generated = cms
        .create(&dry, &typed(json!({"metadata": {"generateName": "gen-"}})))
        .await
        .expect("dry create with generateName");
    assert!(
        generated
            .metadata
            .name
            .is_some_and(|n| n.starts_with("gen-") && n.len() > 4)
    );

    // update
    let mut changed = stored.clone();
    changed.metadata.resource_version = cm_before.metadata.resource_version.clone();
    changed.data = Some([("k".to_owned(), "changed".to_owned())].into());
    let replaced = cms.replace("a", &dry, &changed).await.expect("dry replace");
    assert_eq!(replaced.data, changed.data, "the answer shows the change");

    // patch, all four types
    let json_patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/data/k", "value": "json"}
    ]))
    .expect("json patch");
    let apply_params = PatchParams::apply("dry-test").force().dry_run();
    let patches: [(&PatchParams, Patch<Value>); 4] = [
        (&pdry, Patch::Merge(json!({"data": {"k": "merge"}}))),
        (&pdry, Patch::Strategic(json!({"data": {"k": "smp"}}))),
        (&pdry, Patch::Json(json_patch)),
        (
            &apply_params,
            Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a"}, "data": {"k": "apply"}})),
        ),
    ];
    let mut seen = Vec::new();
    for (params, patch) in &patches {
        let cm = cms.patch("a", params, patch).await.expect("dry patch");
        seen.push(cm.data.expect("data")["k"].clone());
    }
    assert_eq!(seen, ["merge", "smp", "json", "apply"]);

    // status and scale subresources
    let patched = deploys
        .patch_status(
            "web",
            &pdry,
            &Patch::Merge(json!({"status": {"replicas": 7}})),
        )
        .await
        .expect("dry status patch");
    assert_eq!(patched.status.and_then(|s| s.replicas), Some(7));
    let scale = deploys
        .patch_scale(
            "web",
            &pdry,
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .expect("dry scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(5));

    // delete and deletecollection
    let deleted = cms.delete("a", &ddry).await.expect("dry delete");
    assert!(deleted.is_left());
    cms.delete_collection(&ddry, &ListParams::default())
        .await
        .expect("dry deletecollection");

    // Nothing changed.
    let cm_after = cms.get("a").await.expect("still there");
    assert_eq!(
        cm_after.metadata.resource_version,
        cm_before.metadata.resource_version
    );
    assert_eq!(cm_after.data, cm_before.data);
    let deploy_after = deploys.get("web").await.expect("still there");
    assert_eq!(
        deploy_after.metadata.resource_version,
        deploy_before.metadata.resource_version
    );
    assert_eq!(deploy_after.spec, deploy_before.spec);

    // A namespace delete with dry run does not start terminating it.
    let nss: Api<Namespace> = Api::all(c.client());
    nss.create(
        &PostParams::default(),
        &typed(json!({"metadata": {"name": "kept"}})),
    )
    .await
    .expect("create namespace");
    let kept_cms: Api<ConfigMap> = Api::namespaced(c.client(), "kept");
    kept_cms
        .create(
            &PostParams::default(),
            &typed(json!({"metadata": {"name": "inside"}})),
        )
        .await
        .expect("create inside");
    nss.delete("kept", &ddry)
        .await
        .expect("dry delete namespace");
    let kept = nss.get("kept").await.expect("namespace still there");
    assert_eq!(kept.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    assert!(kept.metadata.deletion_timestamp.is_none());
    assert!(kept_cms.get_opt("inside").await.expect("get").is_some());

    // The watcher's first event is the real write below, nothing dry.
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "real"}})),
    )
    .await
    .expect("real patch");
    match tokio::time::timeout(Duration::from_secs(5), events.try_next()).await {
        Ok(Ok(Some(WatchEvent::Modified(cm)))) => {
            assert_eq!(cm.data.expect("data")["k"], "real");
        }
        other => panic!("expected the real MODIFIED first, got {other:?}"),
    }
    c.shutdown().await;
}

#[tokio::test]
async fn bookmarks_only_when_allowed_and_watches_end_after_timeout_seconds() {
    let c = EmbeddedCluster::start(Config {
        controllers: Controllers::none(),
        bookmark_interval: Duration::from_millis(50),
        ..Config::default()
    })
    .await
    .expect("cluster starts");
    let cms: Api<ConfigMap> = Api::default_namespaced(c.client());
    cms.create(
        &PostParams::default(),
        &typed(json!({"metadata": {"name": "x"}})),
    )
    .await
    .expect("create");

    // allowWatchBookmarks absent: a 3 s watch sees what happens while it is
    // open, ends on its own, and has no bookmarks.
    let mut stream = cms
        .watch(&WatchParams::default().disable_bookmarks().timeout(3), "0")
        .await
        .expect("watch")
        .boxed();
    let first = stream.try_next().await.expect("event");
    assert!(matches!(first, Some(WatchEvent::Added(_))), "{first:?}");
    cms.create(
        &PostParams::default(),
        &typed(json!({"metadata": {"name": "y"}})),
    )
    .await
    .expect("create");
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(15), stream.collect::<Vec<_>>())
        .await
        .expect("the server ends the watch after timeoutSeconds");
    let kinds: Vec<&str> = std::iter::once(first.map(Ok))
        .flatten()
        .chain(rest)
        .collect::<Vec<_>>()
        .iter()
        .map(|e| match e {
            Ok(WatchEvent::Added(_)) => "ADDED",
            Ok(WatchEvent::Bookmark(_)) => "BOOKMARK",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["ADDED", "ADDED"], "no bookmarks unless allowed");

    // allowWatchBookmarks=true: bookmarks keep arriving, each at the latest
    // resourceVersion.
    let latest = cms
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("resourceVersion");
    let bookmarks: Vec<String> = tokio::time::timeout(
        Duration::from_secs(15),
        cms.watch(&WatchParams::default(), &latest)
            .await
            .expect("watch")
            .filter_map(|e| async move {
                match e {
                    Ok(WatchEvent::Bookmark(b)) => Some(b.metadata.resource_version),
                    _ => None,
                }
            })
            .take(3)
            .collect(),
    )
    .await
    .expect("three bookmarks");
    assert_eq!(bookmarks, [latest.clone(), latest.clone(), latest]);

    // A bad timeoutSeconds is a 400.
    let url = "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=soon";
    let req = axum::http::Request::get(url)
        .body(Vec::new())
        .expect("request");
    let err = c
        .client()
        .request::<Value>(req)
        .await
        .expect_err("bad timeout");
    assert_eq!(code(err), 400);
    c.shutdown().await;
}

fn crd(scope: &str, group: &str) -> CustomResourceDefinition {
    typed(json!({
        "metadata": {"name": format!("gadgets.{group}")},
        "spec": {
            "group": group, "scope": scope,
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {
                    "status": {},
                    "scale": {"specReplicasPath": ".spec.replicas",
                              "statusReplicasPath": ".status.replicas",
                              "labelSelectorPath": ".status.selector"},
                },
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "replicas": {"type": "integer"}, "color": {"type": "string"}}},
                    "status": {"type": "object", "properties": {
                        "replicas": {"type": "integer"}, "selector": {"type": "string"},
                        "phase": {"type": "string"}}}}}}}],
        },
    }))
}

async fn wait_served(api: &Api<DynamicObject>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while api.list(&ListParams::default()).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the CRD's resource is never served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn cluster_scoped_crds_with_status_and_scale_subresources() {
    let c = bare_cluster().await;
    let crds: Api<CustomResourceDefinition> = Api::all(c.client());
    crds.create(
        &PostParams::default(),
        &crd("Cluster", "cluster.example.com"),
    )
    .await
    .expect("create crd");
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("cluster.example.com", "v1", "Gadget"),
        "gadgets",
    );
    let gadgets: Api<DynamicObject> = Api::all_with(c.client(), &ar);
    wait_served(&gadgets).await;
    let mut g = DynamicObject::new("g1", &ar);
    g.data = json!({"spec": {"replicas": 1, "color": "red"}, "status": {"phase": "ignored"}});
    let created = gadgets
        .create(&PostParams::default(), &g)
        .await
        .expect("create");
    assert_eq!(created.metadata.namespace, None, "cluster-scoped");
    assert!(
        created.data.get("status").is_none_or(Value::is_null),
        "status is not set through the main resource: {:?}",
        created.data
    );
    // A namespaced path for a cluster-scoped resource is not served.
    let in_ns: Api<DynamicObject> = Api::namespaced_with(c.client(), "default", &ar);
    assert_eq!(code(in_ns.get("g1").await.expect_err("no such path")), 404);

    // status: only status changes, generation stays.
    let with_status = gadgets
        .patch_status(
            "g1",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"phase": "Ready", "replicas": 1, "selector": "app=g"},
                                 "spec": {"color": "blue"}}),
            ),
        )
        .await
        .expect("status");
    assert_eq!(with_status.data["status"]["phase"], "Ready");
    assert_eq!(
        with_status.data["spec"]["color"], "red",
        "spec ignored by /status"
    );
    assert_eq!(with_status.metadata.generation, Some(1));
    // The main resource ignores status changes.
    let spec_patch = gadgets
        .patch(
            "g1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"color": "green"}, "status": {"phase": "Lost"}})),
        )
        .await
        .expect("patch");
    assert_eq!(spec_patch.data["status"]["phase"], "Ready");
    assert_eq!(spec_patch.metadata.generation, Some(2));

    // scale: read from and written to the declared paths.
    let scale = gadgets.get_scale("g1").await.expect("scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(1));
    let st = scale.status.expect("scale status");
    assert_eq!((st.replicas, st.selector.as_deref()), (1, Some("app=g")));
    gadgets
        .patch_scale(
            "g1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("scale up");
    assert_eq!(
        gadgets.get("g1").await.expect("get").data["spec"]["replicas"],
        3
    );
    c.shutdown().await;
}

#[tokio::test]
async fn deleting_a_crd_removes_its_objects() {
    let c = bare_cluster().await;
    let crds: Api<CustomResourceDefinition> = Api::all(c.client());
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("ns.example.com", "v1", "Gadget"),
        "gadgets",
    );
    let gadgets: Api<DynamicObject> = Api::namespaced_with(c.client(), "default", &ar);
    let all: Api<DynamicObject> = Api::all_with(c.client(), &ar);

    // A dry-run CRD create serves nothing.
    crds.create(
        &PostParams {
            dry_run: true,
            ..PostParams::default()
        },
        &crd("Namespaced", "ns.example.com"),
    )
    .await
    .expect("dry-run crd");
    assert_eq!(
        code(
            gadgets
                .list(&ListParams::default())
                .await
                .expect_err("not served")
        ),
        404
    );

    crds.create(&PostParams::default(), &crd("Namespaced", "ns.example.com"))
        .await
        .expect("create crd");
    wait_served(&gadgets).await;
    for name in ["g1", "g2"] {
        let mut g = DynamicObject::new(name, &ar);
        g.data = json!({"spec": {"replicas": 1}});
        gadgets
            .create(&PostParams::default(), &g)
            .await
            .expect("create");
    }
    let other_ns: Api<DynamicObject> = Api::namespaced_with(c.client(), "kube-system", &ar);
    let mut g = DynamicObject::new("g3", &ar);
    g.data = json!({"spec": {"replicas": 1}});
    other_ns
        .create(&PostParams::default(), &g)
        .await
        .expect("create");
    assert_eq!(
        all.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        3
    );

    crds.delete("gadgets.ns.example.com", &DeleteParams::default())
        .await
        .expect("delete crd");
    assert_eq!(
        code(
            all.list(&ListParams::default())
                .await
                .expect_err("not served")
        ),
        404
    );

    // Served again, but the old objects are gone.
    crds.create(&PostParams::default(), &crd("Namespaced", "ns.example.com"))
        .await
        .expect("re-create crd");
    wait_served(&all).await;
    assert!(
        all.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    c.shutdown().await;
}

/// A start is cheap enough that every test starts its own cluster (`cargo
/// xtask bench embedded-cluster` measures it, `start_ms`) because clusters
/// without a data directory make their certificates once per process, not
/// per start; each still has its own token and answers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_of_one_process_share_their_certificates() {
    // The kubeconfig is JSON (which is YAML).
    let kubeconfig = |c: &Handle| {
        let text = std::fs::read_to_string(c.kubeconfig_path()).expect("kubeconfig");
        let k: Value = serde_json::from_str(&text).expect("JSON");
        let ca = k["clusters"][0]["cluster"]["certificate-authority-data"].clone();
        let token = k["users"][0]["user"]["token"].clone();
        assert!(ca.is_string() && token.is_string(), "{text}");
        (ca, token)
    };
    let a = bare_cluster().await;
    let b = bare_cluster().await;
    let (ca_a, token_a) = kubeconfig(&a);
    let (ca_b, token_b) = kubeconfig(&b);
    assert_eq!(ca_a, ca_b);
    assert_ne!(token_a, token_b);
    for c in [a, b] {
        let nss: Api<Namespace> = Api::all(c.client());
        nss.get("default").await.expect("serving");
        c.shutdown().await;
    }
}

/// Server-side apply on a custom resource honours the schema's
/// `x-kubernetes-list-type: map` and `set`: two managers own different
/// elements of one list, as with the real structured-merge-diff.
#[tokio::test]
async fn server_side_apply_merges_custom_resource_lists_by_their_schema() {
    let c = bare_cluster().await;
    let crds: Api<CustomResourceDefinition> = Api::all(c.client());
    crds.create(
        &PostParams::default(),
        &typed(json!({
            "metadata": {"name": "routers.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "routers", "singular": "router", "kind": "Router"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {
                            "routes": {"type": "array", "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["name"],
                                "items": {"type": "object", "required": ["name"], "properties": {
                                    "name": {"type": "string"}, "backend": {"type": "string"}}}},
                            "hosts": {"type": "array", "x-kubernetes-list-type": "set",
                                "items": {"type": "string"}},
                            "args": {"type": "array", "items": {"type": "string"}}}}}}}}]},
        })),
    )
    .await
    .expect("create crd");
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Router"),
        "routers",
    );
    let routers: Api<DynamicObject> = Api::namespaced_with(c.client(), "default", &ar);
    wait_served(&routers).await;
    let router = |spec: Value| json!({"apiVersion": "example.com/v1", "kind": "Router", "metadata": {"name": "r"}, "spec": spec});
    let apply = |manager: &str| PatchParams::apply(manager);
    routers
        .patch(
            "r",
            &apply("team-a"),
            &Patch::Apply(router(
                json!({"routes": [{"name": "a", "backend": "svc-a"}],
                                        "hosts": ["a.example.com"], "args": ["--a"]}),
            )),
        )
        .await
        .expect("team-a applies");
    let r = routers
        .patch(
            "r",
            &apply("team-b"),
            &Patch::Apply(router(
                json!({"routes": [{"name": "b", "backend": "svc-b"}],
                                        "hosts": ["b.example.com"]}),
            )),
        )
        .await
        .expect("team-b applies its own elements without a conflict");
    assert_eq!(
        r.data["spec"]["routes"],
        json!([{"name": "a", "backend": "svc-a"}, {"name": "b", "backend": "svc-b"}])
    );
    assert_eq!(
        r.data["spec"]["hosts"],
        json!(["a.example.com", "b.example.com"])
    );
    let owners: Vec<(String, Value)> = r
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.fields_v1.map(|f| f.0).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        owners[1].1["f:spec"]["f:routes"],
        json!({"k:{\"name\":\"b\"}": {".": {}, "f:backend": {}, "f:name": {}}}),
        "{owners:?}"
    );

    // Changing team-a's element conflicts and names the element.
    let err = routers
        .patch(
            "r",
            &apply("team-b"),
            &Patch::Apply(router(json!({"routes": [{"name": "b", "backend": "svc-b"},
                                                   {"name": "a", "backend": "mine"}]}))),
        )
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert!(
                s.message.contains(
                    "conflict with \"team-a\" using example.com/v1: .spec.routes[name=\"a\"].backend"
                ),
                "{}",
                s.message
            );
        }
        other => panic!("{other}"),
    }

    // team-a stops applying its route: only its element goes.
    let r = routers
        .patch(
            "r",
            &apply("team-a"),
            &Patch::Apply(router(json!({"hosts": ["a.example.com"], "args": ["--a"]}))),
        )
        .await
        .expect("team-a re-applies");
    assert_eq!(
        r.data["spec"]["routes"],
        json!([{"name": "b", "backend": "svc-b"}])
    );
    // A list without a list type is atomic: another manager's value conflicts.
    let err = routers
        .patch(
            "r",
            &apply("team-b"),
            &Patch::Apply(router(json!({"args": ["--b"]}))),
        )
        .await
        .expect_err("atomic list conflict");
    assert_eq!(code(err), 409);
    c.shutdown().await;
}
