//! Fast plumbing for indexers that read a whole history once: the commits between two
//! revisions, and the blobs each commit changed (no unified diff, no path filter).

use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use gix::ObjectId;

use crate::history::{ChangeKind, Person};
use crate::{Result, Store};

/// One file a commit changed against its first parent, with both blob ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobChange {
    /// The file's path in the repository.
    pub path: String,
    /// How it changed.
    pub kind: ChangeKind,
    /// The blob before (`None` when added).
    pub old_id: Option<ObjectId>,
    /// The blob after (`None` when deleted).
    pub new_id: Option<ObjectId>,
}

/// A commit with every file it changed against its first parent (for a root commit,
/// every file it holds), as `git diff-tree -r --root --no-renames <first parent> <commit>`
/// lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitDiff {
    /// The commit.
    pub id: ObjectId,
    /// Its parents.
    pub parents: Vec<ObjectId>,
    /// The acting user.
    pub author: Person,
    /// Who made the commit.
    pub committer: Person,
    /// The full message.
    pub message: String,
    /// Changed files, in path order.
    pub files: Vec<BlobChange>,
}

#[derive(PartialEq, Eq)]
struct Queued {
    time: i64,
    order: u64,
    id: ObjectId,
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.time
            .cmp(&other.time)
            .then_with(|| other.order.cmp(&self.order))
    }
}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Store {
    /// Commits reachable from `tip` but from none of `hide` (`git rev-list tip ^hide…`),
    /// newest first by committer time.
    ///
    /// The walk goes back by committer time and stops once only hidden commits older
    /// than every commit listed are left to visit, so asking for the few commits on top
    /// of a known head costs a few commit reads, not the whole history. Like
    /// `git rev-list`, it trusts committer times: a commit dated earlier than one of its
    /// own ancestors (a skewed clock) can let a few hidden commits be listed.
    pub fn commits_between(&self, tip: ObjectId, hide: &[ObjectId]) -> Result<Vec<ObjectId>> {
        // id -> hidden; a commit first queued as shown may later be found hidden.
        let mut state: HashMap<ObjectId, bool> = HashMap::new();
        let mut heap = BinaryHeap::new();
        let mut order = 0u64;
        let mut shown_queued = 0usize;
        let mut queue = |heap: &mut BinaryHeap<Queued>, id: ObjectId, time: i64| {
            order += 1;
            heap.push(Queued { time, order, id });
        };
        for &id in hide {
            if state.insert(id, true).is_none() {
                queue(&mut heap, id, self.commit_meta(id)?.committer.time);
            }
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = state.entry(tip) {
            slot.insert(false);
            shown_queued += 1;
            queue(&mut heap, tip, self.commit_meta(tip)?.committer.time);
        }
        let mut out = Vec::new();
        let mut popped = std::collections::HashSet::new();
        // The oldest commit listed: a hidden commit as old or newer may still be its
        // descendant (times tie within a second), so the walk goes on until the hidden
        // ones left are all older.
        let mut oldest_listed = i64::MAX;
        while let Some(top) = heap.peek() {
            if shown_queued == 0 && top.time < oldest_listed {
                break;
            }
            let Some(Queued { id, time, .. }) = heap.pop() else {
                break;
            };
            let hidden = state[&id];
            if popped.insert(id) && !hidden {
                shown_queued -= 1;
                oldest_listed = oldest_listed.min(time);
                out.push(id);
            }
            let meta = self.commit_meta(id)?;
            for parent in &meta.parents {
                match state.get(parent).copied() {
                    None => {
                        state.insert(*parent, hidden);
                        if !hidden {
                            shown_queued += 1;
                        }
                        queue(
                            &mut heap,
                            *parent,
                            self.commit_meta(*parent)?.committer.time,
                        );
                    }
                    // Reachable from a hidden commit after all: hide it (and, as it is
                    // still queued or will be walked again, its ancestors).
                    Some(false) if hidden => {
                        state.insert(*parent, true);
                        if popped.contains(parent) {
                            popped.remove(parent);
                            queue(
                                &mut heap,
                                *parent,
                                self.commit_meta(*parent)?.committer.time,
                            );
                        } else {
                            shown_queued -= 1;
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        // Drop commits found hidden after they were listed.
        out.retain(|id| !state[id]);
        Ok(out)
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
        Ok(self.commits_between(ancestor, &[descendant])?.is_empty())
    }

    /// A commit and every file it changed against its first parent, with blob ids.
    pub fn commit_diff(&self, id: ObjectId) -> Result<CommitDiff> {
        let meta = self.commit_meta(id)?;
        let before = match meta.parents.first() {
            Some(parent) => Some((self.commit_meta(*parent)?.tree, true)),
            None => None,
        };
        let mut changes = Vec::new();
        self.diff_slots(before, Some((meta.tree, true)), "", &mut changes)?;
        Ok(CommitDiff {
            id,
            parents: meta.parents.clone(),
            author: meta.author.clone(),
            committer: meta.committer.clone(),
            message: meta.message.clone(),
            files: changes
                .into_iter()
                .map(|(path, kind, old_id, new_id)| BlobChange {
                    path,
                    kind,
                    old_id,
                    new_id,
                })
                .collect(),
        })
    }

    /// The content of a blob, by id (shared with the store's cache).
    pub fn read_blob(&self, id: ObjectId) -> Result<Arc<Vec<u8>>> {
        self.blob(id)
    }
}
