//! `windlass`: the Windlass command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod controller;
mod log;
mod up;
use windlass_entity_model::load::{Loaded, load_paths};

#[derive(Parser)]
#[command(
    name = "windlass",
    version,
    about = "GitOps for Argo manifests, kept in Git"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The level of Windlass's own logs (other libraries log warnings and errors); wins
    /// over `RUST_LOG`, which takes full filter directives. Default: info.
    #[arg(long, global = true, value_enum, value_name = "LEVEL")]
    log_level: Option<log::Level>,
    /// How logs are written to stderr.
    #[arg(long, global = true, value_enum, default_value_t = log::Format::Text)]
    log_format: log::Format,
}

#[derive(Subcommand)]
enum Command {
    /// Everything on this machine, no cluster needed: an embedded Kubernetes API server
    /// and the Argo CD Application controllers in one process, until Ctrl-C. Point
    /// `kubectl` at the printed kubeconfig and apply Applications as with Argo CD.
    ///
    /// Exit code 0 after a clean stop, 1 when it cannot start.
    Up {
        /// Keep the cluster's objects and the repository mirrors here across restarts.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// The loopback port of the embedded API server; by default a free one is picked.
        #[arg(long, value_name = "PORT", default_value_t = 0)]
        port: u16,
        /// Seconds between fetches of the repositories Applications use.
        #[arg(long, value_name = "SECONDS", default_value_t = 3)]
        repo_poll: u64,
    },
    /// Load manifests (files or directories) and report every error with its place.
    ///
    /// Exit code 0 when everything is valid, 1 when anything is not, 2 on usage errors.
    Validate {
        /// Files or directories (`.yaml`, `.yml`, `.json` files are read, recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// A local Kubernetes API server (the embedded cluster) for kubectl and Windlass.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// The Argo CD Application/AppProject controllers.
    #[command(subcommand)]
    Controller(ControllerCommand),
}

#[derive(Subcommand)]
enum ControllerCommand {
    /// Run the Application and AppProject controllers against a cluster (installing
    /// their CRDs if missing) until Ctrl-C. Applications are created with `kubectl
    /// apply`, exactly as with Argo CD.
    ///
    /// Exit code 0 after a clean stop, 1 when the controller cannot start.
    Run {
        /// The cluster to run against; by default `$KUBECONFIG`, `~/.kube/config` or the
        /// in-cluster service account.
        #[arg(long, value_name = "FILE")]
        kubeconfig: Option<PathBuf>,
        /// The namespace holding Applications, AppProjects and cluster secrets.
        #[arg(long, value_name = "NS", default_value = "argocd")]
        namespace: String,
        /// Keep repository mirrors here across restarts. By default they live in a
        /// private temporary directory (mode 0700, random name) removed on exit.
        #[arg(long, value_name = "DIR")]
        repo_cache: Option<PathBuf>,
        /// Serve Prometheus metrics at http://ADDR/metrics.
        #[arg(long, value_name = "ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
        /// Seconds between refreshes of every Application (Argo's default: 180).
        #[arg(long, value_name = "SECONDS", default_value_t = 180)]
        refresh: u64,
        /// Seconds between fetches of watched repositories.
        #[arg(long, value_name = "SECONDS", default_value_t = 10)]
        repo_poll: u64,
        /// Custom health checks: a YAML list of `apiVersion`, `kind` and CEL expressions
        /// `current`, `inProgress`, `failed` (the shape of Flux's `healthCheckExprs`).
        #[arg(long, value_name = "FILE")]
        health_checks: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Start the embedded cluster on loopback, print its URL and kubeconfig, and serve
    /// until Ctrl-C.
    ///
    /// Exit code 0 after a clean stop, 1 when the cluster cannot start.
    Start {
        /// Keep the objects, certificates, token and kubeconfig here across restarts.
        /// Without it everything lives in memory and is gone on exit.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// The loopback port to listen on; by default a free one is picked.
        #[arg(long, value_name = "PORT", default_value_t = 0)]
        port: u16,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    /// One line per error, then a summary.
    Text,
    /// One JSON object for machines.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(message) = log::init(cli.log_level, cli.log_format) {
        eprintln!("windlass: {message}");
        return ExitCode::from(2);
    }
    match cli.command {
        Command::Validate { paths, output } => {
            let loaded = load_paths(&paths);
            let text = match output {
                Output::Text => render_text(&loaded),
                Output::Json => render_json(&loaded),
            };
            print!("{text}");
            if loaded.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Command::Up {
            data_dir,
            port,
            repo_poll,
        } => up::run(data_dir, port, repo_poll),
        Command::Cluster(ClusterCommand::Start { data_dir, port }) => cluster_start(data_dir, port),
        Command::Controller(ControllerCommand::Run {
            kubeconfig,
            namespace,
            repo_cache,
            metrics_addr,
            refresh,
            repo_poll,
            health_checks,
        }) => {
            let (repo_cache, _private) = match repo_cache_dir(repo_cache) {
                Ok(dirs) => dirs,
                Err(code) => return code,
            };
            controller::run(controller::RunArgs {
                kubeconfig,
                namespace,
                repo_cache,
                metrics_addr,
                refresh_seconds: refresh,
                repo_poll_seconds: repo_poll,
                health_checks,
            })
        }
    }
}

/// `dir`, or else a new private temporary directory (mode 0700, a name no other user can
/// guess or take first) that is removed when the returned guard is dropped — as Argo
/// CD's repo-server keeps its checkouts.
fn repo_cache_dir(dir: Option<PathBuf>) -> Result<(PathBuf, Option<tempfile::TempDir>), ExitCode> {
    if let Some(dir) = dir {
        return Ok((dir, None));
    }
    let mut private = tempfile::Builder::new();
    private.prefix("windlass-repos-");
    #[cfg(unix)]
    private.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    match private.tempdir() {
        Ok(temp) => Ok((temp.path().to_owned(), Some(temp))),
        Err(e) => {
            tracing::error!(
                "cannot create a directory for repository mirrors in {}: {e}",
                std::env::temp_dir().display()
            );
            Err(ExitCode::from(1))
        }
    }
}

fn cluster_start(data_dir: Option<PathBuf>, port: u16) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let cluster = match start_cluster(data_dir.clone(), port).await {
            Ok(cluster) => cluster,
            Err(code) => return code,
        };
        print!(
            "{}",
            render_cluster_started(&cluster, data_dir.as_deref(), port)
        );
        if let Err(e) = stop_signal().await {
            tracing::warn!(error = %e, "cannot wait for Ctrl-C; stopping");
        }
        println!("stopping the embedded cluster");
        cluster.shutdown().await;
        println!("stopped");
        ExitCode::SUCCESS
    })
}

