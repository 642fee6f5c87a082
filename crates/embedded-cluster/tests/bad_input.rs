//! Requests a real API server rejects are rejected the same way here, with a
//! Kubernetes `Status` and nothing stored.

use axum::http::Request;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use serde_json::json;
use windlass_embedded_cluster::{Config, EmbeddedCluster, Handle};

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

async fn post(
    c: &Handle,
    uri: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<String, kube::core::Status> {
    let req = Request::post(uri)
        .header("content-type", content_type)
        .body(body)
        .expect("valid request");
    c.client().request_text(req).await.map_err(|e| match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected a Status, got {other:?}"),
    })
}

async fn stored(c: &Handle) -> usize {
    let api: Api<ConfigMap> = Api::namespaced(c.client(), "default");
    api.list(&ListParams::default())
        .await
        .expect("list")
        .items
        .len()
}

fn cm_json(extra: serde_json::Value) -> Vec<u8> {
    let mut v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}});
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    serde_json::to_vec(&v).expect("json")
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    let s = post(&c, CONFIGMAPS, "application/json", b"{\"kind\": ".to_vec())
        .await
        .expect_err("malformed JSON");
    assert_eq!(
        (s.code, s.reason.as_str(), s.status),
        (
            400,
            "BadRequest",
            Some(kube::core::response::StatusSummary::Failure)
        )
    );
    let s = post(
        &c,
        CONFIGMAPS,
        "application/yaml",
        b"metadata: [unclosed".to_vec(),
    )
    .await
    .expect_err("malformed YAML");
    assert_eq!(s.code, 400);
    // YAML that is well formed is accepted.
    post(
        &c,
        CONFIGMAPS,
        "application/yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\n".to_vec(),
    )
    .await
    .expect("YAML body");
    assert_eq!(stored(&c).await, 1);
    c.shutdown().await;
}

#[tokio::test]
async fn wrong_kind_for_the_url_is_400() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    let body = serde_json::to_vec(
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}),
    )
    .expect("json");
    let s = post(&c, CONFIGMAPS, "application/json", body)
        .await
        .expect_err("wrong kind");
    assert_eq!((s.code, s.reason.as_str()), (400, "BadRequest"));
    assert_eq!(stored(&c).await, 0);
    c.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    let big = "x".repeat(4 * 1024 * 1024);
    let s = post(
        &c,
        CONFIGMAPS,
        "application/json",
        cm_json(json!({"data": {"big": big}})),
    )
    .await
    .expect_err("too large");
    assert_eq!((s.code, s.reason.as_str()), (413, "RequestEntityTooLarge"));
    assert_eq!(stored(&c).await, 0);
    c.shutdown().await;
}

/// Found by the fuzzer: a request refused without its body (a subresource the
/// kind does not have) was answered with a large body still unread, and the
/// connection was closed under it, so the client got no answer at all. Each
/// one gets its `Status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_before_their_body_is_read_still_get_their_answer() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    let body = format!("a: {}", "[".repeat(200_000)).into_bytes();
    for _ in 0..20 {
        let s = post(
            &c,
            "/apis/networking.k8s.io/v1/namespaces/default/ingresses/i/scale",
            "application/yaml",
            body.clone(),
        )
        .await
        .expect_err("ingresses have no scale subresource");
        assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"), "{s:?}");
    }
    c.shutdown().await;
}

#[tokio::test]
async fn unknown_fields_with_strict_validation_are_400() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    let uri = format!("{CONFIGMAPS}?fieldValidation=Strict");
    let s = post(
        &c,
        &uri,
        "application/json",
        cm_json(json!({"spec": {"x": 1}})),
    )
    .await
    .expect_err("strict");
    assert_eq!(s.code, 400);
    assert!(
        s.message.contains("unknown field \"spec\""),
        "{}",
        s.message
    );
    assert_eq!(stored(&c).await, 0);
    // Without Strict the field is dropped, as the real server does.
    let created = post(
        &c,
        CONFIGMAPS,
        "application/json",
        cm_json(json!({"spec": {"x": 1}})),
    )
    .await
    .expect("warn mode");
    let created: serde_json::Value = serde_json::from_str(&created).expect("json");
    assert!(created.get("spec").is_none());
    c.shutdown().await;
}

