//! The audit index: events read from Git history, in `redb`, with secondary index
//! tables so that every query is a range scan.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use windlass_git_store::{ObjectId, Store};

use crate::events::{
    CommitEvent, Event, ForcePushEvent, ParsedFile, entity_changes, is_manifest_path, parse_file,
};

mod error;
mod export;
mod query;

pub use error::IndexError;
pub use export::{write_csv, write_json_lines};
pub use query::{EntityRef, EventPage, Query};

/// The index's results.
pub type IndexResult<T> = std::result::Result<T, IndexError>;

/// Event key → the event as JSON. Keys are [`event_key`]s: time first, so a reverse
/// scan is newest first.
const EVENTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("events");
/// `repository\0branch` → the last indexed head (20 bytes).
const HEADS: TableDefinition<&str, &[u8]> = TableDefinition::new("heads");
/// Secondary indexes: `prefix ‖ event key` → ().
const BY_COMMIT: TableDefinition<&[u8], ()> = TableDefinition::new("by_commit");
const BY_ENTITY: TableDefinition<&[u8], ()> = TableDefinition::new("by_entity");
const BY_PATH: TableDefinition<&[u8], ()> = TableDefinition::new("by_path");
const BY_USER: TableDefinition<&[u8], ()> = TableDefinition::new("by_user");
const BY_REPO: TableDefinition<&[u8], ()> = TableDefinition::new("by_repo");

/// Commits handed to a worker at a time, and written in one transaction.
const CHUNK: usize = 4096;
/// Updates of at most this many commits are read on the caller's thread.
const SMALL: usize = 64;

/// What [`AuditIndex::update`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateReport {
    /// Commits read (new on the branch since the last update).
    pub commits_read: usize,
    /// Commit events written (commits that changed entities or held a broken file).
    pub events_written: usize,
    /// The head indexed (hex), or `None` when the branch was already indexed there.
    pub head: Option<String>,
    /// The rewrite found, if the branch was force-pushed since the last update.
    pub force_push: Option<ForcePushEvent>,
}

/// Audit events of Git repositories, indexed for queries. Cheap to clone.
///
/// ```
/// use windlass_audit::{Action, AuditIndex, EntityRef, Event, Query};
/// use windlass_git_store::{ChangeSet, Config, Expect, Identity, Store};
///
/// let dir = tempfile::tempdir()?;
/// let store = Store::init(dir.path().join("config.git"), true, Config::default())?;
/// let alice = Identity::new("Alice", "alice@example.com");
/// let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\n\
///            metadata: {name: web, namespace: argocd}\nspec: {project: default}\n";
/// let change = ChangeSet::new(alice, "add web").upsert("apps/web.yaml", app)?;
/// store.commit("main", &change, &Expect::Branch(None))?;
///
/// let index = AuditIndex::open(&dir.path().join("audit-index.redb"))?;
/// let report = index.update(&store, "config", "main")?;
/// assert_eq!(report.events_written, 1);
///
/// let page = index.query(&Query {
///     entity: Some(EntityRef::new("Application", "web", Some("argocd"))),
///     ..Query::default()
/// }, 50, None)?;
/// let Event::Commit(event) = &page.events[0] else { panic!("a commit") };
/// assert_eq!(event.author.email, "alice@example.com");
/// assert_eq!(event.changes[0].action, Action::Added);
/// assert_eq!(event.changes[0].fields, ["project"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AuditIndex {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: Database,
    /// Serializes updates (each reads a head and writes the next).
    updating: Mutex<()>,
}

impl std::fmt::Debug for AuditIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditIndex")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// A blob's entities, parsed once per update.
type ParseCache = Mutex<HashMap<ObjectId, Arc<ParsedFile>>>;

/// One event ready to write: its key, its JSON and its secondary keys.
struct Prepared {
    key: Vec<u8>,
    json: Vec<u8>,
    secondary: Vec<(Table, Vec<u8>)>,
}

#[derive(Clone, Copy)]
enum Table {
    Commit,
    Entity,
    Path,
    User,
    Repo,
}

