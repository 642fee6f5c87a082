//! The store: opening repositories, cached reads, and atomic change-set commits.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gix::ObjectId;
use gix::objs::tree::EntryKind as GixEntryKind;

use crate::cache::{Caches, CommitMeta, GenCache, Tree, TreeEntry};
use crate::pack;
use crate::refs::RefUpdate;

use crate::change::{Change, ChangeSet, Expect, FileExpectation, Identity};
use crate::error::ConflictReason;
use crate::history::Person;
use crate::{Error, Result};

/// How a store behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// Flush objects, refs and their directories to disk (fsync) before a commit is
    /// acknowledged. On by default; turn off only where losing recent commits on a
    /// power cut is acceptable (tests, caches).
    pub durable: bool,
    /// How a durable commit flushes its new objects (see [`FlushObjects`]).
    pub flush_objects: FlushObjects,
    /// Largest blob a change set may write, in bytes (default 16 MiB).
    pub max_blob_size: usize,
    /// The committer of every commit: the platform (the author is the acting user).
    pub committer: Identity,
    /// How many times a per-file write is re-applied on a moved tip before giving up
    /// (default 16).
    pub max_retries: usize,
    /// How long a commit waits for a branch's lock file (`<ref>.lock`) that another
    /// writer holds — a `git` process beside the store — before failing with
    /// [`Error::LockHeld`] (default 1 s; Git itself waits `core.filesRefLockTimeout`,
    /// 100 ms by default). The store never removes another writer's lock.
    pub ref_lock_timeout: Duration,
    /// Largest change set, in bytes of all its upserts together (default 64 MiB).
    pub max_change_set_size: usize,
    /// Bytes of decoded trees, blobs and commits the read caches keep (default 256 MiB).
    pub cache_size: usize,
    /// Pack loose objects (see [`Store::maintain`]) in the background after this many
    /// commits by this store; `None` never does. Default: every 4,096 commits. The
    /// store itself writes packs; loose objects come from other writers (`git`), and
    /// reads slow down as they pile up.
    pub maintenance_interval: Option<u64>,
}

/// How a durable commit flushes the files it wrote before the branch moves: the pack,
/// its index and the branch's lock file. (The directories that name them are flushed
/// one by one after, in order, either way.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlushObjects {
    /// One `syncfs` of the repository's file system (Linux; elsewhere as
    /// [`FlushObjects::Files`]): one write-back and one device flush for all three
    /// files, where an fsync each costs a device flush each (they do not overlap). The
    /// fastest where the repository has its file system to itself, as on a volume of
    /// its own; data other processes left unwritten on the same file system is
    /// written too, which can make a commit wait on them.
    #[default]
    FileSystem,
    /// An fsync of each file.
    Files,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            durable: true,
            flush_objects: FlushObjects::default(),
            max_blob_size: 16 * 1024 * 1024,
            committer: Identity::new("Windlass", "windlass@localhost"),
            max_retries: 16,
            ref_lock_timeout: Duration::from_secs(1),
            max_change_set_size: 64 * 1024 * 1024,
            cache_size: 256 * 1024 * 1024,
            maintenance_interval: Some(4096),
        }
    }
}

/// What [`Store::entry_at`] found: an object and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub id: ObjectId,
    pub is_tree: bool,
    pub is_commit: bool,
}

/// The result of [`Store::commit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The new commit, or `None` when the change set changed nothing (and
    /// [`ChangeSet::allow_empty`] was not set).
    pub commit: Option<ObjectId>,
    /// The commit the change was applied on (`None` for the branch's first commit).
    pub parent: Option<ObjectId>,
    /// How often the change was re-applied on a moved tip (per-file mode).
    pub retries: usize,
    /// What went wrong after the branch moved: the commit landed, but, say, its reflog
    /// entry was not written or the flush of the branch's directory failed (then the
    /// commit is visible but not known to survive a power cut). Empty normally.
    pub warnings: Vec<String>,
}

/// What a directory entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A file (blob).
    File,
    /// A directory (tree).
    Dir,
    /// A submodule (a commit of another repository).
    Submodule,
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (lossy UTF-8).
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
    /// Its object id.
    pub id: ObjectId,
}

