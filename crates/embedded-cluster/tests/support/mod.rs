//! The real `kubectl` against an embedded cluster, shared by the kubectl tests,
//! and [`caught_up`], how tests see that the simulated controllers did nothing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use kube::api::Api;
use windlass_embedded_cluster::{Config, EmbeddedCluster, Handle};

pub const INSTALL_HINT: &str = "kubectl is required for these tests: install it (`apt-get install kubectl`, \
     the package the Kubernetes project publishes; any v1.32 build works) so that `kubectl` is on PATH";

/// A cluster plus an isolated HOME so no user kubectl config or cache leaks in.
pub struct Setup {
    pub cluster: Handle,
    pub home: tempfile::TempDir,
}

pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn command(kubeconfig: &Path, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("kubectl");
    cmd.args(args)
        .env_clear()
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

pub async fn setup() -> Setup {
    setup_with(Config::default()).await
}

/// [`setup`] with a cluster of `config`.
pub async fn setup_with(config: Config) -> Setup {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output();
    assert!(found.is_ok_and(|o| o.status.success()), "{INSTALL_HINT}");
    Setup {
        cluster: EmbeddedCluster::start(config)
            .await
            .expect("cluster starts"),
        home: tempfile::tempdir().expect("tempdir"),
    }
}

impl Setup {
    /// Runs kubectl off the runtime's threads (the server runs on them).
    pub async fn kubectl(&self, args: &[&str]) -> Output {
        let mut cmd = command(self.cluster.kubeconfig_path(), self.home.path(), args);
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("join")
            .expect("kubectl runs");
        Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs kubectl and fails the test unless it succeeds without warnings.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).await;
        assert!(
            out.ok,
            "kubectl {args:?} failed: {}{}",
            out.stdout, out.stderr
        );
        assert!(
            !out.stderr.to_lowercase().contains("warning"),
            "kubectl {args:?} warned: {}",
            out.stderr
        );
        out.stdout
    }

    pub fn api<K>(&self, ns: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.cluster.client(), ns)
    }
}

/// What [`caught_up`] creates to see the controllers act.
#[derive(Clone, Copy)]
pub enum Witness {
    /// A PersistentVolumeClaim, bound by the claim controller.
    Claim,
    /// A LoadBalancer Service, given an address by the service controller.
    LoadBalancer,
}

/// Returns once the simulated controllers have handled every change made
/// before the call, so that a check for "nothing happened" sees what a
/// switched-on controller would have done by now. The controllers handle
/// changes in order on one task, so when an object created now (the
/// `witness`, handled by a controller that is on) shows that controller's
/// work, every earlier change was handled too. Timers (delays, schedules)
/// are not covered.
pub async fn caught_up(client: &kube::Client, witness: Witness) {
    use kube::api::{DynamicObject, PostParams};
    let (plural, kind, spec) = match witness {
        Witness::Claim => (
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            serde_json::json!({"accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Mi"}}}),
        ),
        Witness::LoadBalancer => (
            "services",
            "Service",
            serde_json::json!({"type": "LoadBalancer", "ports": [{"port": 80}]}),
        ),
    };
    let ar = kube::api::ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk("", "v1", kind),
        plural,
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let object: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": kind,
        "metadata": {"generateName": "caught-up-"}, "spec": spec,
    }))
    .expect("a witness object");
    let name = api
        .create(&PostParams::default(), &object)
        .await
        .expect("create the witness")
        .metadata
        .name
        .expect("a generated name");
    let done = |o: &DynamicObject| match witness {
        Witness::Claim => o.data["status"]["phase"] == "Bound",
        Witness::LoadBalancer => o.data["status"]["loadBalancer"]["ingress"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !done(&api.get(&name).await.expect("get the witness")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the controllers never handled {kind} {name}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
