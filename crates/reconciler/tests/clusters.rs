//! End to end: destination clusters that misbehave. A type whose list fails (403, 500)
//! holds up neither start-up nor other Applications; a cluster that does not answer
//! holds up no Application of another cluster, and its own only until it answers; a
//! cluster registered after start-up is watched like the local one.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use support::proxy::FailingProxy;
use support::*;
use windlass_embedded_cluster::{Config as ClusterConfig, EmbeddedCluster};
use windlass_entity_model::argocd::{Application, OperationPhase};
use windlass_reconciler::controller::Settings;
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

/// An Argo cluster secret for a cluster reachable at `server`.
async fn register_cluster(
    client: &kube::Client,
    control: &str,
    name: &str,
    server: &str,
    config: Value,
) {
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("cluster-{name}"), "namespace": control,
            "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "stringData": {"name": name, "server": server, "config": config.to_string()},
    });
    Api::<Secret>::namespaced(client.clone(), control)
        .create(
            &PostParams::default(),
            &serde_json::from_value(secret).expect("secret"),
        )
        .await
        .expect("cluster secret");
}

/// The `config` of a cluster secret for an embedded cluster (its CA and token).
fn secret_config(cluster: &windlass_embedded_cluster::Handle) -> Value {
    let kc = kube::config::Kubeconfig::read_from(cluster.kubeconfig_path()).expect("kubeconfig");
    let ca = kc.clusters[0]
        .cluster
        .as_ref()
        .and_then(|c| c.certificate_authority_data.clone())
        .expect("CA");
    let user = serde_json::to_value(&kc.auth_infos[0]).expect("JSON");
    json!({"bearerToken": user["user"]["token"], "tlsClientConfig": {"caData": ca}})
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

/// A server that takes connections and never answers: its URL, and a channel that
/// gets a message for every connection it takes.
async fn silent_server() -> (String, tokio::sync::mpsc::UnboundedReceiver<()>) {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("address"));
    let (accepted_tx, accepted) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            held.push(connection);
            let _ = accepted_tx.send(());
        }
    });
    (url, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_does_not_answer_holds_up_no_application_of_another() {
    let client = env().client().await;
    let (silent_url, mut accepted) = silent_server().await;
    register_cluster(&client, "argocd", "silent", &silent_url, json!({})).await;
    let repo = Repo::new();
    repo.write(
        "app/cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "far"}, "data": {}})
            .to_string(),
    );
    repo.commit("one");
    create_app(
        &client,
        app_in(
            "argocd",
            "to-silent",
            &repo,
            "app",
            json!({"name": "silent", "namespace": "silent-ns"}),
        ),
    )
    .await;
    tokio::time::timeout(T, accepted.recv())
        .await
        .expect("the controller connects to the silent cluster");

    // Meanwhile another cluster is registered and used.
    let answers = EmbeddedCluster::start(Default::default())
        .await
        .expect("second cluster");
    register_cluster(
        &client,
        "argocd",
        "answers",
        answers.url(),
        secret_config(&answers),
    )
    .await;
    create_app(
        &client,
        app_in(
            "argocd",
            "to-answers",
            &repo,
            "app",
            json!({"name": "answers", "namespace": "answers-ns"}),
        ),
    )
    .await;
    wait_app(&client, "to-answers", T, |a| {
        sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;
    let there: Api<ConfigMap> = Api::namespaced(answers.client(), "answers-ns");
    assert!(there.get_opt("far").await.expect("read").is_some());

    // The silent cluster's Application says why it is stuck.
    let stuck = wait_app(&client, "to-silent", T, |a| {
        conditions(a).iter().any(|c| c.contains("no answer within"))
    })
    .await;
    assert_eq!(
        conditions(&stuck),
        [format!(
            "ComparisonError: failed to sync cluster {silent_url}: no answer within 5 s"
        )]
    );
    assert_eq!(sync_and_health(&stuck).0, "Unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_on_a_cluster_registered_after_start_up_is_healed_at_once() {
    let client = env().client().await;
    let control = "heal-control";
    // Neither periodic refreshes nor repository polls come during the test: only the
    // watch of the cluster can notice the drift.
    let settings = Settings {
        refresh_interval: Duration::from_secs(3600),
        repo_poll_interval: Duration::from_secs(3600),
        concurrency: 4,
    };
    own_controller(&client, control, settings, |c| {
        c.self_heal_backoff = Duration::from_millis(200)
    })
    .await;
    let far = EmbeddedCluster::start(Default::default())
        .await
        .expect("second cluster");
    register_cluster(&client, control, "far", far.url(), secret_config(&far)).await;
    let repo = Repo::new();
    repo.write(
        "app/cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "healed"}, "data": {"v": "git"}})
            .to_string(),
    );
    repo.commit("one");
    create_app(
        &client,
        app_in(
            control,
            "far-heal",
            &repo,
            "app",
            json!({"name": "far", "namespace": "far-ns"}),
        ),
    )
    .await;
    wait_app_in(&client, control, "far-heal", T, |a| {
        sync_and_health(a).0 == "Synced"
    })
    .await;

    let drifted = patch_as_other(
        &far.client(),
        "v1",
        "ConfigMap",
        "far-ns",
        "healed",
        json!({"data": {"v": "drifted"}}),
    )
    .await;
    let drifted_rv: u64 = drifted["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("resourceVersion");
    let cms: Api<ConfigMap> = Api::namespaced(far.client(), "far-ns");
    let deadline = Instant::now() + T;
    loop {
        let cm = cms.get("healed").await.expect("configmap");
        let rv: u64 = cm
            .metadata
            .resource_version
            .as_deref()
            .and_then(|v| v.parse().ok())
            .expect("resourceVersion");
        let v = cm.data.and_then(|d| d.get("v").cloned());
        if rv > drifted_rv && v.as_deref() == Some("git") {
            break;
        }
        assert!(Instant::now() < deadline, "the drift was not healed: {v:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_of_a_cluster_being_connected_to_hold_no_worker() {
    let client = env().client().await;
    let control = "silent-control";
    let settings = Settings {
        refresh_interval: Duration::from_secs(3600),
        repo_poll_interval: Duration::from_millis(300),
        concurrency: 2,
    };
    // Connecting may take an hour: the Applications of that cluster must not wait for it.
    own_controller(&client, control, settings, |c| {
        c.cluster_timeout = Duration::from_secs(3600)
    })
    .await;
    let (silent_url, mut accepted) = silent_server().await;
    register_cluster(&client, control, "silent", &silent_url, json!({})).await;
    let repo = Repo::new();
    repo.write(
        "app/cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "there"}, "data": {}})
            .to_string(),
    );
    repo.commit("one");
    // More Applications of the silent cluster than there are workers.
    for name in ["silent-1", "silent-2", "silent-3"] {
        let destination = json!({"name": "silent", "namespace": name});
        create_app(&client, app_in(control, name, &repo, "app", destination)).await;
    }
    tokio::time::timeout(T, accepted.recv())
        .await
        .expect("the controller connects to the silent cluster");
    let answers = EmbeddedCluster::start(Default::default())
        .await
        .expect("second cluster");
    register_cluster(
        &client,
        control,
        "answers",
        answers.url(),
        secret_config(&answers),
    )
    .await;
    let destination = json!({"name": "answers", "namespace": "answers-too"});
    create_app(
        &client,
        app_in(control, "to-answers-too", &repo, "app", destination),
    )
    .await;
    wait_app_in(&client, control, "to-answers-too", T, |a| {
        sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;
    // The others say what they wait for.
    let waiting = wait_app_in(&client, control, "silent-1", T, |a| {
        !conditions(a).is_empty()
    })
    .await;
    assert_eq!(
        conditions(&waiting),
        [format!(
            "ComparisonError: failed to sync cluster {silent_url}: still connecting (for up to 3600 s)"
        )]
    );
}

/// A TCP proxy to `upstream` that holds every connection until the returned sender
/// opens it: a cluster that is slow to answer, then answers. The receiver gets a
/// message for every connection taken.
async fn gated_proxy(
    upstream: SocketAddr,
) -> (
    String,
    tokio::sync::watch::Sender<bool>,
    tokio::sync::mpsc::UnboundedReceiver<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (open, gate) = tokio::sync::watch::channel(false);
    let (accepted_tx, accepted) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut connection, _)) = listener.accept().await {
            let _ = accepted_tx.send(());
            let mut gate = gate.clone();
            tokio::spawn(async move {
                if gate.wait_for(|open| *open).await.is_err() {
                    return;
                }
                let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut connection, &mut server).await;
            });
        }
    });
    (url, open, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_that_waited_for_its_cluster_is_synced_once_it_is_connected() {
    let client = env().client().await;
    let control = "slow-control";
    // Only the end of the connection can bring the Application back: no periodic
    // refresh, no repository poll during the test.
    let settings = Settings {
        refresh_interval: Duration::from_secs(3600),
        repo_poll_interval: Duration::from_secs(3600),
        concurrency: 2,
    };
    own_controller(&client, control, settings, |c| {
        c.cluster_timeout = Duration::from_secs(3600)
    })
    .await;
    let slow = EmbeddedCluster::start(ClusterConfig {
        insecure_http: true,
        ..Default::default()
    })
    .await
    .expect("cluster");
    let address: SocketAddr = slow
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("a loopback address");
    let (url, open, mut accepted) = gated_proxy(address).await;
    let kc = kube::config::Kubeconfig::read_from(slow.kubeconfig_path()).expect("kubeconfig");
    let user = serde_json::to_value(&kc.auth_infos[0]).expect("JSON");
    let config = json!({"bearerToken": user["user"]["token"]});
    register_cluster(&client, control, "slow", &url, config).await;
    let repo = Repo::new();
    repo.write(
        "app/cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}, "data": {}})
            .to_string(),
    );
    repo.commit("one");
    let destination = json!({"name": "slow", "namespace": "slow-ns"});
    create_app(
        &client,
        app_in(control, "to-slow", &repo, "app", destination),
    )
    .await;
    tokio::time::timeout(T, accepted.recv())
        .await
        .expect("the controller connects to the slow cluster");
    let waiting = wait_app_in(&client, control, "to-slow", T, |a| {
        !conditions(a).is_empty()
    })
    .await;
    assert_eq!(
        conditions(&waiting),
        [format!(
            "ComparisonError: failed to sync cluster {url}: still connecting (for up to 3600 s)"
        )]
    );

    // The cluster answers: its Application is synced without waiting for a refresh.
    open.send(true).expect("gate");
    wait_app_in(&client, control, "to-slow", T, |a| {
        sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;
    let cms: Api<ConfigMap> = Api::namespaced(slow.client(), "slow-ns");
    assert!(cms.get_opt("late").await.expect("read").is_some());
}
