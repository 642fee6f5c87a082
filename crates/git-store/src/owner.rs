//! The writer lock, `windlass.lock`, and the mark on the store's own reference locks.
//!
//! One writing store per repository per process takes `windlass.lock` (an OS file lock,
//! released when the process dies). A `git` process beside it does not know that lock:
//! the two exclude each other only through Git's own lock files (`<ref>.lock`), so a
//! lock file is never removed because it looks old or because `windlass.lock` was
//! free. The store removes one only when it is provably its own: every reference lock
//! file the store creates bears the extended attribute `user.windlass` (set on the
//! open file, flushed with it), which no `git` sets, and a store taking over after a
//! crash — holding `windlass.lock`, so no other store's lock is live — removes the lock
//! files bearing it. Anything else stays until [`crate::Store::remove_stale_locks`], the
//! explicit repair: lock files of `git`, and the store's own where the file system keeps
//! no extended attributes or a crash came between creating a lock file and marking it.
//!
//! The mark lives in the lock file's inode, written anyway when the file is made; a
//! record elsewhere (a line in `windlass.lock` per lock, say) would dirty one more block
//! for every durable commit to flush.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// The extended attribute marking a reference lock file the store made.
const MARK: &str = "user.windlass";

/// `windlass.lock`, held by this process (the OS lock goes with the open file).
pub(crate) struct Owner {
    _file: File,
}

impl Owner {
    /// Takes `windlass.lock` in `git_dir` (waiting up to 5 s for another process of this
    /// machine to let go of it), then removes the reference locks a previous holder
    /// marked and left behind.
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
        for lock in ref_locks(git_dir) {
            if marked(&lock) {
                tracing::warn!(path = %lock.display(), "removing a lock this store's previous run left");
                std::fs::remove_file(&lock).map_err(|e| Error::io(&lock, e))?;
            }
        }
        Ok(Owner { _file: file })
    }

    /// Marks `file`, a reference lock file this store just created exclusively, as the
    /// store's own. Where the file system keeps no extended attributes it stays
    /// unmarked, and a crash leaves it for the explicit repair.
    pub(crate) fn mark(&self, path: &Path, file: &File) {
        if let Err(e) = rustix::fs::fsetxattr(file, MARK, b"lock", rustix::fs::XattrFlags::empty())
        {
            tracing::debug!(path = %path.display(), error = %e, "lock file not marked");
        }
    }
}

/// Whether the file at `path` bears the store's mark.
fn marked(path: &Path) -> bool {
    rustix::fs::lgetxattr(path, MARK, &mut [0u8; 8]).is_ok()
}

/// Every reference lock file: `*.lock` below `refs/`, and `packed-refs.lock`.
fn ref_locks(git_dir: &Path) -> Vec<PathBuf> {
    let mut locks = Vec::new();
    let packed = git_dir.join("packed-refs.lock");
    if packed.exists() {
        locks.push(packed);
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
                locks.push(path);
            }
        }
    }
    locks
}

/// Removes every `*.lock` below `refs/` and `packed-refs.lock`: the explicit repair
/// after a crash, for when no other process writes the repository.
pub(crate) fn remove_ref_locks(git_dir: &Path) -> Result<Vec<PathBuf>> {
    let removed = ref_locks(git_dir);
    for path in &removed {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        tracing::warn!(path = %path.display(), "removed a lock file (repair)");
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_lock_left_by_a_dead_holder_is_removed_and_nothing_else() {
        let dir = tempfile::tempdir().expect("temp dir");
        let git_dir = dir.path();
        std::fs::create_dir_all(git_dir.join("refs/heads/team")).expect("refs");
        let ours = git_dir.join("refs/heads/team/main.lock");
        let theirs = git_dir.join("refs/heads/other.lock");
        let replaced = git_dir.join("refs/heads/third.lock");
        {
            let owner = Owner::take(git_dir).expect("taken");
            for path in [&ours, &replaced] {
                let file = File::create_new(path).expect("lock");
                owner.mark(path, &file);
            }
            if !marked(&ours) {
                eprintln!("no extended attributes here");
                return;
            }
            // `other.lock` is git's; `third.lock` is released by renaming, and taken
            // again by git (another file).
            std::fs::write(&theirs, "git\n").expect("git's");
            std::fs::rename(&replaced, git_dir.join("refs/heads/third")).expect("renamed");
            std::fs::write(&replaced, "git\n").expect("git's");
            // The process dies holding `main.lock`.
        }
        let _owner = Owner::take(git_dir).expect("taken again");
        assert!(!ours.exists(), "the dead holder's own lock is removed");
        assert!(theirs.exists(), "a lock file made by git stays");
        assert!(replaced.exists(), "a lock file made by git stays");
        assert!(
            git_dir.join("refs/heads/third").exists(),
            "a reference stays"
        );
    }
}
