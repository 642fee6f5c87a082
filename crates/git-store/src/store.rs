//! The store: opening repositories, cached reads, and atomic change-set commits.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gix::ObjectId;
use gix::objs::tree::EntryKind as GixEntryKind;
use gix::refs::Target;
use gix::refs::transaction::{Change as RefChange, LogChange, PreviousValue, RefEdit, RefLog};

use crate::cache::{Caches, CommitMeta, Tree, TreeEntry};

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
    /// Largest blob a change set may write, in bytes (default 16 MiB).
    pub max_blob_size: usize,
    /// The committer of every commit: the platform (the author is the acting user).
    pub committer: Identity,
    /// How many times a per-file write is re-applied on a moved tip, or a ref update
    /// retried on a held lock, before giving up (default 16).
    pub max_retries: usize,
    /// Pack loose objects (see [`Store::maintain`]) in the background after this many
    /// commits by this store; `None` never does. Default: every 4,096 commits, as a
    /// commit adds about four loose objects and reads slow down as they pile up.
    pub maintenance_interval: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            durable: true,
            max_blob_size: 16 * 1024 * 1024,
            committer: Identity::new("Windlass", "windlass@localhost"),
            max_retries: 16,
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
/// clears reference locks a crashed writer left behind.
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
    /// The writer lock file, once taken.
    process_lock: Mutex<Option<std::fs::File>>,
    /// Commits made by this store, for background maintenance.
    commits: std::sync::atomic::AtomicU64,
    /// Whether a background maintenance run is going on.
    maintaining: Arc<std::sync::atomic::AtomicBool>,
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
        let repo =
            gix::open(path).map_err(|e| Error::git(format!("opening {}", path.display()), e))?;
        Ok(Self::from_repo(repo, config))
    }

    /// Creates a repository (bare or with a work tree) at `path`, or opens it if one is there.
    pub fn init(path: impl AsRef<Path>, bare: bool, config: Config) -> Result<Store> {
        let path = path.as_ref();
        if let Ok(repo) = gix::open(path) {
            return Ok(Self::from_repo(repo, config));
        }
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        let repo = if bare {
            gix::init_bare(path)
        } else {
            gix::init(path)
        }
        .map_err(|e| Error::git(format!("creating a repository at {}", path.display()), e))?;
        let store = Self::from_repo(repo, config);
        if store.inner.config.durable {
            sync_tree(&store.inner.git_dir)?;
        }
        Ok(store)
    }

    fn from_repo(repo: gix::Repository, config: Config) -> Store {
        let git_dir = repo.git_dir().to_owned();
        let repo = repo.into_sync();
        Store {
            inner: Arc::new(Inner {
                repo,
                pool: Mutex::new(Vec::new()),
                caches: Caches::new(),
                config,
                git_dir,
                write_lock: Mutex::new(()),
                process_lock: Mutex::new(None),
                commits: std::sync::atomic::AtomicU64::new(0),
                maintaining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            }),
        }
    }

    /// The repository's Git directory (`.git`, or the repository itself when bare).
    pub fn git_dir(&self) -> &Path {
        &self.inner.git_dir
    }

    /// The store's configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
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
        if data.len() <= 1024 * 1024 {
            self.inner.caches.blobs.insert(id, data.clone());
        }
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
    pub fn commit(
        &self,
        branch: &str,
        change: &ChangeSet,
        expect: &Expect,
    ) -> Result<CommitOutcome> {
        let refname = branch_ref(branch)?;
        change.validate(self.inner.config.max_blob_size)?;
        self.inner.config.committer.validate("committer")?;
        self.take_process_lock()?;
        let durable = self.inner.config.durable;

        self.with_repo(|repo| {
            // Blobs are content-addressed: write them before taking the lock.
            let mut edits: Vec<(&str, Option<ObjectId>)> = Vec::with_capacity(change.changes.len());
            for (path, c) in &change.changes {
                match c {
                    Change::Upsert(bytes) => {
                        let id = repo
                            .write_blob(bytes)
                            .map_err(|e| Error::git(format!("writing {path}"), e))?
                            .detach();
                        edits.push((path, Some(id)));
                    }
                    Change::Delete => edits.push((path, None)),
                }
            }
            let time = gix::date::Time::now_local_or_utc();
            let author = signature(&change.author, time);
            let committer = signature(&self.inner.config.committer, time);

            let _guard = self
                .inner
                .write_lock
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let mut retries = 0;
            loop {
                let tip = self.tip(branch)?;
                self.check_expectation(branch, tip, expect)?;
                let base_tree = match tip {
                    Some(tip) => self.commit_meta(tip)?.tree,
                    None => ObjectId::empty_tree(repo.object_hash()),
                };
                // gix's low-level editor: unlike `Repository::edit_tree`, its `write` does
                // not check that every entry of every rewritten tree exists (hundreds of
                // object lookups per commit); ours are blobs just written or ids read from
                // the base tree.
                let root: gix::objs::Tree = if tip.is_some() {
                    repo.find_object(base_tree)
                        .map_err(|e| Error::git("reading the base tree", e))?
                        .into_tree()
                        .decode()
                        .map_err(|e| Error::git("decoding the base tree", e))?
                        .into()
                } else {
                    gix::objs::Tree::empty()
                };
                let mut editor =
                    gix::objs::tree::Editor::new(root, &repo.objects, repo.object_hash());
                for (path, blob) in &edits {
                    let components = path.split('/');
                    match blob {
                        Some(id) => editor
                            .upsert(components, GixEntryKind::Blob, *id)
                            .map_err(|e| Error::git(format!("adding {path}"), e))?,
                        None => editor
                            .remove(components)
                            .map_err(|e| Error::git(format!("removing {path}"), e))?,
                    };
                }
                let new_tree = editor
                    .write(|tree| repo.write_object(tree).map(gix::Id::detach))
                    .map_err(|e| Error::git("writing trees", e))?;
                if new_tree == base_tree && !change.allow_empty {
                    return Ok(CommitOutcome {
                        commit: None,
                        parent: tip,
                        retries,
                    });
                }
                // Written directly: `Repository::new_commit_as` reads the commit back.
                let commit = gix::objs::Commit {
                    tree: new_tree,
                    parents: tip.into_iter().collect(),
                    author: author.clone(),
                    committer: committer.clone(),
                    encoding: None,
                    message: change.message.as_str().into(),
                    extra_headers: Vec::new(),
                };
                let commit = repo
                    .write_object(&commit)
                    .map_err(|e| Error::git("writing the commit", e))?
                    .detach();
                if durable {
                    self.sync_new_objects(new_tree, &edits, commit)?;
                }
                match update_ref(repo, &refname, tip, commit, &change.message) {
                    Ok(()) => {
                        if durable {
                            self.sync_ref(&refname)?;
                        }
                        tracing::debug!(%branch, %commit, retries, "committed");
                        self.maybe_maintain();
                        return Ok(CommitOutcome {
                            commit: Some(commit),
                            parent: tip,
                            retries,
                        });
                    }
                    Err(RefUpdate::Moved(actual)) => match expect {
                        Expect::Branch(expected) => {
                            return Err(Error::Conflict {
                                branch: branch.to_owned(),
                                reason: ConflictReason::BranchMoved {
                                    expected: *expected,
                                    actual,
                                },
                            });
                        }
                        Expect::Files(_) if retries < self.inner.config.max_retries => retries += 1,
                        Expect::Files(_) => {
                            return Err(Error::Conflict {
                                branch: branch.to_owned(),
                                reason: ConflictReason::BranchMoved {
                                    expected: tip,
                                    actual,
                                },
                            });
                        }
                    },
                    Err(RefUpdate::Locked(e)) if retries < self.inner.config.max_retries => {
                        tracing::debug!(%branch, error = %e, "reference locked, retrying");
                        retries += 1;
                        std::thread::sleep(Duration::from_millis(1 << retries.min(6)));
                    }
                    Err(RefUpdate::Locked(e)) | Err(RefUpdate::Failed(e)) => return Err(e),
                }
            }
        })
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

    fn maybe_maintain(&self) {
        use std::sync::atomic::Ordering;
        let Some(interval) = self.inner.config.maintenance_interval else {
            return;
        };
        let count = self.inner.commits.fetch_add(1, Ordering::Relaxed) + 1;
        if !count.is_multiple_of(interval.max(1))
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

    fn check_expectation(
        &self,
        branch: &str,
        tip: Option<ObjectId>,
        expect: &Expect,
    ) -> Result<()> {
        match expect {
            Expect::Branch(expected) if *expected != tip => Err(Error::Conflict {
                branch: branch.to_owned(),
                reason: ConflictReason::BranchMoved {
                    expected: *expected,
                    actual: tip,
                },
            }),
            Expect::Branch(_) => Ok(()),
            Expect::Files(files) => {
                for (path, expectation) in files {
                    let actual = match tip {
                        Some(tip) => self.file_id_at(tip, path)?,
                        None => None,
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

    /// Takes `windlass.lock` for this process and clears reference locks that a
    /// crashed writer (the only other possible holder) left behind.
    fn take_process_lock(&self) -> Result<()> {
        let mut held = self
            .inner
            .process_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if held.is_some() {
            return Ok(());
        }
        let path = self.inner.git_dir.join("windlass.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::Locked {
                        path: self.inner.git_dir.clone(),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
        }
        remove_stale_ref_locks(&self.inner.git_dir)?;
        *held = Some(file);
        Ok(())
    }

    /// fsyncs the objects a commit created (blobs, the trees on the changed paths, the
    /// commit) and their directories.
    fn sync_new_objects(
        &self,
        root: ObjectId,
        edits: &[(&str, Option<ObjectId>)],
        commit: ObjectId,
    ) -> Result<()> {
        let mut ids = vec![commit, root];
        for (path, blob) in edits {
            ids.extend(blob.iter().copied());
            // Trees along the path (those that still exist).
            let mut dir = String::new();
            let components: Vec<&str> = path.split('/').collect();
            for component in &components[..components.len().saturating_sub(1)] {
                if !dir.is_empty() {
                    dir.push('/');
                }
                dir.push_str(component);
                if let Some(entry) = self.entry_at(root, &dir)? {
                    ids.push(entry.id);
                }
            }
        }
        ids.sort();
        ids.dedup();
        let objects = self.inner.git_dir.join("objects");
        let mut dirs = std::collections::BTreeSet::new();
        for id in ids {
            let hex = id.to_hex().to_string();
            let dir = objects.join(&hex[..2]);
            let file = dir.join(&hex[2..]);
            // Objects that already existed may live in a pack: nothing to flush then.
            if let Ok(f) = std::fs::File::open(&file) {
                f.sync_all().map_err(|e| Error::io(&file, e))?;
                dirs.insert(dir);
            }
        }
        for dir in dirs {
            sync_dir(&dir)?;
        }
        sync_dir(&objects)
    }

    fn sync_ref(&self, refname: &str) -> Result<()> {
        let path = self.inner.git_dir.join(refname);
        if let Ok(f) = std::fs::File::open(&path) {
            f.sync_all().map_err(|e| Error::io(&path, e))?;
        }
        let mut dir = path.parent();
        while let Some(d) = dir {
            sync_dir(d)?;
            if d == self.inner.git_dir {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }
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

pub(crate) enum RefUpdate {
    /// The reference is not where we expected: someone else moved it.
    Moved(Option<ObjectId>),
    /// The reference's lock is held (by another process).
    Locked(Error),
    /// Anything else.
    Failed(Error),
}

/// Moves `refname` from `expected` to `new` with a strict compare-and-swap.
pub(crate) fn update_ref(
    repo: &gix::Repository,
    refname: &str,
    expected: Option<ObjectId>,
    new: ObjectId,
    message: &str,
) -> std::result::Result<(), RefUpdate> {
    let name: gix::refs::FullName = refname
        .try_into()
        .map_err(|e| RefUpdate::Failed(Error::git(format!("reference name {refname}"), e)))?;
    let expected_value = match expected {
        Some(id) => PreviousValue::MustExistAndMatch(Target::Object(id)),
        None => PreviousValue::MustNotExist,
    };
    let summary = message.lines().next().unwrap_or_default();
    let edit = RefEdit {
        change: RefChange::Update {
            log: LogChange {
                mode: RefLog::AndReference,
                force_create_reflog: false,
                message: format!("windlass: {summary}").into(),
            },
            expected: expected_value,
            new: Target::Object(new),
        },
        name,
        deref: false,
    };
    match repo.edit_reference(edit) {
        Ok(_) => Ok(()),
        Err(e) => {
            use gix::refs::file::transaction::prepare::{MustNotExist, ReferenceOutOfDate};
            if let Some(out_of_date) = e.downcast_any_ref::<ReferenceOutOfDate>() {
                return Err(RefUpdate::Moved(
                    out_of_date.actual.try_id().map(ToOwned::to_owned),
                ));
            }
            if let Some(exists) = e.downcast_any_ref::<MustNotExist>() {
                return Err(RefUpdate::Moved(
                    exists.actual.try_id().map(ToOwned::to_owned),
                ));
            }
            let text = format!("{e:?}");
            if text.contains("lock") || text.contains("Lock") {
                return Err(RefUpdate::Locked(Error::git(
                    format!("updating {refname}"),
                    e,
                )));
            }
            Err(RefUpdate::Failed(Error::git(
                format!("updating {refname}"),
                e,
            )))
        }
    }
}

/// Removes `*.lock` files under `refs/` and `packed-refs.lock`: called only while this
/// process holds `windlass.lock`, so they belong to a writer that died.
fn remove_stale_ref_locks(git_dir: &Path) -> Result<()> {
    let packed = git_dir.join("packed-refs.lock");
    if packed.exists() {
        tracing::warn!(path = %packed.display(), "removing a stale lock");
        std::fs::remove_file(&packed).map_err(|e| Error::io(&packed, e))?;
    }
    let mut pending = vec![git_dir.join("refs")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "lock") {
                tracing::warn!(path = %path.display(), "removing a stale lock");
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
    }
    Ok(())
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