/// A Git repository used as a transactional store. Cheap to clone; clones share caches.
///
/// One process should hold one `Store` per repository for writing: the first write
/// takes `windlass.lock` in the Git directory (released when the process ends), and
/// removes the reference locks its previous holder provably left behind (see
/// [`Store::remove_stale_locks`] for the others).
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) repo: gix::ThreadSafeRepository,
    pool: Mutex<Vec<gix::Repository>>,
    pub(crate) caches: Caches,
    pub(crate) config: Config,
    pub(crate) git_dir: PathBuf,
    /// Serializes tip checks and ref updates of this process.
    write_lock: Mutex<()>,
    /// Serializes taking the writer lock.
    process_lock: Mutex<()>,
    /// The writer lock, once taken.
    owner: std::sync::OnceLock<crate::owner::Owner>,
    /// Commits made by this store, for background maintenance.
    commits: std::sync::atomic::AtomicU64,
    /// Whether a background maintenance run is going on.
    maintaining: Arc<std::sync::atomic::AtomicBool>,
    /// Group commit of concurrent writers.
    group: Group,
    /// Raw trees written lately, for the next commits' tree edits.
    recent_trees: GenCache<ObjectId, Arc<Vec<u8>>>,
    /// The changed-path index, as far as read.
    pub(crate) history_index: Mutex<crate::index::Loaded>,
    /// Packs written by this store, for rolling them up.
    packs_written: std::sync::atomic::AtomicU64,
    /// What roll-ups of packs remember (see [`pack::roll_up`]).
    roll_up: Mutex<pack::RollUp>,
    /// Files made ahead of need, once this store writes (see [`crate::spare`]).
    spares: std::sync::OnceLock<Arc<crate::spare::Spares>>,
    /// Whether the group-commit leader should roll up packs.
    roll_up_due: std::sync::atomic::AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // No handle of this store reads the retired packs any more.
        if let Some(spares) = self.spares.get() {
            spares.stop();
        }
        let roll_up = self.roll_up.get_mut().unwrap_or_else(|e| e.into_inner());
        for pack in roll_up.retired.drain(..) {
            let _ = std::fs::remove_file(pack);
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("git_dir", &self.inner.git_dir)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens an existing repository (bare or not).
    pub fn open(path: impl AsRef<Path>, config: Config) -> Result<Store> {
        let path = path.as_ref();
        let repo = open_repo(path)?;
        Self::from_repo(repo, config)
    }

    /// Creates a repository (bare or with a work tree) at `path`, or opens it if one is there.
    pub fn init(path: impl AsRef<Path>, bare: bool, config: Config) -> Result<Store> {
        let path = path.as_ref();
        match open_repo(path) {
            Ok(repo) => return Self::from_repo(repo, config),
            Err(e @ Error::UnsupportedRepository { .. }) => return Err(e),
            Err(_) => {}
        }
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        let repo = if bare {
            gix::init_bare(path)
        } else {
            gix::init(path)
        }
        .map_err(|e| Error::git(format!("creating a repository at {}", path.display()), e))?;
        drop(repo);
        let store = Self::from_repo(open_repo(path)?, config)?;
        if store.inner.config.durable {
            sync_tree(&store.inner.git_dir)?;
        }
        Ok(store)
    }

    fn from_repo(repo: gix::Repository, config: Config) -> Result<Store> {
        // Objects, branches and the store's own files live in the common directory
        // (the same as the Git directory, except for a linked worktree).
        let git_dir = repo.common_dir().to_owned();
        check_format(&repo, &git_dir)?;
        let repo = repo.into_sync();
        Ok(Store {
            inner: Arc::new(Inner {
                repo,
                pool: Mutex::new(Vec::new()),
                caches: Caches::new(config.cache_size),
                config,
                git_dir,
                write_lock: Mutex::new(()),
                process_lock: Mutex::new(()),
                owner: std::sync::OnceLock::new(),
                commits: std::sync::atomic::AtomicU64::new(0),
                maintaining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
                group: Group::default(),
                history_index: Mutex::default(),
                recent_trees: GenCache::new(16 * 1024 * 1024),
                packs_written: std::sync::atomic::AtomicU64::new(0),
                roll_up_due: std::sync::atomic::AtomicBool::new(false),
                roll_up: Mutex::default(),
                spares: std::sync::OnceLock::new(),
            }),
        })
    }

    /// The repository's Git directory (`.git`, or the repository itself when bare; for a
    /// linked worktree, its main repository's, which holds the objects and branches).
    pub fn git_dir(&self) -> &Path {
        &self.inner.git_dir
    }

    /// The store's configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    fn spares(&self) -> Option<&crate::spare::Spares> {
        self.inner.spares.get().map(|s| &**s)
    }

    /// The platform as committer, now (for reflog entries of reference moves).
    pub(crate) fn committer_now(&self) -> gix::actor::Signature {
        signature(
            &self.inner.config.committer,
            gix::date::Time::now_local_or_utc(),
        )
    }

    /// Runs `f` with a thread-local handle of the repository from a pool.
    pub(crate) fn with_repo<T>(&self, f: impl FnOnce(&gix::Repository) -> Result<T>) -> Result<T> {
        let repo = self
            .inner
            .pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| {
                let mut repo = self.inner.repo.to_thread_local();
                repo.object_cache_size_if_unset(8 * 1024 * 1024);
                repo
            });
        let out = f(&repo);
        self.inner
            .pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(repo);
        out
    }

    // ---- reads -------------------------------------------------------------------

    /// Resolves a revision — a branch, a tag, a full or short commit id, or any
    /// `git rev-parse` expression — to a commit.
    pub fn resolve(&self, rev: &str) -> Result<ObjectId> {
        if let Ok(id) = ObjectId::from_hex(rev.as_bytes()) {
            self.commit_meta(id).map_err(|_| Error::RevisionNotFound {
                rev: rev.to_owned(),
            })?;
            return Ok(id);
        }
        self.with_repo(|repo| {
            let not_found = || Error::RevisionNotFound {
                rev: rev.to_owned(),
            };
            let id = repo.rev_parse_single(rev).map_err(|_| not_found())?;
            let commit = id
                .object()
                .map_err(|_| not_found())?
                .peel_to_commit()
                .map_err(|_| not_found())?;
            Ok(commit.id)
        })
    }

    /// The commit a branch points to, or `None` if the branch does not exist.
    pub fn tip(&self, branch: &str) -> Result<Option<ObjectId>> {
        let name = branch_ref(branch)?;
        self.with_repo(|repo| {
            let reference = repo
                .try_find_reference(name.as_str())
                .map_err(|e| Error::git(format!("reading {name}"), e))?;
            match reference {
                None => Ok(None),
                // A branch names its commit directly: no object lookup needed.
                Some(r) if r.target().try_id().is_some() && name.starts_with("refs/heads/") => {
                    Ok(r.target().try_id().map(ToOwned::to_owned))
                }
                Some(mut r) => Ok(Some(
                    r.peel_to_id()
                        .map_err(|e| Error::git(format!("peeling {name}"), e))?
                        .detach(),
                )),
            }
        })
    }

    pub(crate) fn commit_meta(&self, id: ObjectId) -> Result<Arc<CommitMeta>> {
        if let Some(meta) = self.inner.caches.commits.get(&id) {
            return Ok(meta);
        }
        let meta = self.with_repo(|repo| {
            let object = repo
                .find_object(id)
                .map_err(|e| Error::git(format!("reading commit {id}"), e))?;
            let commit = object
                .try_into_commit()
                .map_err(|e| Error::git(format!("{id} is not a commit"), e))?;
            let decoded = commit
                .decode()
                .map_err(|e| Error::git(format!("decoding commit {id}"), e))?;
            Ok(CommitMeta {
                tree: decoded.tree(),
                parents: decoded.parents().collect(),
                author: Person::from_signature(
                    decoded
                        .author()
                        .map_err(|e| Error::git(format!("decoding the author of {id}"), e))?,
                ),
                committer: Person::from_signature(
                    decoded
                        .committer()
                        .map_err(|e| Error::git(format!("decoding the committer of {id}"), e))?,
                ),
                message: String::from_utf8_lossy(decoded.message.as_ref()).into_owned(),
            })
        })?;
        let meta = Arc::new(meta);
        self.inner.caches.commits.insert(id, meta.clone());
        Ok(meta)
    }

    pub(crate) fn tree(&self, id: ObjectId) -> Result<Arc<Tree>> {
        if let Some(tree) = self.inner.caches.trees.get(&id) {
            return Ok(tree);
        }
        let tree = self.with_repo(|repo| {
            let object = repo
                .find_object(id)
                .map_err(|e| Error::git(format!("reading tree {id}"), e))?;
            let mut entries = Vec::new();
            for entry in gix::objs::TreeRefIter::from_bytes(&object.data, repo.object_hash()) {
                let entry = entry.map_err(|e| Error::git(format!("decoding tree {id}"), e))?;
                entries.push(TreeEntry {
                    name: entry.filename.to_vec(),
                    is_tree: entry.mode.is_tree(),
                    is_commit: entry.mode.is_commit(),
                    plain: matches!(entry.mode.kind(), GixEntryKind::Blob),
                    id: entry.oid.to_owned(),
                });
            }
            Ok(Tree::new(entries))
        })?;
        let tree = Arc::new(tree);
        self.inner.caches.trees.insert(id, tree.clone());
        Ok(tree)
    }

    pub(crate) fn blob(&self, id: ObjectId) -> Result<Arc<Vec<u8>>> {
        if let Some(blob) = self.inner.caches.blobs.get(&id) {
            return Ok(blob);
        }
        let data = self.with_repo(|repo| {
            let object = repo
                .find_object(id)
                .map_err(|e| Error::git(format!("reading blob {id}"), e))?;
            Ok(object.detach().data)
        })?;
        let data = Arc::new(data);
        self.inner.caches.blobs.insert(id, data.clone());
        Ok(data)
    }

    /// The entry at `path` below the tree `root`, walking only the trees on the way.
    pub(crate) fn entry_at(&self, root: ObjectId, path: &str) -> Result<Option<Found>> {
        let mut found = Found {
            id: root,
            is_tree: true,
            is_commit: false,
        };
        for component in path.split('/').filter(|c| !c.is_empty()) {
            if !found.is_tree {
                return Ok(None);
            }
            let tree = self.tree(found.id)?;
            let Some(entry) = tree.get(component.as_bytes()) else {
                return Ok(None);
            };
            found = Found {
                id: entry.id,
                is_tree: entry.is_tree,
                is_commit: entry.is_commit,
            };
        }
        Ok(Some(found))
    }

    /// The blob id of the file at `path` in `commit`, if it is a file.
    pub fn file_id_at(&self, commit: ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let meta = self.commit_meta(commit)?;
        Ok(self
            .entry_at(meta.tree, path)?
            .filter(|e| !e.is_tree && !e.is_commit)
            .map(|e| e.id))
    }

    /// The blob id of the file at `path` at revision `rev` (what a per-file write expects).
    pub fn file_id(&self, rev: &str, path: &str) -> Result<Option<ObjectId>> {
        self.file_id_at(self.resolve(rev)?, path)
    }

    /// The content of the file at `path` in `commit`, or `None` if there is no such file.
    pub fn read_file_at(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        match self.file_id_at(commit, path)? {
            Some(id) => Ok(Some(self.blob(id)?.as_ref().clone())),
            None => Ok(None),
        }
    }

    /// The content of the file at `path` at revision `rev`.
    pub fn read_file(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>> {
        self.read_file_at(self.resolve(rev)?, path)
    }

    /// The entries of the directory at `path` (`""` for the root) at revision `rev`,
    /// or `None` if there is no such directory.
    pub fn list_dir(&self, rev: &str, path: &str) -> Result<Option<Vec<DirEntry>>> {
        let meta = self.commit_meta(self.resolve(rev)?)?;
        let Some(entry) = self.entry_at(meta.tree, path)? else {
            return Ok(None);
        };
        if !entry.is_tree {
            return Ok(None);
        }
        let tree = self.tree(entry.id)?;
        Ok(Some(
            tree.entries
                .iter()
                .map(|e| DirEntry {
                    name: String::from_utf8_lossy(&e.name).into_owned(),
                    kind: if e.is_tree {
                        EntryKind::Dir
                    } else if e.is_commit {
                        EntryKind::Submodule
                    } else {
                        EntryKind::File
                    },
                    id: e.id,
                })
                .collect(),
        ))
    }

    /// Every manifest file (`.yaml`, `.yml`, `.json`) under `prefix` at revision `rev`,
    /// as `(path, content)`, in path order.
    pub fn manifest_files(&self, rev: &str, prefix: &str) -> Result<Vec<(String, Arc<Vec<u8>>)>> {
        let meta = self.commit_meta(self.resolve(rev)?)?;
        let mut out = Vec::new();
        let prefix = prefix.trim_matches('/');
        match self.entry_at(meta.tree, prefix)? {
            None => {}
            Some(entry) if entry.is_tree => self.collect_files(entry.id, prefix, &mut out)?,
            Some(entry) if !entry.is_commit => out.push((prefix.to_owned(), self.blob(entry.id)?)),
            Some(_) => {}
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn collect_files(
        &self,
        tree: ObjectId,
        dir: &str,
        out: &mut Vec<(String, Arc<Vec<u8>>)>,
    ) -> Result<()> {
        for entry in &self.tree(tree)?.entries {
            let name = String::from_utf8_lossy(&entry.name);
            let path = if dir.is_empty() {
                name.into_owned()
            } else {
                format!("{dir}/{name}")
            };
            if entry.is_tree {
                self.collect_files(entry.id, &path, out)?;
            } else if !entry.is_commit
                && [".yaml", ".yml", ".json"]
                    .iter()
                    .any(|ext| path.ends_with(ext))
            {
                out.push((path, self.blob(entry.id)?));
            }
        }
        Ok(())
    }

    /// Loads every entity under `prefix` at revision `rev` through the entity model's
    /// loader; errors name the repository path, line and field.
    pub fn load_entities(
        &self,
        rev: &str,
        prefix: &str,
    ) -> Result<windlass_entity_model::load::Loaded> {
        let mut loaded = windlass_entity_model::load::Loaded::default();
        for (path, bytes) in self.manifest_files(rev, prefix)? {
            let file = PathBuf::from(&path);
            match std::str::from_utf8(&bytes) {
                Ok(text) => {
                    let one = windlass_entity_model::load::load_str(text, &file);
                    loaded.files.extend(one.files);
                    loaded.manifests.extend(one.manifests);
                    loaded.errors.extend(one.errors);
                }
                Err(e) => {
                    loaded.files.push(file.clone());
                    loaded.errors.push(windlass_entity_model::Error::Syntax {
                        location: windlass_entity_model::Location {
                            file,
                            mark: Default::default(),
                        },
                        path: None,
                        message: format!(
                            "the file is not valid UTF-8 (at byte {})",
                            e.valid_up_to()
                        ),
                    });
                }
            }
        }
        Ok(loaded)
    }

    // ---- writes ------------------------------------------------------------------

    /// Applies `change` as one commit on `branch`, under the optimistic-concurrency
    /// expectation `expect`. Nothing is written when the change set is invalid or the
    /// expectation fails ([`Error::Conflict`]).
    ///
    /// Concurrent calls are grouped: one caller applies every change set waiting at that
    /// moment as a chain of commits (each checked against the chain before it, each
    /// caller getting its own commit), writes their objects as one pack, and moves the
    /// branch once. With durability on, one set of flushes covers the whole group.
    pub fn commit(
        &self,
        branch: &str,
        change: &ChangeSet,
        expect: &Expect,
    ) -> Result<CommitOutcome> {
        let refname = branch_ref(branch)?;
        change.validate(
            self.inner.config.max_blob_size,
            self.inner.config.max_change_set_size,
        )?;
        self.inner.config.committer.validate("committer")?;
        self.take_process_lock()?;

        // Blobs are content-addressed: hash and compress them before queueing.
        let mut edits = Vec::with_capacity(change.changes.len());
        let mut blobs = Vec::new();
        for (path, c) in &change.changes {
            match c {
                Change::Upsert(bytes) => {
                    let entry = pack::entry(gix::objs::Kind::Blob, bytes)?;
                    edits.push((path.clone(), Edit::Upsert(entry.id)));
                    blobs.push(entry);
                }
                Change::Delete => edits.push((path.clone(), Edit::Delete)),
                Change::DeleteTree => edits.push((path.clone(), Edit::DeleteTree)),
            }
        }
        let time = gix::date::Time::now_local_or_utc();
        let request = Request {
            refname,
            branch: branch.to_owned(),
            edits,
            blobs,
            author: signature(&change.author, time),
            committer: signature(&self.inner.config.committer, time),
            message: change.message.clone(),
            allow_empty: change.allow_empty,
            expect: expect.clone(),
        };
        let slot: Arc<Mutex<Option<Result<CommitOutcome>>>> = Arc::default();
        let group = &self.inner.group;
        let mut queue = group.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.pending.push((request, slot.clone()));
        loop {
            if let Some(result) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return result;
            }
            if queue.leader {
                queue = group.done.wait(queue).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            queue.leader = true;
            let batch = std::mem::take(&mut queue.pending);
            drop(queue);
            // Leadership is handed back, and every caller of the batch answered, even if
            // applying it panics.
            let leader = LeaderGuard {
                group,
                slots: batch.iter().map(|(_, slot)| slot.clone()).collect(),
            };
            self.apply_batch(batch);
            drop(leader);
            queue = group.queue.lock().unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Applies queued change sets, branch by branch, and answers each caller.
    fn apply_batch(&self, batch: Vec<(Request, Slot)>) {
        let mut by_branch: Vec<(String, Vec<(Request, Slot)>)> = Vec::new();
        for (request, slot) in batch {
            match by_branch.iter_mut().find(|(r, _)| *r == request.refname) {
                Some((_, group)) => group.push((request, slot)),
                None => by_branch.push((request.refname.clone(), vec![(request, slot)])),
            }
        }
        let _guard = self
            .inner
            .write_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (_, group) in by_branch {
            let results = self.with_repo(|repo| Ok(self.apply_chain(repo, &group)));
            let results = match results {
                Ok(results) => results,
                Err(e) => group.iter().map(|_| Err(replicate(&e))).collect(),
            };
            for ((_, slot), result) in group.iter().zip(results) {
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            }
        }
        // The callers have their answers; the leader, still holding the lead, rolls up
        // small packs when due (inline: no thread races a `git fsck` or a new pack).
        self.inner.group.done.notify_all();
        if self
            .inner
            .roll_up_due
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            let pack_dir = self.inner.git_dir.join("objects").join("pack");
            let mut state = self.inner.roll_up.lock().unwrap_or_else(|e| e.into_inner());
            let spares = self.spares();
            let config = &self.inner.config;
            let durable = config.durable.then_some(config.flush_objects);
            if let Err(e) = pack::roll_up(&pack_dir, spares, durable, &mut state) {
                tracing::warn!(error = %e, "rolling up packs failed");
            }
        }
    }

    /// Applies the change sets of one branch as a chain of commits with one pack and
    /// one compare-and-swap of the branch; re-applies the chain (per-file mode) when
    /// the branch moved underneath.
    fn apply_chain(
        &self,
        repo: &gix::Repository,
        group: &[(Request, Slot)],
    ) -> Vec<Result<CommitOutcome>> {
        #[cfg(test)]
        if group.iter().any(|(r, _)| r.message == tests::LEADER_PANICS) {
            panic!("a test makes the group leader panic");
        }
        let n = group.len();
        let (refname, branch) = (&group[0].0.refname, &group[0].0.branch);
        let max_retries = self.inner.config.max_retries;
        let durable = self.inner.config.durable;
        // Final answers; `None` while a request still takes part in the chain.
        let mut finals: Vec<Option<Result<CommitOutcome>>> = (0..n).map(|_| None).collect();
        let mut retries = vec![0usize; n];
        let mut attempts = 0;
        'attempt: loop {
            let fail_all = |finals: &mut Vec<Option<Result<CommitOutcome>>>, e: Error| {
                for f in finals.iter_mut().filter(|f| f.is_none()) {
                    *f = Some(Err(replicate(&e)));
                }
            };
            if finals.iter().all(Option::is_some) {
                break;
            }
            attempts += 1;
            if attempts > 4 * (max_retries + 1) {
                fail_all(
                    &mut finals,
                    Error::git(
                        format!("moving {refname}"),
                        format!(
                            "gave up after {} attempts: the branch kept moving",
                            attempts - 1
                        ),
                    ),
                );
                break;
            }
            let attempt = match self.build_chain(repo, group, &finals, &retries) {
                Ok(attempt) => attempt,
                Err((Some(i), e)) => {
                    // One request's edits could not be applied: it fails alone.
                    finals[i] = Some(Err(e));
                    continue 'attempt;
                }
                Err((None, e)) => {
                    fail_all(&mut finals, e);
                    break;
                }
            };
            if attempt.head == attempt.tip {
                // Nothing to write: conflicts and empty change sets only.
                for (i, outcome) in attempt.outcomes.into_iter().enumerate() {
                    if let Some(outcome) = outcome {
                        finals[i] = Some(outcome);
                    }
                }
                break;
            }
            let Some(head) = attempt.head else {
                break;
            };
            let pack_dir = self.inner.git_dir.join("objects").join("pack");
            let entries = attempt.entries.iter().chain(
                attempt
                    .committed
                    .iter()
                    .flat_map(|i| group[*i].0.blobs.iter()),
            );
            let last = &group[*attempt.committed.last().unwrap_or(&0)].0;
            match crate::refs::lock(
                &self.inner.git_dir,
                self.spares(),
                self.inner.owner.get(),
                refname,
                attempt.tip,
                head,
                self.inner.config.ref_lock_timeout,
            ) {
                Ok(held) => {
                    let log = crate::refs::logs(repo, refname).then_some(crate::refs::LogEntry {
                        committer: &last.committer,
                        message: &last.message,
                    });
                    let warnings = match publish(
                        &self.inner.git_dir,
                        &pack_dir,
                        self.spares(),
                        entries,
                        held,
                        log,
                        durable.then_some(self.inner.config.flush_objects),
                    ) {
                        Ok(warnings) => warnings,
                        Err(e) => {
                            fail_all(&mut finals, e);
                            break;
                        }
                    };
                    for (id, meta) in attempt.metas {
                        self.inner.caches.commits.insert(id, Arc::new(meta));
                    }
                    if let Err(e) = crate::index::append(&self.inner.git_dir, &attempt.records) {
                        tracing::warn!(error = %e, "appending to the history index");
                    }
                    tracing::debug!(%branch, %head, commits = attempt.committed.len(), "committed");
                    self.after_commits(attempt.committed.len() as u64);
                    for (i, outcome) in attempt.outcomes.into_iter().enumerate() {
                        if let Some(mut outcome) = outcome {
                            if let Ok(o) = &mut outcome
                                && o.commit.is_some()
                            {
                                o.warnings.clone_from(&warnings);
                            }
                            finals[i] = Some(outcome);
                        }
                    }
                    break;
                }
                Err(RefUpdate::Moved(actual)) => {
                    // Someone else moved the branch: whole-branch requests fail (their
                    // check against the new tip says so), per-file ones are re-applied.
                    for i in 0..n {
                        if finals[i].is_some() {
                            continue;
                        }
                        match &group[i].0.expect {
                            Expect::Files(_) if retries[i] < max_retries => retries[i] += 1,
                            Expect::Files(_) => {
                                finals[i] = Some(Err(Error::Conflict {
                                    branch: branch.clone(),
                                    reason: ConflictReason::BranchMoved {
                                        expected: attempt.tip,
                                        actual,
                                    },
                                }));
                            }
                            Expect::Branch(_) => {}
                        }
                    }
                }
                Err(RefUpdate::Failed(e)) => {
                    fail_all(&mut finals, e);
                    break;
                }
            }
        }
        finals
            .into_iter()
            .map(|f| {
                f.unwrap_or_else(|| Err(Error::git("committing", "the change was not applied")))
            })
            .collect()
    }

    /// Builds the chain of commits for the requests still open, on the branch's tip,
    /// in memory. An error names the request it belongs to, if any.
    fn build_chain(
        &self,
        repo: &gix::Repository,
        group: &[(Request, Slot)],
        finals: &[Option<Result<CommitOutcome>>],
        retries: &[usize],
    ) -> std::result::Result<Chain, (Option<usize>, Error)> {
        let hash = repo.object_hash();
        let (refname, branch) = (&group[0].0.refname, &group[0].0.branch);
        // Read as the compare-and-swap reads it: a chain is built on what the lock sees.
        let tip = crate::refs::read(&self.inner.git_dir, refname).map_err(|e| (None, e))?;
        let base_tree = match tip {
            Some(tip) => self.commit_meta(tip).map_err(|e| (None, e))?.tree,
            None => ObjectId::empty_tree(hash),
        };
        // gix's low-level editor: unlike `Repository::edit_tree`, its `write` does not
        // check that every entry of every rewritten tree exists.
        let overlay = Overlay {
            written: Default::default(),
            recent: &self.inner.recent_trees,
            odb: &repo.objects,
        };
        let root: gix::objs::Tree = if tip.is_some() {
            use gix::objs::Find;
            let mut data = Vec::new();
            let found = overlay
                .try_find(&base_tree, &mut data)
                .map_err(|e| (None, Error::git("reading the base tree", e)))?
                .ok_or_else(|| {
                    (
                        None,
                        Error::git("reading the base tree", format!("{base_tree} not found")),
                    )
                })?;
            gix::objs::TreeRef::from_bytes(found.data, hash)
                .map_err(|e| (None, Error::git("decoding the base tree", e)))?
                .into()
        } else {
            gix::objs::Tree::empty()
        };
        let mut editor = gix::objs::tree::Editor::new(root, &overlay, hash);
        let mut chain = Chain {
            tip,
            head: tip,
            entries: Vec::new(),
            committed: Vec::new(),
            outcomes: (0..group.len()).map(|_| None).collect(),
            metas: Vec::new(),
            records: Vec::new(),
        };
        let mut tree = base_tree;
        let mut buf = Vec::new();
        for (i, (request, _)) in group.iter().enumerate() {
            if finals[i].is_some() {
                continue;
            }
            if let Err(e) =
                self.check_chain_expectation(&overlay, branch, chain.head, tree, &request.expect)
            {
                chain.outcomes[i] = Some(Err(e));
                continue;
            }
            // What the history index records: files whose blob changes.
            let mut paths = Some(Vec::new());
            for (path, edit) in &request.edits {
                let before = self
                    .lookup(&overlay, tree, path)
                    .map_err(|e| (Some(i), e))?;
                check_kind(request, path, *edit, &before).map_err(|e| (Some(i), e))?;
                let blob = match edit {
                    Edit::Upsert(id) => Some(*id),
                    Edit::Delete | Edit::DeleteTree => None,
                };
                match before {
                    Lookup::File { id, plain: true } if Some(id) == blob => {}
                    Lookup::File { plain: true, .. } => {
                        if let Some(p) = paths.as_mut() {
                            p.push(path.clone())
                        }
                    }
                    Lookup::Missing | Lookup::UnderFile(_) if blob.is_none() => {}
                    Lookup::Missing => {
                        if let Some(p) = paths.as_mut() {
                            p.push(path.clone())
                        }
                    }
                    // A directory, submodule, link or executable replaced; a file on the way.
                    _ => paths = None,
                }
                let components = path.split('/');
                match blob {
                    Some(id) => editor
                        .upsert(components, GixEntryKind::Blob, id)
                        .map(|_| ())
                        .map_err(|e| (Some(i), Error::git(format!("adding {path}"), e)))?,
                    None => editor
                        .remove(components)
                        .map(|_| ())
                        .map_err(|e| (Some(i), Error::git(format!("removing {path}"), e)))?,
                }
            }
            // Files nested in each other in one change set, or paths too long to record.
            let edited: std::collections::HashSet<&str> =
                request.edits.iter().map(|(p, _)| p.as_str()).collect();
            if request.edits.iter().any(|(p, _)| {
                p.len() > usize::from(u16::MAX)
                    || p.match_indices('/')
                        .any(|(at, _)| edited.contains(&p[..at]))
            }) {
                paths = None;
            }
            let mut failed = None;
            let new_tree = editor
                .write(|t| {
                    use gix::objs::WriteTo;
                    buf.clear();
                    if let Err(e) = t.write_to(&mut buf) {
                        failed = Some(Error::git("encoding a tree", e));
                        return Err(());
                    }
                    match pack::entry(gix::objs::Kind::Tree, &buf) {
                        Ok(entry) => {
                            let id = entry.id;
                            self.inner.caches.trees.insert(id, Arc::new(cache_tree(t)));
                            let data = Arc::new(buf.clone());
                            self.inner.recent_trees.insert(id, data.clone());
                            overlay.written.borrow_mut().insert(id, data);
                            chain.entries.push(entry);
                            Ok(id)
                        }
                        Err(e) => {
                            failed = Some(e);
                            Err(())
                        }
                    }
                })
                .map_err(|()| {
                    (
                        None,
                        failed
                            .take()
                            .unwrap_or_else(|| Error::git("writing trees", "failed")),
                    )
                })?;
            if new_tree == tree && !request.allow_empty {
                chain.outcomes[i] = Some(Ok(CommitOutcome {
                    commit: None,
                    parent: chain.head,
                    retries: retries[i],
                    warnings: Vec::new(),
                }));
                continue;
            }
            let commit = gix::objs::Commit {
                tree: new_tree,
                parents: chain.head.into_iter().collect(),
                author: request.author.clone(),
                committer: request.committer.clone(),
                encoding: None,
                message: request.message.as_str().into(),
                extra_headers: Vec::new(),
            };
            buf.clear();
            {
                use gix::objs::WriteTo;
                commit
                    .write_to(&mut buf)
                    .map_err(|e| (None, Error::git("encoding the commit", e)))?;
            }
            let entry = pack::entry(gix::objs::Kind::Commit, &buf).map_err(|e| (None, e))?;
            let id = entry.id;
            chain.entries.push(entry);
            let person = |s: &gix::actor::Signature| Person {
                name: s.name.to_string(),
                email: s.email.to_string(),
                time: s.time.seconds,
                offset: s.time.offset,
            };
            chain.metas.push((
                id,
                CommitMeta {
                    tree: new_tree,
                    parents: commit.parents.to_vec(),
                    author: person(&request.author),
                    committer: person(&request.committer),
                    message: request.message.clone(),
                },
            ));
            if let Some(paths) = paths {
                chain.records.push(crate::index::Record {
                    commit: id,
                    parents: commit.parents.to_vec(),
                    time: request.committer.time.seconds,
                    paths,
                });
            }
            chain.outcomes[i] = Some(Ok(CommitOutcome {
                commit: Some(id),
                parent: chain.head,
                retries: retries[i],
                warnings: Vec::new(),
            }));
            chain.committed.push(i);
            chain.head = Some(id);
            tree = new_tree;
        }
        Ok(chain)
    }

    /// What is at `path` in `tree`, looking first at trees of the chain being built.
    fn lookup(&self, overlay: &Overlay<'_>, tree: ObjectId, path: &str) -> Result<Lookup> {
        // (id, is_tree, is_commit, plain)
        let mut current = (tree, true, false, false);
        let mut walked = 0;
        for component in path.split('/') {
            if !current.1 {
                return Ok(if current.2 {
                    Lookup::Submodule
                } else {
                    Lookup::UnderFile(path[..walked - 1].to_owned())
                });
            }
            walked += component.len() + 1;
            let entry = match overlay.written.borrow().get(&current.0) {
                Some(data) => {
                    let mut found = None;
                    for entry in gix::objs::TreeRefIter::from_bytes(data, gix::hash::Kind::Sha1) {
                        let entry = entry.map_err(|e| Error::git("decoding a new tree", e))?;
                        if entry.filename == component.as_bytes() {
                            found = Some((
                                entry.oid.to_owned(),
                                entry.mode.is_tree(),
                                entry.mode.is_commit(),
                                matches!(entry.mode.kind(), GixEntryKind::Blob),
                            ));
                            break;
                        }
                    }
                    found
                }
                None => self
                    .tree(current.0)?
                    .get(component.as_bytes())
                    .map(|e| (e.id, e.is_tree, e.is_commit, e.plain)),
            };
            match entry {
                None => return Ok(Lookup::Missing),
                Some(entry) => current = entry,
            }
        }
        Ok(match current {
            (_, true, ..) => Lookup::Dir,
            (_, _, true, _) => Lookup::Submodule,
            (id, _, _, plain) => Lookup::File { id, plain },
        })
    }

    fn check_chain_expectation(
        &self,
        overlay: &Overlay<'_>,
        branch: &str,
        head: Option<ObjectId>,
        tree: ObjectId,
        expect: &Expect,
    ) -> Result<()> {
        match expect {
            Expect::Branch(expected) if *expected != head => Err(Error::Conflict {
                branch: branch.to_owned(),
                reason: ConflictReason::BranchMoved {
                    expected: *expected,
                    actual: head,
                },
            }),
            Expect::Branch(_) => Ok(()),
            Expect::Files(files) => {
                for (path, expectation) in files {
                    // What `file_id_at` reports: any blob (not a submodule commit).
                    let actual = match self.lookup(overlay, tree, path)? {
                        Lookup::File { id, .. } => Some(id),
                        _ => None,
                    };
                    let expected = match expectation {
                        FileExpectation::Blob(id) => Some(*id),
                        FileExpectation::Absent => None,
                    };
                    if actual != expected {
                        return Err(Error::Conflict {
                            branch: branch.to_owned(),
                            reason: ConflictReason::FileChanged {
                                path: path.clone(),
                                expected,
                                actual,
                            },
                        });
                    }
                }
                Ok(())
            }
        }
    }

    /// Packs loose objects into a pack (`git repack -d`): a store writes every object
    /// loose, and thousands of loose files make reads and history walks slow. Safe while
    /// other writes go on (objects written meanwhile stay loose until the next run).
    pub fn maintain(&self) -> Result<()> {
        let output = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(&self.inner.git_dir)
            .args(["repack", "-d", "-q", "--no-write-bitmap-index"])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::git("running `git repack` (is git installed?)", e))?;
        if !output.status.success() {
            return Err(Error::git(
                "packing loose objects",
                format!(
                    "git repack failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            ));
        }
        tracing::info!(git_dir = %self.inner.git_dir.display(), "packed loose objects");
        Ok(())
    }

    /// Work after `n` commits: a roll-up of small packs is due every 8 packs written;
    /// `git repack` of loose objects other writers left runs in the background every
    /// [`Config::maintenance_interval`] commits.
    fn after_commits(&self, n: u64) {
        use std::sync::atomic::Ordering;
        let packs = self.inner.packs_written.fetch_add(1, Ordering::Relaxed);
        // The first pack of a store too: short-lived processes add up.
        if packs.is_multiple_of(8) {
            self.inner.roll_up_due.store(true, Ordering::Release);
        }
        let Some(interval) = self.inner.config.maintenance_interval else {
            return;
        };
        let before = self.inner.commits.fetch_add(n, Ordering::Relaxed);
        let interval = interval.max(1);
        if before / interval == (before + n) / interval
            || self.inner.maintaining.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let store = self.clone();
        let flag = self.inner.maintaining.clone();
        let spawned = std::thread::Builder::new()
            .name("git-store-maintenance".into())
            .spawn(move || {
                if let Err(e) = store.maintain() {
                    tracing::warn!(error = %e, "background maintenance failed");
                }
                flag.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.inner.maintaining.store(false, Ordering::Release);
        }
    }

    /// Takes `windlass.lock` for this process (removing the reference locks its
    /// previous holder provably left) and starts the spares.
    fn take_process_lock(&self) -> Result<&crate::owner::Owner> {
        if let Some(owner) = self.inner.owner.get() {
            return Ok(owner);
        }
        let _serial = self
            .inner
            .process_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(owner) = self.inner.owner.get() {
            return Ok(owner);
        }
        let owner = crate::owner::Owner::take(&self.inner.git_dir)?;
        let pack_dir = self.inner.git_dir.join("objects").join("pack");
        pack::remove_stale_temporaries(&pack_dir);
        if std::fs::create_dir_all(&pack_dir).is_ok()
            && let Some(spares) = crate::spare::Spares::start(&self.inner.git_dir, &pack_dir)
        {
            let _ = self.inner.spares.set(spares);
        }
        crate::index::repair(&self.inner.git_dir)?;
        Ok(self.inner.owner.get_or_init(|| owner))
    }

    /// The explicit repair after a crash: removes every reference lock file
    /// (`refs/**/*.lock`) and `packed-refs.lock`, and returns what it removed.
    ///
    /// A commit never removes a lock file it did not make (it waits
    /// [`Config::ref_lock_timeout`], then fails with [`Error::LockHeld`]), and a store
    /// removes on its own only the lock files its previous run provably left. Lock
    /// files left by a `git` process that died, or by a store that crashed on a file
    /// system that lost its last records in a power cut, stay. Call this only when no
    /// other process — no `git`, no other store — writes the repository: removing a
    /// live writer's lock lets two updates of a branch race. Takes the writer lock.
    pub fn remove_stale_locks(&self) -> Result<Vec<PathBuf>> {
        self.take_process_lock()?;
        crate::owner::remove_ref_locks(&self.inner.git_dir)
    }
}

/// Makes a chain of commits durable and visible: its objects as one pack, then the
/// branch (locked, with the new value in the lock file) moved to the chain's head.
///
/// With `durable` (how the objects are flushed), nothing becomes visible on disk before
/// what it refers to is there: the pack, its index and the lock file are flushed; the
/// index is named and the pack directory flushed; then the lock file is renamed over
/// the branch and the branch's directory flushed (every directory up to the Git directory when the
/// branch is new: they may be new too). A crash at any point leaves the branch where it
/// was or where it was acknowledged to be, never naming an object that is not there.
///
/// An error means the branch did not move. Once it moved, what fails after (the
/// reflog, the flush of its directory) comes back as warnings: the commit landed.
fn publish<'a>(
    git_dir: &Path,
    pack_dir: &Path,
    spares: Option<&crate::spare::Spares>,
    entries: impl IntoIterator<Item = &'a pack::Entry>,
    held: crate::refs::RefLock<'_>,
    log: Option<crate::refs::LogEntry<'_>>,
    durable: Option<FlushObjects>,
) -> Result<Vec<String>> {
    let lock = [(held.file(), held.lock_path())];
    pack::write_visible(pack_dir, spares, entries, durable, &lock)?;
    let durable = durable.is_some();
    let path = held.path().to_owned();
    let created = held.creates();
    let mut warnings = held.commit(spares, log)?;
    if durable {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if let Err(e) = sync_dir(d) {
                tracing::warn!(branch = %path.display(), error = %e, "the branch moved, its directory was not flushed");
                warnings.push(format!(
                    "{} moved, but is not known to be on disk (flushing its directory failed): {e}",
                    path.display()
                ));
                break;
            }
            if !created || d == git_dir {
                break;
            }
            dir = d.parent();
        }
    }
    Ok(warnings)
}

/// Opens a repository with room for many packs: the store writes a pack per group of
/// commits and rolls them up in the background, so their number moves.
fn open_repo(path: &Path) -> Result<gix::Repository> {
    let options = gix::open::Options::default().object_store_slots(
        gix::odb::store::init::Slots::AsNeededByDiskState {
            multiplier: 2.0,
            minimum: 1024,
        },
    );
    gix::open_opts(path, options).map_err(|e| {
        // gix cannot load the configuration of a SHA-256 repository: say why.
        for config in [path.join("config"), path.join(".git").join("config")] {
            if let Ok(text) = std::fs::read_to_string(&config)
                && let Some(reason) = unsupported_extension(&text)
            {
                let git_dir = config.parent().unwrap_or(path).to_owned();
                return Error::UnsupportedRepository {
                    path: git_dir,
                    reason,
                };
            }
        }
        Error::git(format!("opening {}", path.display()), e)
    })
}

/// What in a Git configuration file's `[extensions]` section the store cannot handle
/// (a plain scan: used only to explain why a repository did not open).
fn unsupported_extension(config: &str) -> Option<String> {
    let mut in_extensions = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_extensions = line
                .trim_matches(['[', ']'])
                .trim()
                .eq_ignore_ascii_case("extensions");
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim().to_ascii_lowercase());
        if !in_extensions {
            continue;
        }
        if key.eq_ignore_ascii_case("objectFormat") && value != "sha1" {
            return Some(object_format_reason(&value));
        }
        if key.eq_ignore_ascii_case("refStorage") && value != "files" {
            return Some(ref_storage_reason(&value));
        }
    }
    None
}

fn object_format_reason(format: &str) -> String {
    format!(
        "the repository uses {} object ids (extensions.objectFormat); the store writes SHA-1 repositories only",
        format.to_ascii_uppercase().replace("SHA", "SHA-")
    )
}

fn ref_storage_reason(storage: &str) -> String {
    format!(
        "the repository keeps its references in {storage:?} (extensions.refStorage); the store moves branches as loose files only"
    )
}

/// Refuses what the store cannot write safely: packs, trees and loose references are
/// written here in SHA-1 Git's formats, and references as loose files (gix would open
/// a reftable repository as if it kept files, and miss every branch).
fn check_format(repo: &gix::Repository, git_dir: &Path) -> Result<()> {
    let unsupported = |reason: String| {
        Err(Error::UnsupportedRepository {
            path: git_dir.to_owned(),
            reason,
        })
    };
    if repo.object_hash() != gix::hash::Kind::Sha1 {
        return unsupported(object_format_reason(&repo.object_hash().to_string()));
    }
    let config = repo.config_snapshot();
    if let Some(storage) = config.string("extensions.refStorage")
        && !storage.eq_ignore_ascii_case(b"files")
    {
        return unsupported(ref_storage_reason(
            &storage.to_string().to_ascii_lowercase(),
        ));
    }
    Ok(())
}

/// `refs/heads/<branch>`, checked to be a valid reference name.
fn branch_ref(branch: &str) -> Result<String> {
    let name = if branch.starts_with("refs/") {
        branch.to_owned()
    } else {
        format!("refs/heads/{branch}")
    };
    gix::refs::FullName::try_from(name.as_str()).map_err(|e| Error::InvalidInput {
        field: "branch",
        reason: format!("{branch:?} is not a valid branch name: {e}"),
    })?;
    Ok(name)
}

fn signature(who: &Identity, time: gix::date::Time) -> gix::actor::Signature {
    gix::actor::Signature {
        name: who.name.as_str().into(),
        email: who.email.as_str().into(),
        time,
    }
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let f = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    f.sync_all().map_err(|e| Error::io(dir, e))
}

/// fsyncs every file and directory below `dir` (used once, after creating a repository).
fn sync_tree(dir: &Path) -> Result<()> {
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d)
            .map_err(|e| Error::io(&d, e))?
            .flatten()
        {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else if let Ok(f) = std::fs::File::open(&path) {
                f.sync_all().map_err(|e| Error::io(&path, e))?;
            }
        }
        sync_dir(&d)?;
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// A change set waiting to be applied, with everything computed outside the lock.
pub(crate) struct Request {
    refname: String,
    branch: String,
    edits: Vec<(String, Edit)>,
    /// The blobs of the upserts, hashed and compressed.
    blobs: Vec<pack::Entry>,
    author: gix::actor::Signature,
    committer: gix::actor::Signature,
    message: String,
    allow_empty: bool,
    expect: Expect,
}

/// One path's edit, its blob hashed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edit {
    Upsert(ObjectId),
    Delete,
    DeleteTree,
}

