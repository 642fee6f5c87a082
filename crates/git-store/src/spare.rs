//! Files made ahead of need and deleted behind the writer's back.
//!
//! Every commit writes three new files (a pack, its index and the branch's lock file)
//! and drops one (the branch's previous file). On this project's machines (ext4 without
//! a journal, mounted with `discard`) both are slow: allocating an inode skips every
//! inode deleted in the last minutes, one inode-table lookup each (`recently_deleted`
//! in the kernel), and freeing a file's block issues a discard to the device and waits
//! for it. Under a steady stream of commits each costs 100–300 µs, more than all of a
//! commit's own work.
//!
//! So a background thread keeps a few unnamed files ready (`O_TMPFILE` in the pack
//! directory): a commit writes into one and gives it its name with `linkat`, which only
//! adds a directory entry (`linkat` fails if the name exists, so a spare also serves as
//! an exclusively created lock file). An unnamed file has no name to clean up after a
//! crash: the file system frees it. And files to drop are first given a name in
//! `windlass-retired/` of the Git directory (a rename, or a link for the file a rename
//! is about to replace) and deleted by the same thread; what a crash leaves there is
//! deleted when a store next takes the writer lock. Where unnamed files are not
//! supported, or no spare is ready, files are created and deleted as usual.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// How many spares the background thread keeps ready: a durable group uses three, a
/// roll-up one more.
const READY: usize = 8;

/// How many files may wait for deletion before deleting goes before making spares.
const BACKLOG: usize = 64;

/// After this long without a commit the spares are closed (a process may hold many
/// stores, each with its own), and made again from the next commit on.
const IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// The spares of one store (the one holding the writer lock), and its files to delete.
pub(crate) struct Spares {
    dir: PathBuf,
    retired: PathBuf,
    idle_after: std::time::Duration,
    state: Mutex<State>,
    wanted: Condvar,
}

#[derive(Default)]
struct State {
    ready: Vec<File>,
    doomed: Vec<PathBuf>,
    /// Names given to retired files.
    next: u64,
    stop: bool,
    /// Making a spare failed (too many open files, say): no more are made.
    broken: bool,
    /// No commit took a spare for [`IDLE`]: none are kept until one asks again.
    idle: bool,
}

impl Spares {
    /// Starts keeping spares in `dir` (the pack directory) and deleting retired files of
    /// `git_dir`, or `None` where unnamed files cannot be made or named (another file
    /// system, no `/proc`).
    pub(crate) fn start(git_dir: &Path, dir: &Path) -> Option<Arc<Spares>> {
        Self::start_idling_after(git_dir, dir, IDLE)
    }

    fn start_idling_after(
        git_dir: &Path,
        dir: &Path,
        idle_after: std::time::Duration,
    ) -> Option<Arc<Spares>> {
        let probe = dir.join("windlass-spare-probe");
        let _ = std::fs::remove_file(&probe);
        let named = unnamed(dir).and_then(|file| name(&file, &probe));
        let _ = std::fs::remove_file(&probe);
        if let Err(e) = named {
            tracing::debug!(error = %e, "no spare files: creating files as needed");
            return None;
        }
        let retired = git_dir.join("windlass-retired");
        std::fs::create_dir_all(&retired).ok()?;
        // Left by a process that ended before deleting them.
        let doomed = std::fs::read_dir(&retired)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .collect();
        let spares = Arc::new(Spares {
            dir: dir.to_owned(),
            retired,
            idle_after,
            state: Mutex::new(State {
                ready: vec![unnamed(dir).ok()?],
                doomed,
                ..State::default()
            }),
            wanted: Condvar::new(),
        });
        let worker = spares.clone();
        std::thread::Builder::new()
            .name("git-store-spares".into())
            .spawn(move || worker.work())
            .ok()?;
        Some(spares)
    }

