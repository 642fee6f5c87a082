//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong starting, running or stopping an embedded cluster.
///
/// Errors a *client* sees (404, 409, 422, ...) are not this type: they are
/// Kubernetes `Status` bodies on the wire.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file in the data directory (certificates, token,
    /// kubeconfig) failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Generating or loading the CA or serving certificate failed.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// A file in the data directory exists but cannot be used (for example a
    /// certificate that does not parse).
    #[error("{path}: {message}")]
    DataDir {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The storage backend given to [`crate::EmbeddedCluster::start_with_backend`]
    /// could not load what it keeps.
    #[error("storage backend: {0}")]
    Backend(String),
    /// Building a `kube::Client` for the cluster failed.
    #[error("kube client: {0}")]
    Client(#[from] kube::Error),
    /// Reading the generated kubeconfig back failed.
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
