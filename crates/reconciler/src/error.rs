//! The crate's error type.

/// What can go wrong while rendering, comparing, checking or syncing an Application.
///
/// Each variant carries what a user needs to find the cause: the repository, path and
/// revision, the object, the field or the expression.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- repositories and rendering (repo.rs, render.rs) ---------------------------------
    /// A Git operation on a source repository failed.
    #[error("repository {url}: {source}")]
    Git {
        /// The repository URL as the Application gives it.
        url: String,
        /// The underlying error.
        #[source]
        source: windlass_git_store::Error,
    },

    // --- diff (diff.rs) ------------------------------------------------------------------

    // --- health and projects (health.rs, project.rs) --------------------------------------
    /// A custom health check's CEL expression does not compile (or is empty).
    #[error("custom health check for {group}/{kind}: {field} expression `{expression}`: {message}")]
    HealthCheckExpression {
        /// API group the check is configured for (`""` for the core group).
        group: String,
        /// Kind the check is configured for (`*` for the whole group).
        kind: String,
        /// Which expression: `current`, `inProgress` or `failed`.
        field: &'static str,
        /// The expression as written.
        expression: String,
        /// Why it was refused (the CEL parser's message).
        message: String,
    },

    // --- sync and controllers ------------------------------------------------------------
    /// An Application, AppProject or manifest the reconciler cannot work with.
    #[error("{what}: {message}")]
    Invalid {
        /// The object or file, named so a user can find it.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// A call to the Kubernetes API failed.
    #[error("{context}: {source}")]
    Kube {
        /// What was being done, naming the object.
        context: String,
        /// The underlying error.
        #[source]
        source: kube::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
