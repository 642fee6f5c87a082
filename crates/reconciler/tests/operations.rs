//! End to end: operations as Argo CD runs them — kept in `Application.operation` until
//! they end, resumed after a restart, never holding a reconcile worker while they wait,
//! terminated on request even while backing off, and ended with the reason when the
//! comparison they need fails.

mod support;

use std::time::{Duration, Instant};

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use support::*;
use windlass_entity_model::argocd::{Application, OperationPhase};
use windlass_reconciler::controller::Settings;
use windlass_reconciler::{Config, Outcome, Reconciler};

const T: Duration = Duration::from_secs(30);

fn app_in(
    control: &str,
    name: &str,
    repo: &Repo,
    path: &str,
    namespace: &str,
    sync_policy: Value,
) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": control},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url(), "path": path, "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": sync_policy,
        }
    })
}

fn cm(name: &str) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
        .to_string()
}

fn op_phase(app: &Value) -> &str {
    app["status"]["operationState"]["phase"]
        .as_str()
        .unwrap_or("")
}

fn op_message(app: &Value) -> &str {
    app["status"]["operationState"]["message"]
        .as_str()
        .unwrap_or("")
}

fn apps_in(client: &kube::Client, control: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        control,
        &ApiResource::erase::<Application>(&()),
    )
}

