//! Windlass's own CRDs (`deploy/crds/`) installed with `kubectl apply --server-side`,
//! then the example account and workloads applied through them: every object comes
//! back from the cluster with its spec exactly as written (no field pruned by the
//! generated schemas).

mod support;

use std::path::Path;

use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use support::setup;
use windlass_entity_model::load::load_path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_round_trip_through_the_generated_crds() {
    let s = setup().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let crds = root.join("deploy/crds");
    let out = s
        .ok(&[
            "apply",
            "--server-side",
            "-f",
            crds.to_str().expect("UTF-8 path"),
        ])
        .await;
    assert_eq!(out.matches("serverside-applied").count(), 20, "{out}");
    s.ok(&["create", "namespace", "argocd"]).await;
    s.ok(&["create", "namespace", "guestbook"]).await;

    let examples = root.join("examples");
    let loaded = load_path(&examples);
    assert!(loaded.is_ok(), "{:?}", loaded.errors);
    s.ok(&[
        "apply",
        "--server-side",
        "--recursive",
        "-f",
        examples.to_str().expect("UTF-8 path"),
    ])
    .await;

    for manifest in &loaded.manifests {
        let entity = &manifest.entity;
        let (group, version) = entity
            .api_version()
            .split_once('/')
            .unwrap_or(("", entity.api_version()));
        let gvk = GroupVersionKind::gvk(group, version, entity.kind_name());
        let resource = ApiResource::from_gvk(&gvk);
        let api: Api<DynamicObject> = match entity.namespace() {
            Some(ns) => Api::namespaced_with(s.cluster.client(), ns, &resource),
            None => Api::all_with(s.cluster.client(), &resource),
        };
        let name = entity.name().expect("examples are named");
        let live = api.get(name).await.expect("applied object is there");
        let written = entity.to_value();
        let live = serde_json::to_value(&live).expect("JSON");
        if let Some(spec) = written.get("spec") {
            // Services get a clusterIP and defaults; our kinds must come back verbatim.
            if entity.kind().is_some() {
                assert_eq!(&live["spec"], spec, "{} {name}", entity.kind_name());
            }
        }
    }
}
