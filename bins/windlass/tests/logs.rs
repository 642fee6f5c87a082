//! Logs as a user sees them: controllers' warnings on stderr, as text by default or as
//! JSON lines with `--log-format json`; `--log-level` wins over `RUST_LOG`.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Windlass, kubectl, repo_with, require_kubectl};

/// Starts `windlass up` with `args`, registers a cluster nothing listens on and an
/// Application deploying there, and returns the process and that cluster's address.
fn up_with_an_unreachable_destination(args: &[&str], home: &Path) -> (Windlass, String) {
    require_kubectl();
    // A loopback port that was free a moment ago: connections to it are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let server = format!("https://{closed}");
    let repo = repo_with(&[(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n",
    )]);
    let mut up = Windlass::start(&[&["up"], args].concat(), &[]);
    let kubeconfig = up.kubeconfig();
    let manifests = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gone\n  namespace: argocd\n  labels: {{argocd.argoproj.io/secret-type: cluster}}\nstringData:\n  name: gone\n  server: {server}\n  config: '{{\"tlsClientConfig\":{{\"insecure\":true}}}}'\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: elsewhere\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: file://{repo}\n    path: app\n  destination:\n    server: {server}\n    namespace: default\n",
        repo = repo.path().display()
    );
    let (ok, out) = kubectl(&kubeconfig, home, &["apply", "-f", "-"], Some(&manifests));
    assert!(ok, "{out}");
    (up, closed.to_string())
}

#[test]
fn controller_warnings_reach_stderr_as_json_lines() {
    let home = tempfile::tempdir().expect("tempdir");
    let (mut up, server) =
        up_with_an_unreachable_destination(&["--log-format", "json"], home.path());
    let warning = up.stderr_until(Duration::from_secs(60), |line| {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("every log line is JSON ({e}): {line}"));
        let from_controller = event["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("windlass_reconciler"));
        (event["level"] == "WARN"
            && from_controller
            && event["fields"].to_string().contains(&server))
        .then_some(event)
    });
    assert!(warning["fields"]["message"].is_string(), "{warning:#}");
    assert!(warning["timestamp"].is_string(), "{warning:#}");
    let status = up.interrupt();
    assert!(status.success(), "clean stop exits 0, got {status}");
}

#[test]
fn controller_warnings_reach_stderr_as_text_by_default() {
    let home = tempfile::tempdir().expect("tempdir");
    let (mut up, server) = up_with_an_unreachable_destination(&[], home.path());
    up.stderr_until(Duration::from_secs(60), |line| {
        (line.contains(" WARN ") && line.contains("windlass_reconciler") && line.contains(&server))
            .then_some(())
    });
    // The user-facing lines stay on stdout, logs never go there.
    assert!(
        up.printed.iter().all(|l| !l.contains(" INFO ")),
        "{:#?}",
        up.printed
    );
}

#[test]
fn log_level_wins_over_rust_log() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cluster = Windlass::start(
        &["cluster", "start", "--log-level", "info"],
        &[("RUST_LOG", Path::new("off")), ("TMPDIR", tmp.path())],
    );
    let kubeconfig = cluster.kubeconfig();
    cluster.stderr_until(Duration::from_secs(60), |line| {
        (line.contains(" INFO ") && line.contains("embedded cluster started")).then_some(())
    });
    assert!(kubeconfig.exists());
    let status = cluster.interrupt();
    assert!(status.success(), "clean stop exits 0, got {status}");
}

#[test]
fn a_bad_rust_log_is_a_usage_error_naming_it() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["validate", "."])
        .env("RUST_LOG", "windlass=loudest")
        .output()
        .expect("windlass runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RUST_LOG=\"windlass=loudest\""), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing is done");
}

#[test]
fn an_unknown_log_level_is_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["--log-level", "loud", "validate", "."])
        .output()
        .expect("windlass runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--log-level"), "{stderr}");
}
