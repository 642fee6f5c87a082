//! `windlass controller run`: the Application/AppProject controllers against any cluster.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use windlass_reconciler::controller::{self, Settings};
use windlass_reconciler::{Config, Reconciler};

/// Flags of `windlass controller run`.
pub struct RunArgs {
    pub kubeconfig: Option<PathBuf>,
    pub namespace: String,
    pub repo_cache: Option<PathBuf>,
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
    runtime.block_on(async move {
        match serve(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("windlass: {message}");
                ExitCode::from(1)
            }
        }
    })
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

async fn serve(args: RunArgs) -> Result<(), String> {
    let client = client(args.kubeconfig.as_ref()).await?;
    run_controllers(client, args).await
}

/// Installs the CRDs if needed and runs the controllers on `client` until Ctrl-C.
pub async fn run_controllers(client: kube::Client, args: RunArgs) -> Result<(), String> {
    controller::install_crds(&client, &args.namespace)
        .await
        .map_err(|e| e.to_string())?;
    let repo_cache = args
        .repo_cache
        .unwrap_or_else(|| std::env::temp_dir().join("windlass-repos"));
    let mut config = Config::new(&repo_cache);
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
    if let Some(addr) = args.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
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
            let _ = axum::serve(listener, app).await;
        });
        println!("metrics on http://{addr}/metrics");
    }
    println!(
        "controller running: Applications in namespace {}, repositories cached in {}",
        args.namespace,
        repo_cache.display()
    );
    let settings = Settings {
        refresh_interval: Duration::from_secs(args.refresh_seconds.max(1)),
        repo_poll_interval: Duration::from_secs(args.repo_poll_seconds.max(1)),
        ..Settings::default()
    };
    controller::run(reconciler, client, settings, async {
        let _ = crate::stop_signal().await;
    })
    .await;
    println!("stopped");
    Ok(())
}