/// Where the leader puts a caller's answer.
type Slot = Arc<Mutex<Option<Result<CommitOutcome>>>>;

/// Change sets waiting for a leader, and whether one is at work.
#[derive(Default)]
pub(crate) struct Queue {
    pending: Vec<(Request, Slot)>,
    leader: bool,
}

/// Group commit: callers queue their change sets; one of them (the leader) applies all
/// that are waiting, then wakes the others.
#[derive(Default)]
pub(crate) struct Group {
    queue: Mutex<Queue>,
    done: std::sync::Condvar,
}

/// The lead of a group commit, and the callers it answers.
struct LeaderGuard<'a> {
    group: &'a Group,
    slots: Vec<Slot>,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        // Only when the leader panicked is a caller left without an answer: the
        // branch may or may not have moved.
        for slot in &self.slots {
            let mut answer = slot.lock().unwrap_or_else(|e| e.into_inner());
            if answer.is_none() {
                *answer = Some(Err(Error::git(
                    "committing",
                    "the thread applying this group of commits panicked; the branch may or may not have moved: read it again",
                )));
            }
        }
        let mut queue = self.group.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.leader = false;
        self.group.done.notify_all();
    }
}

/// A chain of commits built in memory on a branch's tip.
struct Chain {
    /// The branch's tip it was built on.
    tip: Option<ObjectId>,
    /// The last commit of the chain (`tip` if it has none).
    head: Option<ObjectId>,
    /// Trees and commits, packed.
    entries: Vec<pack::Entry>,
    /// The requests that made a commit, in chain order.
    committed: Vec<usize>,
    /// Per request: its answer if the branch move succeeds.
    outcomes: Vec<Option<Result<CommitOutcome>>>,
    metas: Vec<(ObjectId, CommitMeta)>,
    records: Vec<crate::index::Record>,
}

