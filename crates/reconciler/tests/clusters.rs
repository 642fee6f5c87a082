//! End to end: destination clusters that misbehave. A type whose list fails (403, 500)
//! holds up neither start-up nor other Applications.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::Api;
use serde_json::{Value, json};
use support::proxy::FailingProxy;
use support::*;
use windlass_embedded_cluster::{Config as ClusterConfig, EmbeddedCluster};
use windlass_entity_model::argocd::{Application, OperationPhase};
use windlass_reconciler::{Config, Outcome, Reconciler};

const T: Duration = Duration::from_secs(30);

fn app_in(control: &str, name: &str, repo: &Repo, path: &str, destination: Value) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": control},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url(), "path": path, "targetRevision": "HEAD"},
            "destination": destination,
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["CreateNamespace=true"]},
        }
    })
}

fn in_cluster(namespace: &str) -> Value {
    json!({"server": "https://kubernetes.default.svc", "namespace": namespace})
}

fn conditions(app: &Value) -> Vec<String> {
    app["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{}: {}",
                c["type"].as_str().unwrap_or(""),
                c["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_that_cannot_be_listed_holds_up_neither_start_up_nor_other_applications() {
    let upstream = EmbeddedCluster::start(ClusterConfig {
        insecure_http: true,
        ..Default::default()
    })
    .await
    .expect("cluster");
    let address: SocketAddr = upstream
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("a loopback address");
    // ConfigMaps may not be listed (403); listing Secrets breaks the server (500).
    let proxy = FailingProxy::start(
        address,
        vec![("/api/v1/configmaps", 403), ("/api/v1/secrets", 500)],
    )
    .await;
    let direct = upstream.client();
    windlass_reconciler::controller::install_crds(&direct, "argocd")
        .await
        .expect("CRDs");
    let mut kubeconfig =
        kube::config::Kubeconfig::read_from(upstream.kubeconfig_path()).expect("kubeconfig");
    if let Some(cluster) = kubeconfig.clusters[0].cluster.as_mut() {
        cluster.server = Some(proxy.url.clone());
    }
    let through_proxy = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("config"),
    )
    .expect("client");
    let cache = tempfile::tempdir().expect("temp dir");
    let reconciler =
        tokio::time::timeout(T, Reconciler::new(through_proxy, Config::new(cache.path())))
            .await
            .expect("the reconciler starts although two types cannot be listed")
            .expect("reconciler");

    let repo = Repo::new();
    repo.write(
        "cms/cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}).to_string(),
    )
    .write(
        "secrets/s.json",
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}}).to_string(),
    )
    .write(
        "svcs/svc.json",
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}).to_string(),
    );
    repo.commit("three kinds");
    let apps: Api<Application> = Api::namespaced(direct.clone(), "argocd");
    for (name, path) in [
        ("uses-configmaps", "cms"),
        ("uses-secrets", "secrets"),
        ("uses-services", "svcs"),
    ] {
        create_app(
            &direct,
            app_in("argocd", name, &repo, path, in_cluster(name)),
        )
        .await;
    }
    let reconcile = |name: &'static str| {
        let apps = apps.clone();
        let reconciler = &reconciler;
        async move {
            let app = apps.get(name).await.expect("app");
            reconciler.reconcile(&app).await.expect("reconciled")
        }
    };
    let read = |name: &'static str| {
        let apps = apps.clone();
        async move { serde_json::to_value(apps.get(name).await.expect("app")).expect("JSON") }
    };

    assert_eq!(
        reconcile("uses-services").await,
        Outcome::Synced(OperationPhase::Succeeded)
    );
    let services: Api<Service> = Api::namespaced(direct.clone(), "uses-services");
    assert!(services.get_opt("web").await.expect("read").is_some());

    assert_eq!(reconcile("uses-configmaps").await, Outcome::Compared);
    let blocked = read("uses-configmaps").await;
    assert_eq!(
        conditions(&blocked),
        [
            "ComparisonError: failed to load initial state of resource ConfigMap: /api/v1/configmaps is forbidden: User \"system:serviceaccount:argocd:windlass\" cannot list resource"
        ]
    );
    assert_eq!(sync_and_health(&blocked), ("Unknown", "Unknown"));
    assert!(
        blocked["status"]["operationState"].is_null(),
        "nothing synced"
    );

    assert_eq!(reconcile("uses-secrets").await, Outcome::Compared);
    assert_eq!(
        conditions(&read("uses-secrets").await),
        [
            "ComparisonError: failed to load initial state of resource Secret: an error on the server listing /api/v1/secrets"
        ]
    );

    // Once the type can be listed again, its Application syncs.
    proxy.stop_failing();
    let deadline = Instant::now() + T;
    while reconcile("uses-configmaps").await != Outcome::Synced(OperationPhase::Succeeded) {
        assert!(
            Instant::now() < deadline,
            "{:#}",
            read("uses-configmaps").await["status"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cms: Api<ConfigMap> = Api::namespaced(direct.clone(), "uses-configmaps");
    assert!(cms.get_opt("c").await.expect("read").is_some());
    assert!(conditions(&read("uses-configmaps").await).is_empty());
}
