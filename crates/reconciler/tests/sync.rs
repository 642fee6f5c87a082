//! End to end: the sync behaviours of Argo CD (waves, hooks, prune, sync options, manual
//! operations, shared resources, allowEmpty) as a user sees them — objects in the
//! embedded cluster and the Application's `status.operationState`, `status.resources`,
//! `status.sync` and conditions.

mod support;

use std::time::{Duration, Instant};

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use support::*;
use windlass_entity_model::argocd::Application;

const T: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------
// Manifests (JSON files: the directory renderer reads YAML and JSON alike).

fn annotated(mut obj: Value, annotations: &[(&str, &str)]) -> Value {
    for (k, v) in annotations {
        obj["metadata"]["annotations"][*k] = json!(v);
    }
    obj
}

fn cm(name: &str, data: &str, annotations: &[(&str, &str)]) -> Value {
    annotated(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"value": data}}),
        annotations,
    )
}

fn deployment(name: &str, image: &str, annotations: &[(&str, &str)]) -> Value {
    annotated(
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "main", "image": image}]},
                },
            },
        }),
        annotations,
    )
}

/// A Job; `name` ending in `-` becomes `generateName`. Fails when `image` contains `:fail`.
fn job(name: &str, image: &str, annotations: &[(&str, &str)]) -> Value {
    let meta = if name.ends_with('-') {
        json!({"generateName": name})
    } else {
        json!({"name": name})
    };
    annotated(
        json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": {
                "backoffLimit": 0,
                "template": {"spec": {"restartPolicy": "Never",
                    "containers": [{"name": "main", "image": image}]}},
            },
        }),
        annotations,
    )
}

fn write(repo: &Repo, path: &str, obj: &Value) {
    repo.write(path, &serde_json::to_string_pretty(obj).expect("JSON"));
}

const HOOK: &str = "argocd.argoproj.io/hook";
const DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
const WAVE: &str = "argocd.argoproj.io/sync-wave";
const OPTIONS: &str = "argocd.argoproj.io/sync-options";

// ---------------------------------------------------------------------------------
// Applications and operations.

fn app(name: &str, repo: &Repo, path: &str, namespace: &str, sync_policy: Value) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url(), "path": path, "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": sync_policy,
        }
    })
}

fn apps_api(client: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        "argocd",
        &ApiResource::erase::<Application>(&()),
    )
}

/// Requests an operation as `argocd app sync` does: sets the Application's top-level
/// `operation`. `tag` marks it so [`wait_op`] finds this operation's outcome.
async fn request_sync(client: &kube::Client, name: &str, tag: &str, sync: Value) {
    let op = json!({"operation": {
        "sync": sync,
        "initiatedBy": {"username": "admin"},
        "info": [{"name": "test", "value": tag}],
    }});
    apps_api(client)
        .patch(name, &PatchParams::default(), &Patch::Merge(&op))
        .await
        .expect("operation requested");
}

fn op_tag(app: &Value) -> &str {
    app["status"]["operationState"]["operation"]["info"][0]["value"]
        .as_str()
        .unwrap_or("")
}

fn op_phase(app: &Value) -> &str {
    app["status"]["operationState"]["phase"]
        .as_str()
        .unwrap_or("")
}

fn op_done(app: &Value) -> bool {
    matches!(op_phase(app), "Succeeded" | "Failed" | "Error")
        && !app["status"]["operationState"]["finishedAt"].is_null()
}

/// Waits until the operation tagged `tag` has finished.
async fn wait_op(client: &kube::Client, name: &str, tag: &str) -> Value {
    wait_app(client, name, T, |a| op_tag(a) == tag && op_done(a)).await
}

/// `syncResult.resources[]`, one line each: `syncPhase Kind/name status hookPhase`.
fn results(app: &Value) -> Vec<String> {
    app["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{} {}/{} {} {}",
                r["syncPhase"].as_str().unwrap_or("-"),
                r["kind"].as_str().unwrap_or("-"),
                r["name"].as_str().unwrap_or("-"),
                r["status"].as_str().unwrap_or("-"),
                r["hookPhase"].as_str().unwrap_or("-"),
            )
        })
        .collect()
}

/// The result entry of one object.
fn result_of<'a>(app: &'a Value, kind: &str, name: &str) -> &'a Value {
    app["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["kind"] == kind && r["name"] == name))
        .unwrap_or_else(|| {
            panic!(
                "no result for {kind}/{name}: {:#}",
                app["status"]["operationState"]
            )
        })
}

/// `status.resources[]`, one line each: `Kind/name status` (+ ` requiresPruning`).
fn resources(app: &Value) -> Vec<String> {
    app["status"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let prune = if r["requiresPruning"] == true {
                " requiresPruning"
            } else {
                ""
            };
            format!(
                "{}/{} {}{prune}",
                r["kind"].as_str().unwrap_or("-"),
                r["name"].as_str().unwrap_or("-"),
                r["status"].as_str().unwrap_or("-")
            )
        })
        .collect()
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

fn dynamic(client: &kube::Client, api_version: &str, kind: &str, ns: &str) -> Api<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    if ns.is_empty() {
        Api::all_with(client.clone(), &ar)
    } else {
        Api::namespaced_with(client.clone(), ns, &ar)
    }
}

/// A live object as JSON, if it exists.
async fn get(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
) -> Option<Value> {
    dynamic(client, api_version, kind, ns)
        .get_opt(name)
        .await
        .expect("read")
        .map(|o| serde_json::to_value(o).expect("JSON"))
}

/// Every live object of a kind in a namespace.
async fn list(client: &kube::Client, api_version: &str, kind: &str, ns: &str) -> Vec<Value> {
    dynamic(client, api_version, kind, ns)
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|o| serde_json::to_value(o).expect("JSON"))
        .collect()
}

fn rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("numeric resourceVersion")
}

