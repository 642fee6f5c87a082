//! `windlass cluster start` as a user runs it: start it, point the real `kubectl` at
//! the kubeconfig it prints, stop it with Ctrl-C (SIGINT).

mod support;

use std::time::Duration;

use support::{Windlass, kubectl, require_kubectl};

#[test]
fn cluster_start_serves_kubectl_and_stops_on_ctrl_c() {
    require_kubectl();
    let data_dir = tempfile::tempdir().expect("tempdir");
    let home = tempfile::tempdir().expect("tempdir");
    let data = data_dir.path().to_str().expect("UTF-8 path");
    let mut running = Windlass::start(&["cluster", "start", "--data-dir", data], &[]);

    let kubeconfig = running.kubeconfig();
    assert!(
        kubeconfig.starts_with(data_dir.path()),
        "the kubeconfig {} is kept in the data dir {}",
        kubeconfig.display(),
        data_dir.path().display()
    );
    // The export hint follows; it names the same file.
    let export = format!("export KUBECONFIG={}", kubeconfig.display());
    running.stdout_until(Duration::from_secs(60), |line| {
        (line.trim() == export).then_some(())
    });

    let (ok, listed) = kubectl(&kubeconfig, home.path(), &["get", "namespaces"], None);
    assert!(ok, "kubectl get namespaces failed: {listed}");
    assert!(
        listed
            .lines()
            .any(|l| l.split_whitespace().next() == Some("default")),
        "`default` is listed:\n{listed}"
    );

    let status = running.interrupt();
    assert!(status.success(), "clean stop exits 0, got {status}");
    let printed = running.rest_of_stdout();
    assert!(
        printed.iter().any(|l| l.trim() == "stopped"),
        "reports the stop: {printed:#?}"
    );
}

/// Without a data directory the kubeconfig (which holds the cluster's token) lives in a
/// private directory of the temporary directory, gone on exit.
#[cfg(unix)]
#[test]
fn cluster_start_without_data_dir_keeps_the_kubeconfig_private() {
    require_kubectl();
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tempfile::tempdir().expect("tempdir");
    let mut running = Windlass::start(&["cluster", "start"], &[("TMPDIR", tmp.path())]);
    let kubeconfig = running.kubeconfig();
    assert!(
        kubeconfig.starts_with(tmp.path()),
        "the kubeconfig {} is in the temporary directory {}",
        kubeconfig.display(),
        tmp.path().display()
    );
    assert_eq!(support::not_private(tmp.path()), Vec::<String>::new());
    let (ok, out) = kubectl(&kubeconfig, home.path(), &["get", "namespaces"], None);
    assert!(ok, "{out}");

    let status = running.interrupt();
    assert!(status.success(), "clean stop exits 0, got {status}");
    assert!(
        !kubeconfig.exists(),
        "{} removed on exit",
        kubeconfig.display()
    );
}
