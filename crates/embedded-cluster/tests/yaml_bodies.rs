//! Request bodies in YAML are read as a real API server reads them (`sigs.k8s.io/yaml`:
//! YAML 1.1 scalars, then JSON).

use axum::http::Request;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use windlass_embedded_cluster::{Config, EmbeddedCluster};

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

fn deployment(name: &str, mode: &str) -> Vec<u8> {
    format!(
        "\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: main, image: nginx, stdin: yes}}]
      volumes: [{{name: v, configMap: {{name: c, defaultMode: {mode}}}}}]
"
    )
    .into_bytes()
}

#[tokio::test]
async fn yaml_bodies_read_octal_and_yaml_1_1_booleans() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    let post = |body: Vec<u8>| {
        let req = Request::post(DEPLOYMENTS)
            .header("content-type", "application/yaml")
            .body(body)
            .expect("valid request");
        let client = c.client();
        async move { client.request_text(req).await }
    };
    post(deployment("octal", "0644")).await.expect("created");
    let api: Api<Deployment> = Api::namespaced(c.client(), "default");
    let live = serde_json::to_value(api.get("octal").await.expect("stored")).expect("JSON");
    let pod = &live["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"][0]["configMap"]["defaultMode"], 420,
        "{pod:#}"
    );
    assert_eq!(pod["containers"][0]["stdin"], true, "{pod:#}");

    // A value JSON cannot hold is a 400 naming it; nothing is stored.
    let err = post(deployment("infinite", ".inf"))
        .await
        .expect_err(".inf is refused");
    let kube::Error::Api(status) = err else {
        panic!("expected a Status, got {err:?}");
    };
    assert_eq!(status.code, 400);
    assert!(
        status.message.contains("`.inf` is +Inf"),
        "{}",
        status.message
    );
    assert!(api.get_opt("infinite").await.expect("read").is_none());
    c.shutdown().await;
}
