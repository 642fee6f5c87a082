//! The store: opening repositories, cached reads, the writer lock and maintenance (commits: `commit`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gix::ObjectId;
use gix::objs::tree::EntryKind as GixEntryKind;

use crate::cache::{Caches, CommitMeta, GenCache, Tree, TreeEntry};
use crate::commit::Group;
use crate::pack;

use crate::change::Identity;
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
    /// [`ChangeSet::allow_empty`](crate::ChangeSet::allow_empty) was not set).
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
    pub(crate) pool: Mutex<Vec<gix::Repository>>,
    pub(crate) caches: Caches,
    pub(crate) config: Config,
    pub(crate) git_dir: PathBuf,
    /// Serializes tip checks and ref updates of this process.
    pub(crate) write_lock: Mutex<()>,
    /// Serializes taking the writer lock.
    pub(crate) process_lock: Mutex<()>,
    /// The writer lock, once taken.
    pub(crate) owner: std::sync::OnceLock<crate::owner::Owner>,
    /// Commits made by this store, for background maintenance.
    pub(crate) commits: std::sync::atomic::AtomicU64,
    /// Whether a background maintenance run is going on.
    pub(crate) maintaining: Arc<std::sync::atomic::AtomicBool>,
    /// Group commit of concurrent writers.
    pub(crate) group: Group,
    /// Raw trees written lately, for the next commits' tree edits.
    pub(crate) recent_trees: GenCache<ObjectId, Arc<Vec<u8>>>,
    /// The changed-path index, as far as read.
    pub(crate) history_index: Mutex<crate::index::Loaded>,
    /// Packs written by this store, for rolling them up.
    pub(crate) packs_written: std::sync::atomic::AtomicU64,
    /// What roll-ups of packs remember (see [`pack::roll_up`]).
    pub(crate) roll_up: Mutex<pack::RollUp>,
    /// Files made ahead of need, once this store writes (see [`crate::spare`]).
    pub(crate) spares: std::sync::OnceLock<Arc<crate::spare::Spares>>,
    /// Whether the group-commit leader should roll up packs.
    pub(crate) roll_up_due: std::sync::atomic::AtomicBool,
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

    pub(crate) fn spares(&self) -> Option<&crate::spare::Spares> {
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
                // Delta bases, as git's `core.deltaBaseCacheLimit` (96 MiB there): with
                // gix's default of 64 entries, reading objects at the end of long delta
                // chains (what `git fast-import` and `git repack` write) inflates every
                // base again.
                repo.objects.set_pack_cache(|| {
                    Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                        32 * 1024 * 1024,
                    ))
                });
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
    pub(crate) fn after_commits(&self, n: u64) {
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
    pub(crate) fn take_process_lock(&self) -> Result<&crate::owner::Owner> {
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
    /// system without extended attributes (where its lock files bear no mark), stay. Call this only when no
    /// other process — no `git`, no other store — writes the repository: removing a
    /// live writer's lock lets two updates of a branch race. Takes the writer lock.
    pub fn remove_stale_locks(&self) -> Result<Vec<PathBuf>> {
        self.take_process_lock()?;
        crate::owner::remove_ref_locks(&self.inner.git_dir)
    }
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
pub(crate) fn branch_ref(branch: &str) -> Result<String> {
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

pub(crate) fn signature(who: &Identity, time: gix::date::Time) -> gix::actor::Signature {
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
