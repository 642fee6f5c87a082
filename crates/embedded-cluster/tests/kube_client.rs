//! The embedded cluster through `kube` clients: what a controller sees.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::core::GroupVersionKind;
use kube::runtime::watcher;
use serde_json::{Value, json};
use windlass_embedded_cluster::{Config, EmbeddedCluster, Handle};

async fn cluster() -> Handle {
    EmbeddedCluster::start(Config::default())
        .await
        .expect("cluster starts")
}

fn cm(name: &str, labels: Value) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"k": "v"},
    }))
    .expect("valid ConfigMap")
}

fn rv(meta: &kube::api::ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("numeric resourceVersion")
}

fn api_error(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn seeded_namespaces_exist() {
    let c = cluster().await;
    let ns: Api<Namespace> = Api::all(c.client());
    let names: Vec<String> = ns
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    for want in ["default", "kube-system", "kube-public"] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    c.shutdown().await;
}

/// The namespace lifecycle admission plugin's rule: `default`, `kube-system` and
/// `kube-public` are immortal (403 Forbidden, also for a dry run); other namespaces,
/// `kube-node-lease` included, can go.
#[tokio::test]
async fn the_system_namespaces_cannot_be_deleted() {
    let c = cluster().await;
    let nss: Api<Namespace> = Api::all(c.client());
    for name in ["default", "kube-system", "kube-public"] {
        for dp in [DeleteParams::default(), DeleteParams::default().dry_run()] {
            let status = api_error(nss.delete(name, &dp).await.expect_err("refused"));
            assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
            assert_eq!(
                status.message,
                format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted")
            );
            let details = status.details.expect("details");
            assert_eq!(
                (details.name.as_str(), details.kind.as_str()),
                (name, "namespaces")
            );
        }
        let ns = nss.get(name).await.expect("still there");
        assert!(
            ns.metadata.deletion_timestamp.is_none(),
            "{name} is not terminating"
        );
        assert_eq!(ns.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    }
    let deleted = nss
        .delete("kube-node-lease", &DeleteParams::default().dry_run())
        .await
        .expect("kube-node-lease is not immortal");
    assert!(deleted.is_left());
    c.shutdown().await;
}

#[tokio::test]
async fn configmap_lifecycle_metadata_and_conflicts() {
    let c = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(c.client(), "default");
    let created = api
        .create(&PostParams::default(), &cm("a", json!({"app": "web"})))
        .await
        .expect("create");
    let meta = &created.metadata;
    assert_eq!(meta.uid.as_ref().map(String::len), Some(36));
    assert!(meta.creation_timestamp.is_some());
    assert_eq!(meta.generation, None, "ConfigMaps have no generation");
    let rv1 = rv(meta);

    let err = api_error(
        api.create(&PostParams::default(), &cm("a", json!({})))
            .await
            .expect_err("duplicate"),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));

    // Update with the current resourceVersion works and bumps it ...
    let mut changed = created.clone();
    changed.data = Some([("k".to_owned(), "w".to_owned())].into());
    let updated = api
        .replace("a", &PostParams::default(), &changed)
        .await
        .expect("replace");
    assert!(rv(&updated.metadata) > rv1);
    // ... a stale one is a Conflict.
    let err = api_error(
        api.replace("a", &PostParams::default(), &changed)
            .await
            .expect_err("stale"),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));

    // JSON patch and merge patch.
    let pp = PatchParams::default();
    api.patch(
        "a",
        &pp,
        &Patch::<()>::Json(
            serde_json::from_value(json!([
                {"op": "add", "path": "/data/extra", "value": "1"}
            ]))
            .expect("patch"),
        ),
    )
    .await
    .expect("json patch");
    let patched = api
        .patch("a", &pp, &Patch::Merge(json!({"data": {"k": null}})))
        .await
        .expect("merge patch");
    assert_eq!(
        patched.data,
        Some([("extra".to_owned(), "1".to_owned())].into())
    );

    let patched = api
        .patch("a", &pp, &Patch::Strategic(json!({"data": {"x": "y"}})))
        .await
        .expect("strategic merge patch");
    assert_eq!(
        patched.data,
        Some(
            [("extra", "1"), ("x", "y")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into()
        )
    );

    // Dry run stores nothing.
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    api.create(&dry, &cm("dry", json!({})))
        .await
        .expect("dry-run create");
    assert!(api.get_opt("dry").await.expect("get").is_none());

    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    let err = api_error(api.get("a").await.expect_err("gone"));
    assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
    c.shutdown().await;
}

#[tokio::test]
async fn label_field_selectors_and_pagination() {
    let c = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(c.client(), "default");
    for (name, tier) in [
        ("c1", "front"),
        ("c2", "back"),
        ("c3", "front"),
        ("c4", "db"),
        ("c5", "back"),
        ("c6", "front"),
        ("c7", "none"),
    ] {
        api.create(&PostParams::default(), &cm(name, json!({"tier": tier})))
            .await
            .expect("create");
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .collect()
    };
    for (selector, want) in [
        ("tier=front", vec!["c1", "c3", "c6"]),
        ("tier!=front", vec!["c2", "c4", "c5", "c7"]),
        ("tier in (db,back)", vec!["c2", "c4", "c5"]),
        ("tier notin (front,back,none)", vec!["c4"]),
        ("!tier", vec![]),
        ("tier", vec!["c1", "c2", "c3", "c4", "c5", "c6", "c7"]),
    ] {
        let got = names(
            api.list(&ListParams::default().labels(selector))
                .await
                .expect("list"),
        );
        assert_eq!(got, want, "{selector}");
    }
    let got = names(
        api.list(&ListParams::default().fields("metadata.name=c4"))
            .await
            .expect("list"),
    );
    assert_eq!(got, vec!["c4"]);

    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(3);
    let mut pages = 0;
    loop {
        let page = api.list(&params).await.expect("page");
        pages += 1;
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        seen.extend(names(page));
        match next {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, vec!["c1", "c2", "c3", "c4", "c5", "c6", "c7"]);

    // status.phase is selectable on Pods and Pods start Pending.
    let pods: Api<Pod> = Api::namespaced(c.client(), "default");
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}
        }))
        .expect("pod"),
    )
    .await
    .expect("create pod");
    let pending = pods
        .list(&ListParams::default().fields("status.phase=Pending"))
        .await
        .expect("list");
    assert_eq!(pending.items.len(), 1);
    assert!(
        pods.list(&ListParams::default().fields("status.phase=Running"))
            .await
            .expect("list")
            .items
            .is_empty()
    );
    c.shutdown().await;
}

