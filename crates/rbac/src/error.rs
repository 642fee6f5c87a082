//! The one error type of this crate.

/// What can go wrong asking a Git server or a provider's API.
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
}

/// This crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
