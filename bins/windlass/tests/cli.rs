//! `windlass validate` as a user runs it: output and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/entity-model/tests/fixtures")
}

/// Runs `windlass` from the fixtures directory, so that paths in messages are relative.
fn windlass(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(args)
        .current_dir(fixtures())
        .output()
        .expect("the windlass binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn valid_manifests_exit_zero() {
    let output = windlass(&["validate", "valid"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    insta::assert_snapshot!(stdout(&output), @"ok: 1 valid document in 1 file");
}

#[test]
fn invalid_manifests_exit_one_and_list_every_error() {
    let output = windlass(&["validate", "broken", "valid/guestbook.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn json_output_for_machines() {
    let output = windlass(&[
        "validate",
        "--output",
        "json",
        "broken/a-wrong-type.yaml",
        "valid",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    insta::assert_snapshot!(serde_json::to_string_pretty(&report).expect("JSON"));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(windlass(&["validate"]).status.code(), Some(2));
    assert_eq!(
        windlass(&["validate", "--output", "xml", "valid"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(windlass(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn a_missing_path_is_reported_not_a_crash() {
    let output = windlass(&["validate", "nowhere.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(stdout(&output), @r"
    nowhere.yaml: No such file or directory (os error 2)
    invalid: 1 error in 0 files (0 valid documents)
    ");
}

#[test]
fn scalars_mean_what_they_mean_to_kubectl() {
    // YAML 1.1, as kubectl and Argo read it: `yes` and `on` are booleans, `0144` is the
    // octal 100 (as 144 it would break the rollout's weight limit).
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("app.yaml"),
        "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  source: {repoURL: 'https://example.com/web.git', path: deploy}
  destination: {server: 'https://kubernetes.default.svc', namespace: web}
  syncPolicy:
    automated:
      prune: yes
      selfHeal: on
",
    )
    .expect("write app.yaml");
    std::fs::write(
        dir.path().join("rollout.yaml"),
        "\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
  strategy:
    canary:
      steps:
        - setWeight: 0144
",
    )
    .expect("write rollout.yaml");
    let output = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["validate", "."])
        .current_dir(dir.path())
        .output()
        .expect("the windlass binary runs");
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    insta::assert_snapshot!(stdout(&output), @"ok: 2 valid documents in 2 files");
}
