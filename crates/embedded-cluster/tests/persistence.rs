//! A cluster with a data directory keeps every acknowledged object across
//! restarts, and `resourceVersion` continues upward.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use windlass_embedded_cluster::{Config, EmbeddedCluster};

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