/// Polls until `check` holds for the object (or its absence), bounded by `T`.
async fn wait_obj(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
    what: &str,
    check: impl Fn(Option<&Value>) -> bool,
) -> Option<Value> {
    let start = Instant::now();
    loop {
        let obj = get(client, api_version, kind, ns, name).await;
        if check(obj.as_ref()) {
            return obj;
        }
        assert!(
            start.elapsed() < T,
            "timed out waiting for {kind} {ns}/{name}: {what}; now {obj:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn automated(prune: bool) -> Value {
    json!({"automated": {"prune": prune}, "syncOptions": ["CreateNamespace=true"]})
}

// ---------------------------------------------------------------------------------
// Waves, phases and kind order.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_run_in_order_each_waiting_for_the_previous_to_be_healthy() {
    let client = env().client().await;
    let repo = Repo::new();
    // Wave -1: a Deployment (healthy once its pod is ready); wave 0: kinds in Argo's
    // order (ConfigMap, Service, Deployment, whatever the file order); wave 5: a ConfigMap.
    write(
        &repo,
        "app/a-deploy.json",
        &deployment("early", "nginx:1.27", &[(WAVE, "-1")]),
    );
    write(
        &repo,
        "app/b-deploy.json",
        &deployment("web", "nginx:1.27", &[]),
    );
    write(
        &repo,
        "app/c-svc.json",
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    );
    write(&repo, "app/d-cm.json", &cm("settings", "1", &[]));
    write(&repo, "app/e-late.json", &cm("late", "1", &[(WAVE, "5")]));
    repo.commit("waves");
    create_app(
        &client,
        app("waves", &repo, "app", "waves", automated(false)),
    )
    .await;

    let done = wait_app(&client, "waves", T, |a| {
        op_done(a) && sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;
    assert_eq!(
        op_phase(&done),
        "Succeeded",
        "{:#}",
        done["status"]["operationState"]
    );
    assert_eq!(
        done["status"]["operationState"]["message"],
        "successfully synced (all tasks run)"
    );
    assert_eq!(
        results(&done),
        [
            "Sync Deployment/early Synced Succeeded",
            "Sync ConfigMap/settings Synced Succeeded",
            "Sync Service/web Synced Succeeded",
            "Sync Deployment/web Synced Succeeded",
            "Sync ConfigMap/late Synced Succeeded",
        ]
    );
    assert_eq!(
        result_of(&done, "Deployment", "web")["message"],
        "deployment.apps/web serverside-applied"
    );
    // status.resources shows the wave of objects outside wave 0.
    let late = done["status"]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "late")
        .expect("late");
    assert_eq!(late["syncWave"], 5);

    // Creation order, read from resourceVersions: wave 0 only after the wave -1
    // Deployment's pod was ready; in wave 0 ConfigMap < Service < Deployment.
    let early_pods: Vec<Value> = list(&client, "v1", "Pod", "waves")
        .await
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "early")
        .collect();
    let early_ready = early_pods
        .iter()
        .map(rv)
        .max()
        .expect("a pod of the wave -1 Deployment");
    let settings = get(&client, "v1", "ConfigMap", "waves", "settings")
        .await
        .expect("settings");
    let svc = get(&client, "v1", "Service", "waves", "web")
        .await
        .expect("service");
    let late = get(&client, "v1", "ConfigMap", "waves", "late")
        .await
        .expect("late");
    let web_pods: Vec<Value> = list(&client, "v1", "Pod", "waves")
        .await
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "web")
        .collect();
    let web_ready = web_pods
        .iter()
        .map(rv)
        .max()
        .expect("a pod of the wave 0 Deployment");
    assert!(
        early_ready < rv(&settings),
        "wave 0 started before wave -1 was healthy"
    );
    assert!(rv(&settings) < rv(&svc), "ConfigMap before Service");
    assert!(
        web_ready < rv(&late),
        "wave 5 started before wave 0 was healthy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_that_never_becomes_healthy_blocks_later_waves_until_terminated() {
    let client = env().client().await;
    let repo = Repo::new();
    write(
        &repo,
        "app/stuck.json",
        &deployment("stuck", "example/app:fail", &[]),
    );
    write(&repo, "app/after.json", &cm("after", "1", &[(WAVE, "1")]));
    write(
        &repo,
        "app/hook.json",
        &job("after-hook-", "busybox:1", &[(HOOK, "PostSync")]),
    );
    repo.commit("stuck");
    create_app(
        &client,
        app(
            "stuck",
            &repo,
            "app",
            "stuck",
            json!({"syncOptions": ["CreateNamespace=true"]}),
        ),
    )
    .await;
    wait_app(&client, "stuck", T, |a| sync_and_health(a).0 == "OutOfSync").await;
    request_sync(&client, "stuck", "1", json!({})).await;

    let running = wait_app(&client, "stuck", T, |a| {
        op_tag(a) == "1"
            && op_phase(a) == "Running"
            && results(a).iter().any(|r| r.contains("Deployment/stuck"))
    })
    .await;
    assert_eq!(
        running["operation"]["info"][0]["value"], "1",
        "the request stays until the operation ends (Argo's way)"
    );
    assert_eq!(
        running["status"]["operationState"]["message"],
        "waiting for healthy state of apps/Deployment/stuck"
    );
    // A later step of the operation still waits.
    let later = refreshed(&client, "stuck").await;
    assert_eq!(op_phase(&later), "Running");
    assert!(
        get(&client, "v1", "ConfigMap", "stuck", "after")
            .await
            .is_none(),
        "wave 1 waits for wave 0"
    );
    assert!(
        list(&client, "batch/v1", "Job", "stuck").await.is_empty(),
        "PostSync waits for Sync"
    );

    // `argocd app terminate-op`: the phase set to Terminating.
    apps_api(&client)
        .patch(
            "stuck",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"operationState": {"phase": "Terminating"}}})),
        )
        .await
        .expect("terminate requested");
    let done = wait_op(&client, "stuck", "1").await;
    assert_eq!(op_phase(&done), "Failed");
    assert_eq!(
        done["status"]["operationState"]["message"],
        "Operation terminated"
    );
    assert!(
        done["operation"].is_null(),
        "the ended operation is cleared"
    );
    assert!(
        get(&client, "v1", "ConfigMap", "stuck", "after")
            .await
            .is_none()
    );
    assert_eq!(sync_and_health(&done).0, "OutOfSync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_deletes_a_running_hook_and_skips_the_rest() {
    let client = env().client().await;
    let repo = Repo::new();
    // A PreSync hook that never completes (a Deployment whose pods crash).
    write(
        &repo,
        "app/pre.json",
        &deployment("forever", "example/app:fail", &[(HOOK, "PreSync")]),
    );
    write(&repo, "app/cm.json", &cm("c", "1", &[]));
    write(
        &repo,
        "app/fail.json",
        &cm("on-fail", "1", &[(HOOK, "SyncFail")]),
    );
    repo.commit("forever");
    create_app(
        &client,
        app(
            "terminate",
            &repo,
            "app",
            "terminate",
            json!({"syncOptions": ["CreateNamespace=true"]}),
        ),
    )
    .await;
    wait_app(&client, "terminate", T, |a| {
        sync_and_health(a).0 == "OutOfSync"
    })
    .await;
    request_sync(&client, "terminate", "1", json!({})).await;
    let running = wait_app(&client, "terminate", T, |a| {
        op_tag(a) == "1" && op_phase(a) == "Running" && !results(a).is_empty()
    })
    .await;
    assert_eq!(
        results(&running),
        ["PreSync Deployment/forever Synced Running"]
    );
    assert!(
        get(&client, "apps/v1", "Deployment", "terminate", "forever")
            .await
            .is_some()
    );
    apps_api(&client)
        .patch(
            "terminate",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"operationState": {"phase": "Terminating"}}})),
        )
        .await
        .expect("terminate requested");
    let done = wait_op(&client, "terminate", "1").await;
    assert_eq!(op_phase(&done), "Failed");
    assert_eq!(
        done["status"]["operationState"]["message"],
        "Operation terminated"
    );
    let hook = result_of(&done, "Deployment", "forever");
    assert_eq!(
        (hook["hookPhase"].as_str(), hook["message"].as_str()),
        (Some("Succeeded"), Some("Deleted"))
    );
    wait_obj(
        &client,
        "apps/v1",
        "Deployment",
        "terminate",
        "forever",
        "the running hook deleted",
        |o| o.is_none(),
    )
    .await;
    assert!(
        get(&client, "v1", "ConfigMap", "terminate", "c")
            .await
            .is_none(),
        "the Sync phase never ran"
    );
    assert!(
        get(&client, "v1", "ConfigMap", "terminate", "on-fail")
            .await
            .is_none(),
        "termination runs no SyncFail hook"
    );
}

