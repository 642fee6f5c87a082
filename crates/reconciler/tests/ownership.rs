//! Whose objects a sync may touch: installations scoped by their installation ID, and
//! deletes that only ever remove the object they decided on (UID preconditions).
//!
//! Each test drives reconcilers of its own (own control namespace, no controller loop)
//! through the public API, against the shared embedded cluster.

mod support;

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::*;
use windlass_entity_model::argocd::{Application, OperationPhase, SyncOperation};
use windlass_reconciler::resource::ResourceKey;
use windlass_reconciler::sync::{Progress, SyncOutcome};
use windlass_reconciler::{Config, Reconciler};

const T: Duration = Duration::from_secs(30);
const TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
const INSTALLATION_ID: &str = "argocd.argoproj.io/installation-id";

/// A reconciler whose Applications live in `control` (a namespace of its own).
async fn reconciler(
    client: &kube::Client,
    control: &str,
    installation_id: Option<&str>,
    cache: &tempfile::TempDir,
) -> Reconciler {
    let mut config = Config::new(cache.path());
    config.namespace = control.into();
    config.installation_id = installation_id.map(str::to_owned);
    Reconciler::new(client.clone(), config)
        .await
        .expect("reconciler starts")
}

fn application(name: &str, control: &str, repo: &Repo, dest: &str) -> Application {
    serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": control},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url(), "path": "app", "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": dest},
        }
    }))
    .expect("an Application")
}

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

