//! Generated entities of the central kinds survive YAML and JSON round trips.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use windlass_entity_model::Entity;
use windlass_entity_model::load::{load_str, without_nulls};

fn name() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9-]{0,14}[a-z0-9])?"
}

/// The strings that are not strings to a YAML 1.1 reader such as `kubectl`'s: a writer
/// must quote them.
fn yaml11_word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("y"),
        Just("N"),
        Just("on"),
        Just("Off"),
        Just("0644"),
        Just("09"),
        Just("1_000"),
        Just("0o17"),
        Just("0b101"),
        Just("+12"),
        Just(".5"),
        Just("1e3"),
        Just("1."),
        Just(".inf"),
        Just("2001-12-14"),
        Just("<<"),
    ]
    .prop_map(str::to_owned)
}

/// Free text, including the strings YAML writers get wrong: `yes`, `1.10`, `null`,
/// `0x1f`, `~`, leading spaces, newlines, quotes, `#`, `: `.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        yaml11_word(),
        Just("yes".to_owned()),
        Just("1.10".to_owned()),
        Just("null".to_owned()),
        Just("~".to_owned()),
        Just("0x1f".to_owned()),
        Just("true".to_owned()),
        Just("".to_owned()),
        Just("-".to_owned()),
        Just("a: b # c".to_owned()),
        "[ -~]{0,20}",
        "\\PC{0,12}",
        "[a-z\n\t\"']{0,12}",
    ]
}

fn labels() -> impl Strategy<Value = Value> {
    let key = prop_oneof!["[a-z]{1,8}(\\.io/[a-z]{1,5})?", yaml11_word()];
    proptest::collection::btree_map(key, text(), 0..3).prop_map(|m| json!(m))
}

fn metadata() -> impl Strategy<Value = Value> {
    (name(), name(), labels(), labels()).prop_map(|(name, ns, labels, annotations)| {
        json!({"name": name, "namespace": ns, "labels": labels, "annotations": annotations})
    })
}

fn application() -> impl Strategy<Value = Value> {
    (
        metadata(),
        name(),
        "[a-z0-9_./ -]{1,20}",
        proptest::option::of((any::<bool>(), any::<bool>())),
        proptest::collection::vec("[A-Za-z]{1,10}=(true|false)", 0..3),
        any::<bool>(),
    )
        .prop_map(|(metadata, project, path, automated, sync_options, multi)| {
            let source = json!({"repoURL": "https://git.example.com/apps.git", "path": path, "targetRevision": "HEAD"});
            let mut spec = json!({
                "project": project,
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "apps"},
            });
            if multi {
                spec["sources"] = json!([source, {"repoURL": "https://charts.example.com", "chart": "web", "targetRevision": "1.2.3"}]);
            } else {
                spec["source"] = source;
            }
            let mut policy = json!({"syncOptions": sync_options});
            if let Some((prune, self_heal)) = automated {
                policy["automated"] = json!({"prune": prune, "selfHeal": self_heal});
            }
            spec["syncPolicy"] = policy;
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": metadata, "spec": spec})
        })
}

fn rollout() -> impl Strategy<Value = Value> {
    (
        metadata(),
        0i32..100,
        proptest::collection::vec(
            prop_oneof![
                (0i32..=100).prop_map(|w| json!({"setWeight": w})),
                (1u32..600).prop_map(|s| json!({"pause": {"duration": format!("{s}s")}})),
                (1u32..600).prop_map(|s| json!({"pause": {"duration": s}})),
                Just(json!({"pause": {}})),
            ],
            0..6,
        ),
        text(),
        any::<bool>(),
    )
        .prop_map(|(metadata, replicas, steps, image, blue_green)| {
            let strategy = if blue_green {
                json!({"blueGreen": {"activeService": "web-active", "previewService": "web-preview", "autoPromotionEnabled": false}})
            } else {
                json!({"canary": {"steps": steps, "maxSurge": "25%", "maxUnavailable": 0}})
            };
            json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Rollout",
                "metadata": metadata,
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "web", "image": image, "args": []}]}
                    },
                    "strategy": strategy,
                }
            })
        })
}

fn workflow() -> impl Strategy<Value = Value> {
    (metadata(), proptest::collection::vec((name(), text()), 1..5), any::<bool>()).prop_map(
        |(metadata, tasks, use_depends)| {
            let mut seen = std::collections::BTreeSet::new();
            let tasks: Vec<(String, String)> =
                tasks.into_iter().filter(|(n, _)| seen.insert(n.clone())).collect();
            let dag: Vec<Value> = tasks
                .iter()
                .enumerate()
                .map(|(i, (task, message))| {
                    let mut t = json!({
                        "name": task,
                        "template": "echo",
                        "arguments": {"parameters": [{"name": "message", "value": message}]}
                    });
                    if i > 0 {
                        let previous = &tasks[i - 1].0;
                        if use_depends {
                            t["depends"] = json!(format!("{previous}.Succeeded"));
                        } else {
                            t["dependencies"] = json!([previous]);
                        }
                    }
                    t
                })
                .collect();
            json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Workflow",
                "metadata": metadata,
                "spec": {
                    "entrypoint": "main",
                    "templates": [
                        {"name": "main", "dag": {"tasks": dag}},
                        {
                            "name": "echo",
                            "inputs": {"parameters": [{"name": "message"}]},
                            "container": {"image": "alpine:3.20", "command": ["echo", "{{inputs.parameters.message}}"]}
                        }
                    ]
                }
            })
        },
    )
}