#[tokio::test]
async fn invalid_objects_are_422_with_field_paths() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    let bad_name = serde_json::to_vec(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_Valid"}}),
    )
    .expect("json");
    let s = post(&c, CONFIGMAPS, "application/json", bad_name)
        .await
        .expect_err("bad name");
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    let causes = s.details.map(|d| d.causes).unwrap_or_default();
    assert_eq!(
        causes.first().map(|c| c.field.as_str()),
        Some("metadata.name")
    );

    let no_name =
        serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}))
            .expect("json");
    let s = post(&c, CONFIGMAPS, "application/json", no_name)
        .await
        .expect_err("no name");
    assert_eq!(s.code, 422);
    let causes = s.details.map(|d| d.causes).unwrap_or_default();
    assert_eq!(
        causes.first().map(|c| c.reason.as_str()),
        Some("FieldValueRequired")
    );
    assert_eq!(stored(&c).await, 0);

    // generateName fills the name in.
    let generated = serde_json::to_vec(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}),
    )
    .expect("json");
    let created: serde_json::Value = serde_json::from_str(
        &post(&c, CONFIGMAPS, "application/json", generated)
            .await
            .expect("generateName"),
    )
    .expect("json");
    let name = created["metadata"]["name"].as_str().expect("name");
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    c.shutdown().await;
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_401() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    let text = std::fs::read_to_string(c.kubeconfig_path()).expect("kubeconfig");
    let kc: serde_json::Value =
        serde_json::from_str(&text).expect("kubeconfig is JSON, hence YAML");
    let token = kc["users"][0]["user"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    for replacement in ["\"token\": \"wrong\"", ""] {
        let changed = text.replace(&format!("\"token\": \"{token}\""), replacement);
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&changed).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("config");
        let client = kube::Client::try_from(config).expect("client");
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        match api.list(&ListParams::default()).await {
            Err(kube::Error::Api(s)) => {
                assert_eq!((s.code, s.reason.as_str()), (401, "Unauthorized"))
            }
            other => panic!("expected 401, got {other:?}"),
        }
    }
    c.shutdown().await;
}

#[tokio::test]
async fn plain_http_is_an_explicit_opt_in() {
    let c = EmbeddedCluster::start(Config {
        insecure_http: true,
        ..Config::default()
    })
    .await
    .expect("start");
    assert!(c.url().starts_with("http://127.0.0.1:"));
    assert_eq!(stored(&c).await, 0);
    let https = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    assert!(https.url().starts_with("https://127.0.0.1:"));
    c.shutdown().await;
    https.shutdown().await;
}

#[tokio::test]
async fn a_data_dir_keeps_ca_and_token_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: Some(dir.path().to_owned()),
        ..Config::default()
    };
    let first = EmbeddedCluster::start(config.clone()).await.expect("start");
    let read = |h: &Handle| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(h.kubeconfig_path()).expect("read"))
            .expect("json")
    };
    let before = read(&first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(first.kubeconfig_path())
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    first.shutdown().await;
    let second = EmbeddedCluster::start(config).await.expect("restart");
    let after = read(&second);
    assert_eq!(before["users"], after["users"], "same token");
    assert_eq!(
        before["clusters"][0]["cluster"]["certificate-authority-data"],
        after["clusters"][0]["cluster"]["certificate-authority-data"]
    );
    assert_eq!(
        stored(&second).await,
        0,
        "the client built from the kept CA works"
    );
    second.shutdown().await;
}