impl AuditIndex {
    /// Opens (or creates) the index at `path`.
    pub fn open(path: &Path) -> IndexResult<AuditIndex> {
        let store = |e: &dyn std::fmt::Display| IndexError::Store {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let db = Database::create(path).map_err(|e| store(&e))?;
        let tx = db.begin_write().map_err(|e| store(&e))?;
        tx.open_table(EVENTS).map_err(|e| store(&e))?;
        tx.open_table(HEADS).map_err(|e| store(&e))?;
        for table in [BY_COMMIT, BY_ENTITY, BY_PATH, BY_USER, BY_REPO] {
            tx.open_table(table).map_err(|e| store(&e))?;
        }
        tx.commit().map_err(|e| store(&e))?;
        Ok(AuditIndex {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                db,
                updating: Mutex::new(()),
            }),
        })
    }

    pub(crate) fn store_error(&self, e: impl std::fmt::Display) -> IndexError {
        IndexError::Store {
            path: self.inner.path.clone(),
            message: e.to_string(),
        }
    }

    pub(crate) fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The head of `repository`'s `branch` indexed last (hex), if any.
    pub fn indexed_head(&self, repository: &str, branch: &str) -> IndexResult<Option<String>> {
        let tx = self.db().begin_read().map_err(|e| self.store_error(e))?;
        let heads = tx.open_table(HEADS).map_err(|e| self.store_error(e))?;
        let head = heads
            .get(head_key(repository, branch).as_str())
            .map_err(|e| self.store_error(e))?;
        Ok(head.and_then(|h| ObjectId::try_from(h.value()).ok().map(|id| id.to_string())))
    }

    /// Indexes the commits of `branch` in `store` since the head indexed last (on the
    /// first run, its whole history), under the repository name `repository`.
    /// Everything is on disk when it returns.
    ///
    /// Idempotent: events are keyed by commit, so running it again, or after a crash
    /// half-way, gives the same index. When the branch's head no longer contains the
    /// head indexed last (its history was rewritten), a [`ForcePushEvent`] is recorded,
    /// the events of the commits it dropped are kept but marked unreachable, and the
    /// new commits are indexed.
    ///
    /// Merge commits are read like `git log --raw` reads them: their own changes are
    /// those of the commits they merge, which are indexed themselves.
    pub fn update(
        &self,
        store: &Store,
        repository: &str,
        branch: &str,
    ) -> IndexResult<UpdateReport> {
        let _updating = self
            .inner
            .updating
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let git = |source| IndexError::Git {
            repository: repository.to_owned(),
            source,
        };
        let tip = store
            .tip(branch)
            .map_err(git)?
            .ok_or_else(|| IndexError::BranchNotFound {
                repository: repository.to_owned(),
                branch: branch.to_owned(),
            })?;
        let last = self
            .indexed_head(repository, branch)?
            .and_then(|h| ObjectId::from_hex(h.as_bytes()).ok());
        if last == Some(tip) {
            return Ok(UpdateReport::default());
        }
        // Commits of the old history the new head lacks: a rewrite.
        let gone = match last {
            Some(last) => store.commits_between(last, &[tip]).map_err(git)?,
            None => Vec::new(),
        };
        let hide: Vec<ObjectId> = last.into_iter().collect();
        let new = store.commits_between(tip, &hide).map_err(git)?;
        // A few commits (the usual update) are read here and written with the head, in
        // one transaction; a long history on worker threads, a chunk per transaction.
        let (mut events_written, few) = if new.len() <= SMALL {
            let cache = ParseCache::default();
            let prepared = new
                .iter()
                .filter_map(|id| read_commit(store, repository, branch, *id, &cache).transpose())
                .collect::<IndexResult<Vec<_>>>()?;
            (0, prepared)
        } else {
            (
                self.index_commits(store, repository, branch, &new)?,
                Vec::new(),
            )
        };
        events_written += few.len();

        let force_push = (!gone.is_empty()).then(|| ForcePushEvent {
            repository: repository.to_owned(),
            branch: branch.to_owned(),
            old_head: last.map(|l| l.to_string()).unwrap_or_default(),
            new_head: tip.to_string(),
            unreachable_commits: gone.len() as u64,
            detected_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default(),
        });
        // The rewrite, the unreachable marks and the new head in one durable transaction.
        let mut tx = self.db().begin_write().map_err(|e| self.store_error(e))?;
        tx.set_durability(Durability::Immediate)
            .map_err(|e| self.store_error(e))?;
        write_prepared(&tx, &few).map_err(|e| self.store_error(e))?;
        if let Some(event) = &force_push {
            tracing::warn!(
                repository,
                branch,
                old_head = %event.old_head,
                new_head = %event.new_head,
                unreachable = event.unreachable_commits,
                "branch history rewritten (force-push)"
            );
            let prepared = prepare_force_push(event);
            write_prepared(&tx, std::slice::from_ref(&prepared))
                .map_err(|e| self.store_error(e))?;
            self.mark_unreachable(&tx, repository, branch, &gone)?;
        }
        {
            let mut heads = tx.open_table(HEADS).map_err(|e| self.store_error(e))?;
            heads
                .insert(head_key(repository, branch).as_str(), tip.as_bytes())
                .map_err(|e| self.store_error(e))?;
        }
        tx.commit().map_err(|e| self.store_error(e))?;
        tracing::debug!(
            repository,
            branch,
            commits = new.len(),
            events_written,
            "audit index updated"
        );
        Ok(UpdateReport {
            commits_read: new.len(),
            events_written,
            head: Some(tip.to_string()),
            force_push,
        })
    }

    /// Reads `commits` into events on two threads and writes them, a chunk per
    /// transaction (not synced: the caller's last transaction is).
    fn index_commits(
        &self,
        store: &Store,
        repository: &str,
        branch: &str,
        commits: &[ObjectId],
    ) -> IndexResult<usize> {
        let cache: ParseCache = Mutex::new(HashMap::new());
        let chunks: Vec<&[ObjectId]> = commits.chunks(CHUNK).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4)
            .min(chunks.len().max(1));
        let (send, receive) = std::sync::mpsc::sync_channel::<IndexResult<Vec<Prepared>>>(2);
        let mut written = 0;
        std::thread::scope(|scope| -> IndexResult<()> {
            for _ in 0..workers {
                let send = send.clone();
                let (chunks, next, cache) = (&chunks, &next, &cache);
                scope.spawn(move || {
                    loop {
                        let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(chunk) = chunks.get(at) else { break };
                        let out = chunk
                            .iter()
                            .filter_map(|id| {
                                read_commit(store, repository, branch, *id, cache).transpose()
                            })
                            .collect::<IndexResult<Vec<_>>>();
                        let failed = out.is_err();
                        if send.send(out).is_err() || failed {
                            // Stop the others too.
                            next.store(usize::MAX / 2, std::sync::atomic::Ordering::Relaxed);
                            break;
                        }
                    }
                });
            }
            drop(send);
            let mut result = Ok(());
            for chunk in receive {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                };
                let mut tx = self.db().begin_write().map_err(|e| self.store_error(e))?;
                tx.set_durability(Durability::None)
                    .map_err(|e| self.store_error(e))?;
                write_prepared(&tx, &chunk).map_err(|e| self.store_error(e))?;
                tx.commit().map_err(|e| self.store_error(e))?;
                written += chunk.len();
            }
            if result.is_err() {
                next.store(usize::MAX / 2, std::sync::atomic::Ordering::Relaxed);
            }
            result
        })?;
        Ok(written)
    }

    fn mark_unreachable(
        &self,
        tx: &redb::WriteTransaction,
        repository: &str,
        branch: &str,
        gone: &[ObjectId],
    ) -> IndexResult<()> {
        let err = |e: &dyn std::fmt::Display| self.store_error(e);
        let by_commit = tx.open_table(BY_COMMIT).map_err(|e| err(&e))?;
        let mut events = tx.open_table(EVENTS).map_err(|e| err(&e))?;
        for id in gone {
            let key = commit_event_key_suffix(id, repository, branch);
            let range = by_commit.range(id.as_bytes()..).map_err(|e| err(&e))?;
            let mut keys = Vec::new();
            for entry in range {
                let (k, _) = entry.map_err(|e| err(&e))?;
                let k = k.value();
                if !k.starts_with(id.as_bytes()) {
                    break;
                }
                let ek = &k[20..];
                if ek.get(8..) == Some(&key[..]) {
                    keys.push(ek.to_vec());
                }
            }
            for ek in keys {
                let Some(json) = events.get(ek.as_slice()).map_err(|e| err(&e))? else {
                    continue;
                };
                let mut event = self.decode(&ek, json.value())?;
                drop(json);
                if let Event::Commit(commit) = &mut event {
                    commit.reachable = false;
                }
                let json = serde_json::to_vec(&event).map_err(|e| err(&e))?;
                events
                    .insert(ek.as_slice(), json.as_slice())
                    .map_err(|e| err(&e))?;
            }
        }
        Ok(())
    }

    pub(crate) fn decode(&self, key: &[u8], json: &[u8]) -> IndexResult<Event> {
        serde_json::from_slice(json).map_err(|e| IndexError::Corrupt {
            path: self.inner.path.clone(),
            key: hex(key),
            message: e.to_string(),
        })
    }
}