// ---------------------------------------------------------------------------------
// Hooks.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_run_in_their_phases_named_and_cleaned_up_the_argo_way() {
    let client = env().client().await;
    let repo = Repo::new();
    write(
        &repo,
        "app/pre.json",
        &job("migrate-", "busybox:1", &[(HOOK, "PreSync")]),
    );
    write(
        &repo,
        "app/post.json",
        &job(
            "notify",
            "busybox:1",
            &[(HOOK, "PostSync"), (DELETE_POLICY, "HookSucceeded")],
        ),
    );
    write(&repo, "app/cm.json", &cm("config", "1", &[]));
    write(
        &repo,
        "app/fail.json",
        &job("on-fail", "busybox:1", &[(HOOK, "SyncFail")]),
    );
    let rev = repo.commit("hooks");
    create_app(
        &client,
        app(
            "hooks",
            &repo,
            "app",
            "hooks",
            json!({"syncOptions": ["CreateNamespace=true"]}),
        ),
    )
    .await;
    wait_app(&client, "hooks", T, |a| sync_and_health(a).0 == "OutOfSync").await;
    // Hooks are not resources of the app.
    let before = wait_app(&client, "hooks", T, |a| !resources(a).is_empty()).await;
    assert_eq!(resources(&before), ["ConfigMap/config OutOfSync"]);

    request_sync(&client, "hooks", "1", json!({})).await;
    let done = wait_op(&client, "hooks", "1").await;
    let state = &done["status"]["operationState"];
    assert_eq!(op_phase(&done), "Succeeded", "{state:#}");
    let started = state["startedAt"]
        .as_str()
        .expect("startedAt")
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .ok();
    let results = results(&done);
    let pre_name = state["syncResult"]["resources"][0]["name"]
        .as_str()
        .expect("hook name")
        .to_owned();
    // generateName + first 7 chars of the revision + phase + start time (Unix seconds).
    let prefix = format!("migrate-{}-presync-", &rev[..7]);
    assert!(pre_name.starts_with(&prefix), "{pre_name}");
    let ts: i64 = pre_name[prefix.len()..].parse().expect("a Unix time");
    if let Some(started) = started {
        assert!((ts - started).abs() <= 2, "{ts} vs {started}");
    }
    assert_eq!(
        results,
        [
            format!("PreSync Job/{pre_name} Synced Succeeded"),
            "Sync ConfigMap/config Synced Succeeded".to_owned(),
            "PostSync Job/notify Synced Succeeded".to_owned(),
        ],
        "SyncFail hooks do not run when the sync succeeds"
    );
    assert_eq!(result_of(&done, "Job", &pre_name)["hookType"], "PreSync");
    assert_eq!(result_of(&done, "Job", "notify")["hookType"], "PostSync");

    // The PreSync hook (BeforeHookCreation by default) stays, its finalizer removed; it
    // completed before the Sync phase started.
    let pre = get(&client, "batch/v1", "Job", "hooks", &pre_name)
        .await
        .expect("PreSync hook kept");
    assert!(
        !pre["metadata"]["finalizers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f == "argocd.argoproj.io/hook-finalizer"),
        "{pre:#}"
    );
    assert_eq!(pre["status"]["succeeded"], 1);
    let config = get(&client, "v1", "ConfigMap", "hooks", "config")
        .await
        .expect("config");
    let pre_pods: Vec<Value> = list(&client, "v1", "Pod", "hooks")
        .await
        .into_iter()
        .filter(|p| {
            p["metadata"]["labels"]["job-name"] == pre_name.as_str()
                || p["metadata"]["ownerReferences"][0]["name"] == pre_name.as_str()
        })
        .collect();
    if let Some(done_rv) = pre_pods.iter().map(rv).max() {
        assert!(
            done_rv < rv(&config),
            "Sync ran before the PreSync hook completed"
        );
    }
    // HookSucceeded: deleted. SyncFail: never created.
    wait_obj(
        &client,
        "batch/v1",
        "Job",
        "hooks",
        "notify",
        "deleted",
        |o| o.is_none(),
    )
    .await;
    assert!(
        get(&client, "batch/v1", "Job", "hooks", "on-fail")
            .await
            .is_none()
    );
    assert_eq!(
        sync_and_health(&done).0,
        "Synced",
        "hooks do not make the app OutOfSync"
    );

    // A second sync: BeforeHookCreation replaces the named hook of an earlier run; the
    // generated one gets a new name (its start time, in seconds, differs).
    if let Some(started) = started {
        while jiff::Timestamp::now().as_second() <= started {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    request_sync(&client, "hooks", "2", json!({})).await;
    let again = wait_op(&client, "hooks", "2").await;
    assert_eq!(
        op_phase(&again),
        "Succeeded",
        "{:#}",
        again["status"]["operationState"]
    );
    let second = again["status"]["operationState"]["syncResult"]["resources"][0]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert_ne!(second, pre_name);
    assert!(second.starts_with(&prefix));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_fails_the_sync_runs_sync_fail_hooks_and_honours_hook_failed() {
    let client = env().client().await;
    let repo = Repo::new();
    write(
        &repo,
        "app/pre.json",
        &job(
            "check",
            "example/check:fail",
            &[(HOOK, "PreSync"), (DELETE_POLICY, "HookFailed")],
        ),
    );
    write(&repo, "app/cm.json", &cm("config", "1", &[]));
    write(
        &repo,
        "app/on-fail.json",
        &cm("sync-failed", "1", &[(HOOK, "SyncFail")]),
    );
    write(
        &repo,
        "app/on-fail-job.json",
        &job("cleanup-", "busybox:1", &[(HOOK, "SyncFail")]),
    );
    repo.commit("failing hook");
    create_app(
        &client,
        app(
            "hookfail",
            &repo,
            "app",
            "hookfail",
            json!({"syncOptions": ["CreateNamespace=true"]}),
        ),
    )
    .await;
    wait_app(&client, "hookfail", T, |a| {
        sync_and_health(a).0 == "OutOfSync"
    })
    .await;
    request_sync(&client, "hookfail", "1", json!({})).await;
    let done = wait_op(&client, "hookfail", "1").await;
    let state = &done["status"]["operationState"];
    assert_eq!(op_phase(&done), "Failed", "{state:#}");
    assert_eq!(
        state["message"],
        "one or more synchronization tasks completed unsuccessfully"
    );
    let check = result_of(&done, "Job", "check");
    assert_eq!(
        (
            check["hookPhase"].as_str(),
            check["hookType"].as_str(),
            check["syncPhase"].as_str()
        ),
        (Some("Failed"), Some("PreSync"), Some("PreSync"))
    );
    assert_eq!(check["status"], "Synced");
    assert!(
        check["message"]
            .as_str()
            .unwrap_or("")
            .contains("backoff limit"),
        "{check:#}"
    );
    // SyncFail hooks ran; the Sync phase did not.
    let failed_hook = result_of(&done, "ConfigMap", "sync-failed");
    assert_eq!(
        (
            failed_hook["syncPhase"].as_str(),
            failed_hook["hookPhase"].as_str()
        ),
        (Some("SyncFail"), Some("Succeeded"))
    );
    assert!(
        get(&client, "v1", "ConfigMap", "hookfail", "sync-failed")
            .await
            .is_some()
    );
    let cleanup: Vec<Value> = list(&client, "batch/v1", "Job", "hookfail")
        .await
        .into_iter()
        .filter(|j| {
            j["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("cleanup-")
        })
        .collect();
    assert_eq!(cleanup.len(), 1, "the SyncFail Job ran");
    assert!(
        cleanup[0]["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .contains("-syncfail-")
    );
    assert!(
        get(&client, "v1", "ConfigMap", "hookfail", "config")
            .await
            .is_none(),
        "Sync phase skipped"
    );
    // HookFailed: the failed hook is deleted.
    wait_obj(
        &client,
        "batch/v1",
        "Job",
        "hookfail",
        "check",
        "deleted (HookFailed)",
        |o| o.is_none(),
    )
    .await;
    assert_eq!(sync_and_health(&done).0, "OutOfSync");
}

// ---------------------------------------------------------------------------------
// Prune.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_prune_extraneous_objects_are_skipped_and_the_app_stays_out_of_sync() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/keep.json", &cm("keep", "1", &[]));
    write(&repo, "app/gone.json", &cm("gone", "1", &[]));
    repo.commit("two");
    create_app(
        &client,
        app("noprune", &repo, "app", "noprune", automated(false)),
    )
    .await;
    wait_app(&client, "noprune", T, |a| {
        sync_and_health(a).0 == "Synced" && op_done(a)
    })
    .await;
    repo.remove("app/gone.json");
    let second = repo.commit("drop one");
    let app_now = wait_app(&client, "noprune", T, |a| {
        a["status"]["sync"]["revision"] == second.as_str()
    })
    .await;
    assert_eq!(sync_and_health(&app_now).0, "OutOfSync");
    assert_eq!(
        resources(&app_now),
        [
            "ConfigMap/gone OutOfSync requiresPruning",
            "ConfigMap/keep Synced"
        ]
    );

    // A manual sync without prune: skipped with Argo's message.
    request_sync(&client, "noprune", "1", json!({"prune": false})).await;
    let done = wait_op(&client, "noprune", "1").await;
    assert_eq!(op_phase(&done), "Succeeded");
    let gone = result_of(&done, "ConfigMap", "gone");
    assert_eq!(
        (gone["status"].as_str(), gone["message"].as_str()),
        (Some("PruneSkipped"), Some("ignored (requires pruning)"))
    );
    assert!(
        get(&client, "v1", "ConfigMap", "noprune", "gone")
            .await
            .is_some()
    );
    assert_eq!(sync_and_health(&done).0, "OutOfSync");

    // With prune it goes.
    request_sync(&client, "noprune", "2", json!({"prune": true})).await;
    let done = wait_op(&client, "noprune", "2").await;
    let gone = result_of(&done, "ConfigMap", "gone");
    assert_eq!(
        (gone["status"].as_str(), gone["message"].as_str()),
        (Some("Pruned"), Some("pruned"))
    );
    assert!(
        get(&client, "v1", "ConfigMap", "noprune", "gone")
            .await
            .is_none()
    );
    assert_eq!(sync_and_health(&done).0, "Synced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_false_annotation_keeps_the_object() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/keep.json", &cm("keep", "1", &[]));
    write(
        &repo,
        "app/precious.json",
        &cm("precious", "1", &[(OPTIONS, "Prune=false")]),
    );
    repo.commit("two");
    create_app(
        &client,
        app("prunefalse", &repo, "app", "prunefalse", automated(true)),
    )
    .await;
    wait_app(&client, "prunefalse", T, |a| {
        sync_and_health(a).0 == "Synced" && op_done(a)
    })
    .await;
    repo.remove("app/precious.json");
    repo.commit("drop precious");
    request_sync(&client, "prunefalse", "1", json!({"prune": true})).await;
    let done = wait_op(&client, "prunefalse", "1").await;
    let precious = result_of(&done, "ConfigMap", "precious");
    assert_eq!(
        (precious["status"].as_str(), precious["message"].as_str()),
        (Some("PruneSkipped"), Some("ignored (no prune)"))
    );
    assert!(
        get(&client, "v1", "ConfigMap", "prunefalse", "precious")
            .await
            .is_some()
    );
    assert_eq!(sync_and_health(&done).0, "OutOfSync");
    assert_eq!(
        resources(&done),
        [
            "ConfigMap/keep Synced",
            "ConfigMap/precious OutOfSync requiresPruning"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prunes_run_in_reverse_wave_order_and_prune_last_after_everything() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/w1.json", &cm("w1", "1", &[(WAVE, "1")]));
    write(&repo, "app/w2.json", &cm("w2", "1", &[(WAVE, "2")]));
    write(&repo, "app/w3.json", &cm("w3", "1", &[(WAVE, "3")]));
    write(
        &repo,
        "app/last.json",
        &cm("last", "1", &[(OPTIONS, "PruneLast=true")]),
    );
    write(&repo, "app/stay.json", &cm("stay", "1", &[]));
    repo.commit("all");
    create_app(
        &client,
        app("prunewaves", &repo, "app", "prunewaves", automated(true)),
    )
    .await;
    let first = wait_app(&client, "prunewaves", T, |a| {
        sync_and_health(a).0 == "Synced" && op_done(a)
    })
    .await;
    let rv_before: u64 = rv(&get(&client, "v1", "ConfigMap", "prunewaves", "stay")
        .await
        .expect("stay"));
    let _ = first;
    for f in ["w1", "w2", "w3", "last"] {
        repo.remove(&format!("app/{f}.json"));
    }
    write(&repo, "app/stay.json", &cm("stay", "2", &[]));
    let second = repo.commit("prune");
    let done = wait_app(&client, "prunewaves", T, |a| {
        a["status"]["operationState"]["syncResult"]["revision"] == second.as_str() && op_done(a)
    })
    .await;
    assert_eq!(
        op_phase(&done),
        "Succeeded",
        "{:#}",
        done["status"]["operationState"]
    );
    assert_eq!(
        results(&done),
        [
            "Sync ConfigMap/stay Synced Succeeded",
            "Sync ConfigMap/w3 Pruned Succeeded",
            "Sync ConfigMap/w2 Pruned Succeeded",
            "Sync ConfigMap/w1 Pruned Succeeded",
            "Sync ConfigMap/last Pruned Succeeded",
        ]
    );
    for name in ["w1", "w2", "w3", "last"] {
        assert!(
            get(&client, "v1", "ConfigMap", "prunewaves", name)
                .await
                .is_none(),
            "{name} pruned"
        );
    }
    assert!(
        rv(&get(&client, "v1", "ConfigMap", "prunewaves", "stay")
            .await
            .expect("stay"))
            > rv_before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_propagation_policy_orphan_leaves_dependents() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/web.json", &deployment("web", "nginx:1.27", &[]));
    write(&repo, "app/cm.json", &cm("keep", "1", &[]));
    repo.commit("web");
    let policy = json!({"automated": {"prune": true}, "syncOptions": ["CreateNamespace=true", "PrunePropagationPolicy=orphan"]});
    create_app(&client, app("orphan", &repo, "app", "orphan", policy)).await;
    wait_app(&client, "orphan", T, |a| {
        sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;
    let rs = list(&client, "apps/v1", "ReplicaSet", "orphan").await;
    assert_eq!(rs.len(), 1);
    let rs_name = rs[0]["metadata"]["name"].as_str().expect("name").to_owned();
    repo.remove("app/web.json");
    let second = repo.commit("drop web");
    wait_app(&client, "orphan", T, |a| {
        a["status"]["sync"]["revision"] == second.as_str() && sync_and_health(a).0 == "Synced"
    })
    .await;
    assert!(
        get(&client, "apps/v1", "Deployment", "orphan", "web")
            .await
            .is_none()
    );
    // Orphaned: its owner reference removed, not deleted with its owner.
    wait_obj(
        &client,
        "apps/v1",
        "ReplicaSet",
        "orphan",
        &rs_name,
        "orphaned, not deleted",
        |rs| {
            rs.is_some_and(|rs| {
                rs["metadata"]["ownerReferences"]
                    .as_array()
                    .is_none_or(|o| o.is_empty())
            })
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------
// Sync options.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_namespace_with_managed_namespace_metadata() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/cm.json", &cm("c", "1", &[]));
    repo.commit("one");
    let policy = json!({
        "automated": {},
        "syncOptions": ["CreateNamespace=true"],
        "managedNamespaceMetadata": {"labels": {"team": "blue"}, "annotations": {"owner": "ops"}},
    });
    create_app(
        &client,
        app("nsmeta", &repo, "app", "nsmeta-target", policy),
    )
    .await;
    wait_app(&client, "nsmeta", T, |a| sync_and_health(a).0 == "Synced").await;
    let ns = get(&client, "v1", "Namespace", "", "nsmeta-target")
        .await
        .expect("namespace created");
    assert_eq!(ns["metadata"]["labels"]["team"], "blue");
    assert_eq!(ns["metadata"]["annotations"]["owner"], "ops");
    assert!(
        get(&client, "v1", "ConfigMap", "nsmeta-target", "c")
            .await
            .is_some()
    );

    // Without CreateNamespace a missing namespace fails the sync.
    create_app(
        &client,
        app(
            "nons",
            &repo,
            "app",
            "nons-missing",
            json!({"automated": {}}),
        ),
    )
    .await;
    let failed = wait_app(&client, "nons", T, op_done).await;
    assert_eq!(op_phase(&failed), "Failed");
    let c = result_of(&failed, "ConfigMap", "c");
    assert_eq!(c["status"], "SyncFailed");
    assert!(
        c["message"].as_str().unwrap_or("").contains("nons-missing"),
        "{c:#}"
    );
    assert!(
        get(&client, "v1", "Namespace", "", "nons-missing")
            .await
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_out_of_sync_only_applies_just_what_changed() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/a.json", &cm("a", "1", &[]));
    write(&repo, "app/b.json", &cm("b", "1", &[]));
    repo.commit("two");
    let policy = json!({"automated": {}, "syncOptions": ["CreateNamespace=true", "ApplyOutOfSyncOnly=true"]});
    create_app(&client, app("oosonly", &repo, "app", "oosonly", policy)).await;
    wait_app(&client, "oosonly", T, |a| {
        sync_and_health(a).0 == "Synced" && op_done(a)
    })
    .await;
    let b_rv = rv(&get(&client, "v1", "ConfigMap", "oosonly", "b")
        .await
        .expect("b"));
    write(&repo, "app/a.json", &cm("a", "2", &[]));
    let second = repo.commit("change a");
    let done = wait_app(&client, "oosonly", T, |a| {
        a["status"]["operationState"]["syncResult"]["revision"] == second.as_str() && op_done(a)
    })
    .await;
    assert_eq!(results(&done), ["Sync ConfigMap/a Synced Succeeded"]);
    assert_eq!(
        get(&client, "v1", "ConfigMap", "oosonly", "a")
            .await
            .expect("a")["data"]["value"],
        "2"
    );
    assert_eq!(
        rv(&get(&client, "v1", "ConfigMap", "oosonly", "b")
            .await
            .expect("b")),
        b_rv,
        "b untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_true_replaces_the_whole_object() {
    let client = env().client().await;
    let repo = Repo::new();
    write(
        &repo,
        "app/r.json",
        &cm("r", "1", &[(OPTIONS, "Replace=true")]),
    );
    write(&repo, "app/s.json", &cm("s", "1", &[]));
    repo.commit("one");
    create_app(
        &client,
        app("replace", &repo, "app", "replace", automated(false)),
    )
    .await;
    let first = wait_app(&client, "replace", T, |a| {
        sync_and_health(a).0 == "Synced" && op_done(a)
    })
    .await;
    assert_eq!(
        result_of(&first, "ConfigMap", "r")["message"],
        "configmap/r created"
    );
    // Another client adds a label to both; a new commit re-syncs them.
    for name in ["r", "s"] {
        patch_as_other(
            &client,
            "v1",
            "ConfigMap",
            "replace",
            name,
            json!({"metadata": {"labels": {"extra": "x"}}}),
        )
        .await;
    }
    write(
        &repo,
        "app/r.json",
        &cm("r", "2", &[(OPTIONS, "Replace=true")]),
    );
    write(&repo, "app/s.json", &cm("s", "2", &[]));
    let second = repo.commit("two");
    let done = wait_app(&client, "replace", T, |a| {
        a["status"]["operationState"]["syncResult"]["revision"] == second.as_str() && op_done(a)
    })
    .await;
    assert_eq!(
        result_of(&done, "ConfigMap", "r")["message"],
        "configmap/r replaced"
    );
    assert_eq!(
        result_of(&done, "ConfigMap", "s")["message"],
        "configmap/s serverside-applied"
    );
    let r = get(&client, "v1", "ConfigMap", "replace", "r")
        .await
        .expect("r");
    assert_eq!(r["data"]["value"], "2");
    assert!(
        r["metadata"]["labels"]["extra"].is_null(),
        "replace drops fields others added: {r:#}"
    );
    let s = get(&client, "v1", "ConfigMap", "replace", "s")
        .await
        .expect("s");
    assert_eq!(
        s["metadata"]["labels"]["extra"], "x",
        "apply keeps fields others own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_false_uses_client_side_apply_with_last_applied() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/c.json", &annotated(cm("c", "1", &[]), &[]));
    let mut with_label = cm("c", "1", &[]);
    with_label["metadata"]["labels"] = json!({"mine": "yes"});
    write(&repo, "app/c.json", &with_label);
    repo.commit("one");
    let policy =
        json!({"automated": {}, "syncOptions": ["CreateNamespace=true", "ServerSideApply=false"]});
    create_app(&client, app("csa", &repo, "app", "csa", policy)).await;
    let first = wait_app(&client, "csa", T, |a| {
        sync_and_health(a).0 == "Synced" && op_done(a)
    })
    .await;
    assert_eq!(
        result_of(&first, "ConfigMap", "c")["message"],
        "configmap/c created"
    );
    let live = get(&client, "v1", "ConfigMap", "csa", "c")
        .await
        .expect("c");
    let last: Value = serde_json::from_str(
        live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .expect("last-applied annotation"),
    )
    .expect("JSON");
    assert_eq!(last["data"]["value"], "1");
    assert!(
        live["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|m| m["operation"] != "Apply"),
        "no server-side apply: {live:#}"
    );

    // Another client's label stays; the label we dropped from Git goes (three-way merge).
    patch_as_other(
        &client,
        "v1",
        "ConfigMap",
        "csa",
        "c",
        json!({"metadata": {"labels": {"theirs": "yes"}}}),
    )
    .await;
    let mut next = cm("c", "2", &[]);
    next["metadata"]["labels"] = json!({});
    write(&repo, "app/c.json", &next);
    let second = repo.commit("two");
    let done = wait_app(&client, "csa", T, |a| {
        a["status"]["operationState"]["syncResult"]["revision"] == second.as_str() && op_done(a)
    })
    .await;
    assert_eq!(
        result_of(&done, "ConfigMap", "c")["message"],
        "configmap/c configured"
    );
    let live = get(&client, "v1", "ConfigMap", "csa", "c")
        .await
        .expect("c");
    assert_eq!(live["data"]["value"], "2");
    assert_eq!(live["metadata"]["labels"]["theirs"], "yes");
    assert!(live["metadata"]["labels"]["mine"].is_null(), "{live:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn respect_ignore_differences_keeps_ignored_live_values() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/web.json", &deployment("web", "nginx:1.27", &[]));
    write(&repo, "app/cm.json", &cm("c", "1", &[]));
    repo.commit("one");
    let mut spec = app(
        "respect",
        &repo,
        "app",
        "respect",
        json!({
            "automated": {}, "syncOptions": ["CreateNamespace=true", "RespectIgnoreDifferences=true"],
        }),
    );
    spec["spec"]["ignoreDifferences"] =
        json!([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]);
    create_app(&client, spec).await;
    wait_app(&client, "respect", T, |a| {
        sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;
    // An autoscaler-like client scales; the app stays Synced (ignored) ...
    patch_as_other(
        &client,
        "apps/v1",
        "Deployment",
        "respect",
        "web",
        json!({"spec": {"replicas": 3}}),
    )
    .await;
    // ... and a sync for another change keeps the live replica count.
    write(
        &repo,
        "app/web.json",
        &annotated(deployment("web", "nginx:1.27", &[]), &[("note", "2")]),
    );
    let second = repo.commit("two");
    let done = wait_app(&client, "respect", T, |a| {
        a["status"]["operationState"]["syncResult"]["revision"] == second.as_str() && op_done(a)
    })
    .await;
    assert_eq!(op_phase(&done), "Succeeded");
    let web = get(&client, "apps/v1", "Deployment", "respect", "web")
        .await
        .expect("web");
    assert_eq!(web["metadata"]["annotations"]["note"], "2");
    assert_eq!(
        web["spec"]["replicas"], 3,
        "RespectIgnoreDifferences keeps the live value"
    );
}

// ---------------------------------------------------------------------------------
// Manual operations.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_sync_of_the_whole_app_of_selected_resources_of_a_revision_and_dry_run() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/a.json", &cm("a", "old", &[]));
    let old = repo.commit("old");
    write(&repo, "app/a.json", &cm("a", "new", &[]));
    write(&repo, "app/b.json", &cm("b", "new", &[]));
    write(
        &repo,
        "app/hook.json",
        &cm("hook", "1", &[(HOOK, "PostSync")]),
    );
    let new = repo.commit("new");
    create_app(
        &client,
        app(
            "manual",
            &repo,
            "app",
            "manual",
            json!({"syncOptions": ["CreateNamespace=true"]}),
        ),
    )
    .await;
    let idle = wait_app(&client, "manual", T, |a| resources(a).len() == 2).await;
    assert_eq!(
        resources(&idle),
        ["ConfigMap/a OutOfSync", "ConfigMap/b OutOfSync"]
    );
    assert!(
        idle["status"]["operationState"].is_null(),
        "no automated sync"
    );

    // Selected resources: only b; hooks do not run.
    request_sync(
        &client,
        "manual",
        "sel",
        json!({"resources": [{"group": "", "kind": "ConfigMap", "name": "b"}]}),
    )
    .await;
    let sel = wait_op(&client, "manual", "sel").await;
    assert_eq!(results(&sel), ["Sync ConfigMap/b Synced Succeeded"]);
    assert!(
        get(&client, "v1", "ConfigMap", "manual", "a")
            .await
            .is_none()
    );
    assert!(
        get(&client, "v1", "ConfigMap", "manual", "hook")
            .await
            .is_none()
    );
    let sel = wait_app(&client, "manual", T, |a| {
        resources(a) == ["ConfigMap/a OutOfSync", "ConfigMap/b Synced"]
    })
    .await;
    assert_eq!(sync_and_health(&sel).0, "OutOfSync");

    // Dry run: validated, nothing changed (the hook neither), no history.
    request_sync(&client, "manual", "dry", json!({"dryRun": true})).await;
    let dry = wait_op(&client, "manual", "dry").await;
    assert_eq!(
        op_phase(&dry),
        "Succeeded",
        "{:#}",
        dry["status"]["operationState"]
    );
    assert_eq!(
        dry["status"]["operationState"]["message"],
        "successfully synced (all tasks run)"
    );
    assert_eq!(
        result_of(&dry, "ConfigMap", "a")["message"],
        "configmap/a serverside-applied (dry run)"
    );
    assert_eq!(
        result_of(&dry, "ConfigMap", "hook")["hookPhase"],
        "Succeeded"
    );
    assert!(
        get(&client, "v1", "ConfigMap", "manual", "a")
            .await
            .is_none(),
        "a dry run creates nothing"
    );
    assert!(
        get(&client, "v1", "ConfigMap", "manual", "hook")
            .await
            .is_none()
    );
    assert!(
        dry["status"]["history"]
            .as_array()
            .is_none_or(|h| h.is_empty())
    );

    // An older revision: its objects; the app compares with HEAD, so OutOfSync.
    request_sync(&client, "manual", "old", json!({"revision": old})).await;
    let at_old = wait_op(&client, "manual", "old").await;
    assert_eq!(
        op_phase(&at_old),
        "Succeeded",
        "{:#}",
        at_old["status"]["operationState"]
    );
    assert_eq!(
        at_old["status"]["operationState"]["syncResult"]["revision"],
        old.as_str()
    );
    assert_eq!(
        get(&client, "v1", "ConfigMap", "manual", "a")
            .await
            .expect("a")["data"]["value"],
        "old"
    );
    let at_old = wait_app(&client, "manual", T, |a| {
        a["status"]["sync"]["revision"] == new.as_str()
    })
    .await;
    assert_eq!(sync_and_health(&at_old).0, "OutOfSync");
    assert_eq!(at_old["status"]["history"][0]["revision"], old.as_str());

    // The whole app at HEAD.
    request_sync(&client, "manual", "all", json!({})).await;
    let all = wait_op(&client, "manual", "all").await;
    assert_eq!(op_phase(&all), "Succeeded");
    assert_eq!(
        all["status"]["operationState"]["operation"]["initiatedBy"]["username"],
        "admin"
    );
    assert_eq!(
        results(&all),
        [
            "Sync ConfigMap/a Synced Succeeded",
            "Sync ConfigMap/b Synced Succeeded",
            "PostSync ConfigMap/hook Synced Succeeded"
        ]
    );
    let all = wait_app(&client, "manual", T, |a| sync_and_health(a).0 == "Synced").await;
    let history = all["status"]["history"].as_array().expect("history");
    assert_eq!(
        history.len(),
        2,
        "dry runs and partial syncs leave no history: {history:#?}"
    );
    assert_eq!(history[1]["revision"], new.as_str());
    assert_eq!(
        get(&client, "v1", "ConfigMap", "manual", "a")
            .await
            .expect("a")["data"]["value"],
        "new"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_with_backoff_until_the_sync_succeeds() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/c.json", &cm("c", "1", &[]));
    repo.commit("one");
    // No CreateNamespace: the first attempt fails until the namespace exists.
    create_app(&client, app("retry", &repo, "app", "retry-ns", json!({}))).await;
    wait_app(&client, "retry", T, |a| sync_and_health(a).0 == "OutOfSync").await;
    let op = json!({"operation": {
        "sync": {},
        "initiatedBy": {"username": "admin"},
        "info": [{"name": "test", "value": "r"}],
        "retry": {"limit": 3, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "5s"}},
    }});
    apps_api(&client)
        .patch("retry", &PatchParams::default(), &Patch::Merge(&op))
        .await
        .expect("operation");
    let retrying = wait_app(&client, "retry", T, |a| {
        op_tag(a) == "r" && a["status"]["operationState"]["retryCount"] == 1
    })
    .await;
    assert_eq!(op_phase(&retrying), "Running");
    let message = retrying["status"]["operationState"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(message.contains("Retrying attempt #1"), "{message}");
    create_namespace(&client, "retry-ns").await;
    let done = wait_op(&client, "retry", "r").await;
    assert_eq!(
        op_phase(&done),
        "Succeeded",
        "{:#}",
        done["status"]["operationState"]
    );
    assert!(
        done["status"]["operationState"]["retryCount"]
            .as_i64()
            .unwrap_or(0)
            >= 1
    );
    assert!(
        get(&client, "v1", "ConfigMap", "retry-ns", "c")
            .await
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_refresh_syncs_the_latest_revision() {
    let client = env().client().await;
    let repo = Repo::new();
    // The first revision cannot be applied: its namespace does not exist.
    let mut broken = cm("c", "1", &[]);
    broken["metadata"]["namespace"] = json!("retry-latest-nowhere");
    write(&repo, "app/c.json", &broken);
    let first = repo.commit("broken");
    let policy = json!({
        "automated": {},
        "syncOptions": ["CreateNamespace=true"],
        "retry": {"limit": -1, "backoff": {"duration": "1s", "factor": 1}, "refresh": true},
    });
    create_app(
        &client,
        app("retry-latest", &repo, "app", "retry-latest", policy),
    )
    .await;
    let retrying = wait_app(&client, "retry-latest", T, |a| {
        a["status"]["operationState"]["retryCount"].as_i64() >= Some(1)
    })
    .await;
    let state = &retrying["status"]["operationState"];
    assert_eq!(state["operation"]["sync"]["revision"], first.as_str());
    let started = state["startedAt"].clone();

    // The fix lands while the operation retries: the next attempt syncs it.
    write(&repo, "app/c.json", &cm("c", "1", &[]));
    let fixed = repo.commit("fixed");
    let done = wait_app(&client, "retry-latest", T, op_done).await;
    let state = &done["status"]["operationState"];
    assert_eq!(op_phase(&done), "Succeeded", "{state:#}");
    assert_eq!(state["startedAt"], started, "the same operation");
    assert_eq!(state["syncResult"]["revision"], fixed.as_str());
    assert!(
        get(&client, "v1", "ConfigMap", "retry-latest", "c")
            .await
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_end_failed_after_the_limit() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/c.json", &cm("c", "1", &[]));
    repo.commit("one");
    create_app(
        &client,
        app("retryfail", &repo, "app", "retryfail-missing", json!({})),
    )
    .await;
    wait_app(&client, "retryfail", T, |a| {
        sync_and_health(a).0 == "OutOfSync"
    })
    .await;
    let op = json!({"operation": {
        "sync": {}, "info": [{"name": "test", "value": "f"}],
        "retry": {"limit": 2, "backoff": {"duration": "1s", "factor": 1}},
    }});
    apps_api(&client)
        .patch("retryfail", &PatchParams::default(), &Patch::Merge(&op))
        .await
        .expect("operation");
    let done = wait_op(&client, "retryfail", "f").await;
    assert_eq!(op_phase(&done), "Failed");
    assert_eq!(done["status"]["operationState"]["retryCount"], 2);
    let message = done["status"]["operationState"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.ends_with(" (retried 2 times)."), "{message}");
    assert_eq!(result_of(&done, "ConfigMap", "c")["status"], "SyncFailed");
}

// ---------------------------------------------------------------------------------
// Ownership and empty renders.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_fail_on_shared_resource_a_resource_of_another_application_is_never_touched() {
    let client = env().client().await;
    let first = Repo::new();
    write(&first, "app/shared.json", &cm("shared", "mine", &[]));
    first.commit("owner");
    create_app(
        &client,
        app("owner", &first, "app", "shared", automated(true)),
    )
    .await;
    wait_app(&client, "owner", T, |a| sync_and_health(a).0 == "Synced").await;
    let before = get(&client, "v1", "ConfigMap", "shared", "shared")
        .await
        .expect("shared");

    let second = Repo::new();
    write(&second, "app/shared.json", &cm("shared", "theirs", &[]));
    write(&second, "app/own.json", &cm("own", "1", &[]));
    second.commit("intruder");
    let mut fail_on_shared = automated(true);
    fail_on_shared["syncOptions"] = json!(["FailOnSharedResource=true"]);
    create_app(
        &client,
        app("intruder", &second, "app", "shared", fail_on_shared),
    )
    .await;
    let failed = wait_app(&client, "intruder", T, op_done).await;
    assert_eq!(op_phase(&failed), "Failed");
    let message = failed["status"]["operationState"]["message"]
        .as_str()
        .unwrap_or("");
    assert_eq!(
        message,
        "Shared resource found: ConfigMap/shared is part of applications intruder and owner"
    );
    assert_eq!(results(&failed), Vec::<String>::new(), "no task ran");
    assert!(
        conditions(&failed).contains(
            &"SharedResourceWarning: ConfigMap/shared is part of applications intruder and owner"
                .to_owned()
        ),
        "{:?}",
        conditions(&failed)
    );
    let after = get(&client, "v1", "ConfigMap", "shared", "shared")
        .await
        .expect("shared");
    assert_eq!(after["data"]["value"], "mine");
    assert_eq!(rv(&after), rv(&before), "not touched");
    assert_eq!(
        after["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        "owner:/ConfigMap:shared/shared"
    );
    assert!(
        get(&client, "v1", "ConfigMap", "shared", "own")
            .await
            .is_none(),
        "nothing applied"
    );
    // The owner is unaffected and does not prune or adopt anything of the intruder.
    let owner = wait_app(&client, "owner", T, |a| sync_and_health(a).0 == "Synced").await;
    assert_eq!(resources(&owner), ["ConfigMap/shared Synced"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_resource_is_a_warning_and_the_sync_goes_on_as_in_argo() {
    let client = env().client().await;
    let first = Repo::new();
    write(&first, "app/shared.json", &cm("taken", "first", &[]));
    first.commit("first");
    create_app(
        &client,
        app("first-owner", &first, "app", "taken", automated(true)),
    )
    .await;
    wait_app(&client, "first-owner", T, |a| {
        sync_and_health(a).0 == "Synced"
    })
    .await;

    let second = Repo::new();
    write(&second, "app/shared.json", &cm("taken", "second", &[]));
    write(&second, "app/own.json", &cm("second-own", "1", &[]));
    second.commit("second");
    create_app(
        &client,
        app("second-owner", &second, "app", "taken", automated(true)),
    )
    .await;
    let synced = wait_app(&client, "second-owner", T, op_done).await;
    assert_eq!(
        op_phase(&synced),
        "Succeeded",
        "{:#}",
        synced["status"]["operationState"]
    );
    assert_eq!(
        results(&synced),
        [
            "Sync ConfigMap/second-own Synced Succeeded",
            "Sync ConfigMap/taken Synced Succeeded"
        ]
    );
    let taken = get(&client, "v1", "ConfigMap", "taken", "taken")
        .await
        .expect("taken");
    assert_eq!(taken["data"]["value"], "second");
    assert_eq!(
        taken["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        "second-owner:/ConfigMap:taken/taken"
    );
    assert!(
        get(&client, "v1", "ConfigMap", "taken", "second-own")
            .await
            .is_some()
    );
    // The object moved: now the first owner warns (and, without self-heal, leaves it).
    let first_owner = wait_app(&client, "first-owner", T, |a| {
        conditions(a).contains(
            &"SharedResourceWarning: ConfigMap/taken is part of applications first-owner and second-owner"
                .to_owned(),
        )
    })
    .await;
    assert_eq!(sync_and_health(&first_owner).0, "OutOfSync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_render_prunes_nothing_unless_allow_empty() {
    let client = env().client().await;
    let repo = Repo::new();
    write(&repo, "app/c.json", &cm("c", "1", &[]));
    repo.write("app/README.md", "manifests\n");
    repo.commit("one");
    create_app(
        &client,
        app("empty", &repo, "app", "empty", automated(true)),
    )
    .await;
    wait_app(&client, "empty", T, |a| sync_and_health(a).0 == "Synced").await;
    repo.remove("app/c.json");
    let second = repo.commit("nothing left");
    let refused = wait_app(&client, "empty", T, |a| {
        a["status"]["sync"]["revision"] == second.as_str()
            && conditions(a).iter().any(|c| c.starts_with("SyncError"))
    })
    .await;
    assert_eq!(sync_and_health(&refused).0, "OutOfSync");
    let condition = conditions(&refused)
        .into_iter()
        .find(|c| c.starts_with("SyncError"))
        .expect("SyncError");
    assert!(
        condition.contains("auto-sync will wipe out all resources"),
        "{condition}"
    );
    refreshed(&client, "empty").await;
    assert!(
        get(&client, "v1", "ConfigMap", "empty", "c")
            .await
            .is_some(),
        "nothing pruned"
    );

    apps_api(&client)
        .patch(
            "empty",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"syncPolicy": {"automated": {"allowEmpty": true}}}})),
        )
        .await
        .expect("allowEmpty");
    wait_obj(
        &client,
        "v1",
        "ConfigMap",
        "empty",
        "c",
        "pruned once allowEmpty is set",
        |o| o.is_none(),
    )
    .await;
    let synced = wait_app(&client, "empty", T, |a| sync_and_health(a).0 == "Synced").await;
    assert!(resources(&synced).is_empty());
}
