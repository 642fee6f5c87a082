//! `windlass controller run` and `windlass up`, driven the way Argo CD users drive Argo:
//! an Application applied with the real `kubectl`, statuses read back with it.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use support::{Windlass, demo, kubectl, repo_with, require_kubectl, wait_synced_healthy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_run_syncs_an_application_applied_with_kubectl() {
    require_kubectl();
    let cluster = windlass_embedded_cluster::EmbeddedCluster::start(Default::default())
        .await
        .expect("embedded cluster");
    let kubeconfig = cluster.kubeconfig_path().to_owned();
    let home = tempfile::tempdir().expect("temp dir");
    let repo = repo_with(&[(
        "guestbook/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook-config\ndata:\n  color: blue\n",
    )]);
    // The controller's own temporary directory, to see what it leaves there.
    let tmp = tempfile::tempdir().expect("temp dir");

    let mut controller = Windlass::start(
        &[
            "controller",
            "run",
            "--repo-poll",
            "1",
            "--metrics-addr",
            "127.0.0.1:0",
            "--kubeconfig",
            kubeconfig.to_str().expect("UTF-8 path"),
        ],
        &[("TMPDIR", tmp.path())],
    );
    let metrics = controller.stdout_until(Duration::from_secs(60), |line| {
        line.strip_prefix("metrics on http://")
            .and_then(|rest| rest.strip_suffix("/metrics"))
            .map(|addr| addr.parse::<std::net::SocketAddr>().expect("an address"))
    });
    assert_ne!(metrics.port(), 0, "the bound port is printed");
    // Printed once the CRDs are served: no retrying needed.
    let cache = controller.stdout_until(Duration::from_secs(60), |line| {
        line.split_once("repositories cached in ")
            .map(|(_, dir)| std::path::PathBuf::from(dir))
    });
    let app = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: guestbook\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: file://{}\n    path: guestbook\n    targetRevision: HEAD\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: guestbook\n  syncPolicy:\n    automated: {{prune: true, selfHeal: true}}\n    syncOptions: [CreateNamespace=true]\n",
        repo.path().display()
    );
    let (ok, out) = kubectl(&kubeconfig, home.path(), &["apply", "-f", "-"], Some(&app));
    assert!(ok, "{out}");
    assert!(
        out.contains("application.argoproj.io/guestbook created"),
        "{out}"
    );

    wait_synced_healthy(
        &kubeconfig,
        home.path(),
        "guestbook",
        Duration::from_secs(30),
    );
    let (ok, out) = kubectl(
        &kubeconfig,
        home.path(),
        &[
            "get",
            "configmap",
            "-n",
            "guestbook",
            "guestbook-config",
            "-o",
            "jsonpath={.data.color}",
        ],
        None,
    );
    assert!(ok && out == "blue", "{out}");
    // kubectl's table shows Argo's printer columns.
    let (_, table) = kubectl(
        &kubeconfig,
        home.path(),
        &["get", "apps", "-n", "argocd"],
        None,
    );
    assert!(
        table.contains("SYNC STATUS") && table.contains("Synced"),
        "{table}"
    );
    let mut scrape = std::net::TcpStream::connect(metrics).expect("metrics are served");
    scrape
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: windlass\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    scrape.read_to_string(&mut response).expect("response");
    assert!(
        response.starts_with("HTTP/1.1 200") && response.contains("argocd_app_reconcile_count"),
        "{response}"
    );

    // Without --repo-cache the mirrors are in a private directory of the temporary
    // directory (no name another user could take first), and nothing in there is
    // readable by others.
    assert!(
        cache.starts_with(tmp.path()),
        "mirrors in {}, not in the temporary directory {}",
        cache.display(),
        tmp.path().display()
    );
    assert!(
        std::fs::read_dir(&cache).expect("cache exists").count() > 0,
        "the mirror is in {}",
        cache.display()
    );
    assert_eq!(support::not_private(tmp.path()), Vec::<String>::new());
    let status = controller.interrupt();
    assert!(status.success(), "clean stop exits 0, got {status}");
    assert!(
        !cache.exists(),
        "the private cache {} is removed on exit",
        cache.display()
    );
    cluster.shutdown().await;
}

/// The README demo exactly as a user types it: `windlass up`, and the moment it says it
/// is up, `kubectl apply` of the demo Application — which must work the first time.
#[test]
fn up_accepts_the_readme_demo_the_moment_it_says_up() {
    require_kubectl();
    let (_repo, app) = demo();
    // A few starts: applying too early fails only when kubectl wins a race.
    for round in 0..3 {
        let home = tempfile::tempdir().expect("temp dir");
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut up = Windlass::start(&["up", "--repo-poll", "1"], &[("TMPDIR", tmp.path())]);
        up.stdout_until(Duration::from_secs(60), |line| {
            (line == "windlass is up").then_some(())
        });
        let kubeconfig = up.kubeconfig();
        let (ok, out) = kubectl(&kubeconfig, home.path(), &["apply", "-f", "-"], Some(&app));
        assert!(ok, "round {round}: {out}");
        assert!(
            out.contains("application.argoproj.io/guestbook created"),
            "round {round}: {out}"
        );
        if round == 0 {
            wait_synced_healthy(
                &kubeconfig,
                home.path(),
                "guestbook",
                Duration::from_secs(60),
            );
            let (ok, out) = kubectl(
                &kubeconfig,
                home.path(),
                &[
                    "rollout",
                    "status",
                    "deployment/guestbook-ui",
                    "-n",
                    "guestbook",
                    "--timeout=30s",
                ],
                None,
            );
            assert!(ok, "{out}");
            // The kubeconfig and the mirrors: private directories with unguessable names.
            assert!(
                kubeconfig.starts_with(tmp.path()),
                "{}",
                kubeconfig.display()
            );
            assert_eq!(support::not_private(tmp.path()), Vec::<String>::new());
        }
        let status = up.interrupt();
        assert!(status.success(), "clean stop exits 0, got {status}");
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("temp dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(left.is_empty(), "left in the temporary directory: {left:?}");
    }
}
