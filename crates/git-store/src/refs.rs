//! Moving a branch with Git's own protocol for loose references: take `<ref>.lock`
//! (exclusive create), compare the current value with the expected one while holding
//! it, write the new value into the lock file and rename it over the reference.
//!
//! The store does this itself rather than through a gix transaction for two reasons:
//! a durable commit flushes the lock file *together with* the commit's pack, before the
//! rename makes the new value visible (a transaction renames as it commits); and a
//! compare-and-swap here never locks `packed-refs` — gix takes that lock for every
//! update that must match while a `packed-refs` file exists, Git only for deletions —
//! which costs a file creation and a deletion per commit. The protocol is Git's, so
//! `git` processes working on the same repository exclude each other with the store.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gix::ObjectId;

use crate::Error;
use crate::owner::Owner;
use crate::spare::Spares;

pub(crate) enum RefUpdate {
    /// The reference is not where we expected: someone else moved it.
    Moved(Option<ObjectId>),
    /// Anything else, such as a lock file held longer than the timeout
    /// ([`Error::LockHeld`]).
    Failed(Error),
}

/// A reference locked for an update whose expectation held: the new value is in the
/// lock file. Dropping it without [`RefLock::commit`] releases the lock and changes
/// nothing.
pub(crate) struct RefLock {
    git_dir: PathBuf,
    refname: String,
    path: PathBuf,
    lock: PathBuf,
    file: File,
    previous: Option<ObjectId>,
    new: ObjectId,
    /// Whether taking the lock made directories.
    made_dirs: bool,
    committed: bool,
}

/// A reflog entry to append when the reference moves (`None`: the repository keeps
/// no reflog for it).
pub(crate) struct LogEntry<'a> {
    pub committer: &'a gix::actor::Signature,
    pub message: &'a str,
}

/// Locks `refname` with `new` in the lock file, and checks the reference is at
/// `expected` (`None`: must not exist) while holding the lock. A lock file that exists
/// belongs to another writer (a `git` process, say): taking it is retried until
/// `timeout` has passed, then the update fails with [`Error::LockHeld`], the lock file
/// left alone. The lock file is marked as `owner`'s, if given (see [`crate::owner`]).
pub(crate) fn lock(
    git_dir: &Path,
    spares: Option<&Spares>,
    owner: Option<&Owner>,
    refname: &str,
    expected: Option<ObjectId>,
    new: ObjectId,
    timeout: Duration,
) -> Result<RefLock, RefUpdate> {
    let path = git_dir.join(refname);
    let lock = git_dir.join(format!("{refname}.lock"));
    let content = format!("{new}\n");
    let started = Instant::now();
    let mut backoff = Duration::from_millis(1);
    let mut made_dirs = false;
    let file = loop {
        match crate::spare::create_exclusive(spares, &lock, content.as_bytes()) {
            Ok(file) => break file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !made_dirs => {
                // A branch in a new directory.
                if let Some(parent) = lock.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| RefUpdate::Failed(Error::io(parent, e)))?;
                }
                made_dirs = true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(RefUpdate::Failed(Error::LockHeld { path: lock, waited }));
                }
                tracing::debug!(lock = %lock.display(), "reference locked by another writer, waiting");
                std::thread::sleep(backoff.min(timeout - waited));
                backoff = (backoff * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(RefUpdate::Failed(Error::io(&lock, e))),
        }
    };
    if let Some(owner) = owner {
        owner.mark(&lock, &file);
    }
    let mut held = RefLock {
        git_dir: git_dir.to_owned(),
        refname: refname.to_owned(),
        path,
        lock,
        file,
        previous: None,
        new,
        made_dirs,
        committed: false,
    };
    // From here on, dropping `held` removes the lock file.
    held.previous = read(git_dir, refname).map_err(RefUpdate::Failed)?;
    if held.previous != expected {
        return Err(RefUpdate::Moved(held.previous));
    }
    Ok(held)
}

impl RefLock {
    /// The lock file, holding the new value (to flush before [`RefLock::commit`]).
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    pub(crate) fn lock_path(&self) -> &Path {
        &self.lock
    }

    /// Whether the reference did not exist before or its directories are new: the
    /// directories above it need flushing too.
    pub(crate) fn creates(&self) -> bool {
        self.previous.is_none() || self.made_dirs
    }

