//! The one error type of this crate.

/// What can go wrong asking a Git server or a provider's API, or reading the access
/// rules of the config repository.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The repository URL is not one this crate can ask (only `http://` and `https://`
    /// speak Git's smart HTTP protocol and the providers' APIs).
    #[error(
        "{url}: not an http(s) repository URL; permissions are probed over Git's smart HTTP protocol"
    )]
    UnsupportedUrl {
        /// The URL as given.
        url: String,
    },
    /// The server could not be reached, or the exchange broke off.
    #[error("{url}: {source}")]
    Http {
        /// The URL asked.
        url: String,
        /// What the HTTP client reported.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered in a way that tells nothing about permissions (a 5xx, a
    /// redirect loop, a login page instead of a Git advertisement). Not cached.
    #[error("{url}: unexpected answer {status}: {detail}")]
    Unexpected {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
    /// A provider's API answered with a body that is not the documented format.
    #[error("{url}: {provider} answered with an unexpected body: {detail}")]
    Format {
        /// The URL asked.
        url: String,
        /// `GitHub`, `GitLab` or `Gitea`.
        provider: &'static str,
        /// What did not parse.
        detail: String,
    },
    /// The config repository could not be read (a revision that does not resolve, a
    /// broken repository).
    #[error("reading the access rules: {0}")]
    Store(#[from] windlass_git_store::Error),
    /// The teams and access rules of a commit of the config repository are not valid;
    /// none of them apply until a commit fixes them (rules only grant, so what they
    /// would have granted is denied meanwhile).
    #[error("the access rules at commit {commit} are invalid:{}", list(errors))]
    InvalidRules {
        /// The commit read.
        commit: String,
        /// Every problem, each naming its file, line and field.
        errors: std::sync::Arc<[windlass_entity_model::Error]>,
    },
}

fn list(errors: &[windlass_entity_model::Error]) -> String {
    errors.iter().map(|e| format!("\n  {e}")).collect()
}

/// This crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