/// Starts the embedded cluster (in memory, or persisted in `data_dir`) on `port`.
async fn start_cluster(
    data_dir: Option<PathBuf>,
    port: u16,
) -> Result<windlass_embedded_cluster::Handle, ExitCode> {
    let config = windlass_embedded_cluster::Config {
        data_dir,
        port,
        ..Default::default()
    };
    windlass_embedded_cluster::EmbeddedCluster::start(config)
        .await
        .map_err(|e| {
            tracing::error!("the embedded cluster did not start: {e}");
            ExitCode::from(1)
        })
}

/// The async runtime of the long-running commands (large stacks: controller futures
/// are deep in debug builds).
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(8 << 20)
        .enable_all()
        .build()
        .map_err(|e| {
            tracing::error!("cannot start the async runtime: {e}");
            ExitCode::from(1)
        })
}

fn render_cluster_started(
    cluster: &windlass_embedded_cluster::Handle,
    data_dir: Option<&std::path::Path>,
    port: u16,
) -> String {
    let kubeconfig = cluster.kubeconfig_path().display();
    let port_note = if port == 0 {
        " (a free port; pass --port to pin one)"
    } else {
        ""
    };
    let data = match data_dir {
        Some(dir) => dir.display().to_string(),
        None => "none: objects live in memory and are gone on exit (pass --data-dir to keep them)"
            .to_owned(),
    };
    format!(
        "embedded cluster running\n\
         \x20 API server: {url}{port_note}\n\
         \x20 kubeconfig: {kubeconfig}\n\
         \x20 data dir:   {data}\n\
         \n\
         use it with:\n\
         \x20 export KUBECONFIG={kubeconfig}\n\
         \x20 kubectl get namespaces\n\
         \n\
         Ctrl-C stops it.\n",
        url = cluster.url(),
    )
}

/// Ctrl-C, or SIGTERM where there is one (service managers and `kill` send it).
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn render_text(loaded: &Loaded) -> String {
    let mut out = String::new();
    for error in &loaded.errors {
        out.push_str(&format!("{error}\n"));
    }
    let files = plural(loaded.files.len(), "file");
    let documents = plural(loaded.manifests.len(), "valid document");
    if loaded.is_ok() {
        out.push_str(&format!("ok: {documents} in {files}\n"));
    } else {
        out.push_str(&format!(
            "invalid: {} in {files} ({documents})\n",
            plural(loaded.errors.len(), "error"),
        ));
    }
    out
}

fn render_json(loaded: &Loaded) -> String {
    let errors: Vec<serde_json::Value> = loaded
        .errors
        .iter()
        .map(|e| {
            let location = e.location();
            serde_json::json!({
                "file": location.map(|l| l.file.display().to_string()),
                "line": location.map(|l| l.mark.line),
                "column": location.map(|l| l.mark.column),
                "path": e.field_path().map(ToString::to_string),
                "code": e.code(),
                "message": e.message(),
                "text": e.to_string(),
            })
        })
        .collect();
    let documents: Vec<serde_json::Value> = loaded
        .manifests
        .iter()
        .map(|m| {
            serde_json::json!({
                "file": m.location.file.display().to_string(),
                "line": m.location.mark.line,
                "apiVersion": m.entity.api_version(),
                "kind": m.entity.kind_name(),
                "name": m.entity.name(),
                "namespace": m.entity.namespace(),
            })
        })
        .collect();
    let report = serde_json::json!({
        "valid": loaded.is_ok(),
        "files": loaded.files.len(),
        "documents": documents,
        "errors": errors,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&report).expect("JSON values serialize")
    )
}
