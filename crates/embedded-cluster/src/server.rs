//! Starting and stopping the server: socket, TLS, kubeconfig, seed objects.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use axum::Router;
use base64::Engine;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::Config;
use crate::api::{self, AppState};
use crate::error::{Error, Result};
use crate::persist_redb::RedbBackend;
use crate::store::{MemoryBackend, Store};
use crate::tls;

/// A running embedded cluster. Dropping it stops the server (and removes
/// the temporary directory holding the kubeconfig when there is no data
/// directory); [`Handle::shutdown`] does the same and waits for it.
pub struct Handle {
    url: String,
    kubeconfig: PathBuf,
    /// Private (0700, random name): holds the kubeconfig without a data directory.
    _temp_dir: Option<tempfile::TempDir>,
    client: kube::Client,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    /// Gone once every task using the store has stopped.
    state: Weak<AppState>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("url", &self.url)
            .field("kubeconfig", &self.kubeconfig)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// The server's base URL, e.g. `https://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The kubeconfig file (mode 0600) that `kubectl` and `kube::Config` use
    /// unchanged.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// A `kube` client for the cluster, built from the kubeconfig file.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// Stops the server and waits until it has stopped accepting connections.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        // Watches and controllers stop on the same signal; wait (bounded) so
        // the store, and a database file it holds, is released on return.
        for _ in 0..500 {
            if self.state.strong_count() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn kubeconfig_text(url: &str, ca_pem: Option<&str>, token: Option<&str>) -> String {
    let mut cluster = json!({"server": url});
    if let Some(ca) = ca_pem {
        cluster["certificate-authority-data"] =
            json!(base64::engine::general_purpose::STANDARD.encode(ca));
    }
    let mut user = json!({});
    if let Some(t) = token {
        user["token"] = json!(t);
    }
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "windlass", "cluster": cluster}],
        "users": [{"name": "windlass", "user": user}],
        "contexts": [{"name": "windlass", "context": {"cluster": "windlass", "user": "windlass", "namespace": "default"}}],
        "current-context": "windlass",
        "preferences": {},
    });
    // JSON is YAML; kubectl and kube both read it.
    serde_json::to_string_pretty(&config).expect("a JSON value always serializes")
}

pub(crate) async fn start(config: Config) -> Result<Handle> {
    let (dir, temp_dir) = match &config.data_dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(io_err(d))?;
            (d.clone(), None)
        }
        None => {
            let mut private = tempfile::Builder::new();
            private.prefix("windlass-embedded-cluster-");
            #[cfg(unix)]
            private.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
            let d = private.tempdir().map_err(io_err(&std::env::temp_dir()))?;
            (d.path().to_owned(), Some(d))
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], config.port));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;

    let (acceptor, ca_pem, token) = if config.insecure_http {
        (None, None, None)
    } else {
        let creds = tls::credentials(config.data_dir.as_deref())?;
        let server_config = tls::server_config(&creds)?;
        (
            Some(tokio_rustls::TlsAcceptor::from(server_config)),
            Some(creds.ca_pem.clone()),
            Some(tls::token(config.data_dir.as_deref())?),
        )
    };
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{local}");

    let store = match &config.data_dir {
        Some(d) => {
            let path = d.join("store.redb");
            let backend = open_redb(&path).await?;
            Store::new(Box::new(backend), config.watch_history)
                .map_err(|message| Error::DataDir { path, message })?
        }
        None => Store::new(Box::new(MemoryBackend), config.watch_history)
            .map_err(|e| Error::Tls(format!("store: {e}")))?,
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut state = AppState::new(
        store,
        token.clone(),
        config.bookmark_interval,
        config.max_body_bytes,
        shutdown_rx.clone(),
        local.to_string(),
    );
    state.gc_enabled = config.controllers.garbage_collector;
    state.graceful_pods = config.controllers.pods;
    let state = Arc::new(state);
    let state_alive = Arc::downgrade(&state);
    api::seed(&state);
    crate::controllers::start(
        state.clone(),
        config.controllers.clone(),
        shutdown_rx.clone(),
    );

    let kubeconfig = dir.join("kubeconfig");
    tls::write_private(
        &kubeconfig,
        &kubeconfig_text(&url, ca_pem.as_deref(), token.as_deref()),
    )?;

    let app = Router::new().fallback(api::handle).with_state(state);
    let task = tokio::spawn(serve(listener, acceptor, app, shutdown_rx));
    tracing::info!(%url, kubeconfig = %kubeconfig.display(), "embedded cluster started");

    let kc = kube::config::Kubeconfig::read_from(&kubeconfig)?;
    let client_config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await?;
    let client = kube::Client::try_from(client_config)?;
    Ok(Handle {
        url,
        kubeconfig,
        _temp_dir: temp_dir,
        client,
        shutdown: shutdown_tx,
        task: Some(task),
        state: state_alive,
    })
}

/// Opens the data directory's database. A cluster shut down a moment ago in
/// this process may still be letting go of it, so wait briefly for that.
async fn open_redb(path: &Path) -> Result<RedbBackend> {
    let mut tries = 0;
    loop {
        match RedbBackend::open(path) {
            Ok(b) => return Ok(b),
            Err(message) if tries < 100 && message.contains("already open") => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(message) => {
                return Err(Error::DataDir {
                    path: path.to_owned(),
                    message,
                });
            }
        }
    }
}

async fn serve(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let http = hyper::server::conn::http1::Builder::new();
                    let result = match acceptor {
                        Some(acceptor) => match acceptor.accept(tcp).await {
                            Ok(tls) => http.serve_connection(TokioIo::new(tls), service).await,
                            Err(e) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                        },
                        None => http.serve_connection(TokioIo::new(tcp), service).await,
                    };
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
    }
    // Dropping the set aborts every open connection, watches included.
    connections.shutdown().await;
}
