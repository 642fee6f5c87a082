//! What can go wrong with the audit index.

use std::path::PathBuf;

/// What can go wrong reading Git history into the [`crate::AuditIndex`] or querying it.
///
/// (The API call log has its own [`crate::Error`]: the two stores fail in different
/// ways, and a caller handles them at different places.)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The index's database could not be opened, read or written.
    #[error("{path}: {message}")]
    Store {
        /// The database file.
        path: PathBuf,
        /// What the database reported.
        message: String,
    },
    /// The repository could not be read.
    #[error("repository {repository}: {source}")]
    Git {
        /// The repository's name.
        repository: String,
        /// What the Git store reported.
        #[source]
        source: windlass_git_store::Error,
    },
    /// The branch to index does not exist.
    #[error("repository {repository}: no branch {branch}")]
    BranchNotFound {
        /// The repository's name.
        repository: String,
        /// The branch asked for.
        branch: String,
    },
    /// A stored event does not parse (the file was changed by something else).
    #[error("{path}: event {key} is not a valid event: {message}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The event's key (hex).
        key: String,
        /// What did not parse.
        message: String,
    },
    /// A page cursor that this index did not hand out.
    #[error("invalid page cursor {cursor:?}: pass the `next` of a previous page")]
    Cursor {
        /// The cursor given.
        cursor: String,
    },
    /// Events could not be written out.
    #[error("exporting events: {message}")]
    Export {
        /// What the writer reported.
        message: String,
    },
}