fn head_key(repository: &str, branch: &str) -> String {
    format!("{repository}\0{branch}")
}

/// Seconds since the epoch as 8 bytes that sort in time order.
pub(crate) fn time_bytes(time: i64) -> [u8; 8] {
    ((time as u64) ^ (1 << 63)).to_be_bytes()
}

/// A commit event's key after its time: kind 0, the commit, repository and branch.
fn commit_event_key_suffix(id: &ObjectId, repository: &str, branch: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(22 + repository.len() + branch.len());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key.extend_from_slice(repository.as_bytes());
    key.push(0);
    key.extend_from_slice(branch.as_bytes());
    key
}

/// `prefix` fields joined by NUL, and a NUL: what a secondary key starts with.
pub(crate) fn prefix(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(part.as_bytes());
        out.push(0);
    }
    out
}

fn read_commit(
    store: &Store,
    repository: &str,
    branch: &str,
    id: ObjectId,
    cache: &ParseCache,
) -> IndexResult<Option<Prepared>> {
    let git = |source| IndexError::Git {
        repository: repository.to_owned(),
        source,
    };
    let diff = store.commit_diff(id).map_err(git)?;
    if diff.parents.len() > 1 {
        return Ok(None);
    }
    let parsed = |blob: Option<ObjectId>| -> IndexResult<Option<Arc<ParsedFile>>> {
        let Some(blob) = blob else { return Ok(None) };
        if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&blob) {
            return Ok(Some(hit.clone()));
        }
        let file = Arc::new(parse_file(&store.read_blob(blob).map_err(git)?));
        cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(blob, file.clone());
        Ok(Some(file))
    };
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    for file in diff.files.iter().filter(|f| is_manifest_path(&f.path)) {
        let (old, new) = (parsed(file.old_id)?, parsed(file.new_id)?);
        notes.extend(entity_changes(
            &file.path,
            old.as_deref(),
            new.as_deref(),
            &mut changes,
        ));
    }
    if changes.is_empty() && notes.is_empty() {
        return Ok(None);
    }
    let event = CommitEvent {
        repository: repository.to_owned(),
        branch: branch.to_owned(),
        commit: id.to_string(),
        parents: diff.parents.iter().map(ToString::to_string).collect(),
        author: (&diff.author).into(),
        committer: (&diff.committer).into(),
        message: diff.message,
        changes,
        notes,
        reachable: true,
    };
    let mut key = time_bytes(event.committer.time).to_vec();
    key.extend_from_slice(&commit_event_key_suffix(&id, repository, branch));
    let mut secondary = vec![
        (Table::Commit, id.as_bytes().to_vec()),
        (Table::Repo, prefix(&[repository, branch])),
        (Table::User, prefix(&[&event.author.email])),
    ];
    if event.author.name != event.author.email {
        secondary.push((Table::User, prefix(&[&event.author.name])));
    }
    for change in &event.changes {
        let ns = change.namespace.as_deref().unwrap_or_default();
        secondary.push((Table::Entity, prefix(&[&change.kind, ns, &change.name])));
    }
    for path in event
        .changes
        .iter()
        .map(|c| &c.path)
        .chain(event.notes.iter().map(|n| &n.path))
    {
        secondary.push((Table::Path, prefix(&[path])));
    }
    secondary.sort_by(|a, b| (a.0 as u8, &a.1).cmp(&(b.0 as u8, &b.1)));
    secondary.dedup_by(|a, b| a.0 as u8 == b.0 as u8 && a.1 == b.1);
    for (_, prefix) in &mut secondary {
        prefix.extend_from_slice(&key);
    }
    let json = serde_json::to_vec(&Event::Commit(event)).map_err(|e| IndexError::Export {
        message: e.to_string(),
    })?;
    Ok(Some(Prepared {
        key,
        json,
        secondary,
    }))
}

