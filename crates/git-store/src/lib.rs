//! Git as Windlass's transactional database.
//!
//! Every state change in Windlass is a commit. A [`Store`] wraps one repository (bare or
//! not) and offers:
//!
//! - **reads** at any revision — a file, a directory, every entity under a path — over a
//!   cache keyed by object id (trees and blobs never change), so reading one entity of
//!   a 10,000-entity repository walks only the path to it;
//! - **writes** as [`ChangeSet`]s: upserts and deletes applied as one commit, with the
//!   acting user as author and the platform as committer, guarded by optimistic
//!   concurrency ([`Expect::Branch`] or [`Expect::Files`]) and a strict compare-and-swap
//!   of the branch; acknowledged commits are on disk (fsync) unless durability is off;
//! - **history** of a path or prefix and **diffs** between revisions;
//! - **remotes**: fetch (`file://`, `http(s)://` with a token) through gix, push through
//!   `git push --force-with-lease`, a mirror mode, and a [`Watch`] of new commits.
//!
//! # Example
//!
//! ```
//! use windlass_git_store::{ChangeSet, Config, Expect, Identity, Store};
//!
//! # fn main() -> Result<(), windlass_git_store::Error> {
//! let dir = tempfile::tempdir().expect("temp dir");
//! let store = Store::init(dir.path(), true, Config::default())?;
//! let alice = Identity::new("Alice", "alice@example.com");
//!
//! let change = ChangeSet::new(alice.clone(), "add team")
//!     .upsert("access/teams/devs.yaml", "apiVersion: windlass.dev/v1alpha1\n")?;
//! let first = store.commit("main", &change, &Expect::Branch(None))?.commit.expect("a commit");
//!
//! // A second writer who still believes the branch is empty is refused.
//! let stale = ChangeSet::new(alice, "again").upsert("x.yaml", "a: 1\n")?;
//! let err = store.commit("main", &stale, &Expect::Branch(None)).unwrap_err();
//! assert!(matches!(err, windlass_git_store::Error::Conflict { .. }));
//!
//! assert_eq!(store.resolve("main")?, first);
//! let text = store.read_file("main", "access/teams/devs.yaml")?.expect("the file");
//! assert!(text.starts_with(b"apiVersion"));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cache;
mod change;
mod commit;
mod error;
mod flush;
mod history;
mod index;
mod owner;
mod pack;
mod refs;
mod remote;
mod spare;
mod store;
mod tree;
mod walk;

pub use change::{Change, ChangeSet, Expect, FileExpectation, Identity, validate_path};
pub use error::{ConflictReason, Error};
pub use gix::ObjectId;
pub use history::{ChangeKind, CommitInfo, FileChange, FileDiff, HistoryPage, Page, Person};
pub use remote::{Auth, Remote, Watch};
pub use store::{CommitOutcome, Config, DirEntry, EntryKind, FlushObjects, Store};
pub use walk::{BlobChange, CommitDiff};

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