/// What a path leads to in a tree.
enum Lookup {
    /// A file; `plain` unless executable or a symbolic link.
    File {
        id: ObjectId,
        plain: bool,
    },
    Missing,
    /// A directory.
    Dir,
    /// A submodule, or a path below one.
    Submodule,
    /// A path below this file.
    UnderFile(String),
}

/// Refuses an edit that would turn a file into a directory or a directory into a file,
/// or delete a directory with a plain delete, unless the change set asks for it.
fn check_kind(request: &Request, path: &str, edit: Edit, before: &Lookup) -> Result<()> {
    let reason = match (edit, before) {
        (Edit::Upsert(_), Lookup::Dir) => "is a directory; writing a file there would delete everything below it (delete the directory first)".to_owned(),
        (Edit::Delete, Lookup::Dir) => {
            "is a directory; deleting one takes a tree delete (ChangeSet::delete_tree)".to_owned()
        }
        (Edit::Upsert(_), Lookup::UnderFile(file))
            if !request
                .edits
                .iter()
                .any(|(p, e)| p == file && matches!(e, Edit::Delete | Edit::DeleteTree)) =>
        {
            format!("{file} is a file; writing below it would turn it into a directory (delete it in the same change set to do so)")
        }
        _ => return Ok(()),
    };
    Err(Error::PathKind {
        branch: request.branch.clone(),
        path: path.to_owned(),
        reason,
    })
}