fn prepare_force_push(event: &ForcePushEvent) -> Prepared {
    let mut key = time_bytes(event.detected_at).to_vec();
    key.push(1);
    key.extend_from_slice(&prefix(&[
        &event.new_head,
        &event.old_head,
        &event.repository,
    ]));
    key.extend_from_slice(event.branch.as_bytes());
    let mut repo = prefix(&[&event.repository, &event.branch]);
    repo.extend_from_slice(&key);
    Prepared {
        json: serde_json::to_vec(&Event::ForcePush(event.clone()))
            .expect("an event always serializes"),
        key,
        secondary: vec![(Table::Repo, repo)],
    }
}

fn write_prepared(tx: &redb::WriteTransaction, events: &[Prepared]) -> Result<(), redb::Error> {
    let mut table = tx.open_table(EVENTS)?;
    for event in events {
        table.insert(event.key.as_slice(), event.json.as_slice())?;
    }
    drop(table);
    let mut tables = [
        tx.open_table(BY_COMMIT)?,
        tx.open_table(BY_ENTITY)?,
        tx.open_table(BY_PATH)?,
        tx.open_table(BY_USER)?,
        tx.open_table(BY_REPO)?,
    ];
    for event in events {
        for (table, key) in &event.secondary {
            tables[*table as usize].insert(key.as_slice(), ())?;
        }
    }
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
