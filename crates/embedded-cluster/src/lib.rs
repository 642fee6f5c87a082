//! An in-process Kubernetes API server over HTTPS.
//!
//! `windlass-embedded-cluster` serves the Kubernetes API closely enough that
//! `kube` clients and the real `kubectl` work against it: discovery, the
//! built-in resources Windlass needs, CustomResourceDefinitions (creating one
//! starts serving its resource), get/list/watch/create/update/patch/delete
//! with Kubernetes semantics (resourceVersion, generation, finalizers,
//! selectors, pagination, dry run) and `Status`-shaped errors. Server-side
//! apply follows structured-merge-diff: built-in lists by their Go merge keys,
//! custom resource lists by the CRD schema's `x-kubernetes-list-type`.
//!
//! Simulated controllers ([`Controllers`], each switchable) move workloads
//! through the states a real cluster gives them: pods start after a delay,
//! fail by a [`FailureRule`], print a synthesised `pods/log`, honour
//! `minReadySeconds`, and terminate gracefully (`deletionTimestamp`, gone
//! when their containers stop or the grace period ends).
//!
//! Every test can start its own cluster: start-up takes milliseconds because
//! the certificates are generated once per process (or kept in a data
//! directory).
//!
//! ```no_run
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube::api::{Api, PostParams};
//! use windlass_embedded_cluster::{Config, EmbeddedCluster};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = EmbeddedCluster::start(Config::default()).await?;
//! println!("KUBECONFIG={}", cluster.kubeconfig_path().display());
//! let configmaps: Api<ConfigMap> = Api::namespaced(cluster.client(), "default");
//! let mut cm = ConfigMap::default();
//! cm.metadata.name = Some("settings".into());
//! configmaps.create(&PostParams::default(), &cm).await?;
//! cluster.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod allocate;
mod api;
mod apply;
mod backend;
mod controllers;
mod discovery;
mod error;
mod list;
mod logs;
mod managed_fields;
mod objects;
mod openapi;
mod patch_strategic;
mod persist_redb;
mod protobuf;
mod registry;
mod restore;
mod selectors;
mod server;
mod status;
mod store;
mod table;
mod tls;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use backend::{Backend, Change, Snapshot};
pub use controllers::{Controllers, FailureRule, NODE_NAME, SIMULATE_ANNOTATION};
pub use error::{Error, Result};
pub use server::Handle;

/// How to run an embedded cluster. `Config::default()` is what tests want:
/// HTTPS with a bearer token on an ephemeral loopback port, nothing on disk
/// but a temporary kubeconfig.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the CA, serving certificate, token, kubeconfig and every
    /// object (`store.redb`) are kept across restarts; `resourceVersion`
    /// continues upward after a restart. `None`: objects live in memory and
    /// a temporary directory, removed on shutdown, holds the kubeconfig.
    pub data_dir: Option<PathBuf>,
    /// The loopback port to listen on; 0 picks a free one.
    pub port: u16,
    /// Serve plain HTTP without authentication. For tests only: `kubectl`
    /// does not send bearer tokens over HTTP, so it needs the default.
    pub insecure_http: bool,
    /// How many past changes are kept for watches to resume from; a watch
    /// from an older resourceVersion gets `410 Gone`.
    pub watch_history: usize,
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
    /// Largest accepted request body (larger: `413`). The real API server's
    /// limit is 3 MiB.
    pub max_body_bytes: usize,
    /// The simulated workload controllers and garbage collector (all on by
    /// default; [`Controllers::none`] for a bare API server).
    pub controllers: Controllers,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: None,
            port: 0,
            insecure_http: false,
            watch_history: 10_000,
            bookmark_interval: Duration::from_secs(60),
            max_body_bytes: 3 * 1024 * 1024,
            controllers: Controllers::default(),
        }
    }
}

/// The entry point: [`EmbeddedCluster::start`].
#[derive(Debug)]
pub struct EmbeddedCluster;

impl EmbeddedCluster {
    /// Starts a cluster on 127.0.0.1 and writes its kubeconfig. The
    /// namespaces `default`, `kube-system`, `kube-public` and
    /// `kube-node-lease` exist from the start.
    ///
    /// It also installs rustls's `ring` provider as the process default (unless one is
    /// installed already): `kube`'s client needs a default, and a workspace that also
    /// builds rustls with `aws-lc-rs` (as `reqwest` does) leaves it ambiguous.
    pub async fn start(config: Config) -> Result<Handle> {
        install_crypto_provider();
        server::start(config, None).await
    }

    /// Starts a cluster as [`EmbeddedCluster::start`] does, with its objects kept
    /// by `backend` instead of the data directory's `store.redb` (or memory):
    /// loaded from it at start, every write committed to it before anyone sees it.
    /// The data directory, if any, still keeps the certificates and kubeconfig.
    pub async fn start_with_backend(config: Config, backend: Arc<dyn Backend>) -> Result<Handle> {
        install_crypto_provider();
        server::start(config, Some(backend)).await
    }
}

/// Makes rustls's `ring` provider the process default if none is installed yet, so that
/// `kube` clients can be built whatever other rustls features the binary has.
pub fn install_crypto_provider() {
    // An error means a provider is installed already, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
