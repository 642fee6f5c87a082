//! The one error type of this crate.

use std::path::PathBuf;

/// What can go wrong with the audit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The log's database could not be opened, read or written.
    #[error("{path}: {message}")]
    Store {
        /// The database file.
        path: PathBuf,
        /// What the database reported.
        message: String,
    },
    /// A stored record is not a record (its bytes do not parse).
    #[error("{path}: record {seq} is not a valid record: {message}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The record's sequence number.
        seq: u64,
        /// What did not parse.
        message: String,
    },
    /// Exported records could not be written out.
    #[error("exporting the API log: {message}")]
    Export {
        /// What the writer reported.
        message: String,
    },
}

impl Error {
    /// The same error again: one failed group commit answers every call it carried.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::Store { path, message } => Error::Store {
                path: path.clone(),
                message: message.clone(),
            },
            Error::Corrupt { path, seq, message } => Error::Corrupt {
                path: path.clone(),
                seq: *seq,
                message: message.clone(),
            },
            Error::Export { message } => Error::Export {
                message: message.clone(),
            },
        }
    }
}

/// This crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