    /// Ends the background thread (the spares it holds are freed with it; files not yet
    /// deleted are deleted by the next store taking the writer lock).
    pub(crate) fn stop(&self) {
        self.lock().stop = true;
        self.wanted.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn work(&self) {
        loop {
            let doomed = {
                let mut state = self.lock();
                let spares_wanted = |s: &State| !s.broken && !s.idle && s.ready.len() < READY;
                while !state.stop && !spares_wanted(&state) && state.doomed.is_empty() {
                    let (next, waited) = self
                        .wanted
                        .wait_timeout(state, self.idle_after)
                        .unwrap_or_else(|e| e.into_inner());
                    state = next;
                    if waited.timed_out() && !state.idle {
                        state.idle = true;
                        state.ready.clear();
                    }
                }
                if state.stop {
                    state.ready.clear();
                    return;
                }
                // Spares first (the next commit waits for them, not for deletions),
                // unless deletions pile up under a steady stream of commits.
                if spares_wanted(&state) && state.doomed.len() < BACKLOG {
                    None
                } else {
                    state.doomed.pop()
                }
            };
            if let Some(path) = doomed {
                if let Err(e) = std::fs::remove_file(&path)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::debug!(path = %path.display(), error = %e, "deleting a retired file");
                }
                continue;
            }
            match unnamed(&self.dir) {
                Ok(file) => self.lock().ready.push(file),
                Err(e) => {
                    tracing::debug!(error = %e, "no more spare files");
                    self.lock().broken = true;
                }
            }
        }
    }

    fn take(&self) -> Option<File> {
        let file = {
            let mut state = self.lock();
            state.idle = false;
            state.ready.pop()
        };
        self.wanted.notify_one();
        file
    }

    /// A new name in the retired directory, queued for deletion once `place` put the
    /// file there.
    fn doom(&self, place: impl FnOnce(&Path) -> std::io::Result<()>) -> std::io::Result<()> {
        let name = {
            let mut state = self.lock();
            state.next += 1;
            format!("{}-{}", std::process::id(), state.next)
        };
        let path = self.retired.join(name);
        place(&path)?;
        self.lock().doomed.push(path);
        self.wanted.notify_one();
        Ok(())
    }

    /// Removes `path` now and deletes its file in the background.
    pub(crate) fn retire(&self, path: &Path) -> std::io::Result<()> {
        self.doom(|to| std::fs::rename(path, to))
    }

    /// Keeps the file at `path` alive past a rename over it, to be deleted in the
    /// background instead of by the rename.
    pub(crate) fn keep_past_rename(&self, path: &Path) -> std::io::Result<()> {
        self.doom(|to| std::fs::hard_link(path, to))
    }
}

/// Removes `path`: in the background when there are `spares`, else now.
pub(crate) fn remove(spares: Option<&Spares>, path: &Path) -> std::io::Result<()> {
    match spares.map(|s| s.retire(path)) {
        Some(Ok(())) => Ok(()),
        _ => std::fs::remove_file(path),
    }
}

/// An unnamed file in `dir`, open for writing.
#[cfg(target_os = "linux")]
fn unnamed(dir: &Path) -> std::io::Result<File> {
    use rustix::fs::{CWD, Mode, OFlags, openat};
    let fd = openat(
        CWD,
        dir,
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_bits_truncate(0o666),
    )?;
    Ok(File::from(fd))
}

