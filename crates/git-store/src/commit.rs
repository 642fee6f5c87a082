//! Committing change sets: group commit (concurrent callers queue, one leader applies
//! every waiting change set as a chain of commits, one pack, one move of the branch),
//! the per-request checks (expectations, file/directory kinds), and publishing.

use std::path::Path;
use std::sync::{Arc, Mutex};

use gix::ObjectId;
use gix::objs::tree::EntryKind as GixEntryKind;

use crate::cache::{CommitMeta, GenCache, Tree, TreeEntry};
use crate::change::{Change, ChangeSet, Expect, FileExpectation};
use crate::error::ConflictReason;
use crate::history::Person;
use crate::pack;
use crate::refs::RefUpdate;
use crate::store::{CommitOutcome, FlushObjects, Store, branch_ref, signature, sync_dir};
use crate::{Error, Result};

impl Store {
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
    held: crate::refs::RefLock,
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
    use crate::{Config, Identity};
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