/// Syncs `app` with prune, as `argocd app sync --prune` does: step after step, each on a
/// fresh comparison and the results so far, until the sync ends.
async fn sync_with_prune(r: &Reconciler, app: &Application) -> SyncOutcome {
    let op = SyncOperation {
        prune: Some(true),
        ..Default::default()
    };
    let mut progress = Progress::default();
    let start = Instant::now();
    loop {
        let state = r.compare(app, None, true).await.expect("compared");
        let outcome = r.sync(app, &state, &op, &progress).await;
        if outcome.phase != OperationPhase::Running {
            return outcome;
        }
        assert!(
            start.elapsed() < T,
            "the sync never ended: {}",
            outcome.message
        );
        progress.results = outcome.results;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn names(outcome: &SyncOutcome) -> Vec<String> {
    outcome
        .results
        .iter()
        .map(|r| {
            format!(
                "{}/{} {}",
                r.kind.as_deref().unwrap_or("-"),
                r.name.as_deref().unwrap_or("-"),
                r.status.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

fn cm_key(namespace: &str, name: &str) -> ResourceKey {
    ResourceKey {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn rv(meta: &kube::api::ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("numeric resourceVersion")
}

/// Changes a label of one of `r`'s tracked ConfigMaps as another client and waits until
/// `r`'s cache has seen that change: every earlier ConfigMap event has reached it too.
async fn settle(client: &kube::Client, r: &Reconciler, namespace: &str, tracked: &str) {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let current = api.get(tracked).await.expect("tracked object");
    let patch =
        json!({"metadata": {"labels": {"marker": format!("after-{}", rv(&current.metadata))}}});
    let patched = api
        .patch(tracked, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("marker");
    let wanted = rv(&patched.metadata);
    let key = cm_key(namespace, tracked);
    let start = Instant::now();
    loop {
        let seen = r.local_cluster().get(&key).and_then(|o| {
            o["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|v| v.parse::<u64>().ok())
        });
        if seen.is_some_and(|s| s >= wanted) {
            return;
        }
        assert!(
            start.elapsed() < T,
            "the cache never saw {namespace}/{tracked}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_installations_never_prune_or_adopt_each_others_objects() {
    let client = env().client().await;
    for ns in ["inst-one", "inst-two", "inst-dest"] {
        create_namespace(&client, ns).await;
    }
    // Installation "two" is configured the Argo CD way, in its argocd-cm.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "inst-two");
    let argocd_cm = serde_json::from_value(json!({
        "metadata": {"name": "argocd-cm"}, "data": {"installationID": "two"},
    }))
    .expect("argocd-cm");
    cms.create(&PostParams::default(), &argocd_cm)
        .await
        .expect("argocd-cm created");
    let (cache_one, cache_two) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let one = reconciler(&client, "inst-one", Some("one"), &cache_one).await;
    let two = reconciler(&client, "inst-two", None, &cache_two).await;

    // The same Application name in both installations, one destination namespace.
    let repo_one = Repo::new();
    repo_one.write("app/cm.yaml", &cm("from-one", "1"));
    repo_one.commit("one");
    let repo_two = Repo::new();
    repo_two.write("app/cm.yaml", &cm("from-two", "2"));
    repo_two.commit("two");
    let web_one = application("web", "inst-one", &repo_one, "inst-dest");
    let web_two = application("web", "inst-two", &repo_two, "inst-dest");

    let outcome = sync_with_prune(&two, &web_two).await;
    assert_eq!(
        outcome.phase,
        OperationPhase::Succeeded,
        "{}",
        outcome.message
    );
    let outcome = sync_with_prune(&one, &web_one).await;
    assert_eq!(
        outcome.phase,
        OperationPhase::Succeeded,
        "{}",
        outcome.message
    );
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "inst-dest");
    let from_one = api.get("from-one").await.expect("from-one");
    let annotations = from_one.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations[TRACKING_ID],
        "web:/ConfigMap:inst-dest/from-one"
    );
    assert_eq!(annotations[INSTALLATION_ID], "one");
    let from_two = api.get("from-two").await.expect("from-two");
    assert_eq!(
        from_two.metadata.annotations.clone().unwrap_or_default()[INSTALLATION_ID],
        "two",
        "read from argocd-cm"
    );

    // Each installation has seen the other's object; syncing with prune leaves it.
    settle(&client, &two, "inst-dest", "from-two").await;
    let outcome = sync_with_prune(&two, &web_two).await;
    assert_eq!(
        outcome.phase,
        OperationPhase::Succeeded,
        "{}",
        outcome.message
    );
    assert_eq!(names(&outcome), ["ConfigMap/from-two Synced"]);
    settle(&client, &one, "inst-dest", "from-one").await;
    let outcome = sync_with_prune(&one, &web_one).await;
    assert_eq!(
        outcome.phase,
        OperationPhase::Succeeded,
        "{}",
        outcome.message
    );
    assert_eq!(names(&outcome), ["ConfigMap/from-one Synced"]);
    let state = one.compare(&web_one, None, false).await.expect("compared");
    let listed: Vec<String> = state
        .comparison
        .resources
        .iter()
        .map(|r| r.key.to_string())
        .collect();
    assert_eq!(listed, ["/ConfigMap/inst-dest/from-one"]);
    let kept = api.get("from-one").await.expect("from-one is kept");
    assert_eq!(kept.metadata.uid, from_one.metadata.uid);
    api.get("from-two").await.expect("from-two is kept");

    // Installation two now wants from-one too: it warns and refuses to take it over.
    repo_two.write("app/taken.yaml", &cm("from-one", "taken"));
    repo_two.commit("take from-one");
    let state = two.compare(&web_two, None, true).await.expect("compared");
    let warnings: Vec<String> = state
        .comparison
        .conditions
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c.type_.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        warnings,
        [
            "SharedResourceWarning: ConfigMap/from-one is part of applications web and web of installation one"
        ]
    );
    let outcome = sync_with_prune(&two, &web_two).await;
    assert_eq!(outcome.phase, OperationPhase::Failed);
    let refused = outcome
        .results
        .iter()
        .find(|r| r.name.as_deref() == Some("from-one"))
        .expect("a result for from-one");
    assert_eq!(refused.status.as_deref(), Some("SyncFailed"));
    assert_eq!(
        refused.message.as_deref(),
        Some(
            "ConfigMap/from-one is managed by another Argo CD installation (argocd.argoproj.io/installation-id: one)"
        )
    );
    let after = api.get("from-one").await.expect("from-one");
    assert_eq!(rv(&after.metadata), rv(&kept.metadata), "not touched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prune_never_deletes_an_object_recreated_after_the_decision() {
    let client = env().client().await;
    for ns in ["uid-control", "uid-dest"] {
        create_namespace(&client, ns).await;
    }
    let cache = tempfile::tempdir().expect("dir");
    let r = reconciler(&client, "uid-control", None, &cache).await;
    let repo = Repo::new();
    repo.write("app/keep.yaml", &cm("keep", "1"));
    repo.write("app/old.yaml", &cm("old", "1"));
    repo.commit("two objects");
    let app = application("recreated", "uid-control", &repo, "uid-dest");
    let outcome = sync_with_prune(&r, &app).await;
    assert_eq!(
        outcome.phase,
        OperationPhase::Succeeded,
        "{}",
        outcome.message
    );

    repo.remove("app/old.yaml");
    repo.commit("old goes");
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "uid-dest");
    let decided_on = api.get("old").await.expect("old");
    let start = Instant::now();
    let state = loop {
        let state = r.compare(&app, None, true).await.expect("compared");
        if state
            .comparison
            .resources
            .iter()
            .any(|m| m.requires_pruning())
        {
            break state;
        }
        assert!(start.elapsed() < T, "old never required pruning");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Between the decision and the delete, someone deletes it and creates it anew.
    api.delete("old", &DeleteParams::default())
        .await
        .expect("deleted");
    let mut again: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "old", "annotations": {TRACKING_ID: "recreated:/ConfigMap:uid-dest/old"}},
        "data": {"value": "recreated"},
    }))
    .expect("ConfigMap");
    again.metadata.namespace = Some("uid-dest".into());
    let recreated = api
        .create(&PostParams::default(), &again)
        .await
        .expect("recreated");
    assert_ne!(recreated.metadata.uid, decided_on.metadata.uid);

    let op = SyncOperation {
        prune: Some(true),
        ..Default::default()
    };
    let outcome = r.sync(&app, &state, &op, &Progress::default()).await;
    let result = outcome
        .results
        .iter()
        .find(|r| r.name.as_deref() == Some("old"))
        .expect("a result for old");
    assert_eq!(result.status.as_deref(), Some("SyncFailed"), "{result:?}");
    let message = result.message.clone().unwrap_or_default();
    let decided_uid = decided_on.metadata.uid.clone().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "Precondition failed: UID in precondition: {decided_uid}"
        )),
        "{message}"
    );
    assert_eq!(outcome.phase, OperationPhase::Failed);
    let still = api.get("old").await.expect("the new object is still there");
    assert_eq!(still.metadata.uid, recreated.metadata.uid);
}

/// One request a [`Recording`] client sent.
struct Sent {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// A client that records the method, path and body of every request, then sends it on
/// through the real client.
#[derive(Clone)]
struct Recording {
    inner: kube::Client,
    log: Arc<Mutex<Vec<Sent>>>,
}

impl tower_service::Service<http::Request<kube::client::Body>> for Recording {
    type Response = http::Response<kube::client::Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<kube::client::Body>) -> Self::Future {
        let (inner, log) = (self.inner.clone(), self.log.clone());
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = body.collect_bytes().await?;
            log.lock().expect("not poisoned").push(Sent {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                body: body.to_vec(),
            });
            inner
                .send(http::Request::from_parts(
                    parts,
                    kube::client::Body::from(body),
                ))
                .await
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_delete_carries_the_uid_of_the_object_it_decided_on() {
    let client = env().client().await;
    for ns in ["rec-control", "rec-dest"] {
        create_namespace(&client, ns).await;
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let recording = kube::Client::new(
        Recording {
            inner: client.clone(),
            log: log.clone(),
        },
        "default",
    );
    let cache = tempfile::tempdir().expect("dir");
    let r = reconciler(&recording, "rec-control", None, &cache).await;

    let job = |name: &str, phase: &str, policy: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/hook: {phase}\n    argocd.argoproj.io/hook-delete-policy: {policy}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: main\n        image: busybox\n"
        )
    };
    let repo = Repo::new();
    repo.write("app/stays.yaml", &cm("stays", "1"));
    repo.write("app/pruned.yaml", &cm("pruned", "1"));
    repo.write(
        "app/before.yaml",
        &job("before", "PreSync", "BeforeHookCreation"),
    );
    repo.write("app/after.yaml", &job("after", "PostSync", "HookSucceeded"));
    repo.commit("objects and hooks");
    let mut app = serde_json::to_value(application("deletes", "rec-control", &repo, "rec-dest"))
        .expect("JSON");
    app["metadata"]["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    let apps: Api<Application> = Api::namespaced(client.clone(), "rec-control");
    let app = apps
        .create(
            &PostParams::default(),
            &serde_json::from_value(app).expect("app"),
        )
        .await
        .expect("created");

    // Sync 1 deletes the HookSucceeded hook; sync 2 the BeforeHookCreation hook of the
    // first run, that hook again and the pruned object.
    let outcome = sync_with_prune(&r, &app).await;
    assert_eq!(
        outcome.phase,
        OperationPhase::Succeeded,
        "{}",
        outcome.message
    );
    repo.remove("app/pruned.yaml");
    repo.commit("pruned goes");
    let start = Instant::now();
    loop {
        let outcome = sync_with_prune(&r, &app).await;
        assert_eq!(
            outcome.phase,
            OperationPhase::Succeeded,
            "{}",
            outcome.message
        );
        if names(&outcome).contains(&"ConfigMap/pruned Pruned".to_owned()) {
            break;
        }
        assert!(
            start.elapsed() < T,
            "pruned never pruned: {:?}",
            names(&outcome)
        );
    }
    // Deleting the Application cascades to what it still tracks.
    apps.delete("deletes", &DeleteParams::default())
        .await
        .expect("deletion requested");
    let start = Instant::now();
    while let Some(app) = apps.get_opt("deletes").await.expect("read") {
        r.reconcile(&app).await.expect("finalized");
        assert!(start.elapsed() < T, "the Application was never finalized");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "rec-dest");
    assert!(cms.get_opt("pruned").await.expect("read").is_none());
    assert!(cms.get_opt("stays").await.expect("read").is_none());
    let jobs: Api<Job> = Api::namespaced(client.clone(), "rec-dest");
    assert!(jobs.get_opt("after").await.expect("read").is_none());
    let deletes: Vec<(String, Value)> = log
        .lock()
        .expect("not poisoned")
        .iter()
        .filter(|sent| sent.method == "DELETE")
        .map(|sent| {
            (
                sent.path.clone(),
                serde_json::from_slice(&sent.body).unwrap_or(Value::Null),
            )
        })
        .collect();
    let paths: Vec<&str> = deletes.iter().map(|(p, _)| p.as_str()).collect();
    for wanted in [
        "/apis/batch/v1/namespaces/rec-dest/jobs/after",
        "/apis/batch/v1/namespaces/rec-dest/jobs/before",
        "/api/v1/namespaces/rec-dest/configmaps/pruned",
        "/api/v1/namespaces/rec-dest/configmaps/stays",
    ] {
        assert!(paths.contains(&wanted), "no DELETE of {wanted}: {paths:?}");
    }
    for (path, body) in &deletes {
        let uid = body["preconditions"]["uid"].as_str().unwrap_or("");
        assert!(
            !uid.is_empty(),
            "DELETE {path} without a UID precondition: {body}"
        );
    }
}