/// Missing required fields of built-in kinds, and custom resources that break
/// their CRD's schema (`required`, `type`, `enum`): 422 with the field paths,
/// nothing stored.
#[tokio::test]
async fn missing_required_fields_and_schema_violations_are_422() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    let fields = |s: kube::core::Status| -> Vec<(String, String, String)> {
        assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"), "{s:?}");
        s.details
            .map(|d| d.causes)
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.field, c.reason, c.message))
            .collect()
    };
    let body = |v: serde_json::Value| serde_json::to_vec(&v).expect("json");

    let s = post(
        &c,
        "/apis/apps/v1/namespaces/default/deployments",
        "application/json",
        body(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": []}}}})),
    )
    .await
    .expect_err("no selector, no containers");
    let got = fields(s);
    let paths: Vec<&str> = got.iter().map(|(f, _, _)| f.as_str()).collect();
    assert_eq!(
        paths,
        ["spec.selector", "spec.template.spec.containers"],
        "{got:?}"
    );
    assert!(
        got.iter()
            .all(|(_, r, m)| r == "FieldValueRequired" && m == "Required value")
    );

    let s = post(
        &c,
        "/apis/apps/v1/namespaces/default/deployments",
        "application/json",
        body(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "other"}},
                     "template": {"metadata": {"labels": {"app": "d"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}),
        ),
    )
    .await
    .expect_err("selector does not match");
    assert_eq!(fields(s)[0].0, "spec.template.metadata.labels");

    let s = post(
        &c,
        "/api/v1/namespaces/default/pods",
        "application/json",
        body(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}})),
    )
    .await
    .expect_err("no containers");
    assert_eq!(fields(s)[0].0, "spec.containers");

    // A CRD whose schema requires spec.size (an enum) and an integer count.
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "boxes.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "boxes", "singular": "box", "kind": "Box"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "required": ["spec"], "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "string", "enum": ["small", "large"]},
                        "count": {"type": "integer"},
                        "port": {"x-kubernetes-int-or-string": true},
                        "items": {"type": "array", "items": {"type": "object", "required": ["name"],
                            "properties": {"name": {"type": "string"}}}}}}}}}}]},
    });
    post(
        &c,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "application/json",
        body(crd),
    )
    .await
    .expect("crd created");
    let boxes = "/apis/example.com/v1/namespaces/default/boxes";
    let a_box = |spec: serde_json::Value| {
        body(
            json!({"apiVersion": "example.com/v1", "kind": "Box", "metadata": {"name": "b"}, "spec": spec}),
        )
    };
    let s = post(
        &c,
        boxes,
        "application/json",
        body(json!({"apiVersion": "example.com/v1", "kind": "Box", "metadata": {"name": "b"}})),
    )
    .await
    .expect_err("no spec");
    assert_eq!(
        fields(s),
        [(
            "spec".to_owned(),
            "FieldValueRequired".to_owned(),
            "Required value".to_owned()
        )]
    );
    let s = post(
        &c,
        boxes,
        "application/json",
        a_box(
            json!({"size": "huge", "count": "three", "port": "http", "items": [{"name": "a"}, {}]}),
        ),
    )
    .await
    .expect_err("schema violations");
    assert_eq!(
        fields(s),
        [
            (
                "spec.size".to_owned(),
                "FieldValueNotSupported".to_owned(),
                "Unsupported value: \"huge\": supported values: \"small\", \"large\"".to_owned()
            ),
            (
                "spec.count".to_owned(),
                "FieldValueInvalid".to_owned(),
                "Invalid value: \"string\": spec.count in body must be of type integer: \"string\""
                    .to_owned()
            ),
            (
                "spec.items[1].name".to_owned(),
                "FieldValueRequired".to_owned(),
                "Required value".to_owned()
            ),
        ]
    );
    // Valid: stored.
    post(
        &c,
        boxes,
        "application/json",
        a_box(json!({"size": "small", "count": 3, "port": 8080, "items": [{"name": "a"}]})),
    )
    .await
    .expect("valid box");
    c.shutdown().await;
}

async fn patch(
    c: &Handle,
    uri: &str,
    content_type: &str,
    body: &str,
) -> Result<String, kube::core::Status> {
    let req = Request::patch(uri)
        .header("content-type", content_type)
        .body(body.as_bytes().to_vec())
        .expect("valid request");
    c.client().request_text(req).await.map_err(|e| match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected a Status, got {other:?}"),
    })
}