#[tokio::test]
async fn deployment_defaults_generation_status_and_scale() {
    let c = cluster().await;
    let api: Api<Deployment> = Api::namespaced(c.client(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}},
        },
        "status": {"replicas": 99},
    }))
    .expect("deployment");
    let created = api
        .create(&PostParams::default(), &d)
        .await
        .expect("create");
    let spec = created.spec.as_ref().expect("spec");
    assert_eq!(spec.replicas, Some(1));
    let strategy = serde_json::to_value(&spec.strategy).expect("json");
    assert_eq!(
        strategy,
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    );
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.status.as_ref().is_none_or(|s| s.replicas.is_none()),
        "status is not set on create"
    );

    let pp = PatchParams::default();
    let labelled = api
        .patch(
            "web",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .expect("label");
    assert_eq!(
        labelled.metadata.generation,
        Some(1),
        "metadata changes keep generation"
    );
    let status = api
        .patch_status(
            "web",
            &pp,
            &Patch::Merge(json!({"status": {"replicas": 1, "observedGeneration": 1}})),
        )
        .await
        .expect("status");
    assert_eq!(
        status.metadata.generation,
        Some(1),
        "status changes keep generation"
    );
    assert_eq!(status.status.and_then(|s| s.replicas), Some(1));

    let scale = api.get_scale("web").await.expect("scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(1));
    api.patch_scale("web", &pp, &Patch::Merge(json!({"spec": {"replicas": 5}})))
        .await
        .expect("scale");
    let scaled = api.get("web").await.expect("get");
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(5));
    assert_eq!(
        scaled.metadata.generation,
        Some(2),
        "spec changes bump generation"
    );

    // Selector that does not match the template is Invalid with a field path.
    let mut bad = d.clone();
    bad.metadata.name = Some("bad".into());
    bad.spec.as_mut().expect("spec").selector.match_labels =
        Some([("app".to_owned(), "other".to_owned())].into());
    let err = api_error(
        api.create(&PostParams::default(), &bad)
            .await
            .expect_err("invalid"),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    let causes = err.details.map(|d| d.causes).unwrap_or_default();
    assert!(
        causes
            .iter()
            .any(|c| c.field == "spec.template.metadata.labels"),
        "{causes:?}"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let c = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(c.client(), "default");
    let mut held = cm("held", json!({}));
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &held)
        .await
        .expect("create");
    api.delete("held", &DeleteParams::default())
        .await
        .expect("delete");
    let still = api.get("held").await.expect("still there");
    assert!(still.metadata.deletion_timestamp.is_some());
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove finalizer");
    assert!(api.get_opt("held").await.expect("get").is_none());

    // Preconditions.
    let created = api
        .create(&PostParams::default(), &cm("pre", json!({})))
        .await
        .expect("create");
    let err = api_error(
        api.delete(
            "pre",
            &DeleteParams::default().preconditions(kube::api::Preconditions {
                uid: Some("not-the-uid".into()),
                resource_version: None,
            }),
        )
        .await
        .expect_err("precondition"),
    );
    assert_eq!(err.code, 409);
    api.delete(
        "pre",
        &DeleteParams::default().preconditions(kube::api::Preconditions {
            uid: created.metadata.uid.clone(),
            resource_version: None,
        }),
    )
    .await
    .expect("matching precondition");

    // deletecollection with a selector.
    api.create(&PostParams::default(), &cm("x1", json!({"g": "x"})))
        .await
        .expect("create");
    api.create(&PostParams::default(), &cm("x2", json!({"g": "x"})))
        .await
        .expect("create");
    api.create(&PostParams::default(), &cm("y1", json!({"g": "y"})))
        .await
        .expect("create");
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("g=x"),
    )
    .await
    .expect("deletecollection");
    let left: Vec<_> = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(left, vec!["y1"]);
    c.shutdown().await;
}

