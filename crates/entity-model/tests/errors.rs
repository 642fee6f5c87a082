//! Every error path of the loader, with its message as a user sees it.

use std::path::Path;

use windlass_entity_model::load::{load_path, load_str};

/// Loads `text` as `file` and renders every error, one per line.
fn errors(file: &str, text: &str) -> String {
    let loaded = load_str(text, Path::new(file));
    assert!(!loaded.is_ok(), "expected errors for {file}");
    loaded
        .errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn wrong_type_names_file_line_column_and_field() {
    let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
spec:
  project: default
  source:
    repoURL: https://example.com/web.git
    path: deploy
  destination:
    server: https://kubernetes.default.svc
  syncPolicy:
    automated:
      prune: maybe
";
    insta::assert_snapshot!(errors("apps/web.yaml", text), @r#"apps/web.yaml:14:14: spec.syncPolicy.automated.prune: expected a boolean, found "maybe""#);
}

#[test]
fn malformed_yaml() {
    insta::assert_snapshot!(errors(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n"
    ));
}

#[test]
fn tabs_for_indentation() {
    insta::assert_snapshot!(errors(
        "tabs.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n"
    ));
}

#[test]
fn missing_kind() {
    insta::assert_snapshot!(errors(
        "nokind.yaml",
        "apiVersion: v1\nmetadata:\n  name: x\n"
    ));
}

#[test]
fn missing_api_version_and_kind_are_both_reported() {
    insta::assert_snapshot!(errors("empty.yaml", "metadata:\n  name: x\n"));
}

#[test]
fn kind_of_the_wrong_type() {
    insta::assert_snapshot!(errors(
        "kind.yaml",
        "apiVersion: v1\nkind: [ConfigMap]\nmetadata: {name: x}\n"
    ));
}

#[test]
fn not_a_mapping() {
    insta::assert_snapshot!(errors("list.yaml", "- a\n- b\n"));
}

#[test]
fn duplicate_key() {
    let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: dup
spec:
  entrypoint: main
  entrypoint: other
  templates: []
";
    insta::assert_snapshot!(errors("dup.yaml", text));
}

#[test]
fn missing_spec() {
    insta::assert_snapshot!(errors(
        "nospec.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\n"
    ));
}

#[test]
fn unknown_metadata_field_would_be_dropped() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  lables:\n    app: x\n";
    insta::assert_snapshot!(errors("typo.yaml", text));
}

#[test]
fn invalid_names() {
    let text = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: Not_Valid
  namespace: also.invalid
";
    insta::assert_snapshot!(errors("names.yaml", text));
}

#[test]
fn second_document_is_located_in_its_file() {
    let text = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: ok}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: bad
  labels:
    app: 3
";
    insta::assert_snapshot!(errors("multi.yaml", text), @r#"multi.yaml:10:10: metadata.labels.app: expected a string, found 3"#);
}

#[test]
fn json_documents_are_located_too() {
    let text = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\",\n  \"metadata\": {\"name\": \"x\", \"name\": \"y\"}\n}\n";
    insta::assert_snapshot!(errors("cm.json", text));
}

#[test]
fn not_utf8() {
    let dir = std::env::temp_dir().join(format!("windlass-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("latin1.yaml");
    std::fs::write(
        &file,
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n",
    )
    .expect("write");
    let loaded = load_path(&file);
    std::fs::remove_dir_all(&dir).expect("cleanup");
    let message = loaded.errors[0].to_string();
    assert!(
        message.ends_with("latin1.yaml:4:12: the file is not valid UTF-8"),
        "{message}"
    );
}

#[test]
fn a_directory_reports_every_error_of_every_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken");
    let loaded = load_path(&dir);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text: Vec<String> = loaded
        .errors
        .iter()
        .map(|e| e.to_string().replace(&format!("{}/", root.display()), ""))
        .collect();
    assert_eq!(loaded.files.len(), 5, "{:?}", loaded.files);
    assert_eq!(
        loaded.manifests.len(),
        1,
        "the one valid document still loads"
    );
    insta::assert_snapshot!(text.join("\n"));
}

#[test]
fn a_missing_path_is_an_io_error_naming_it() {
    let loaded = load_path(Path::new("does/not/exist"));
    insta::assert_snapshot!(loaded.errors[0].to_string(), @"does/not/exist: No such file or directory (os error 2)");
}

#[test]
fn unknown_enum_value() {
    let text = "\
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: nightly
spec:
  schedule: \"0 2 * * *\"
  concurrencyPolicy: Sometimes
  workflowSpec:
    entrypoint: main
    templates:
      - name: main
        container:
          image: alpine
";
    insta::assert_snapshot!(errors("cron.yaml", text));
}

#[test]
fn application_with_both_source_and_sources() {
    let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source: {repoURL: https://example.com/web.git, path: deploy}
  sources:
    - {repoURL: https://example.com/web.git, path: deploy}
";
    insta::assert_snapshot!(errors("apps/web.yaml", text));
}

#[test]
fn application_without_any_source() {
    let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, name: in-cluster}
";
    insta::assert_snapshot!(errors("apps/web.yaml", text));
}

#[test]
fn access_rules_name_the_field_that_is_wrong() {
    // Unknown action: the allowed ones are listed.
    insta::assert_snapshot!(errors(
        "access/rules/ops.yaml",
        "\
apiVersion: windlass.dev/v1alpha1
kind: AccessRule
metadata: {name: ops}
spec:
  teams: [sre]
  actions: [sync, deploy]
"
    ), @"access/rules/ops.yaml:6:19: spec.actions[1]: unknown value `deploy`, expected one of `*`, `view`, `refresh`, `sync`, `terminate`, `rollback`, `promote`, `abort`, `retry`, `pause`, `resume`, `resubmit`, `stop`, `restart`, `logs`, `exec`, `commit`, `delete`, `delete-resource`");
    // A commit is never a rule's to grant; anyOf must say something.
    insta::assert_snapshot!(errors(
        "access/rules/ops.yaml",
        "\
apiVersion: windlass.dev/v1alpha1
kind: AccessRule
metadata: {name: ops}
spec:
  teams: [sre]
  actions: [sync, commit]
  anyOf: []
"
    ));
    insta::assert_snapshot!(errors(
        "access/rules/ops.yaml",
        "\
apiVersion: windlass.dev/v1alpha1
kind: AccessRule
metadata: {name: ops}
spec:
  teams: [sre]
  actions: [sync]
  anyOf:
    - runtimes: ['prod-*']
    - {}
    - namespaces: []
"
    ));
}

#[test]
fn access_rules_with_any_of_load() {
    let loaded = load_str(
        "\
apiVersion: windlass.dev/v1alpha1
kind: AccessRule
metadata: {name: ops}
spec:
  teams: [sre]
  actions: [sync]
  attributes:
    labels: {tier: frontend}
  anyOf:
    - runtimes: ['prod-*']
    - clusters: [staging-eu]
      namespaces: [shop]
",
        Path::new("access/rules/ops.yaml"),
    );
    assert!(loaded.is_ok(), "{:?}", loaded.errors);
}
