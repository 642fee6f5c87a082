//! History of paths and diffs between revisions: what the audit log is built from.

use std::collections::{BinaryHeap, HashSet};

use gix::ObjectId;

use crate::cache::TreeEntry;
use crate::{Result, Store};

/// Who did something, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// The time zone's offset from UTC, in seconds.
    pub offset: i32,
}

impl Person {
    pub(crate) fn from_signature(sig: gix::actor::SignatureRef<'_>) -> Person {
        let time = sig.time().unwrap_or_default();
        Person {
            name: String::from_utf8_lossy(sig.name.as_ref()).into_owned(),
            email: String::from_utf8_lossy(sig.email.as_ref()).into_owned(),
            time: time.seconds,
            offset: time.offset,
        }
    }
}

/// How a file changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// The file is new.
    Added,
    /// The file's content changed.
    Modified,
    /// The file was removed.
    Deleted,
}

impl ChangeKind {
    /// The letter `git diff --name-status` uses (`A`, `M`, `D`).
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Modified => 'M',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One file a commit changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// The file's path in the repository.
    pub path: String,
    /// How it changed.
    pub kind: ChangeKind,
}

/// A commit as the history API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit.
    pub id: ObjectId,
    /// Its parents.
    pub parents: Vec<ObjectId>,
    /// The acting user.
    pub author: Person,
    /// Who made the commit (the platform).
    pub committer: Person,
    /// The full message.
    pub message: String,
    /// The files it changed under the path asked for (against its first parent).
    pub changes: Vec<FileChange>,
}

/// Which part of a history to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// At most this many commits.
    pub limit: usize,
    /// Continue after this commit (the `next` of the previous page).
    pub after: Option<ObjectId>,
}

impl Page {
    /// The first `limit` commits.
    pub fn first(limit: usize) -> Page {
        Page { limit, after: None }
    }
}

/// One page of history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    /// Commits, newest first.
    pub commits: Vec<CommitInfo>,
    /// Where the next page starts, if there is more.
    pub next: Option<ObjectId>,
}

/// The changes to one file between two revisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDiff {
    /// The file's path.
    pub path: String,
    /// How it changed.
    pub kind: ChangeKind,
    /// The blob before (`None` when added).
    pub old_id: Option<ObjectId>,
    /// The blob after (`None` when deleted).
    pub new_id: Option<ObjectId>,
    /// A unified diff (`--- a/…`, `+++ b/…`, hunks with 3 lines of context), or `None`
    /// for binary files.
    pub unified: Option<String>,
}

/// A commit in the date-ordered walk.
#[derive(PartialEq, Eq)]
struct Queued {
    time: i64,
    order: u64,
    id: ObjectId,
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Newest first; among equal times, the one queued first.
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

type Slot = Option<(ObjectId, bool)>;

impl Store {
    /// Commits reachable from `rev` that changed `path` (a file, or a directory prefix;
    /// `""` for everything), newest first, as `git log -- <path>` lists them.
    pub fn history(&self, rev: &str, path: &str, page: Page) -> Result<HistoryPage> {
        let start = self.resolve(rev)?;
        let path = path.trim_matches('/');
        let mut heap = BinaryHeap::new();
        let mut seen = HashSet::new();
        let mut order = 0u64;
        let mut push = |heap: &mut BinaryHeap<Queued>, id: ObjectId, time: i64| {
            order += 1;
            heap.push(Queued { time, order, id });
        };
        seen.insert(start);
        push(&mut heap, start, self.commit_meta(start)?.committer.time);

        let index = {
            let mut loaded = self
                .inner
                .history_index
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            loaded.refresh(&self.inner.git_dir);
            loaded.records.clone()
        };
        // A parent's committer time, from the index when it has the parent.
        let time_of = |id: ObjectId| -> Result<i64> {
            match index.get(&id) {
                Some(record) => Ok(record.time),
                None => Ok(self.commit_meta(id)?.committer.time),
            }
        };

        let mut skipping = page.after.is_some();
        let mut commits = Vec::new();
        while let Some(Queued { id, .. }) = heap.pop() {
            let (touched, follow) = match index.get(&id) {
                // The index has the files the commit changed against its parent.
                Some(record) if record.parents.len() <= 1 => (
                    record.touches(path) || (path.is_empty() && record.parents.is_empty()),
                    record.parents.clone(),
                ),
                _ => self.walk_step(id, path)?,
            };
            for parent in follow {
                if seen.insert(parent) {
                    let time = time_of(parent)?;
                    push(&mut heap, parent, time);
                }
            }
            if !touched {
                continue;
            }
            if skipping {
                if Some(id) == page.after {
                    skipping = false;
                }
                continue;
            }
            if commits.len() == page.limit {
                return Ok(HistoryPage {
                    next: commits.last().map(|c: &CommitInfo| c.id),
                    commits,
                });
            }
            commits.push(self.commit_info(id, path)?);
        }
        Ok(HistoryPage {
            commits,
            next: None,
        })
    }