/// Found by the fuzzer (`tests/fuzz.rs`): a JSON patch that replaces the
/// whole object with a list made the handler panic. kube-apiserver answers
/// 422 naming `patch`; the object stays as it was.
#[tokio::test]
async fn json_patch_replacing_the_object_with_a_list_is_422() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    post(&c, CONFIGMAPS, "application/json", cm_json(json!({})))
        .await
        .expect("created");
    for body in [
        r#"[{"op":"replace","path":"","value":[]}]"#,
        r#"[{"op":"replace","path":"","value":"text"}]"#,
        r#"[{"op":"replace","path":"/metadata","value":["x"]}]"#,
        r#"[{"op":"replace","path":"/kind","value":7}]"#,
    ] {
        let s = patch(
            &c,
            &format!("{CONFIGMAPS}/c"),
            "application/json-patch+json",
            body,
        )
        .await
        .expect_err(body);
        assert_eq!(
            (s.code, s.reason.as_str()),
            (422, "Invalid"),
            "{body}: {s:?}"
        );
        let causes = s.details.map(|d| d.causes).unwrap_or_default();
        assert_eq!(
            causes.first().map(|c| c.field.as_str()),
            Some("patch"),
            "{body}"
        );
    }
    let api: Api<ConfigMap> = Api::namespaced(c.client(), "default");
    let cm = api.get("c").await.expect("still there");
    assert_eq!(
        cm.data.unwrap_or_default().get("a").map(String::as_str),
        Some("b")
    );
    c.shutdown().await;
}

/// The scale subresource decodes `spec.replicas` as an int32: anything else
/// is rejected instead of scaling to zero.
#[tokio::test]
async fn scale_patches_with_a_replicas_that_is_no_int32_are_422() {
    let c = EmbeddedCluster::start(Config {
        controllers: windlass_embedded_cluster::Controllers::none(),
        ..Config::default()
    })
    .await
    .expect("start");
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    post(
        &c,
        deployments,
        "application/json",
        serde_json::to_vec(
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                     "template": {"metadata": {"labels": {"app": "d"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}),
        )
        .expect("json"),
    )
    .await
    .expect("created");
    for body in [
        r#"{"spec":{"replicas":"3"}}"#,
        r#"{"spec":{"replicas":99999999999}}"#,
    ] {
        let s = patch(
            &c,
            &format!("{deployments}/d/scale"),
            "application/merge-patch+json",
            body,
        )
        .await
        .expect_err(body);
        assert_eq!(
            (s.code, s.reason.as_str()),
            (422, "Invalid"),
            "{body}: {s:?}"
        );
    }
    let api: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(c.client(), "default");
    let d = api.get("d").await.expect("get");
    assert_eq!(d.spec.and_then(|s| s.replicas), Some(2));
    c.shutdown().await;
}

/// Found by the fuzzer: a JSON patch whose later operation fails after an
/// earlier one succeeded made the patch library panic while undoing. The
/// request is refused (422) and nothing changes.
#[tokio::test]
async fn json_patch_failing_after_an_earlier_operation_is_422() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    post(&c, CONFIGMAPS, "application/json", cm_json(json!({})))
        .await
        .expect("created");
    let body = r#"[{"op":"replace","path":"/apiVersion","value":null},
                   {"op":"move","path":"/spec/template/spec/containers/0","from":"/apiVersion"}]"#;
    let s = patch(
        &c,
        &format!("{CONFIGMAPS}/c"),
        "application/json-patch+json",
        body,
    )
    .await
    .expect_err("the move has nowhere to go");
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"), "{s:?}");
    let api: Api<ConfigMap> = Api::namespaced(c.client(), "default");
    let cm = api.get("c").await.expect("still there");
    assert_eq!(
        cm.data.unwrap_or_default().get("a").map(String::as_str),
        Some("b")
    );
    c.shutdown().await;
}

