//! Flushing several files at once. An fsync waits for the disk, and independent
//! flushes issued together cost about one round trip instead of one each: the first is
//! done by the caller, the others by a few long-lived threads (spawning threads per
//! commit would cost more than it saves).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use crate::{Error, Result};

/// Threads kept for flushing: a durable commit flushes up to four files at once.
const THREADS: usize = 3;

struct Job {
    file: File,
    path: PathBuf,
    done: Arc<Latch>,
}

/// Counts outstanding flushes of one call and keeps the first error.
struct Latch {
    state: Mutex<(usize, Option<Error>)>,
    finished: Condvar,
}

impl Latch {
    fn finish(&self, result: Result<()>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 -= 1;
        if let Err(e) = result {
            state.1.get_or_insert(e);
        }
        if state.0 == 0 {
            self.finished.notify_all();
        }
    }
}

fn pool() -> Option<&'static Mutex<Sender<Job>>> {
    static POOL: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut started = 0;
        for i in 0..THREADS {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("git-store-flush-{i}"))
                .spawn(move || work(&receiver));
            started += usize::from(spawned.is_ok());
        }
        (started > 0).then(|| Mutex::new(sender))
    })
    .as_ref()
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = receiver.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(job) = job else { return };
        let result = job.file.sync_all().map_err(|e| Error::io(&job.path, e));
        job.done.finish(result);
    }
}

/// Flushes every file (contents and metadata; a directory's entries) to disk, all at
/// once, and returns when all are done. The first error, naming its path, is returned.
pub(crate) fn sync_all(files: &[(&File, &Path)]) -> Result<()> {
    let Some(((first, first_path), rest)) = files.split_first() else {
        return Ok(());
    };
    let done = Arc::new(Latch {
        state: Mutex::new((0, None)),
        finished: Condvar::new(),
    });
    let mut inline = Vec::new();
    if let Some(pool) = pool() {
        let sender = pool.lock().unwrap_or_else(|e| e.into_inner());
        for (file, path) in rest {
            let Ok(dup) = file.try_clone() else {
                inline.push((*file, *path));
                continue;
            };
            done.state.lock().unwrap_or_else(|e| e.into_inner()).0 += 1;
            let job = Job {
                file: dup,
                path: path.to_path_buf(),
                done: done.clone(),
            };
            if sender.send(job).is_err() {
                // Every flushing thread is gone: flush here.
                done.state.lock().unwrap_or_else(|e| e.into_inner()).0 -= 1;
                inline.push((*file, *path));
            }
        }
    } else {
        inline.extend(rest.iter().copied());
    }
    let mut result = first.sync_all().map_err(|e| Error::io(first_path, e));
    for (file, path) in inline {
        if result.is_ok() {
            result = file.sync_all().map_err(|e| Error::io(path, e));
        }
    }
    let mut state = done.state.lock().unwrap_or_else(|e| e.into_inner());
    while state.0 > 0 {
        state = done.finished.wait(state).unwrap_or_else(|e| e.into_inner());
    }
    match state.1.take() {
        Some(e) => Err(e),
        None => result,
    }
}

/// Writes back everything unwritten on the file system holding `file` and flushes the
/// device (`syncfs`, Linux). An error may also stem from another file's write-back:
/// the caller then flushes its own files one by one.
#[cfg(target_os = "linux")]
pub(crate) fn sync_file_system(file: &File) -> std::io::Result<()> {
    rustix::fs::syncfs(file)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn sync_file_system(_file: &File) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}