    /// Whether commit `id` touched `path` as `git log` decides it, by comparing trees,
    /// and which parents the walk follows.
    fn walk_step(&self, id: ObjectId, path: &str) -> Result<(bool, Vec<ObjectId>)> {
        let meta = self.commit_meta(id)?;
        let here = self.slot(meta.tree, path)?;
        let mut parent_slots = Vec::with_capacity(meta.parents.len());
        for parent in &meta.parents {
            parent_slots.push(self.slot(self.commit_meta(*parent)?.tree, path)?);
        }
        // History simplification as git does by default: a commit the same as one of
        // its parents at `path` is not shown, and only that parent is followed.
        let same_as = parent_slots.iter().position(|p| *p == here);
        // A root commit touched `path` if it has it; any other commit not the same as
        // a parent at `path` changed it.
        let touched = same_as.is_none() && (here.is_some() || !meta.parents.is_empty());
        let follow = match same_as {
            Some(i) => vec![meta.parents[i]],
            None => meta.parents.clone(),
        };
        Ok((touched, follow))
    }

    /// One commit with the files it changed under `path` (against its first parent).
    pub fn commit_info(&self, id: ObjectId, path: &str) -> Result<CommitInfo> {
        let meta = self.commit_meta(id)?;
        let here = self.slot(meta.tree, path)?;
        let before = match meta.parents.first() {
            Some(parent) => self.slot(self.commit_meta(*parent)?.tree, path)?,
            None => None,
        };
        let mut changes = Vec::new();
        self.diff_slots(before, here, path, &mut changes)?;
        Ok(CommitInfo {
            id,
            parents: meta.parents.clone(),
            author: meta.author.clone(),
            committer: meta.committer.clone(),
            message: meta.message.clone(),
            changes: changes
                .into_iter()
                .map(|(path, kind, _, _)| FileChange { path, kind })
                .collect(),
        })
    }

    /// The object at `path` in `tree`, with whether it is a tree.
    fn slot(&self, tree: ObjectId, path: &str) -> Result<Slot> {
        Ok(self
            .entry_at(tree, path)?
            .filter(|e| !e.is_commit)
            .map(|e| (e.id, e.is_tree)))
    }

    /// Every file that differs between two revisions, with a unified diff of each.
    pub fn diff(&self, from: &str, to: &str) -> Result<Vec<FileDiff>> {
        let old = self.commit_meta(self.resolve(from)?)?.tree;
        let new = self.commit_meta(self.resolve(to)?)?.tree;
        let mut changes = Vec::new();
        self.diff_slots(Some((old, true)), Some((new, true)), "", &mut changes)?;
        changes
            .into_iter()
            .map(|(path, kind, old_id, new_id)| {
                let before = match old_id {
                    Some(id) => self.blob(id)?,
                    None => Default::default(),
                };
                let after = match new_id {
                    Some(id) => self.blob(id)?,
                    None => Default::default(),
                };
                let unified = unified_diff(&path, kind, &before, &after);
                Ok(FileDiff {
                    path,
                    kind,
                    old_id,
                    new_id,
                    unified,
                })
            })
            .collect()
    }

    /// Files that differ between two slots (trees or blobs) found at `path`, in path order.
    pub(crate) fn diff_slots(
        &self,
        old: Slot,
        new: Slot,
        path: &str,
        out: &mut Vec<(String, ChangeKind, Option<ObjectId>, Option<ObjectId>)>,
    ) -> Result<()> {
        if old == new {
            return Ok(());
        }
        match (old, new) {
            (Some((a, true)), Some((b, true))) => {
                let (ta, tb) = (self.tree(a)?, self.tree(b)?);
                let mut names: Vec<&Vec<u8>> = ta
                    .entries
                    .iter()
                    .chain(tb.entries.iter())
                    .filter(|e| !e.is_commit)
                    .map(|e| &e.name)
                    .collect();
                names.sort();
                names.dedup();
                for name in names {
                    let child = join(path, name);
                    let slot = |e: Option<&TreeEntry>| {
                        e.filter(|e| !e.is_commit).map(|e| (e.id, e.is_tree))
                    };
                    self.diff_slots(slot(ta.get(name)), slot(tb.get(name)), &child, out)?;
                }
            }
            (Some((a, false)), Some((b, false))) => {
                out.push((path.to_owned(), ChangeKind::Modified, Some(a), Some(b)));
            }
            (old, new) => {
                // Added, deleted, or a file replaced by a directory (or the reverse).
                if let Some(old) = old {
                    self.all_files(old, path, ChangeKind::Deleted, out)?;
                }
                if let Some(new) = new {
                    self.all_files(new, path, ChangeKind::Added, out)?;
                }
                out.sort_by(|x, y| x.0.cmp(&y.0));
            }
        }
        Ok(())
    }

