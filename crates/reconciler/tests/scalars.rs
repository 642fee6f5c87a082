//! Manifests in Git are read the way `kubectl` and Argo CD read them (YAML 1.1): what
//! reaches the cluster is what Argo CD would have applied.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use serde_json::json;
use support::*;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn octal_modes_and_yaml_1_1_booleans_reach_the_cluster_as_argo_applies_them() {
    let env = env();
    let client = env.client().await;
    let repo = Repo::new();
    repo.write(
        "app/deploy.yaml",
        "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: modes
spec:
  replicas: 1
  selector:
    matchLabels: {app: modes}
  template:
    metadata:
      labels: {app: modes}
    spec:
      automountServiceAccountToken: no
      containers:
      - name: main
        image: nginx:1.27
        stdin: yes
      volumes:
      - name: config
        configMap:
          name: settings
          defaultMode: 0644
",
    );
    repo.commit("modes");
    create_app(
        &client,
        json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "modes", "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": repo.url(), "path": "app", "targetRevision": "HEAD"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "modes"},
                "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]},
            }
        }),
    )
    .await;
    wait_app(&client, "modes", T, |a| {
        sync_and_health(a) == ("Synced", "Healthy")
    })
    .await;

    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "modes");
    let live = serde_json::to_value(deploys.get("modes").await.expect("deployment")).expect("JSON");
    let pod = &live["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"][0]["configMap"]["defaultMode"], 420,
        "{pod:#}"
    );
    assert_eq!(pod["automountServiceAccountToken"], false, "{pod:#}");
    assert_eq!(pod["containers"][0]["stdin"], true, "{pod:#}");
}