/// kube-apiserver refuses JSON patches of more than 10,000 operations (413).
#[tokio::test]
async fn json_patch_with_more_than_10000_operations_is_413() {
    let c = EmbeddedCluster::start(Config::default())
        .await
        .expect("start");
    post(&c, CONFIGMAPS, "application/json", cm_json(json!({})))
        .await
        .expect("created");
    let ops: Vec<serde_json::Value> = (0..10_001)
        .map(|_| json!({"op": "test", "path": "/data/a", "value": "b"}))
        .collect();
    let s = patch(
        &c,
        &format!("{CONFIGMAPS}/c"),
        "application/json-patch+json",
        &serde_json::to_string(&ops).expect("json"),
    )
    .await
    .expect_err("too many operations");
    assert_eq!((s.code, s.reason.as_str()), (413, "RequestEntityTooLarge"));
    assert_eq!(
        s.message,
        "The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
    c.shutdown().await;
}

/// Server-side apply refuses what kube-apiserver refuses, with its messages,
/// instead of merging the body somehow: the wrong or no type (400), a body
/// with `managedFields` (400), keyed list elements without keys or twice
/// (422), fields of the wrong type (422). Nothing is created or changed.
#[tokio::test]
async fn server_side_apply_refuses_what_kube_apiserver_refuses() {
    let c = EmbeddedCluster::start(Config {
        controllers: windlass_embedded_cluster::Controllers::none(),
        ..Config::default()
    })
    .await
    .expect("start");
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    let apply = |name: &'static str, body: serde_json::Value| {
        let c = &c;
        async move {
            patch(
                c,
                &format!("{deployments}/{name}?fieldManager=tester"),
                "application/apply-patch+yaml",
                &body.to_string(),
            )
            .await
        }
    };
    let deployment = |containers: serde_json::Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": containers}}}})
    };
    let refused = |r: Result<String, kube::core::Status>| {
        let s = r.expect_err("refused");
        (s.code, s.message)
    };
    let creating = [
        (
            json!({"metadata": {"name": "web"}}),
            400,
            "invalid object type: /, Kind=",
        ),
        (
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}}),
            400,
            "invalid object type: /v1, Kind=ConfigMap",
        ),
        (
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "managedFields": [{"manager": "x", "operation": "Apply"}]}}),
            400,
            "metadata.managedFields must be nil",
        ),
        (
            deployment(json!([{"image": "nginx"}])),
            422,
            "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: element 0: associative list with keys has an element that omits all key fields [\"name\"] (and doesn't have default values for any key fields)",
        ),
        (
            deployment(json!([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}])),
            422,
            "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name=\"a\"]",
        ),
    ];
    for (body, code, message) in creating {
        assert_eq!(
            refused(apply("web", body.clone()).await),
            (code, message.to_owned()),
            "{body}"
        );
    }
    let mut wrong_type = deployment(json!([{"name": "a", "image": "x"}]));
    wrong_type["spec"]["replicas"] = json!("two");
    let s = apply("web", wrong_type)
        .await
        .expect_err("replicas is an int32");
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"), "{s:?}");
    assert!(
        s.message.starts_with("failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.replicas: "),
        "{}",
        s.message
    );
    let causes = s.details.map(|d| d.causes).unwrap_or_default();
    assert_eq!(
        causes.first().map(|c| c.field.as_str()),
        Some("spec.replicas")
    );
    let api: Api<k8s_openapi::api::apps::v1::Deployment> = Api::namespaced(c.client(), "default");
    assert!(
        api.get_opt("web").await.expect("get").is_none(),
        "nothing created"
    );

    // The same refusals when the object exists; it stays as it was.
    let created = apply("web", deployment(json!([{"name": "a", "image": "x"}])))
        .await
        .expect("a valid apply");
    let created: serde_json::Value = serde_json::from_str(&created).expect("json");
    let s = apply("web", deployment(json!([{"image": "nginx"}])))
        .await
        .expect_err("no name");
    assert_eq!(s.code, 422, "{s:?}");
    let s = apply(
        "web",
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "other"}}),
    )
    .await
    .expect_err("name mismatch");
    assert_eq!(
        (s.code, s.message.as_str()),
        (
            400,
            "the name of the object (other) does not match the name on the URL (web)"
        )
    );
    let now = api.get("web").await.expect("get");
    assert_eq!(
        now.metadata.resource_version.as_deref(),
        created["metadata"]["resourceVersion"].as_str()
    );
    c.shutdown().await;
}
