//! What a user may do on a repository, as its Git server says.

use serde::{Deserialize, Serialize};

/// A user's permission on a Git repository (or on one of its branches): ordered, so
/// `Write > Read > None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GitPermission {
    /// The user cannot even fetch it (or the server hides that it exists).
    None,
    /// The user can fetch it: the server grants the upload-pack advertisement.
    Read,
    /// The user can push to it: the server grants the receive-pack advertisement.
    Write,
}

impl std::fmt::Display for GitPermission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GitPermission::None => "none",
            GitPermission::Read => "read",
            GitPermission::Write => "write",
        })
    }
}
