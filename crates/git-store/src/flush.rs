//! Flushing what a commit wrote. Each fsync waits for the device, and on this
//! project's machines fsyncs issued together from several threads do not overlap (3 at
//! once took longer than 3 in a row), so files are flushed one by one — or, for a
//! commit's objects, all at once with `syncfs` (see [`crate::FlushObjects`]).

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// Flushes files a commit or a roll-up wrote, as `how` says: one `syncfs` (falling
/// back to an fsync each if it fails, or where it flushes nothing), or an fsync each.
pub(crate) fn sync_objects(how: crate::FlushObjects, files: &[(&File, &Path)]) -> Result<()> {
    if how == crate::FlushObjects::FileSystem
        && let Some((file, _)) = files.first()
        && syncfs_flushes(file)
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

/// Whether `syncfs` on the file system holding `file` flushes it. Not on FUSE: the
/// kernel answers `syncfs` for a FUSE file system without passing it on to the
/// process serving it (only virtiofs asks), so nothing reaches the disk behind it and
/// `syncfs` still succeeds. Unknown (statfs fails): no.
#[cfg(target_os = "linux")]
fn syncfs_flushes(file: &File) -> bool {
    /// `FUSE_SUPER_MAGIC` of `linux/magic.h`.
    const FUSE: u64 = 0x6573_5546;
    rustix::fs::fstatfs(file).is_ok_and(|s| u64::try_from(s.f_type).ok() != Some(FUSE))
}

#[cfg(not(target_os = "linux"))]
fn syncfs_flushes(_file: &File) -> bool {
    false
}
