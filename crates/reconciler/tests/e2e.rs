//! End to end: Git repositories → the Application controller → objects in the embedded
//! cluster → statuses as Argo CD reports them.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use serde_json::json;
use support::*;

const T: Duration = Duration::from_secs(30);

fn deployment(name: &str, image: &str, extra_annotations: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n{extra_annotations}spec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: main\n        image: {image}\n        ports:\n        - containerPort: 80\n"
    )
}

fn app(
    name: &str,
    repo: &str,
    path: &str,
    namespace: &str,
    sync_policy: serde_json::Value,
) -> serde_json::Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo, "path": path, "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": sync_policy,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automated_app_syncs_reports_argo_status_heals_drift_and_prunes() {
    let env = env();
    let client = env.client().await;
    let repo = Repo::new();
    repo.write("guestbook/deploy.yaml", &deployment("web", "nginx:1.27", ""))
        .write(
            "guestbook/more.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: blue\n",
        );
    let first = repo.commit("guestbook");
    create_app(
        &client,
        app(
            "guestbook",
            &repo.url(),
            "guestbook",
            "gb",
            json!({
                "automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["CreateNamespace=true"],
            }),
        ),
    )
    .await;

    let synced = wait_app(&client, "guestbook", T, |a| {
        sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;
    let status = &synced["status"];
    assert_eq!(status["sync"]["revision"], first);
    assert_eq!(status["operationState"]["phase"], "Succeeded");
    assert_eq!(
        status["operationState"]["message"],
        "successfully synced (all tasks run)"
    );
    assert_eq!(
        status["operationState"]["operation"]["initiatedBy"]["automated"],
        true
    );
    assert_eq!(status["history"][0]["revision"], first);
    assert_eq!(status["history"][0]["id"], 0);
    let resources: Vec<String> = status["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| {
            format!(
                "{}/{}/{} {} {}",
                r["kind"].as_str().unwrap_or(""),
                r["namespace"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap_or(""),
                r["status"].as_str().unwrap_or(""),
                r["health"]["status"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        resources,
        [
            "ConfigMap/gb/settings Synced -",
            "Service/gb/web Synced Healthy",
            "Deployment/gb/web Synced Healthy"
        ],
        "{status:#}"
    );
    assert_eq!(status["summary"]["images"], json!(["nginx:1.27"]));

    // Tracked with Argo's annotation.
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "gb");
    let live = deploys.get("web").await.expect("deployment");
    assert_eq!(
        live.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("argocd.argoproj.io/tracking-id"))
            .map(String::as_str),
        Some("guestbook:apps/Deployment:gb/web")
    );

    // Drift by another client is detected and healed: a later version of the object
    // has the replicas of Git again.
    let drifted = patch_as_other(
        &client,
        "apps/v1",
        "Deployment",
        "gb",
        "web",
        json!({"spec": {"replicas": 5}}),
    )
    .await;
    let drifted_rv = resource_version(&drifted);
    let start = std::time::Instant::now();
    loop {
        let d = serde_json::to_value(deploys.get("web").await.expect("deployment")).expect("JSON");
        if resource_version(&d) > drifted_rv && d["spec"]["replicas"] == 2 {
            break;
        }
        assert!(start.elapsed() < T, "drift was not healed: {d:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A new commit removing a file prunes its objects.
    repo.remove("guestbook/more.yaml");
    let second = repo.commit("drop service and config");
    let pruned = wait_app(&client, "guestbook", T, |a| {
        a["status"]["sync"]["revision"] == second.as_str()
            && sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;
    assert_eq!(
        pruned["status"]["resources"].as_array().map(Vec::len),
        Some(1)
    );
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "gb");
    assert!(
        cms.get_opt("settings").await.expect("read").is_none(),
        "pruned"
    );
    assert_eq!(
        pruned["status"]["history"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_manifest_reports_comparison_error_and_prunes_nothing() {
    let repo = Repo::new();
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata:\n  a: \"1\"\n",
    );
    let broken = Repo::write_then(
        &repo,
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  labels: [oops\n",
    );
    breaking_the_source_prunes_nothing("broken", &repo, "app", broken, "cm.yaml", "keep").await;
}

/// An automated, pruning app syncs `path`; then `break_it` commits a source that cannot
/// render: the app reports a ComparisonError whose message holds `expected` (the file or
/// kustomize's own words), sync status Unknown, and the ConfigMap `kept` stays.
async fn breaking_the_source_prunes_nothing(
    name: &str,
    repo: &Repo,
    path: &str,
    break_it: impl FnOnce(),
    expected: &str,
    kept: &str,
) {
    let env = env();
    let client = env.client().await;
    repo.commit("ok");
    let policy = json!({"automated": {"prune": true}, "syncOptions": ["CreateNamespace=true"]});
    create_app(&client, app(name, &repo.url(), path, name, policy)).await;
    wait_app(&client, name, T, |a| sync_and_health(a).0 == "Synced").await;
    break_it();
    repo.commit("broken");
    let failed = wait_app(&client, name, T, |a| {
        a["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "ComparisonError"))
    })
    .await;
    let message = failed["status"]["conditions"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains(expected), "{message}");
    assert_eq!(sync_and_health(&failed).0, "Unknown");
    // A later reconcile with the broken source prunes nothing either.
    let later = refreshed(&client, name).await;
    assert_eq!(sync_and_health(&later).0, "Unknown");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), name);
    assert!(
        cms.get_opt(kept).await.expect("read").is_some(),
        "nothing pruned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_deployment_reports_degraded() {
    let env = env();
    let client = env.client().await;
    let repo = Repo::new();
    repo.write(
        "bad/deploy.yaml",
        &deployment("crashy", "example/app:fail", "").replace(
            "  replicas: 2\n",
            "  replicas: 2\n  progressDeadlineSeconds: 1\n",
        ),
    );
    repo.commit("crashy");
    create_app(
        &client,
        app(
            "crashy",
            &repo.url(),
            "bad",
            "crashy",
            json!({
                "automated": {},
                "syncOptions": ["CreateNamespace=true"],
            }),
        ),
    )
    .await;
    let degraded = wait_app(&client, "crashy", Duration::from_secs(60), |a| {
        sync_and_health(a) == ("Synced", "Degraded")
    })
    .await;
    assert_eq!(
        degraded["status"]["resources"][0]["health"]["status"],
        "Degraded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_cluster_from_an_argo_cluster_secret() {
    use kube::api::PostParams;
    let env = env();
    let client = env.client().await;
    let other = windlass_embedded_cluster::EmbeddedCluster::start(Default::default())
        .await
        .expect("second cluster");
    let kc = kube::config::Kubeconfig::read_from(other.kubeconfig_path()).expect("kubeconfig");
    let ca = kc.clusters[0]
        .cluster
        .as_ref()
        .and_then(|c| c.certificate_authority_data.clone())
        .expect("CA");
    let token = token_of(&kc);
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "cluster-two", "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "stringData": {
            "name": "two",
            "server": other.url(),
            "config": json!({"bearerToken": token, "tlsClientConfig": {"caData": ca}}).to_string(),
        }
    });
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), "argocd");
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(secret).expect("secret"),
        )
        .await
        .expect("cluster secret");

    let repo = Repo::new();
    repo.write(
        "remote/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: far-away\ndata:\n  where: two\n",
    );
    repo.commit("remote");
    let mut spec = app(
        "remote",
        &repo.url(),
        "remote",
        "remote-ns",
        json!({
            "automated": {"prune": true},
            "syncOptions": ["CreateNamespace=true"],
        }),
    );
    // By name, as Argo allows.
    spec["spec"]["destination"] = json!({"name": "two", "namespace": "remote-ns"});
    create_app(&client, spec).await;
    wait_app(&client, "remote", T, |a| {
        sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;

    let there: Api<ConfigMap> = Api::namespaced(other.client(), "remote-ns");
    assert_eq!(
        there
            .get("far-away")
            .await
            .expect("on the second cluster")
            .data
            .and_then(|d| d.get("where").cloned())
            .as_deref(),
        Some("two")
    );
    let here: Api<ConfigMap> = Api::namespaced(client.clone(), "remote-ns");
    assert!(
        here.get_opt("far-away").await.expect("read").is_none(),
        "not on the first cluster"
    );
}

/// An object's resourceVersion as a number.
fn resource_version(obj: &serde_json::Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("numeric resourceVersion")
}

/// The bearer token of a kubeconfig's first user.
fn token_of(kc: &kube::config::Kubeconfig) -> String {
    let user = serde_json::to_value(&kc.auth_infos[0]).expect("JSON");
    user["user"]["token"]
        .as_str()
        .expect("a bearer token")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_violation_applies_nothing() {
    use kube::api::PostParams;
    let env = env();
    let client = env.client().await;
    let project = json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "locked", "namespace": "argocd"},
        "spec": {
            "sourceRepos": ["https://git.example.com/*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "allowed"}],
        }
    });
    let projects: Api<windlass_entity_model::argocd::AppProject> =
        Api::namespaced(client.clone(), "argocd");
    projects
        .create(
            &PostParams::default(),
            &serde_json::from_value(project).expect("project"),
        )
        .await
        .expect("project created");
    let repo = Repo::new();
    repo.write(
        "x/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forbidden\ndata: {}\n",
    );
    repo.commit("x");
    let mut spec = app(
        "violator",
        &repo.url(),
        "x",
        "elsewhere",
        json!({
            "automated": {"prune": true},
            "syncOptions": ["CreateNamespace=true"],
        }),
    );
    spec["spec"]["project"] = json!("locked");
    create_app(&client, spec).await;
    let refused = wait_app(&client, "violator", T, |a| {
        a["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "InvalidSpecError"))
    })
    .await;
    let messages: Vec<&str> = refused["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .filter_map(|c| c["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("not permitted in project 'locked'")),
        "{messages:?}"
    );
    assert_eq!(sync_and_health(&refused).0, "Unknown");
    refreshed(&client, "violator").await;
    let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    assert!(
        ns.get_opt("elsewhere").await.expect("read").is_none(),
        "nothing applied, not even the namespace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_overlay_with_application_overrides() {
    let env = env();
    let client = env.client().await;
    let repo = Repo::new();
    repo.write("base/kustomization.yaml", "resources:\n- cm.yaml\n")
        .write("base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf\ndata:\n  tier: base\n")
        .write("overlays/prod/kustomization.yaml", "resources:\n- ../../base\npatches:\n- patch: |-\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: conf\n    data:\n      tier: prod\n");
    repo.commit("kustomize");
    let mut spec = app(
        "kusto",
        &repo.url(),
        "overlays/prod",
        "kusto",
        json!({
            "automated": {},
            "syncOptions": ["CreateNamespace=true"],
        }),
    );
    spec["spec"]["source"]["kustomize"] =
        json!({"namePrefix": "prod-", "commonLabels": {"team": "a"}});
    create_app(&client, spec).await;
    let synced = wait_app(&client, "kusto", T, |a| sync_and_health(a).0 == "Synced").await;
    assert_eq!(synced["status"]["sourceType"], "Kustomize");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kusto");
    let cm = cms
        .get("prod-conf")
        .await
        .expect("prefixed by the override");
    assert_eq!(
        cm.data.and_then(|d| d.get("tier").cloned()).as_deref(),
        Some("prod")
    );
    assert_eq!(
        cm.metadata
            .labels
            .and_then(|l| l.get("team").cloned())
            .as_deref(),
        Some("a")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_sync_history_rollback_and_cascading_delete() {
    use kube::api::{DeleteParams, Patch, PatchParams};
    use windlass_entity_model::argocd::Application;
    let env = env();
    let client = env.client().await;
    let repo = Repo::new();
    let cm = |v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: versioned\ndata:\n  v: \"{v}\"\n"
        )
    };
    repo.write("m/cm.yaml", &cm("1"));
    let first = repo.commit("v1");
    let mut spec = app(
        "manual",
        &repo.url(),
        "m",
        "manual",
        json!({"syncOptions": ["CreateNamespace=true"]}),
    );
    spec["metadata"]["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    create_app(&client, spec).await;
    // Without automated sync nothing happens by itself.
    let out_of_sync = wait_app(&client, "manual", T, |a| {
        sync_and_health(a) == ("OutOfSync", "Missing")
    })
    .await;
    assert!(out_of_sync["status"]["operationState"].is_null());

    let apps: Api<Application> = Api::namespaced(client.clone(), "argocd");
    let sync = |who: &str| json!({"operation": {"sync": {"revision": "HEAD"}, "initiatedBy": {"username": who}}});
    apps.patch(
        "manual",
        &PatchParams::default(),
        &Patch::Merge(&sync("alice")),
    )
    .await
    .expect("sync requested");
    wait_app(&client, "manual", T, |a| {
        a["status"]["history"].as_array().map(Vec::len) == Some(1)
    })
    .await;
    repo.write("m/cm.yaml", &cm("2"));
    let second = repo.commit("v2");
    let outdated = wait_app(&client, "manual", T, |a| {
        a["status"]["sync"]["revision"] == second.as_str()
    })
    .await;
    assert_eq!(sync_and_health(&outdated).0, "OutOfSync");
    apps.patch(
        "manual",
        &PatchParams::default(),
        &Patch::Merge(&sync("bob")),
    )
    .await
    .expect("sync requested");
    let synced = wait_app(&client, "manual", T, |a| {
        a["status"]["history"].as_array().map(Vec::len) == Some(2)
    })
    .await;
    assert_eq!(synced["status"]["history"][1]["revision"], second);
    assert_eq!(
        synced["status"]["history"][1]["initiatedBy"]["username"],
        "bob"
    );
    assert!(synced["operation"].is_null(), "the request is taken");

    // Roll back to the first deployment.
    let reconciler_view: Application = apps.get("manual").await.expect("app");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "manual");
    windlass_reconciler_rollback(&client, &reconciler_view, 0).await;
    let rolled = wait_app(&client, "manual", T, |a| {
        a["status"]["history"].as_array().map(Vec::len) == Some(3)
    })
    .await;
    assert_eq!(
        rolled["status"]["operationState"]["syncResult"]["revision"],
        first
    );
    let v = cms
        .get("versioned")
        .await
        .expect("cm")
        .data
        .and_then(|d| d.get("v").cloned());
    assert_eq!(v.as_deref(), Some("1"));
    assert_eq!(sync_and_health(&rolled).0, "OutOfSync", "Git still says v2");

    // Deleting the Application with Argo's finalizer deletes its resources first.
    apps.delete("manual", &DeleteParams::default())
        .await
        .expect("delete");
    let start = std::time::Instant::now();
    while apps.get_opt("manual").await.expect("read").is_some() {
        assert!(start.elapsed() < T, "application not finalized");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        cms.get_opt("versioned").await.expect("read").is_none(),
        "resources deleted with the app"
    );
}

/// `argocd app rollback`, through the library (the request is written to the
/// Application; the controller runs it).
async fn windlass_reconciler_rollback(
    client: &kube::Client,
    app: &windlass_entity_model::argocd::Application,
    id: i64,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let reconciler = windlass_reconciler::Reconciler::new(
        client.clone(),
        windlass_reconciler::Config::new(dir.path()),
    )
    .await
    .expect("reconciler");
    reconciler
        .rollback(app, id)
        .await
        .expect("rollback requested");
    let mut automated = app.clone();
    automated.spec.sync_policy = serde_json::from_value(json!({"automated": {}})).expect("policy");
    let refused = reconciler
        .rollback(&automated, id)
        .await
        .expect_err("refused");
    assert!(
        refused
            .to_string()
            .contains("rollback cannot be initiated when auto-sync is enabled"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_kustomization_reports_comparison_error_and_prunes_nothing() {
    let repo = Repo::new();
    repo.write("k/kustomization.yaml", "resources:\n- cm.yaml\n")
        .write(
            "k/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\ndata:\n  a: \"1\"\n",
        );
    // A kustomization naming a file that is not there: kustomize's own message names it.
    let broken = Repo::write_then(
        &repo,
        "k/kustomization.yaml",
        "resources:\n- cm.yaml\n- missing.yaml\n",
    );
    breaking_the_source_prunes_nothing("kbroken", &repo, "k", broken, "missing.yaml", "kept").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_every_application_as_argo_does_and_pass_promtool() {
    use windlass_entity_model::argocd::Application;
    let env = env();
    let client = env.client().await;
    create_namespace(&client, "own-control").await;
    let repo = Repo::new();
    repo.write(
        "p/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: counted\ndata: {}\n",
    );
    repo.commit("p");
    // Applications outside the shared controller's namespace, driven by this test's own
    // controller. The second one cannot be rendered, and its repository URL needs
    // escaping in a label value.
    let apps: Api<Application> = Api::namespaced(client.clone(), "own-control");
    let broken_url = r#"file:///nowhere/"quoted"\repo"#;
    for (name, url, policy) in [
        (
            "counted",
            repo.url(),
            json!({"automated": {}, "syncOptions": ["CreateNamespace=true"]}),
        ),
        ("unrenderable", broken_url.to_owned(), json!({})),
    ] {
        let mut spec = app(name, &url, "p", name, policy);
        spec["metadata"]["namespace"] = json!("own-control");
        apps.create(
            &Default::default(),
            &serde_json::from_value(spec).expect("app"),
        )
        .await
        .expect("created");
    }
    // The controller loop needs more stack than a test runtime's worker has (as in
    // `support::env`): it runs in a runtime of its own until `stop`.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = windlass_reconciler::Config::new(dir.path());
    config.namespace = "own-control".into();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (started, reconciler) = tokio::sync::oneshot::channel();
    let kubeconfig = env.kubeconfig.clone();
    let controller = std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(16 << 20)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let kubeconfig =
                    kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig");
                let kube_config =
                    kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                        .await
                        .expect("kube config");
                let client = kube::Client::try_from(kube_config).expect("client");
                let reconciler = std::sync::Arc::new(
                    windlass_reconciler::Reconciler::new(client.clone(), config)
                        .await
                        .expect("reconciler"),
                );
                started.send(reconciler.clone()).ok();
                windlass_reconciler::controller::run(
                    reconciler,
                    client,
                    windlass_reconciler::controller::Settings::default(),
                    async move {
                        let _ = stopped.await;
                    },
                )
                .await;
            });
        })
        .expect("controller thread");
    let reconciler = reconciler.await.expect("controller starts");

    let counted = format!(
        "argocd_app_info{{namespace=\"own-control\",name=\"counted\",project=\"default\",\
         autosync_enabled=\"true\",repo=\"{}\",dest_server=\"https://kubernetes.default.svc\",\
         dest_namespace=\"counted\",sync_status=\"Synced\",health_status=\"Healthy\",operation=\"\"}} 1",
        windlass_reconciler::repo::normalize_url(&repo.url())
    );
    let unrenderable = "argocd_app_info{namespace=\"own-control\",name=\"unrenderable\",project=\"default\",\
         autosync_enabled=\"false\",repo=\"file:///nowhere/\\\"quoted\\\"\\\\repo\",\
         dest_server=\"https://kubernetes.default.svc\",dest_namespace=\"unrenderable\",\
         sync_status=\"Unknown\",health_status=\"Unknown\",operation=\"\"} 1";
    let synced = "argocd_app_sync_total{namespace=\"own-control\",name=\"counted\",project=\"default\",\
         dest_server=\"https://kubernetes.default.svc\",phase=\"Succeeded\",dry_run=\"false\"} 1";
    let start = std::time::Instant::now();
    let text = loop {
        let text = reconciler.metrics().render();
        let lines: Vec<&str> = text.lines().collect();
        if [counted.as_str(), unrenderable, synced]
            .iter()
            .all(|l| lines.contains(l))
        {
            break text;
        }
        assert!(
            start.elapsed() < T,
            "metrics never showed both Applications:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        text.contains(
            "argocd_app_reconcile_bucket{namespace=\"own-control\",dest_server=\"https://kubernetes.default.svc\",le=\"+Inf\"}"
        ),
        "{text}"
    );
    let _ = stop.send(());
    tokio::task::spawn_blocking(move || controller.join())
        .await
        .expect("joined")
        .expect("the controller stops cleanly");
    promtool_check_metrics(&text);
}

/// Runs the real `promtool check metrics` (Prometheus' own linter) on exposition text.
fn promtool_check_metrics(text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("`promtool` is installed (Debian: apt-get install prometheus)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("promtool reads the metrics");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics failed ({}):\n{}{}\n--- metrics ---\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_request_is_consumed_with_the_status_it_produced() {
    use futures::StreamExt;
    use kube::api::{Patch, PatchParams, WatchEvent, WatchParams};
    use windlass_entity_model::argocd::Application;
    let env = env();
    let client = env.client().await;
    let control = "refresh-control";
    // Only the refresh can notice the new commit: no polls, no periodic refreshes.
    let settings = windlass_reconciler::controller::Settings {
        refresh_interval: Duration::from_secs(3600),
        repo_poll_interval: Duration::from_secs(3600),
        concurrency: 2,
    };
    own_controller(&client, control, settings, |_| {}).await;
    let repo = Repo::new();
    repo.write(
        "r/cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "r"}}).to_string(),
    );
    let first = repo.commit("first");
    let mut spec = app("refreshed", &repo.url(), "r", "refreshed", json!({}));
    spec["metadata"]["namespace"] = json!(control);
    create_app(&client, spec).await;
    wait_app_in(&client, control, "refreshed", T, |a| {
        a["status"]["sync"]["revision"] == first.as_str()
    })
    .await;
    let second = repo.commit("second");

    // `argocd app get --refresh`: the first version of the Application without the
    // annotation already holds the status of the refresh (Argo consumes the annotation
    // once the refreshed status is persisted).
    let apps: Api<Application> = Api::namespaced(client.clone(), control);
    let requested = apps
        .patch(
            "refreshed",
            &PatchParams::default(),
            &Patch::Merge(
                &json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}),
            ),
        )
        .await
        .expect("refresh requested");
    let since = requested.metadata.resource_version.clone().expect("rv");
    let mut events = apps
        .watch(
            &WatchParams::default().fields("metadata.name=refreshed"),
            &since,
        )
        .await
        .expect("watch")
        .boxed();
    let consumed = tokio::time::timeout(T, async {
        while let Some(event) = events.next().await {
            if let Ok(WatchEvent::Modified(app)) = event
                && app
                    .metadata
                    .annotations
                    .as_ref()
                    .is_none_or(|a| !a.contains_key("argocd.argoproj.io/refresh"))
            {
                return app;
            }
        }
        panic!("the watch ended");
    })
    .await
    .expect("the refresh request is consumed");
    assert_eq!(
        consumed
            .status
            .and_then(|s| s.sync)
            .and_then(|s| s.revision)
            .as_deref(),
        Some(second.as_str()),
        "consumed together with the refreshed status"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_app_whose_cluster_is_unknown_deletes_nothing_and_says_why() {
    use kube::api::{DeleteParams, PostParams};
    use windlass_entity_model::argocd::Application;
    let env = env();
    let client = env.client().await;
    // An object of the local cluster carrying the Application's tracking id: deleting the
    // Application must not delete it in place of the unknown cluster's objects.
    create_namespace(&client, "ghost-ns").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "ghost-ns");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "bystander", "annotations":
            {"argocd.argoproj.io/tracking-id": "ghost:/ConfigMap:ghost-ns/bystander"}}}))
        .expect("configmap"),
    )
    .await
    .expect("bystander");
    let repo = Repo::new();
    repo.write(
        "g/cm.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bystander"}})
            .to_string(),
    );
    repo.commit("g");
    let mut spec = app("ghost", &repo.url(), "g", "ghost-ns", json!({}));
    spec["spec"]["destination"] = json!({"name": "no-such-cluster", "namespace": "ghost-ns"});
    spec["metadata"]["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    create_app(&client, spec).await;
    wait_app(&client, "ghost", T, |a| {
        a["status"]["conditions"][0]["type"] == "InvalidSpecError"
    })
    .await;

    let apps: Api<Application> = Api::namespaced(client.clone(), "argocd");
    apps.delete("ghost", &DeleteParams::default())
        .await
        .expect("delete");
    let held = wait_app(&client, "ghost", T, |a| {
        a["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "DeletionError"))
    })
    .await;
    let condition = held["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "DeletionError")
        .expect("DeletionError");
    assert_eq!(
        condition["message"],
        "application ghost: there are no clusters with this name: no-such-cluster"
    );
    assert_eq!(
        held["metadata"]["finalizers"],
        json!(["resources-finalizer.argocd.argoproj.io"]),
        "the finalizer stays"
    );
    assert!(
        cms.get_opt("bystander").await.expect("read").is_some(),
        "nothing deleted in the local cluster"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_false_keeps_an_object_when_its_application_is_deleted() {
    use kube::api::DeleteParams;
    use windlass_entity_model::argocd::Application;
    let env = env();
    let client = env.client().await;
    let repo = Repo::new();
    repo.write(
        "k/goes.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "goes"}}).to_string(),
    )
    .write(
        "k/stays.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stays",
            "annotations": {"argocd.argoproj.io/sync-options": "Delete=false"}}})
        .to_string(),
    );
    repo.commit("k");
    let mut spec = app(
        "keeper",
        &repo.url(),
        "k",
        "keeper",
        json!({"automated": {}, "syncOptions": ["CreateNamespace=true"]}),
    );
    spec["metadata"]["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    create_app(&client, spec).await;
    wait_app(&client, "keeper", T, |a| sync_and_health(a).0 == "Synced").await;

    let apps: Api<Application> = Api::namespaced(client.clone(), "argocd");
    apps.delete("keeper", &DeleteParams::default())
        .await
        .expect("delete");
    let start = std::time::Instant::now();
    while apps.get_opt("keeper").await.expect("read").is_some() {
        assert!(start.elapsed() < T, "application not finalized");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "keeper");
    assert!(
        cms.get_opt("goes").await.expect("read").is_none(),
        "deleted with the app"
    );
    assert!(
        cms.get_opt("stays").await.expect("read").is_some(),
        "Delete=false kept it"
    );
}