#[cfg(not(target_os = "linux"))]
fn unnamed(_dir: &Path) -> std::io::Result<File> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Gives the unnamed `file` the name `path`; fails with `AlreadyExists` if taken.
#[cfg(target_os = "linux")]
fn name(file: &File, path: &Path) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, CWD, linkat};
    use std::os::fd::AsRawFd;
    let source = format!("/proc/self/fd/{}", file.as_raw_fd());
    linkat(CWD, source.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn name(_file: &File, _path: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// A ready spare holding `content`, if there is one.
fn filled_spare(spares: Option<&Spares>, content: &[u8]) -> Option<File> {
    let mut file = spares?.take()?;
    file.write_all(content).ok()?;
    Some(file)
}

/// A new file holding `content`, not yet named: name it with [`Unnamed::name`].
pub(crate) enum Unnamed {
    /// A spare.
    Spare(File),
    /// Created as `temporary` (no spare was ready): named by a rename.
    Temporary(File, PathBuf),
}

impl Unnamed {
    /// Writes `content` into a spare, or else into a file created at `temporary`.
    pub(crate) fn write(
        spares: Option<&Spares>,
        temporary: &Path,
        content: &[u8],
    ) -> std::io::Result<Unnamed> {
        if let Some(file) = filled_spare(spares, content) {
            return Ok(Unnamed::Spare(file));
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(temporary)?;
        file.write_all(content)?;
        Ok(Unnamed::Temporary(file, temporary.to_owned()))
    }

    pub(crate) fn file(&self) -> &File {
        match self {
            Unnamed::Spare(file) | Unnamed::Temporary(file, _) => file,
        }
    }

    /// Where the file is until named: its temporary path, or the pack directory's.
    pub(crate) fn path<'a>(&'a self, dir: &'a Path) -> &'a Path {
        match self {
            Unnamed::Spare(_) => dir,
            Unnamed::Temporary(_, path) => path,
        }
    }

    /// Names the file `path`, replacing a file there. Returns the open file.
    pub(crate) fn name(self, path: &Path) -> std::io::Result<File> {
        match self {
            Unnamed::Spare(file) => match name(&file, path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::fs::remove_file(path)?;
                    name(&file, path)?;
                    Ok(file)
                }
                named => named.map(|()| file),
            },
            Unnamed::Temporary(file, temporary) => {
                std::fs::rename(&temporary, path)?;
                Ok(file)
            }
        }
    }
}

/// Creates `path` holding `content`, failing with `AlreadyExists` if it exists (a lock
/// file): a spare named there when one is ready.
pub(crate) fn create_exclusive(
    spares: Option<&Spares>,
    path: &Path,
    content: &[u8],
) -> std::io::Result<File> {
    if let Some(file) = filled_spare(spares, content) {
        match name(&file, path) {
            Ok(()) => return Ok(file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(e),
            // Another file system (the spares live in the pack directory): created here.
            Err(_) => {}
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    if let Err(e) = file.write_all(content) {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_are_kept_while_used_closed_when_idle_and_retired_files_deleted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pack_dir = dir.path().join("objects/pack");
        std::fs::create_dir_all(&pack_dir).expect("pack dir");
        let idle = std::time::Duration::from_millis(200);
        let Some(spares) = Spares::start_idling_after(dir.path(), &pack_dir, idle) else {
            eprintln!("unnamed files are not supported here");
            return;
        };
        let ready = || spares.lock().ready.len();
        let wait_for = |what: &str, done: &dyn Fn() -> bool| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !done() {
                assert!(std::time::Instant::now() < deadline, "{what}");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        };
        wait_for("the pool fills", &|| ready() == READY);
        let file = Unnamed::write(Some(&spares), &pack_dir.join("tmp"), b"pack")
            .expect("written")
            .name(&pack_dir.join("a.pack"))
            .expect("named");
        drop(file);
        assert_eq!(
            std::fs::read(pack_dir.join("a.pack")).expect("read"),
            b"pack"
        );
        assert!(!pack_dir.join("tmp").exists(), "made from a spare");
        let lock = create_exclusive(Some(&spares), &pack_dir.join("a.lock"), b"1").expect("lock");
        drop(lock);
        let again = create_exclusive(Some(&spares), &pack_dir.join("a.lock"), b"2");
        assert_eq!(
            again.map(|_| ()).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::AlreadyExists)
        );
        spares.retire(&pack_dir.join("a.pack")).expect("retired");
        assert!(!pack_dir.join("a.pack").exists());
        wait_for("retired files are deleted", &|| {
            std::fs::read_dir(dir.path().join("windlass-retired")).map_or(0, |d| d.count()) == 0
        });
        wait_for("idle: the spares are closed", &|| {
            spares.lock().idle && ready() == 0
        });
        assert!(spares.take().is_none(), "none kept while idle");
        wait_for("a commit asks again: the pool fills", &|| ready() == READY);
        spares.stop();
    }
}
