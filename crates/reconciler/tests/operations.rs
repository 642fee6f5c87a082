//! End to end: operations as Argo CD runs them — ended with the reason when the
//! comparison they need fails.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

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
