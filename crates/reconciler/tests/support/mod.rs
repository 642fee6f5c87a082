//! One embedded cluster and one controller per test binary (tests isolate themselves by
//! namespace and Application name), controllers of their own for tests that need other
//! settings, plus Git repositories made with `git`.
#![allow(dead_code)]

pub mod proxy;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use windlass_embedded_cluster::{Config as ClusterConfig, EmbeddedCluster};
use windlass_entity_model::Kind;
use windlass_entity_model::argocd::Application;
use windlass_reconciler::controller::{self, Settings};
use windlass_reconciler::{Config, Reconciler};

/// The shared environment.
pub struct Env {
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

static ENV: OnceLock<Env> = OnceLock::new();

/// Starts (once) the embedded cluster and the Application controller in a runtime of
/// their own that outlives each test's runtime.
pub fn env() -> &'static Env {
    ENV.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = dir.path().join("repos");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .stack_size(32 << 20)
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_stack_size(16 << 20)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let cluster = EmbeddedCluster::start(ClusterConfig::default())
                        .await
                        .expect("embedded cluster starts");
                    let client = cluster.client();
                    install_crds(&client).await;
                    let mut config = Config::new(cache);
                    config.self_heal_backoff = Duration::from_millis(200);
                    config.operation_poll = Duration::from_millis(500);
                    config.cluster_timeout = Duration::from_secs(5);
                    let reconciler = std::sync::Arc::new(
                        Reconciler::new(client.clone(), config)
                            .await
                            .expect("reconciler starts"),
                    );
                    tx.send(cluster.kubeconfig_path().to_owned())
                        .expect("test waits");
                    let settings = Settings {
                        refresh_interval: Duration::from_secs(3),
                        repo_poll_interval: Duration::from_millis(300),
                        concurrency: 8,
                    };
                    controller::run(reconciler, client, settings, std::future::pending()).await;
                    drop(cluster);
                });
            })
            .expect("thread");
        let kubeconfig = rx.recv().expect("environment starts");
        Env {
            kubeconfig,
            _dir: dir,
        }
    })
}

async fn install_crds(client: &kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for kind in [Kind::Application, Kind::AppProject] {
        let crd = windlass_entity_model::crd::crd(kind);
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("CRD created");
    }
    create_namespace(client, "argocd").await;
}

/// Creates the namespace `name` in the shared cluster.
pub async fn create_namespace(client: &kube::Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
    api.create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("namespace {name} created: {e}"));
}

/// A controller of its own for the Applications of `namespace` (created here) of the
/// shared cluster, in a runtime of its own (with the large stacks debug builds need).
pub async fn own_controller(
    client: &kube::Client,
    namespace: &str,
    settings: Settings,
    config: impl FnOnce(&mut Config),
) {
    create_namespace(client, namespace).await;
    let env = env();
    let mut cfg = Config::new(env._dir.path().join(format!("repos-{namespace}")));
    cfg.namespace = namespace.to_owned();
    cfg.operation_poll = Duration::from_millis(500);
    cfg.cluster_timeout = Duration::from_secs(5);
    config(&mut cfg);
    let kubeconfig = env.kubeconfig.clone();
    let (started_tx, started) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(16 << 20)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig");
                let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                    .await
                    .expect("config");
                let client = kube::Client::try_from(config).expect("client");
                let reconciler = std::sync::Arc::new(
                    Reconciler::new(client.clone(), cfg)
                        .await
                        .expect("reconciler starts"),
                );
                let _ = started_tx.send(());
                controller::run(reconciler, client, settings, std::future::pending()).await;
            });
        })
        .expect("thread");
    started.await.expect("the controller starts");
}

impl Env {
    /// A client in the calling test's runtime.
    pub async fn client(&self) -> kube::Client {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("config");
        kube::Client::try_from(config).expect("client")
    }
}

/// A Git repository in a temporary directory, written with the `git` binary.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        git(dir.path(), &["init", "-q", "-b", "main"]);
        Repo { dir }
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    pub fn write(&self, path: &str, text: &str) -> &Self {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("dirs");
        std::fs::write(p, text).expect("write");
        self
    }

    /// A closure writing `text` to `path` when called (to break a source later).
    pub fn write_then<'a>(&'a self, path: &'a str, text: &'a str) -> impl FnOnce() + 'a {
        move || {
            self.write(path, text);
        }
    }

    pub fn remove(&self, path: &str) -> &Self {
        std::fs::remove_file(self.dir.path().join(path)).expect("remove");
        self
    }

    /// Commits everything; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        git(self.dir.path(), &["add", "-A"]);
        git(
            self.dir.path(),
            &[
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                message,
            ],
        );
        git(self.dir.path(), &["rev-parse", "HEAD"])
            .trim()
            .to_owned()
    }
}

pub use windlass_testkit::git::git;

/// An Application, in the namespace its metadata names (`argocd` if none).
pub async fn create_app(client: &kube::Client, app: Value) {
    let ns = app["metadata"]["namespace"].as_str().unwrap_or("argocd");
    let api: Api<Application> = Api::namespaced(client.clone(), ns);
    let app: Application = serde_json::from_value(app).expect("a valid Application");
    api.create(&PostParams::default(), &app)
        .await
        .expect("Application created");
}

/// Polls an Application until `check` holds (or fails after `timeout`, printing it).
pub async fn wait_app(
    client: &kube::Client,
    name: &str,
    timeout: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    wait_app_in(client, "argocd", name, timeout, check).await
}

/// [`wait_app`] for an Application of another control namespace.
pub async fn wait_app_in(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &kube::api::ApiResource::erase::<Application>(&()),
    );
    let start = Instant::now();
    loop {
        let app = api.get(name).await.expect("Application exists");
        let app = serde_json::to_value(app).expect("JSON");
        if check(&app) {
            return app;
        }
        if start.elapsed() > timeout {
            panic!(
                "timed out waiting for {name}: {}",
                serde_json::to_string_pretty(&app["status"]).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks the controller for a refresh (`argocd.argoproj.io/refresh: normal`, as `argocd
/// app get --refresh` does) and waits until it has consumed the request: a reconcile
/// that began after this call has written its status. A "nothing happened" check
/// waits for this instead of sleeping.
pub async fn refreshed(client: &kube::Client, name: &str) -> Value {
    let api: Api<Application> = Api::namespaced(client.clone(), "argocd");
    let patch = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("refresh requested");
    wait_app(client, name, Duration::from_secs(30), |a| {
        a["metadata"]["annotations"]["argocd.argoproj.io/refresh"].is_null()
    })
    .await
}

/// `status.sync.status` and `status.health.status` of an Application.
pub fn sync_and_health(app: &Value) -> (&str, &str) {
    (
        app["status"]["sync"]["status"].as_str().unwrap_or(""),
        app["status"]["health"]["status"].as_str().unwrap_or(""),
    )
}

/// Merge-patches an object as another client (field manager `kubectl-edit`) would;
/// returns the patched object.
pub async fn patch_as_other(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
    patch: Value,
) -> Value {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let ar =
        kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(group, version, kind));
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let pp = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    let patched = api
        .patch(name, &pp, &Patch::Merge(&patch))
        .await
        .expect("patched");
    serde_json::to_value(patched).expect("JSON")
}