fn sensor() -> impl Strategy<Value = Value> {
    (metadata(), name(), name(), text()).prop_map(|(metadata, dep, source, body)| {
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Sensor",
            "metadata": metadata,
            "spec": {
                "dependencies": [{"name": dep, "eventSourceName": source, "eventName": "example"}],
                "triggers": [{
                    "template": {
                        "name": "log",
                        "log": {"intervalSeconds": 10}
                    }
                }, {
                    "template": {
                        "name": "post",
                        "http": {"url": "http://127.0.0.1:8080/hook", "method": "POST", "payload": [
                            {"src": {"dependencyName": dep, "dataKey": "body", "value": body}, "dest": "message"}
                        ]}
                    }
                }]
            }
        })
    })
}

fn git_source() -> impl Strategy<Value = Value> {
    (
        name(),
        name(),
        "[a-z0-9_-]{1,8}(/[a-z0-9_-]{1,8}){0,2}",
        "[a-z*/]{1,10}\\.yaml",
    )
        .prop_map(|(name, runtime, path, include)| {
            json!({
                "apiVersion": "windlass.dev/v1alpha1",
                "kind": "GitSource",
                "metadata": {"name": name},
                "spec": {
                    "repoURL": "https://git.example.com/platform.git",
                    "path": path,
                    "targetRevision": "main",
                    "include": include,
                    "runtime": runtime,
                }
            })
        })
}

/// Loads `value` as JSON text, checks it equals what was written, then writes the entity
/// as YAML and as JSON and checks both read back to the same entity.
fn round_trip(value: Value) -> Result<(), TestCaseError> {
    let json_text = serde_json::to_string_pretty(&value).expect("JSON");
    let loaded = load_str(&json_text, Path::new("generated.json"));
    prop_assert!(loaded.is_ok(), "{:?}\n{json_text}", loaded.errors);
    let entity: &Entity = &loaded.manifests[0].entity;
    prop_assert_eq!(without_nulls(entity.to_value()), without_nulls(value));

    let yaml = entity.to_yaml();
    let again = load_str(&yaml, Path::new("generated.yaml"));
    prop_assert!(again.is_ok(), "{:?}\n{yaml}", again.errors);
    prop_assert_eq!(&again.manifests[0].entity, entity, "YAML:\n{}", yaml);

    let compact = serde_json::to_string(entity).expect("JSON");
    let again = load_str(&compact, Path::new("generated.json"));
    prop_assert!(again.is_ok(), "{:?}", again.errors);
    prop_assert_eq!(&again.manifests[0].entity, entity);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn applications_round_trip(value in application()) { round_trip(value)?; }

    #[test]
    fn rollouts_round_trip(value in rollout()) { round_trip(value)?; }

    #[test]
    fn workflows_round_trip(value in workflow()) { round_trip(value)?; }

    #[test]
    fn sensors_round_trip(value in sensor()) { round_trip(value)?; }

    #[test]
    fn git_sources_round_trip(value in git_source()) { round_trip(value)?; }
}

/// Argo's Application has a top-level `operation` beside `spec` and `status`; an
/// Application read from a cluster mid-sync must be written back with it.
#[test]
fn application_operation_is_kept() {
    let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source: {repoURL: https://example.com/web.git, path: deploy, targetRevision: HEAD}
operation:
  initiatedBy: {username: admin}
  sync:
    revision: 8f3c2a1
    prune: true
    syncOptions: [ServerSideApply=true]
";
    let loaded = load_str(text, Path::new("web.yaml"));
    assert!(loaded.is_ok(), "{:?}", loaded.errors);
    let Entity::Application(app) = &loaded.manifests[0].entity else {
        panic!("an Application");
    };
    let operation = app.operation.as_ref().expect("the operation is kept");
    assert_eq!(
        serde_json::to_value(operation).expect("JSON")["sync"]["revision"],
        json!("8f3c2a1")
    );
    let written = loaded.manifests[0].entity.to_value();
    assert_eq!(
        written["operation"]["initiatedBy"]["username"],
        json!("admin")
    );
    assert_eq!(written["apiVersion"], json!("argoproj.io/v1alpha1"));
    assert_eq!(written["kind"], json!("Application"));
    let crd = windlass_entity_model::crd::crd(windlass_entity_model::Kind::Application);
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref());
    let properties = schema
        .and_then(|s| s.properties.as_ref())
        .expect("properties");
    assert!(
        properties.contains_key("operation"),
        "the CRD keeps `operation`"
    );
}