/// The object database seen through the trees just written for a chain (not yet on disk).
struct Overlay<'a> {
    written: std::cell::RefCell<std::collections::HashMap<ObjectId, Arc<Vec<u8>>>>,
    /// Trees written lately (in packs the object database may not have seen yet).
    recent: &'a GenCache<ObjectId, Arc<Vec<u8>>>,
    odb: &'a gix::OdbHandle,
}

impl gix::objs::Find for Overlay<'_> {
    fn try_find<'b>(
        &self,
        id: &gix::oid,
        buffer: &'b mut Vec<u8>,
    ) -> gix::Result<Option<gix::objs::Data<'b>>> {
        let data = self
            .written
            .borrow()
            .get(id)
            .cloned()
            .or_else(|| self.recent.get(&id.to_owned()));
        if let Some(data) = data {
            buffer.clear();
            buffer.extend_from_slice(&data);
            return Ok(Some(gix::objs::Data::new(
                buffer,
                gix::objs::Kind::Tree,
                gix::hash::Kind::Sha1,
            )));
        }
        self.odb.try_find(id, buffer)
    }
}

/// The cache's form of a tree just written.
fn cache_tree(tree: &gix::objs::Tree) -> Tree {
    Tree::new(
        tree.entries
            .iter()
            .map(|e| TreeEntry {
                name: e.filename.to_vec(),
                is_tree: e.mode.is_tree(),
                is_commit: e.mode.is_commit(),
                plain: matches!(e.mode.kind(), GixEntryKind::Blob),
                id: e.oid,
            })
            .collect(),
    )
}

