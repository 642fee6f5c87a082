//! The writer lock, `windlass.lock`, and what it remembers.
//!
//! One writing store per repository per process takes `windlass.lock` (an OS file lock,
//! released when the process dies). A `git` process beside it does not know that lock:
//! the two exclude each other only through Git's own lock files (`<ref>.lock`), so a
//! lock file is never removed because it looks old or because `windlass.lock` was
//! free. The store removes one only when it is provably its own: while a reference
//! lock is held, `windlass.lock` holds a record of it (the lock file's device, inode
//! and change time, read from the open file); a store taking over after a crash
//! removes a lock file only if that very file is still there. Anything else stays until
//! [`crate::Store::remove_stale_locks`], the explicit repair.
//!
//! The records are plain text lines `<dev> <ino> <ctime-sec> <ctime-nsec> <path>`
//! rewritten in place (padded, never truncated: freeing a block waits for a discard on
//! this project's machines). They are flushed with a durable commit's objects when those
//! are flushed with one `syncfs`; with an fsync per file they may be lost on a power
//! cut, and a lock the store left then needs the repair.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// What identifies one lock file: the same path with another file is someone else's.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    dev: u64,
    ino: u64,
    ctime: (i64, i64),
    /// Relative to the Git directory.
    path: String,
}

impl Record {
    fn of(meta: &std::fs::Metadata, path: String) -> Record {
        Record {
            dev: meta.dev(),
            ino: meta.ino(),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            path,
        }
    }

    fn parse(line: &str) -> Option<Record> {
        let mut parts = line.trim().splitn(5, ' ');
        Some(Record {
            dev: parts.next()?.parse().ok()?,
            ino: parts.next()?.parse().ok()?,
            ctime: (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?),
            path: parts.next()?.to_owned(),
        })
    }
}

/// `windlass.lock`, held by this process.
pub(crate) struct Owner {
    git_dir: PathBuf,
    path: PathBuf,
    file: File,
    /// The reference locks held now, and how many bytes the file holds.
    held: Mutex<(Vec<Record>, usize)>,
}

/// A recorded reference lock: dropping it forgets the record.
pub(crate) struct Recorded<'a> {
    owner: &'a Owner,
    record: Record,
}

impl Drop for Recorded<'_> {
    fn drop(&mut self) {
        let mut held = self.owner.lock();
        if let Some(at) = held.0.iter().position(|r| *r == self.record) {
            held.0.remove(at);
            self.owner.write(&mut held);
        }
    }
}

impl Owner {
    /// Takes `windlass.lock` in `git_dir` (waiting up to 5 s for another process of this
    /// machine to let go of it), then removes the reference locks a previous holder
    /// recorded and left behind.
    pub(crate) fn take(git_dir: &Path) -> Result<Owner> {
        let path = git_dir.join("windlass.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
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
                        path: git_dir.to_owned(),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let owner = Owner {
            git_dir: git_dir.to_owned(),
            path,
            file,
            held: Mutex::new((Vec::new(), text.len())),
        };
        for record in text.lines().filter_map(Record::parse) {
            owner.remove_if_left(&record)?;
        }
        let mut held = owner.lock();
        owner.write(&mut held);
        drop(held);
        Ok(owner)
    }

    /// Removes the lock file `record` names if it is still the file recorded.
    fn remove_if_left(&self, record: &Record) -> Result<()> {
        // Only lock files below the Git directory are ever recorded.
        if !record.path.ends_with(".lock") || record.path.split('/').any(|c| c == "..") {
            return Ok(());
        }
        let path = self.git_dir.join(&record.path);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return Ok(());
        };
        if Record::of(&meta, record.path.clone()) == *record {
            tracing::warn!(path = %path.display(), "removing a lock this store's previous run left");
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Record>, usize)> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `file`, just created exclusively at `path` (below the Git directory), as
    /// a lock this store holds, until the returned guard is dropped.
    pub(crate) fn record<'a>(&'a self, path: &Path, file: &File) -> Option<Recorded<'a>> {
        let relative = path.strip_prefix(&self.git_dir).ok()?.to_str()?.to_owned();
        let meta = match file.metadata() {
            Ok(meta) => meta,
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "lock not recorded");
                return None;
            }
        };
        let record = Record::of(&meta, relative);
        let mut held = self.lock();
        held.0.push(record.clone());
        self.write(&mut held);
        Some(Recorded {
            owner: self,
            record,
        })
    }

    /// Rewrites the records in place, padded to the file's length.
    fn write(&self, held: &mut (Vec<Record>, usize)) {
        let mut text = String::new();
        for r in &held.0 {
            text.push_str(&format!(
                "{} {} {} {} {}\n",
                r.dev, r.ino, r.ctime.0, r.ctime.1, r.path
            ));
        }
        let len = text.len().max(held.1);
        text.extend(std::iter::repeat_n(' ', len - text.len()));
        match self.file.write_all_at(text.as_bytes(), 0) {
            Ok(()) => held.1 = len,
            Err(e) => {
                tracing::debug!(path = %self.path.display(), error = %e, "lock records not written")
            }
        }
    }
}

/// Removes every `*.lock` below `refs/` and `packed-refs.lock`: the explicit repair
/// after a crash, for when no other process writes the repository.
pub(crate) fn remove_ref_locks(git_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let packed = git_dir.join("packed-refs.lock");
    if packed.exists() {
        std::fs::remove_file(&packed).map_err(|e| Error::io(&packed, e))?;
        removed.push(packed);
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
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                removed.push(path);
            }
        }
    }
    for path in &removed {
        tracing::warn!(path = %path.display(), "removed a lock file (repair)");
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_lock_left_by_a_dead_holder_is_removed_and_nothing_else() {
        let dir = tempfile::tempdir().expect("temp dir");
        let git_dir = dir.path();
        std::fs::create_dir_all(git_dir.join("refs/heads")).expect("refs");
        let ours = git_dir.join("refs/heads/main.lock");
        let theirs = git_dir.join("refs/heads/other.lock");
        let replaced = git_dir.join("refs/heads/third.lock");
        {
            let owner = Owner::take(git_dir).expect("taken");
            let records: Vec<_> = [&ours, &theirs, &replaced]
                .iter()
                .map(|path| {
                    let file = File::create_new(path).expect("lock");
                    owner.record(path, &file).expect("recorded")
                })
                .collect();
            // `other.lock` is released, then taken by someone else (another file);
            // `third.lock` is released by renaming, and taken again by someone else.
            std::fs::remove_file(&theirs).expect("released");
            std::fs::write(&theirs, "git\n").expect("someone else's");
            std::fs::rename(&replaced, git_dir.join("refs/heads/third")).expect("renamed");
            std::fs::write(&replaced, "git\n").expect("someone else's");
            // The process dies holding them: the records are not dropped.
            std::mem::forget(records);
        }
        let owner = Owner::take(git_dir).expect("taken again");
        assert!(!ours.exists(), "the dead holder's own lock is removed");
        assert!(theirs.exists(), "a lock file made by someone else stays");
        assert!(replaced.exists(), "a lock file made by someone else stays");
        // A lock held and released normally leaves no record behind.
        let file = File::create_new(&ours).expect("lock");
        drop(owner.record(&ours, &file));
        drop(owner);
        let text = std::fs::read_to_string(git_dir.join("windlass.lock")).expect("read");
        assert!(text.trim().is_empty(), "{text:?}");
    }
}
