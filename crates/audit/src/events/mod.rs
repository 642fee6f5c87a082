//! Audit events read from Git history: who changed which entity, when, and how.
//!
//! Every commit of a watched repository that changes an entity file becomes a
//! [`CommitEvent`]: its author (the acting user), committer, time, id and message, and
//! for each entity it touched an [`EntityChange`] — kind, name, namespace, path, the
//! [`Action`] and which top-level `spec` fields changed. A branch whose history was
//! rewritten (force-pushed) becomes a [`ForcePushEvent`] of its own.
//!
//! Entities are the YAML (or JSON) documents with a `kind`, read with the workspace's
//! YAML reader ([`windlass_entity_model::yaml`]), which resolves scalars as `kubectl`
//! does: changing `replicas: 3` to `replicas: "3"` is a change, `enabled: yes` to
//! `enabled: true` is not.

use serde::{Deserialize, Serialize};

mod summary;

pub(crate) use summary::{ParsedFile, entity_changes, is_manifest_path, parse_file};

/// What happened to an entity in a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// The entity appeared (a new file, or a new document in a file).
    Added,
    /// The entity's manifest changed.
    Updated,
    /// The entity disappeared.
    Deleted,
}

impl Action {
    /// `ADDED`, `UPDATED` or `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Added => "ADDED",
            Action::Updated => "UPDATED",
            Action::Deleted => "DELETED",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entity a commit touched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityChange {
    /// `apiVersion` of the manifest (after the change; before it, when deleted).
    pub api_version: String,
    /// `kind`, e.g. `Application`.
    pub kind: String,
    /// `metadata.name` (empty when the manifest has none).
    pub name: String,
    /// `metadata.namespace`, when the manifest sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The file holding the manifest.
    pub path: String,
    /// What happened.
    pub action: Action,
    /// The top-level fields of `spec` that changed, sorted (for objects without a
    /// `spec`, such as a `ConfigMap`, the top-level fields besides `apiVersion`, `kind`
    /// and `metadata`); changed `metadata` fields other than the name and namespace are
    /// listed as `metadata.labels`, `metadata.annotations`, …. For an added or deleted
    /// entity: the fields it has.
    pub fields: Vec<String>,
}

/// A file of the commit that could not be read as YAML: the entities it holds are not
/// known, so none are reported for it, and indexing goes on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileNote {
    /// The file.
    pub path: String,
    /// What is wrong, with line and column (`3:7: did not find expected key`).
    pub note: String,
}

/// Who did something, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
}

impl From<&windlass_git_store::Person> for Person {
    fn from(p: &windlass_git_store::Person) -> Self {
        Person {
            name: p.name.clone(),
            email: p.email.clone(),
            time: p.time,
        }
    }
}

/// A commit that changed entities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitEvent {
    /// The repository's name, as given to [`crate::AuditIndex::update`].
    pub repository: String,
    /// The branch it was indexed from.
    pub branch: String,
    /// The commit id (hex).
    pub commit: String,
    /// Its parents (hex).
    pub parents: Vec<String>,
    /// The acting user.
    pub author: Person,
    /// Who made the commit (the platform, for changes made through Windlass).
    pub committer: Person,
    /// The full commit message.
    pub message: String,
    /// Entities touched, in path order.
    pub changes: Vec<EntityChange>,
    /// Files that did not parse.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<FileNote>,
    /// `false` once a force-push removed the commit from its branch: the change
    /// happened, but is no longer in the branch's history.
    pub reachable: bool,
}

/// A branch whose new head does not contain the previously indexed head: its history
/// was rewritten (force-pushed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForcePushEvent {
    /// The repository's name.
    pub repository: String,
    /// The branch rewritten.
    pub branch: String,
    /// The head indexed before (hex).
    pub old_head: String,
    /// The head found (hex).
    pub new_head: String,
    /// How many commits of the old history the new head no longer contains.
    pub unreachable_commits: u64,
    /// When the rewrite was detected, seconds since the Unix epoch.
    pub detected_at: i64,
}

/// An audit event read from Git.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    /// A commit that changed entities.
    Commit(CommitEvent),
    /// A rewritten branch.
    ForcePush(ForcePushEvent),
}

impl Event {
    /// When it happened: the committer time of a commit (when it entered the
    /// repository), the detection time of a force-push; seconds since the epoch.
    pub fn time(&self) -> i64 {
        match self {
            Event::Commit(c) => c.committer.time,
            Event::ForcePush(f) => f.detected_at,
        }
    }

    /// The repository.
    pub fn repository(&self) -> &str {
        match self {
            Event::Commit(c) => &c.repository,
            Event::ForcePush(f) => &f.repository,
        }
    }

    /// The branch.
    pub fn branch(&self) -> &str {
        match self {
            Event::Commit(c) => &c.branch,
            Event::ForcePush(f) => &f.branch,
        }
    }
}
