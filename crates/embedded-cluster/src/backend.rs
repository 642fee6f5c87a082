//! Durable storage behind the in-memory store: the [`Backend`] trait, what it is
//! handed ([`Change`]) and gives back at start ([`Snapshot`]), and the backend that
//! keeps nothing. The persistent one is `crate::persist_redb`.

use serde_json::Value;

/// One change of a commit, as a [`Backend`] makes it durable.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// The object was created or replaced.
    Put {
        /// The resource's storage key: `configmaps`, `deployments.apps`,
        /// `widgets.example.com`.
        resource: &'a str,
        /// The object's namespace (`""` when cluster-scoped) and name.
        key: &'a (String, String),
        /// The object as stored, `metadata.resourceVersion` included.
        object: &'a Value,
    },
    /// The object was removed.
    Delete {
        /// The resource's storage key.
        resource: &'a str,
        /// The object's namespace (`""` when cluster-scoped) and name.
        key: &'a (String, String),
    },
}

/// What a [`Backend`] hands back at start: every stored object and the last
/// `resourceVersion`.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// The `resourceVersion` of the last committed change (0: nothing yet).
    pub resource_version: u64,
    /// Every object: (resource storage key, (namespace or `""`, name), object).
    pub objects: Vec<(String, (String, String), Value)>,
}

/// Durable storage behind the in-memory maps of an embedded cluster
/// ([`crate::EmbeddedCluster::start_with_backend`]; a data directory uses one in
/// `store.redb`).
///
/// The server calls `commit` from one thread at a time, with the changes in
/// `resourceVersion` order, and acknowledges them (and lets anyone read them) only
/// once it returned `Ok`. Writes that arrive while a commit runs are handed to the
/// next `commit` together, so one slow commit (an `fsync`) serves many writes and
/// never holds up a reader.
pub trait Backend: Send + Sync + 'static {
    /// Everything stored, read once at start.
    ///
    /// # Errors
    ///
    /// What is wrong with the stored data; the cluster does not start.
    fn load(&self) -> Result<Snapshot, String>;

    /// Makes `changes` durable, all of them or none; `resource_version` is the
    /// counter after the last of them, for [`Snapshot::resource_version`].
    ///
    /// # Errors
    ///
    /// Why the changes could not be stored; none of them is acknowledged (the
    /// clients get a `500`), nor any write that was decided on top of them.
    fn commit(&self, resource_version: u64, changes: &[Change<'_>]) -> Result<(), String>;
}

/// Keeps nothing beyond the process: the default, and what tests use.
#[derive(Debug, Default)]
pub(crate) struct MemoryBackend;

impl Backend for MemoryBackend {
    fn load(&self) -> Result<Snapshot, String> {
        Ok(Snapshot::default())
    }
    fn commit(&self, _: u64, _: &[Change<'_>]) -> Result<(), String> {
        Ok(())
    }
}