async fn get_app(client: &kube::Client, control: &str, name: &str) -> Value {
    let app = apps_in(client, control).get(name).await.expect("app");
    serde_json::to_value(app).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_that_wait_hold_no_reconcile_worker() {
    let client = env().client().await;
    let control = "few-workers";
    let settings = Settings {
        refresh_interval: Duration::from_secs(3600),
        repo_poll_interval: Duration::from_millis(300),
        concurrency: 2,
    };
    own_controller(&client, control, settings, |_| {}).await;
    let repo = Repo::new();
    // A PreSync hook that never completes (a bare Pod runs until it is deleted).
    let blocker = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "blocker", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1"}]}});
    repo.write("waits/hook.json", &blocker.to_string())
        .write("waits/cm.json", &cm("after-the-hook"))
        .write("free/cm.json", &cm("free"));
    repo.commit("waiting and free");
    let policy = json!({"automated": {}, "syncOptions": ["CreateNamespace=true"]});
    // One more waiting operation than there are workers.
    let waiters = ["waiter-1", "waiter-2", "waiter-3"];
    for w in waiters {
        create_app(
            &client,
            app_in(control, w, &repo, "waits", w, policy.clone()),
        )
        .await;
    }
    for w in waiters {
        let waiting = wait_app_in(&client, control, w, T, |a| {
            op_phase(a) == "Running" && op_message(a).starts_with("waiting for completion of hook")
        })
        .await;
        assert_eq!(
            op_message(&waiting),
            "waiting for completion of hook /Pod/blocker"
        );
    }
    create_app(
        &client,
        app_in(control, "unhindered", &repo, "free", "unhindered", policy),
    )
    .await;
    wait_app_in(&client, control, "unhindered", T, |a| {
        sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;
    for w in waiters {
        let still = get_app(&client, control, w).await;
        assert_eq!(op_phase(&still), "Running", "{w} still waits for its hook");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_is_honoured_while_a_retry_backs_off() {
    let client = env().client().await;
    let repo = Repo::new();
    repo.write("app/c.json", &cm("c"));
    repo.commit("one");
    // No CreateNamespace and no namespace: every attempt fails.
    create_app(
        &client,
        app_in(
            "argocd",
            "backoff",
            &repo,
            "app",
            "backoff-missing",
            json!({}),
        ),
    )
    .await;
    wait_app(&client, "backoff", T, |a| {
        sync_and_health(a).0 == "OutOfSync"
    })
    .await;
    let op = json!({"operation": {
        "sync": {}, "info": [{"name": "test", "value": "b"}],
        "retry": {"limit": 5, "backoff": {"duration": "1h"}},
    }});
    apps_in(&client, "argocd")
        .patch("backoff", &PatchParams::default(), &Patch::Merge(&op))
        .await
        .expect("operation");
    let backing_off = wait_app(&client, "backoff", T, |a| {
        a["status"]["operationState"]["retryCount"] == 1
    })
    .await;
    assert_eq!(op_phase(&backing_off), "Running");
    assert!(
        op_message(&backing_off).contains(". Retrying attempt #1 at "),
        "{}",
        op_message(&backing_off)
    );
    // `argocd app terminate-op` during the hour-long backoff.
    apps_in(&client, "argocd")
        .patch(
            "backoff",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"operationState": {"phase": "Terminating"}}})),
        )
        .await
        .expect("terminate requested");
    let done = wait_app(&client, "backoff", T, |a| {
        !a["status"]["operationState"]["finishedAt"].is_null() && op_phase(a) == "Failed"
    })
    .await;
    assert!(
        op_message(&done).starts_with("Operation terminated"),
        "{}",
        op_message(&done)
    );
    assert!(
        done["operation"].is_null(),
        "the ended operation is cleared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_controller_resumes_the_operation_where_it_stopped() {
    let client = env().client().await;
    let control = "resume-control";
    create_namespace(&client, control).await;
    let repo = Repo::new();
    // A PreSync Job (completes after a while) with a generated name, then a ConfigMap.
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"generateName": "migrate-", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox:1"}]}}}});
    repo.write("app/job.json", &job.to_string())
        .write("app/cm.json", &cm("after-migration"));
    repo.commit("migrate then configure");
    let mut spec = app_in(
        control,
        "resumed",
        &repo,
        "app",
        "resumed",
        json!({"syncOptions": ["CreateNamespace=true"]}),
    );
    spec["operation"] = json!({"sync": {}, "initiatedBy": {"username": "admin"}});
    create_app(&client, spec).await;
    let typed: Api<Application> = Api::namespaced(client.clone(), control);
    let cache = tempfile::tempdir().expect("temp dir");
    let config = || {
        let mut c = Config::new(cache.path());
        c.namespace = control.to_owned();
        c
    };

    let first = Reconciler::new(client.clone(), config())
        .await
        .expect("reconciler");
    let app = typed.get("resumed").await.expect("app");
    let outcome = first.reconcile(&app).await.expect("reconciled");
    assert_eq!(
        outcome,
        Outcome::Synced(OperationPhase::Running),
        "the step returns while the hook runs"
    );
    let mid = get_app(&client, control, "resumed").await;
    assert!(!mid["operation"].is_null(), "kept until the operation ends");
    assert_eq!(op_phase(&mid), "Running");
    assert!(
        op_message(&mid).starts_with("waiting for completion of hook batch/Job/migrate-"),
        "{}",
        op_message(&mid)
    );
    let state = &mid["status"]["operationState"];
    let hook = state["syncResult"]["resources"][0]["name"]
        .as_str()
        .expect("the hook's result")
        .to_owned();
    let started = state["startedAt"].clone();
    drop(first);

    // A new controller (nothing in memory) finds the operation Running and carries on.
    let second = Reconciler::new(client.clone(), config())
        .await
        .expect("reconciler");
    let deadline = Instant::now() + T;
    let done = loop {
        let app = typed.get("resumed").await.expect("app");
        let outcome = second.reconcile(&app).await.expect("reconciled");
        if outcome != Outcome::Synced(OperationPhase::Running) {
            break get_app(&client, control, "resumed").await;
        }
        assert!(Instant::now() < deadline, "the operation did not end");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let state = &done["status"]["operationState"];
    assert_eq!(op_phase(&done), "Succeeded", "{state:#}");
    assert_eq!(state["startedAt"], started, "the same operation");
    assert_eq!(state["syncResult"]["resources"][0]["name"], hook.as_str());
    assert_eq!(
        state["syncResult"]["resources"][0]["hookPhase"],
        "Succeeded"
    );
    assert!(done["operation"].is_null(), "cleared once it ended");
    assert_eq!(done["status"]["history"].as_array().map(Vec::len), Some(1));
    let jobs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "resumed",
        &ApiResource::erase::<k8s_openapi::api::batch::v1::Job>(&()),
    );
    let names: Vec<String> = jobs
        .list(&Default::default())
        .await
        .expect("jobs")
        .items
        .into_iter()
        .filter_map(|j| j.metadata.name)
        .collect();
    assert_eq!(names, [hook], "the hook ran once");
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), "resumed");
    assert!(
        cms.get_opt("after-migration")
            .await
            .expect("read")
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_is_a_condition_and_ends_the_operation_that_needs_it() {
    let client = env().client().await;
    let repo = Repo::new();
    repo.write("app/c.json", &cm("c"));
    repo.commit("one");
    // An unknown destination: InvalidSpecError; a requested sync ends in Error with it.
    let mut nowhere = app_in("argocd", "nowhere", &repo, "app", "nowhere", json!({}));
    nowhere["spec"]["destination"] = json!({"name": "no-such-cluster", "namespace": "nowhere"});
    nowhere["operation"] = json!({"sync": {}, "initiatedBy": {"username": "admin"}});
    create_app(&client, nowhere).await;
    let ended = wait_app(&client, "nowhere", T, |a| {
        !a["status"]["operationState"]["finishedAt"].is_null()
    })
    .await;
    assert_eq!(op_phase(&ended), "Error");
    assert_eq!(
        op_message(&ended),
        "InvalidSpecError: there are no clusters with this name: no-such-cluster"
    );
    assert!(ended["operation"].is_null());
    let conditions = wait_app(&client, "nowhere", T, |a| {
        a["status"]["conditions"].is_array()
    })
    .await;
    assert_eq!(
        conditions["status"]["conditions"][0]["type"],
        "InvalidSpecError"
    );
    assert_eq!(
        conditions["status"]["conditions"][0]["message"],
        "there are no clusters with this name: no-such-cluster"
    );
    assert_eq!(sync_and_health(&conditions), ("Unknown", "Unknown"));

    // A repository that cannot be fetched: ComparisonError naming it.
    let gone = tempfile::tempdir().expect("temp dir");
    let mut unfetchable = app_in(
        "argocd",
        "unfetchable",
        &repo,
        "app",
        "unfetchable",
        json!({}),
    );
    let url = format!("file://{}/missing-repo", gone.path().display());
    unfetchable["spec"]["source"]["repoURL"] = json!(url);
    create_app(&client, unfetchable).await;
    let failed = wait_app(&client, "unfetchable", T, |a| {
        a["status"]["conditions"].is_array()
    })
    .await;
    let condition = &failed["status"]["conditions"][0];
    assert_eq!(condition["type"], "ComparisonError");
    assert!(
        condition["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&url),
        "{condition:#}"
    );
    assert_eq!(sync_and_health(&failed).0, "Unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_running_longer_than_the_sync_timeout_is_terminated() {
    let client = env().client().await;
    let control = "timeout-control";
    create_namespace(&client, control).await;
    let repo = Repo::new();
    // A PreSync hook that never completes.
    let blocker = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "forever", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1"}]}});
    repo.write("app/hook.json", &blocker.to_string());
    repo.commit("forever");
    let mut spec = app_in(
        control,
        "too-slow",
        &repo,
        "app",
        "too-slow",
        json!({"syncOptions": ["CreateNamespace=true"]}),
    );
    spec["operation"] = json!({"sync": {}, "initiatedBy": {"username": "admin"}});
    create_app(&client, spec).await;
    let cache = tempfile::tempdir().expect("temp dir");
    let mut config = Config::new(cache.path());
    config.namespace = control.to_owned();
    config.sync_timeout = Some(Duration::from_secs(1));
    let reconciler = Reconciler::new(client.clone(), config)
        .await
        .expect("reconciler");
    let typed: Api<Application> = Api::namespaced(client.clone(), control);
    let deadline = Instant::now() + T;
    loop {
        let app = typed.get("too-slow").await.expect("app");
        let outcome = reconciler.reconcile(&app).await.expect("reconciled");
        if outcome != Outcome::Synced(OperationPhase::Running) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the operation was not terminated"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = get_app(&client, control, "too-slow").await;
    assert_eq!(op_phase(&done), "Failed");
    assert_eq!(
        op_message(&done),
        "Operation terminated, triggered by controller sync timeout"
    );
    let hook = &done["status"]["operationState"]["syncResult"]["resources"][0];
    assert_eq!(
        (hook["name"].as_str(), hook["message"].as_str()),
        (Some("forever"), Some("Deleted")),
        "the running hook is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_operation_is_written_with_the_status_it_produced() {
    use futures::StreamExt;
    use kube::api::{WatchEvent, WatchParams};
    let client = env().client().await;
    let repo = Repo::new();
    repo.write("app/c.json", &cm("c"));
    repo.commit("one");
    create_app(
        &client,
        app_in(
            "argocd",
            "one-write",
            &repo,
            "app",
            "one-write",
            json!({"syncOptions": ["CreateNamespace=true"]}),
        ),
    )
    .await;
    let out_of_sync = wait_app(&client, "one-write", T, |a| {
        sync_and_health(a).0 == "OutOfSync"
    })
    .await;
    let since = out_of_sync["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_owned();
    let apps = apps_in(&client, "argocd");
    let mut events = apps
        .watch(
            &WatchParams::default().fields("metadata.name=one-write"),
            &since,
        )
        .await
        .expect("watch")
        .boxed();
    apps.patch(
        "one-write",
        &PatchParams::default(),
        &Patch::Merge(&json!({"operation": {"sync": {}, "initiatedBy": {"username": "admin"}}})),
    )
    .await
    .expect("sync requested");
    // No one ever sees the operation ended beside a status from before it.
    let ended = tokio::time::timeout(T, async {
        while let Some(event) = events.next().await {
            if let Ok(WatchEvent::Modified(app)) = event {
                let app = serde_json::to_value(app).expect("JSON");
                if op_phase(&app) == "Succeeded" {
                    return app;
                }
            }
        }
        panic!("the watch ended");
    })
    .await
    .expect("the operation ends");
    assert_eq!(sync_and_health(&ended).0, "Synced", "{:#}", ended["status"]);
    assert!(ended["operation"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_that_stops_answering_is_a_condition_until_it_answers_again() {
    let client = env().client().await;
    let repo = Repo::new();
    repo.write("app/c.json", &cm("c"));
    repo.commit("one");
    create_app(
        &client,
        app_in(
            "argocd",
            "repo-gone",
            &repo,
            "app",
            "repo-gone",
            json!({"automated": {}, "syncOptions": ["CreateNamespace=true"]}),
        ),
    )
    .await;
    wait_app(&client, "repo-gone", T, |a| {
        sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;

    // The repository goes away after it was mirrored: the next poll fails to fetch it.
    let away = repo.dir.path().with_extension("away");
    std::fs::rename(repo.dir.path(), &away).expect("repository moved away");
    let failing = wait_app(&client, "repo-gone", T, |a| {
        a["status"]["conditions"].is_array()
    })
    .await;
    std::fs::rename(&away, repo.dir.path()).expect("repository back");
    let condition = &failing["status"]["conditions"][0];
    assert_eq!(condition["type"], "ComparisonError", "{condition:#}");
    let message = condition["message"].as_str().unwrap_or_default();
    assert!(message.contains(&repo.url()), "{message}");

    // Back: the condition goes without anyone asking for a refresh.
    let back = wait_app(&client, "repo-gone", T, |a| {
        a["status"]["conditions"].is_null()
    })
    .await;
    assert_eq!(sync_and_health(&back), ("Synced", "Healthy"));
}
