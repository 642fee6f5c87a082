//! `windlass controller run`: the Application/AppProject controllers against any cluster.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use windlass_reconciler::controller::{self, Settings};
use windlass_reconciler::{Config, Reconciler};

/// Flags of `windlass controller run`.
pub struct RunArgs {
    pub kubeconfig: Option<PathBuf>,
    pub namespace: String,
    pub repo_cache: PathBuf,
    pub metrics_addr: Option<SocketAddr>,
    pub refresh_seconds: u64,
    pub repo_poll_seconds: u64,
    pub health_checks: Option<PathBuf>,
}

pub fn run(args: RunArgs) -> ExitCode {
    let runtime = match crate::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let code = runtime.block_on(async move {
        let namespace = args.namespace.clone();
        let started = match client(args.kubeconfig.as_ref()).await {
            Ok(client) => start(client, args).await,
            Err(message) => Err(message),
        };
        let controllers = match started {
            Ok(controllers) => controllers,
            Err(message) => {
                tracing::error!("{message}");
                return ExitCode::from(1);
            }
        };
        if let Some(addr) = controllers.metrics_addr {
            println!("metrics on http://{addr}/metrics");
        }
        println!(
            "controller running: Applications in namespace {namespace}, repositories cached in {}",
            controllers.repo_cache().display()
        );
        controllers.run().await;
        ExitCode::SUCCESS
    });
    // Whatever still uses the cluster or the mirrors (watches, fetches) ends with the
    // runtime, before the caller removes a private cache.
    drop(runtime);
    code
}

async fn client(kubeconfig: Option<&PathBuf>) -> Result<kube::Client, String> {
    windlass_embedded_cluster::install_crypto_provider();
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| format!("no cluster configuration (pass --kubeconfig): {e}"))?,
    };
    kube::Client::try_from(config).map_err(|e| format!("cluster client: {e}"))
}

/// The controllers, ready: their CRDs installed and listed by the cluster's discovery
/// (so `kubectl apply` of an Application works), the control namespace there, the
/// destination cluster's objects listed.
pub struct Controllers {
    reconciler: Arc<Reconciler>,
    client: kube::Client,
    settings: Settings,
    repo_cache: PathBuf,
    /// Where metrics are served, when they are.
    pub metrics_addr: Option<SocketAddr>,
}

/// Installs the CRDs if needed, waits until the cluster serves them, and starts the
/// reconciler (and the metrics server) on `client`.
pub async fn start(client: kube::Client, args: RunArgs) -> Result<Controllers, String> {
    controller::install_crds(&client, &args.namespace)
        .await
        .map_err(|e| e.to_string())?;
    wait_discoverable(&client).await?;
    let mut config = Config::new(&args.repo_cache);
    config.namespace = args.namespace.clone();
    if let Some(path) = &args.health_checks {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("health checks {}: {e}", path.display()))?;
        config.health = config
            .health
            .with_config(&text, &path.display().to_string())
            .map_err(|e| e.to_string())?;
    }
    let reconciler = Arc::new(
        Reconciler::new(client.clone(), config)
            .await
            .map_err(|e| e.to_string())?,
    );
    let metrics_addr = match args.metrics_addr {
        Some(addr) => Some(serve_metrics(addr, &reconciler).await?),
        None => None,
    };
    let settings = Settings {
        refresh_interval: Duration::from_secs(args.refresh_seconds.max(1)),
        repo_poll_interval: Duration::from_secs(args.repo_poll_seconds.max(1)),
        ..Settings::default()
    };
    Ok(Controllers {
        reconciler,
        client,
        settings,
        repo_cache: args.repo_cache,
        metrics_addr,
    })
}

impl Controllers {
    /// Where repository mirrors are kept.
    pub fn repo_cache(&self) -> &Path {
        &self.repo_cache
    }

    /// Runs the controllers until Ctrl-C or SIGTERM.
    pub async fn run(self) {
        controller::run(self.reconciler, self.client, self.settings, async {
            if let Err(e) = crate::stop_signal().await {
                tracing::warn!(error = %e, "cannot wait for Ctrl-C; stopping");
            }
        })
        .await;
        println!("stopped");
    }
}

/// Serves Prometheus metrics at `http://addr/metrics`; returns the bound address.
async fn serve_metrics(addr: SocketAddr, reconciler: &Reconciler) -> Result<SocketAddr, String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("metrics address {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("metrics address {addr}: {e}"))?;
    let metrics = reconciler.metrics().clone();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                let content_type = windlass_reconciler::metrics::CONTENT_TYPE;
                (
                    [(axum::http::header::CONTENT_TYPE, content_type)],
                    metrics.render(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics server stopped");
        }
    });
    Ok(bound)
}

/// Waits until the cluster's discovery lists Applications and AppProjects: what
/// `kubectl apply` reads to find where to send them.
async fn wait_discoverable(client: &kube::Client) -> Result<(), String> {
    use kube::api::GroupVersionKind;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let missing = match kube::Discovery::new(client.clone())
            .filter(&["argoproj.io"])
            .run()
            .await
        {
            Ok(discovery) => ["Application", "AppProject"]
                .into_iter()
                .filter(|kind| {
                    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", kind);
                    discovery.resolve_gvk(&gvk).is_none()
                })
                .map(|kind| format!("{kind} is not listed"))
                .collect::<Vec<_>>(),
            Err(e) => vec![e.to_string()],
        };
        if missing.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "the cluster's discovery does not serve the argoproj.io CRDs 60 s after \
                 they were installed: {}",
                missing.join("; ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
