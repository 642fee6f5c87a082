//! Flushing what a commit wrote. Each fsync waits for the device, and on this
//! project's machines fsyncs issued together from several threads do not overlap (3 at
//! once took longer than 3 in a row), so files are flushed one by one — or, for a
//! commit's objects, all at once with `syncfs` (see [`crate::FlushObjects`]).

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// Flushes files a commit or a roll-up wrote, as `how` says: one `syncfs` (falling
/// back to an fsync each if it fails), or an fsync each.
pub(crate) fn sync_objects(how: crate::FlushObjects, files: &[(&File, &Path)]) -> Result<()> {
    if how == crate::FlushObjects::FileSystem
        && let Some((file, _)) = files.first()
        && sync_file_system(file).is_ok()
    {
        return Ok(());
    }
    for (file, path) in files {
        file.sync_all().map_err(|e| Error::io(path, e))?;
    }
    Ok(())
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
