//! `windlass controller run` against the embedded cluster, driven the way Argo CD users
//! drive Argo: an Application applied with the real `kubectl`, statuses read back with it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn git(dir: &std::path::Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .expect("`git` is installed (apt-get install git)")
        .success();
    assert!(ok, "git {args:?}");
}

fn kubectl(kubeconfig: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`kubectl` is installed (see .ci/run)");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
    }
    let out = child.wait_with_output().expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Polls `kubectl get application` until the app is Synced and Healthy (as Argo CD users
/// check it), failing after `timeout`.
fn wait_synced_healthy(kubeconfig: &std::path::Path, app: &str, timeout: Duration) {
    let start = Instant::now();
    loop {
        let (_, out) = kubectl(
            kubeconfig,
            &[
                "get",
                "applications",
                "-n",
                "argocd",
                app,
                "-o",
                "jsonpath={.status.sync.status} {.status.health.status}",
            ],
            None,
        );
        if out == "Synced Healthy" {
            return;
        }
        assert!(start.elapsed() < timeout, "{app} not synced: {out}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_run_syncs_an_application_applied_with_kubectl() {
    let cluster = windlass_embedded_cluster::EmbeddedCluster::start(Default::default())
        .await
        .expect("embedded cluster");
    let kubeconfig = cluster.kubeconfig_path().to_owned();
    let repo = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(repo.path().join("guestbook")).expect("dir");
    std::fs::write(
        repo.path().join("guestbook/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook-config\ndata:\n  color: blue\n",
    )
    .expect("write");
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "-A"]);
    git(
        repo.path(),
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "guestbook",
        ],
    );
    let cache = tempfile::tempdir().expect("temp dir");

    let controller = Kill(
        Command::new(env!("CARGO_BIN_EXE_windlass"))
            .args([
                "controller",
                "run",
                "--repo-poll",
                "1",
                "--metrics-addr",
                "127.0.0.1:0",
            ])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--repo-cache")
            .arg(cache.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("windlass runs"),
    );
    // The controller installs the CRDs and the argocd namespace.
    let start = Instant::now();
    while !kubectl(
        &kubeconfig,
        &["get", "crd", "applications.argoproj.io"],
        None,
    )
    .0
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "CRDs not installed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let app = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: guestbook\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: file://{}\n    path: guestbook\n    targetRevision: HEAD\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: guestbook\n  syncPolicy:\n    automated: {{prune: true, selfHeal: true}}\n    syncOptions: [CreateNamespace=true]\n",
        repo.path().display()
    );
    let (ok, out) = kubectl(&kubeconfig, &["apply", "-f", "-"], Some(&app));
    assert!(ok, "{out}");
    assert!(
        out.contains("application.argoproj.io/guestbook created"),
        "{out}"
    );

    wait_synced_healthy(&kubeconfig, "guestbook", Duration::from_secs(30));
    let (ok, out) = kubectl(
        &kubeconfig,
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
    let (_, table) = kubectl(&kubeconfig, &["get", "apps", "-n", "argocd"], None);
    assert!(
        table.contains("SYNC STATUS") && table.contains("Synced"),
        "{table}"
    );
    drop(controller);
    cluster.shutdown().await;
}

#[test]
fn up_runs_the_cluster_and_the_controller_for_the_readme_demo() {
    use std::io::BufRead;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The demo's manifests, in a repository of their own (the checkout may not be one).
    let repo = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(repo.path().join("demo/guestbook")).expect("dir");
    for file in ["deployment.yaml", "service.yaml"] {
        std::fs::copy(
            root.join("demo/guestbook").join(file),
            repo.path().join("demo/guestbook").join(file),
        )
        .expect("copy");
    }
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "-A"]);
    git(
        repo.path(),
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "demo",
        ],
    );

    let mut up = Command::new(env!("CARGO_BIN_EXE_windlass"))
        .args(["up", "--repo-poll", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("windlass runs");
    let stdout = up.stdout.take().expect("stdout");
    let up = Kill(up);
    let mut lines = std::io::BufReader::new(stdout).lines();
    let kubeconfig = loop {
        let line = lines
            .next()
            .expect("windlass up prints its kubeconfig")
            .expect("UTF-8");
        if let Some(path) = line.trim().strip_prefix("kubeconfig:") {
            break std::path::PathBuf::from(path.trim());
        }
    };
    let app = std::fs::read_to_string(root.join("demo/guestbook-app.yaml"))
        .expect("demo app")
        .replace("REPO", &repo.path().display().to_string());
    // The controller installs the CRDs right after printing; apply once they are served.
    let start = Instant::now();
    loop {
        let (ok, out) = kubectl(&kubeconfig, &["apply", "-f", "-"], Some(&app));
        if ok {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{out}");
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_synced_healthy(&kubeconfig, "guestbook", Duration::from_secs(60));
    let (ok, out) = kubectl(
        &kubeconfig,
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
    drop(up);
}
