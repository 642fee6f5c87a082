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

    // --- sync and controllers ------------------------------------------------------------
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