#[tokio::test]
async fn crd_serves_its_resource_until_deleted() {
    let c = cluster().await;
    let crds: Api<CustomResourceDefinition> = Api::all(c.client());
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wg"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "string"}}},
                    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}],
        },
    })).expect("crd");
    let created = crds
        .create(&PostParams::default(), &crd)
        .await
        .expect("create crd");
    let established = created
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default();
    assert!(
        established
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );

    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(c.client(), "default", &ar);
    let mut w = DynamicObject::new("w1", &ar);
    w.data = json!({"spec": {"size": "big", "unknown": 1}});
    let stored = widgets
        .create(&PostParams::default(), &w)
        .await
        .expect("create widget");
    assert_eq!(
        stored.data["spec"],
        json!({"size": "big"}),
        "unknown fields are pruned"
    );
    assert_eq!(stored.metadata.generation, Some(1));

    let with_status = widgets
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}})),
        )
        .await
        .expect("status");
    assert_eq!(with_status.data["status"]["ready"], json!(true));
    assert_eq!(with_status.metadata.generation, Some(1));

    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .expect("delete crd");
    let err = api_error(
        widgets
            .list(&ListParams::default())
            .await
            .expect_err("no longer served"),
    );
    assert_eq!(err.code, 404);
    c.shutdown().await;
}

