//! `windlass up`: everything on one machine, no cluster needed — the embedded cluster and
//! the Argo CD controllers in one process.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::controller::{RunArgs, run_controllers};

pub fn run(data_dir: Option<PathBuf>, port: u16, repo_poll_seconds: u64) -> ExitCode {
    let runtime = match crate::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let cluster = match crate::start_cluster(data_dir.clone(), port).await {
            Ok(cluster) => cluster,
            Err(code) => return code,
        };
        let kubeconfig = cluster.kubeconfig_path().display().to_string();
        println!(
            "windlass is up\n\
             \x20 embedded cluster: {url}\n\
             \x20 kubeconfig:       {kubeconfig}\n\
             \x20 data dir:         {data}\n\
             \x20 Argo CD Application controller: Applications in namespace argocd\n\
             \n\
             use it as you would use Argo CD:\n\
             \x20 export KUBECONFIG={kubeconfig}\n\
             \x20 kubectl apply -f my-application.yaml   # repoURL: https://, http:// or file://\n\
             \x20 kubectl get applications -n argocd\n\
             \n\
             Ctrl-C stops it.",
            url = cluster.url(),
            data = data_dir
                .as_deref()
                .map(|d| d.display().to_string())
                .unwrap_or_else(
                    || "none: in memory, gone on exit (pass --data-dir to keep it)".into()
                ),
        );
        let repo_cache = data_dir
            .as_ref()
            .map(|d| d.join("repos"))
            .unwrap_or_else(|| {
                std::env::temp_dir().join(format!("windlass-up-{}", std::process::id()))
            });
        let args = RunArgs {
            kubeconfig: None,
            namespace: "argocd".into(),
            repo_cache: Some(repo_cache.clone()),
            metrics_addr: None,
            refresh_seconds: 180,
            repo_poll_seconds,
            health_checks: None,
        };
        let result = run_controllers(cluster.client(), args).await;
        cluster.shutdown().await;
        if data_dir.is_none() {
            let _ = std::fs::remove_dir_all(&repo_cache);
        }
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("windlass: {message}");
                ExitCode::from(1)
            }
        }
    })
}