    fn all_files(
        &self,
        (id, is_tree): (ObjectId, bool),
        path: &str,
        kind: ChangeKind,
        out: &mut Vec<(String, ChangeKind, Option<ObjectId>, Option<ObjectId>)>,
    ) -> Result<()> {
        if !is_tree {
            let (old, new) = match kind {
                ChangeKind::Deleted => (Some(id), None),
                _ => (None, Some(id)),
            };
            out.push((path.to_owned(), kind, old, new));
            return Ok(());
        }
        for entry in &self.tree(id)?.entries {
            if !entry.is_commit {
                self.all_files(
                    (entry.id, entry.is_tree),
                    &join(path, &entry.name),
                    kind,
                    out,
                )?;
            }
        }
        Ok(())
    }
}

fn join(dir: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if dir.is_empty() {
        name.into_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Adds to a hunk header the text git's default `funcname` finds: the closest line
/// above the hunk that starts with a letter, `_` or `$` (at most 80 bytes).
fn with_function_context(line: &str, old_lines: &[&[u8]]) -> String {
    let Some(rest) = line.strip_prefix("@@ -") else {
        return line.to_owned();
    };
    // `-A,B +C,D`, written as git writes it: a range of one line has no `,1`.
    let ranges: Vec<(usize, usize)> = rest
        .split(" @@")
        .next()
        .unwrap_or_default()
        .split(" +")
        .map(|r| {
            let (start, len) = r.split_once(',').unwrap_or((r, "1"));
            (start.parse().unwrap_or(0), len.parse().unwrap_or(1))
        })
        .collect();
    let [(start, old_len), (new_start, new_len)] = ranges[..] else {
        return line.to_owned();
    };
    let range = |start: usize, len: usize| match len {
        1 => start.to_string(),
        // An empty range names the line before it, as in GNU and git diffs.
        0 => format!("{},0", start.saturating_sub(1)),
        _ => format!("{start},{len}"),
    };
    let line = format!(
        "@@ -{} +{} @@\n",
        range(start, old_len),
        range(new_start, new_len)
    );
    // Lines above the hunk, nearest first (the hunk's first line is `start`, 1-based).
    let above = old_lines[..start.saturating_sub(1).min(old_lines.len())]
        .iter()
        .rev();
    for candidate in above {
        if candidate
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b'$')
        {
            let mut context = &candidate[..candidate.len().min(80)];
            while context.last().is_some_and(|b| b.is_ascii_whitespace()) {
                context = &context[..context.len() - 1];
            }
            let header = line.trim_end_matches('\n');
            return format!("{header} {}\n", String::from_utf8_lossy(context));
        }
    }
    line
}

fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8000)].contains(&0)
}

/// A unified diff of one file in the format of `git diff` (without the `diff --git`
/// and `index` lines), or `None` for binary content.
fn unified_diff(path: &str, kind: ChangeKind, before: &[u8], after: &[u8]) -> Option<String> {
    use gix::diff::blob::unified_diff::{ConsumeBinaryHunk, ContextSize};
    use gix::diff::blob::{Algorithm, Diff, InternedInput, UnifiedDiff};

    if is_binary(before) || is_binary(after) {
        return None;
    }
    let (old_name, new_name) = match kind {
        ChangeKind::Added => ("/dev/null".to_owned(), format!("b/{path}")),
        ChangeKind::Deleted => (format!("a/{path}"), "/dev/null".to_owned()),
        ChangeKind::Modified => (format!("a/{path}"), format!("b/{path}")),
    };
    let input = InternedInput::new(before, after);
    let mut diff = Diff::compute(Algorithm::Myers, &input);
    diff.postprocess_lines(&input);
    let hunks = UnifiedDiff::new(
        &diff,
        &input,
        ConsumeBinaryHunk::new(gix::bstr::BString::default(), "\n"),
        ContextSize::symmetrical(3),
    )
    .consume()
    .ok()?;
    let mut text = format!("--- {old_name}\n+++ {new_name}\n");
    let old_lines: Vec<&[u8]> = before.split_inclusive(|b| *b == b'\n').collect();
    for line in String::from_utf8_lossy(&hunks).split_inclusive('\n') {
        text.push_str(&with_function_context(line, &old_lines));
    }
    Some(text)
}