/// The same error for another caller of a group whose shared step failed.
fn replicate(e: &Error) -> Error {
    match e {
        Error::Conflict { branch, reason } => Error::Conflict {
            branch: branch.clone(),
            reason: reason.clone(),
        },
        Error::Locked { path } => Error::Locked { path: path.clone() },
        Error::LockHeld { path, waited } => Error::LockHeld {
            path: path.clone(),
            waited: *waited,
        },
        Error::Io { path, source } => Error::Io {
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        other => Error::git("committing", other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A message that makes the leader of a group holding it panic.
    pub(super) const LEADER_PANICS: &str = "the leader panics on this";

    #[test]
    fn a_panicking_group_leader_leaves_no_caller_waiting() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            durable: false,
            ..Config::default()
        };
        let store = Store::init(dir.path(), true, config).expect("init");
        let who = Identity::new("A", "a@example.com");
        let change = |message: &str| {
            ChangeSet::new(who.clone(), message)
                .upsert(message, "x")
                .expect("path")
        };
        store
            .commit("main", &change("first"), &Expect::Files(Default::default()))
            .expect("first");
        // Hold the store's write lock so that the next leader waits in the middle of its
        // batch while two more callers queue up behind it: one of them leads the
        // following batch, which holds both, and panics.
        let held = store.inner.write_lock.lock().expect("write lock");
        let (done, answers) = mpsc::channel();
        for (k, message) in ["waits for the lock", LEADER_PANICS, "queued behind"]
            .into_iter()
            .enumerate()
        {
            let (writer, change, done) = (store.clone(), change(message), done.clone());
            std::thread::spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    writer.commit("main", &change, &Expect::Files(Default::default()))
                }));
                let _ = done.send((change.message.clone(), result.map_err(|_| ())));
            });
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            let queued = || {
                let queue = store.inner.group.queue.lock().expect("queue");
                queue.leader as usize + queue.pending.len()
            };
            // The first leads (and waits for the lock), the others queue.
            while queued() < k + 1 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{message} never queued"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        drop(held);
        let mut results = std::collections::BTreeMap::new();
        for _ in 0..3 {
            let (message, result) = answers
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("every caller gets an answer");
            results.insert(message, result);
        }
        assert!(
            matches!(results["waits for the lock"], Ok(Ok(_))),
            "the first batch commits"
        );
        // Whichever thread led the panicking batch panicked; the other caller of that
        // batch got an error instead of waiting forever.
        let failed: Vec<_> = [LEADER_PANICS, "queued behind"]
            .iter()
            .map(|m| &results[*m])
            .collect();
        assert!(failed.iter().any(|r| r.is_err()), "the leader panicked");
        assert!(
            failed.iter().all(|r| match r {
                Err(()) => true,
                Ok(Err(e)) => e.to_string().contains("panicked"),
                Ok(Ok(_)) => false,
            }),
            "{failed:?}"
        );
        // The store goes on working.
        store
            .commit("main", &change("after"), &Expect::Files(Default::default()))
            .expect("a commit after the panic");
    }
}
