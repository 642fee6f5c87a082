//! `windlass up`: everything on one machine, no cluster needed — the embedded cluster and
//! the Argo CD controllers in one process.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::controller::RunArgs;

pub fn run(data_dir: Option<PathBuf>, port: u16, repo_poll_seconds: u64) -> ExitCode {
    let (repo_cache, _private) =
        match crate::repo_cache_dir(data_dir.as_ref().map(|d| d.join("repos"))) {
            Ok(dirs) => dirs,
            Err(code) => return code,
        };
    let runtime = match crate::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let (code, cluster) = runtime.block_on(async move {
        let cluster = match crate::start_cluster(data_dir.clone(), port).await {
            Ok(cluster) => cluster,
            Err(code) => return (code, None),
        };
        let args = RunArgs {
            kubeconfig: None,
            namespace: "argocd".into(),
            repo_cache,
            metrics_addr: None,
            refresh_seconds: 180,
            repo_poll_seconds,
            health_checks: None,
        };
        let controllers = match crate::controller::start(cluster.client(), args).await {
            Ok(controllers) => controllers,
            Err(message) => {
                tracing::error!("{message}");
                return (ExitCode::from(1), Some(cluster));
            }
        };
        // Only now: an Application applied the moment this is read is accepted and synced.
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
        controllers.run().await;
        (ExitCode::SUCCESS, Some(cluster))
    });
    // The controllers' watches of the cluster, their fetches into the mirrors and the
    // cluster's server all end with the runtime, together: nothing is left to report
    // the cluster gone, or to write into a private cache as it is removed.
    drop(runtime);
    drop(cluster);
    code
}
