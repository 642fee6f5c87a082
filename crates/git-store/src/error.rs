//! The crate's error type.

use std::path::PathBuf;

use gix::ObjectId;

/// Why a write was refused because someone else wrote first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// The branch is not at the commit the caller based its edit on.
    BranchMoved {
        /// The commit the caller expected (`None`: the branch must not exist).
        expected: Option<ObjectId>,
        /// Where the branch is now (`None`: it does not exist).
        actual: Option<ObjectId>,
    },
    /// A file the caller edited changed since the caller read it.
    FileChanged {
        /// The file.
        path: String,
        /// The blob the caller edited from (`None`: the file must not exist).
        expected: Option<ObjectId>,
        /// The blob at the branch's tip (`None`: the file does not exist).
        actual: Option<ObjectId>,
    },
    /// The remote branch moved since it was last fetched (a push was rejected).
    RemoteMoved {
        /// What `git push` reported.
        detail: String,
    },
}

impl std::fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = |id: &Option<ObjectId>| match id {
            Some(id) => id.to_hex_with_len(12).to_string(),
            None => "nothing".to_owned(),
        };
        match self {
            ConflictReason::BranchMoved { expected, actual } => write!(
                f,
                "the branch moved: expected {}, found {}",
                id(expected),
                id(actual)
            ),
            ConflictReason::FileChanged {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{path} changed since it was read: expected {}, found {}",
                id(expected),
                id(actual)
            ),
            ConflictReason::RemoteMoved { detail } => {
                write!(f, "the remote branch moved: {detail}")
            }
        }
    }
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Someone else wrote first; nothing was written. Re-read and retry.
    #[error("conflict on {branch}: {reason}")]
    Conflict {
        /// The branch written to.
        branch: String,
        /// What changed.
        reason: ConflictReason,
    },
    /// A path in a change set is not allowed (absolute, `..`, NUL, backslash, empty
    /// component, `.git` component).
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A blob is larger than [`Config::max_blob_size`](crate::Config::max_blob_size).
    #[error("{path}: {size} bytes is more than the limit of {limit} bytes")]
    BlobTooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// An author name or e-mail, or a message, is unusable (not UTF-8, has newlines or
    /// angle brackets where Git forbids them, or is empty).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field (`author name`, `author email`, `message`, ...).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A revision does not resolve to a commit.
    #[error("revision {rev:?} not found")]
    RevisionNotFound {
        /// The revision as given.
        rev: String,
    },
    /// The repository is used by another writer process (its `windlass.lock` is held).
    #[error("{}: the repository is locked by another writer", path.display())]
    Locked {
        /// The repository.
        path: PathBuf,
    },
    /// A lock file of another writer (a `git` process, or a crashed one) was in the way
    /// for longer than [`Config::ref_lock_timeout`](crate::Config::ref_lock_timeout).
    /// Nothing was written. If no other process writes the repository, the lock is
    /// stale: [`Store::remove_stale_locks`](crate::Store::remove_stale_locks) removes it.
    #[error(
        "Unable to create '{}': File exists (waited {waited:?}). Another git process seems to be running in this repository; if none is, the file is stale: remove it (Store::remove_stale_locks)",
        path.display()
    )]
    LockHeld {
        /// The lock file.
        path: PathBuf,
        /// How long the store waited for it.
        waited: std::time::Duration,
    },
    /// A change would turn a file into a directory or a directory into a file, or
    /// delete a directory with [`Change::Delete`](crate::Change::Delete) (use
    /// [`Change::DeleteTree`](crate::Change::DeleteTree)). Nothing was written.
    #[error("{path} on {branch}: {reason}")]
    PathKind {
        /// The branch written to.
        branch: String,
        /// The path in the change set.
        path: String,
        /// What it would have done.
        reason: String,
    },
    /// A change set's files add up to more than
    /// [`Config::max_change_set_size`](crate::Config::max_change_set_size).
    #[error("the change set holds {size} bytes, more than the limit of {limit} bytes")]
    ChangeSetTooLarge {
        /// The bytes of all its upserts.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The repository uses a format the store cannot write safely (SHA-256 object ids,
    /// the reftable reference backend).
    #[error("{}: {reason}", path.display())]
    UnsupportedRepository {
        /// The repository.
        path: PathBuf,
        /// What it uses.
        reason: String,
    },
    /// The remote refused our credentials.
    #[error("authentication to {url} failed: {detail}")]
    Auth {
        /// The remote (without credentials).
        url: String,
        /// What the remote or `git` said.
        detail: String,
    },
    /// An operation on the repository failed.
    #[error("{context}: {source}")]
    Git {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn git(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Git {
            context: context.into(),
            source: source.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
