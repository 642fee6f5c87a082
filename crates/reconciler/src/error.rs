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
    /// A source repository's last fetch failed (its mirror is not used until a fetch
    /// succeeds again).
    #[error("repository {url}: {message}")]
    Fetch {
        /// The repository URL.
        url: String,
        /// Why the fetch failed.
        message: String,
    },
    /// A `targetRevision` resolves to no branch, tag or commit of the repository (even
    /// after a fetch).
    #[error("repository {url}: revision {revision:?} not found (not a branch, tag or commit)")]
    RevisionNotFound {
        /// The repository URL.
        url: String,
        /// The revision as the Application gives it (`HEAD` when empty).
        revision: String,
    },
    /// A source could not be rendered: a missing path, an unreadable file, conflicting
    /// source types, ...
    #[error("{at}: {message}")]
    Render {
        /// The Application, repository, path and revision.
        at: Box<crate::render::SourceContext>,
        /// What is wrong.
        message: String,
    },
    /// A manifest file in a source is malformed (boxed: it carries the most context).
    #[error("{0}")]
    Manifest(Box<crate::render::ManifestError>),
    /// `kustomize build` (or `kubectl kustomize`) failed, or an override could not be
    /// applied to the kustomization; carries what kustomize printed.
    #[error("{at}: kustomize build failed: {stderr}")]
    Kustomize {
        /// The Application, repository, path and revision.
        at: Box<crate::render::SourceContext>,
        /// Kustomize's standard error (or why it could not run).
        stderr: String,
    },
    /// The source needs a tool Windlass does not run (Helm charts, config management
    /// plugins, Jsonnet). Never rendered as an empty set of objects.
    #[error("{at}: {what} is not supported")]
    UnsupportedSource {
        /// The Application, repository and path (the revision when resolved).
        at: Box<crate::render::SourceContext>,
        /// What is unsupported (`a Helm source`, `Jsonnet (file x)`, ...).
        what: String,
    },

    // --- diff (diff.rs) ------------------------------------------------------------------
    /// A desired object cannot be compared: it is not a JSON object or has no `kind`.
    #[error("cannot compare {object}: {message}")]
    DiffObject {
        /// The object as `apiVersion/kind namespace/name`, as far as it is known.
        object: String,
        /// What is wrong with it.
        message: String,
    },

    /// An `ignoreDifferences` rule cannot be used: a malformed JSON pointer or a jq path
    /// expression that does not parse or compile.
    #[error("ignoreDifferences rule {rule}: {field} `{expression}`: {message}")]
    IgnoreRule {
        /// The rule as `group/kind` (plus name and namespace when it has them).
        rule: String,
        /// The rule's field holding the expression: `jsonPointers` or `jqPathExpressions`.
        field: &'static str,
        /// The pointer or expression as written.
        expression: String,
        /// Why it was refused.
        message: String,
    },

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
    /// A destination cluster could not be reached or read (unreachable address, TLS
    /// failure, a server that does not answer in time).
    #[error("failed to sync cluster {server}: {message}")]
    Cluster {
        /// The cluster's API server URL.
        server: String,
        /// What went wrong.
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

/// A Kubernetes API error as a user reads it: the server's own message for API errors
/// (`configmaps is forbidden: ...`), the client's description otherwise.
pub(crate) fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        kube::Error::Api(status) => format!("{} {}", status.code, status.reason),
        other => other.to_string(),
    }
}