#[tokio::test]
async fn kube_runtime_watcher_sees_every_change() {
    let c = cluster().await;
    let api: Api<ConfigMap> = Api::namespaced(c.client(), "default");
    api.create(&PostParams::default(), &cm("before", json!({})))
        .await
        .expect("create");
    let stream = watcher(api.clone(), watcher::Config::default());
    let mut stream = Box::pin(stream);
    // The writer starts once the watcher has its initial list.
    let (listed, listed_rx) = tokio::sync::oneshot::channel();
    let writer = {
        let api = api.clone();
        async move {
            listed_rx.await.expect("the watcher lists first");
            api.create(&PostParams::default(), &cm("during", json!({})))
                .await
                .expect("create");
            api.patch(
                "during",
                &PatchParams::default(),
                &Patch::Merge(json!({"data": {"k": "2"}})),
            )
            .await
            .expect("patch");
            api.delete("before", &DeleteParams::default())
                .await
                .expect("delete");
        }
    };
    let reader = async {
        let mut listed = Some(listed);
        let mut log = Vec::new();
        while let Some(event) = stream.try_next().await.expect("watch stream") {
            match event {
                watcher::Event::InitApply(o) => {
                    log.push(format!("init {}", o.metadata.name.unwrap_or_default()))
                }
                watcher::Event::Apply(o) => log.push(format!(
                    "apply {} {}",
                    o.metadata.name.unwrap_or_default(),
                    o.data.and_then(|d| d.get("k").cloned()).unwrap_or_default()
                )),
                watcher::Event::Delete(o) => {
                    log.push(format!("delete {}", o.metadata.name.unwrap_or_default()))
                }
                watcher::Event::Init => {}
                watcher::Event::InitDone => {
                    if let Some(listed) = listed.take() {
                        let _ = listed.send(());
                    }
                }
            }
            if log.last().is_some_and(|l| l == "delete before") {
                return log;
            }
        }
        log
    };
    let (log, ()) = tokio::time::timeout(
        Duration::from_secs(10),
        futures::future::join(reader, writer),
    )
    .await
    .expect("watcher finishes in time");
    assert_eq!(
        log,
        vec![
            "init before",
            "apply during v",
            "apply during 2",
            "delete before"
        ]
    );
    c.shutdown().await;
}

#[tokio::test]
async fn watch_resumes_from_a_resource_version_and_expires_old_ones() {
    let c = EmbeddedCluster::start(Config {
        watch_history: 5,
        bookmark_interval: Duration::from_millis(50),
        ..Config::default()
    })
    .await
    .expect("start");
    let api: Api<ConfigMap> = Api::namespaced(c.client(), "default");
    let first = api
        .create(&PostParams::default(), &cm("r0", json!({})))
        .await
        .expect("create");
    let from = first.metadata.resource_version.clone().expect("rv");
    for i in 1..3 {
        api.create(&PostParams::default(), &cm(&format!("r{i}"), json!({})))
            .await
            .expect("create");
    }
    // Resume: exactly the later events, in order.
    let mut events = Box::pin(
        api.watch(&WatchParams::default().timeout(2), &from)
            .await
            .expect("watch"),
    );
    let mut names = Vec::new();
    while names.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("event in time")
        {
            Some(Ok(WatchEvent::Added(o))) => names.push(o.metadata.name.unwrap_or_default()),
            Some(Ok(WatchEvent::Bookmark(_))) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(names, vec!["r1", "r2"]);

    // Bookmarks when allowed.
    let mut events = Box::pin(
        api.watch(&WatchParams::default().timeout(2), "0")
            .await
            .expect("watch"),
    );
    let bookmark = loop {
        match tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("event in time")
        {
            Some(Ok(WatchEvent::Bookmark(b))) => break b,
            Some(Ok(_)) => continue,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(
        bookmark
            .metadata
            .resource_version
            .parse::<u64>()
            .expect("numeric")
            >= 3
    );

    // Push the first event out of the 5-event history: 410 Gone.
    for i in 3..10 {
        api.create(&PostParams::default(), &cm(&format!("r{i}"), json!({})))
            .await
            .expect("create");
    }
    let mut events = Box::pin(
        api.watch(&WatchParams::default().timeout(2), &from)
            .await
            .expect("watch"),
    );
    match tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("event in time")
    {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410, got {other:?}"),
    }
    c.shutdown().await;
}