    /// Renames the lock file over the reference and appends to its reflog. The file
    /// replaced is deleted by the `spares` thread, if any. An error means the reference
    /// did not move; once it has moved, what goes wrong after (the reflog) is returned
    /// as a warning.
    pub(crate) fn commit(
        mut self,
        spares: Option<&Spares>,
        log: Option<LogEntry<'_>>,
    ) -> Result<Vec<String>, Error> {
        if let Some(spares) = spares
            && let Err(e) = spares.keep_past_rename(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::debug!(path = %self.path.display(), error = %e, "replaced file deleted inline");
        }
        std::fs::rename(&self.lock, &self.path).map_err(|e| Error::io(&self.path, e))?;
        self.committed = true;
        let mut warnings = Vec::new();
        if let Some(log) = log
            && let Err(e) = append_log(&self.git_dir, &self.refname, self.previous, self.new, &log)
        {
            tracing::warn!(refname = %self.refname, error = %e, "the reference moved, its reflog was not written");
            warnings.push(format!(
                "{} moved, but its reflog was not written: {e}",
                self.refname
            ));
        }
        Ok(warnings)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RefLock {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.lock);
        }
    }
}

/// The object a reference names: its loose file, else its line in `packed-refs`.
/// `None` when it exists in neither.
pub(crate) fn read(git_dir: &Path, refname: &str) -> Result<Option<ObjectId>, Error> {
    let path = git_dir.join(refname);
    match std::fs::read(&path) {
        Ok(bytes) => parse_loose(&bytes).map(Some).ok_or_else(|| {
            Error::git(
                format!("reading {refname}"),
                format!(
                    "{} does not hold an object id (a symbolic or damaged reference)",
                    path.display()
                ),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => packed(git_dir, refname),
        Err(e) if path.is_dir() => Err(Error::git(
            format!("reading {refname}"),
            format!("{} is a directory: {e}", path.display()),
        )),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn parse_loose(bytes: &[u8]) -> Option<ObjectId> {
    let hex = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    ObjectId::from_hex(hex).ok()
}

/// `refname`'s value in `packed-refs` (lines `<id> <name>`, comments `#`, peeled `^`).
fn packed(git_dir: &Path, refname: &str) -> Result<Option<ObjectId>, Error> {
    let path = git_dir.join("packed-refs");
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    for line in text.split(|b| *b == b'\n') {
        if line.starts_with(b"#") || line.starts_with(b"^") {
            continue;
        }
        let Some(space) = line.iter().position(|b| *b == b' ') else {
            continue;
        };
        if &line[space + 1..] == refname.as_bytes() {
            return ObjectId::from_hex(&line[..space])
                .map(Some)
                .map_err(|e| Error::git(format!("reading {refname} from {}", path.display()), e));
        }
    }
    Ok(None)
}

/// Appends `<old> <new> <committer> <time> <offset>\t<message>` to `logs/<refname>`,
/// as Git does: when the repository logs updates of such references
/// (`core.logAllRefUpdates`), or when the log exists already.
fn append_log(
    git_dir: &Path,
    refname: &str,
    previous: Option<ObjectId>,
    new: ObjectId,
    log: &LogEntry<'_>,
) -> Result<(), Error> {
    let path = git_dir.join("logs").join(refname);
    let mut line = Vec::with_capacity(160);
    let old = previous.unwrap_or_else(|| ObjectId::null(new.kind()));
    write!(line, "{old} {new} ").expect("writing to a Vec");
    log.committer
        .write_to(&mut line)
        .map_err(|e| Error::git("writing a reflog entry", e))?;
    let summary = log.message.lines().next().unwrap_or_default();
    writeln!(line, "\twindlass: {summary}").expect("writing to a Vec");
    let open = || {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
    };
    let mut file = match open() {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            open().map_err(|e| Error::io(&path, e))?
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    file.write_all(&line).map_err(|e| Error::io(&path, e))
}

/// Whether an update of `refname` is logged: `core.logAllRefUpdates` as gix read it
/// (on in repositories with a work tree), for branches, remote-tracking branches and
/// notes; or always when its log exists.
pub(crate) fn logs(repo: &gix::Repository, refname: &str) -> bool {
    use gix::refs::store::WriteReflog;
    match repo.refs.write_reflog {
        WriteReflog::Always => true,
        WriteReflog::Normal => {
            ["refs/heads/", "refs/remotes/", "refs/notes/"]
                .iter()
                .any(|p| refname.starts_with(p))
                || repo.common_dir().join("logs").join(refname).is_file()
        }
        WriteReflog::Disable => repo.common_dir().join("logs").join(refname).is_file(),
    }
}

/// Moves `refname` from `expected` to `new` with a strict compare-and-swap (no flush);
/// what goes wrong once it moved is logged.
pub(crate) fn update(
    repo: &gix::Repository,
    refname: &str,
    expected: Option<ObjectId>,
    new: ObjectId,
    committer: &gix::actor::Signature,
    message: &str,
    timeout: Duration,
) -> Result<(), RefUpdate> {
    let held = lock(
        repo.common_dir(),
        None,
        None,
        refname,
        expected,
        new,
        timeout,
    )?;
    let log = logs(repo, refname).then_some(LogEntry { committer, message });
    held.commit(None, log).map_err(RefUpdate::Failed)?;
    Ok(())
}
