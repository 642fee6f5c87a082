//! A file system that loses what was not flushed when the power is cut.
//!
//! [`PowerCutFs`] keeps a tree in memory and serves it over FUSE (the `fuser` crate,
//! mounted through `fusermount3`: Debian's `fuse3`). It models a page cache: every
//! write, create, rename, link and unlink is visible at once, but becomes *durable*
//! only when flushed —
//!
//! - `fsync` of a file makes its data (and size) durable;
//! - `fsync` of a directory makes its entries durable (the names in it and the inodes
//!   they name: creates, renames, links and unlinks in that directory).
//!
//! Nothing else flushes. `syncfs` never reaches a FUSE file system's process (the kernel
//! answers it for FUSE without asking), so it flushes nothing here — as on any FUSE file
//! system. Unnamed files (`O_TMPFILE`) are not supported (the kernel then reports them
//! unsupported).
//!
//! A power cut ([`PowerCutFs::cut_power_after`]) happens after a given number of
//! changing operations (the ones listed above, writes, truncations and flushes): that
//! operation and every one after it fails with `EIO`, and the durable state is frozen.
//! [`PowerCutFs::write_durable`] then writes the durable state out as a real directory
//! tree — what a machine would find after rebooting: a file whose name is durable but
//! whose data was never flushed is there, holding its last flushed data (empty if none);
//! a new directory whose entries were never flushed is empty.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

/// Attributes and entries are not cached by the kernel: every lookup asks.
const TTL: Duration = Duration::ZERO;

#[derive(Clone, Debug)]
enum Content {
    File(Vec<u8>),
    Dir(BTreeMap<OsString, u64>),
}

#[derive(Clone, Debug)]
struct Node {
    content: Content,
    perm: u16,
    nlink: u32,
    mtime: SystemTime,
    ctime: SystemTime,
}

#[derive(Default)]
struct State {
    /// What processes see.
    nodes: HashMap<u64, Node>,
    /// What survives a power cut, per inode: flushed data or flushed entries.
    durable: HashMap<u64, Content>,
    next_ino: u64,
    operations: u64,
    cut_after: Option<u64>,
    cut: bool,
    file_syncs: u64,
    dir_syncs: u64,
}

/// The in-memory file system (cheap to clone: clones share the tree). See the module
/// documentation.
#[derive(Clone, Default)]
pub struct PowerCutFs {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for PowerCutFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("PowerCutFs")
            .field("operations", &state.operations)
            .field("cut", &state.cut)
            .finish_non_exhaustive()
    }
}

/// A mounted [`PowerCutFs`]; [`Mounted::unmount`] unmounts it (dropping it does too).
#[derive(Debug)]
pub struct Mounted {
    session: fuser::BackgroundSession,
    at: PathBuf,
}

impl Mounted {
    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.at
    }

    /// Unmounts the file system and ends its thread. Close every file on it first.
    pub fn unmount(self) -> std::io::Result<()> {
        self.session.umount_and_join()
    }
}

impl PowerCutFs {
    /// A file system holding a copy of the directory tree at `dir` (files and
    /// directories; anything else is refused), all of it durable.
    pub fn load(dir: &Path) -> std::io::Result<PowerCutFs> {
        let fs = PowerCutFs::default();
        {
            let mut state = fs.lock();
            state.next_ino = 2;
            let root = load_node(&mut state, dir)?;
            let node = state.nodes.remove(&root).expect("just loaded");
            let content = state.durable.remove(&root).expect("just loaded");
            state.nodes.insert(INodeNo::ROOT.0, node);
            state.durable.insert(INodeNo::ROOT.0, content);
        }
        Ok(fs)
    }

    /// Mounts the file system at `at` (an empty directory). Fails, saying what to
    /// install, when `fusermount3` is missing.
    pub fn mount(&self, at: &Path) -> std::io::Result<Mounted> {
        let found = std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| dir.join("fusermount3").is_file())
        });
        if !found {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "fusermount3 is required to mount the power-cut test file system (apt-get install fuse3)",
            ));
        }
        let mut config = fuser::Config::default();
        config.mount_options = vec![
            fuser::MountOption::FSName("windlass-power-cut".into()),
            fuser::MountOption::DefaultPermissions,
        ];
        let session = fuser::spawn_mount(self.clone(), at, &config)?;
        Ok(Mounted {
            session,
            at: at.to_owned(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many changing operations the file system has served.
    pub fn operations(&self) -> u64 {
        self.lock().operations
    }

    /// How many `fsync`s of files and of directories it has served.
    pub fn syncs(&self) -> (u64, u64) {
        let state = self.lock();
        (state.file_syncs, state.dir_syncs)
    }

    /// Cuts the power once `n` more changing operations have been served: the next one
    /// and all after it fail with `EIO`, and nothing more becomes durable.
    pub fn cut_power_after(&self, n: u64) {
        let mut state = self.lock();
        state.cut_after = Some(state.operations + n);
    }

    /// Whether the power has been cut.
    pub fn is_cut(&self) -> bool {
        self.lock().cut
    }

    /// Writes the durable state as a directory tree at `to` (created; must not exist).
    pub fn write_durable(&self, to: &Path) -> std::io::Result<()> {
        let state = self.lock();
        write_durable(&state, INodeNo::ROOT.0, to)
    }
}

fn load_node(state: &mut State, path: &Path) -> std::io::Result<u64> {
    let meta = std::fs::symlink_metadata(path)?;
    let ino = state.next_ino;
    state.next_ino += 1;
    let content = if meta.is_dir() {
        let mut entries = BTreeMap::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let child = load_node(state, &entry.path())?;
            entries.insert(entry.file_name(), child);
        }
        Content::Dir(entries)
    } else if meta.is_file() {
        Content::File(std::fs::read(path)?)
    } else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{}: only files and directories are supported",
                path.display()
            ),
        ));
    };
    let now = SystemTime::now();
    state.durable.insert(ino, content.clone());
    state.nodes.insert(
        ino,
        Node {
            content,
            perm: (meta.mode() & 0o7777) as u16,
            nlink: if meta.is_dir() { 2 } else { 1 },
            mtime: meta.modified().unwrap_or(now),
            ctime: now,
        },
    );
    Ok(ino)
}

fn write_durable(state: &State, ino: u64, to: &Path) -> std::io::Result<()> {
    let Some(node) = state.nodes.get(&ino) else {
        return Ok(());
    };
    match (&node.content, state.durable.get(&ino)) {
        (Content::Dir(_), durable) => {
            std::fs::create_dir(to)?;
            if let Some(Content::Dir(entries)) = durable {
                for (name, child) in entries {
                    write_durable(state, *child, &to.join(name))?;
                }
            }
        }
        (Content::File(_), durable) => {
            let data = match durable {
                Some(Content::File(data)) => data.as_slice(),
                _ => &[],
            };
            std::fs::write(to, data)?;
        }
    }
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(u32::from(node.perm)))
}

impl State {
    /// Counts a changing operation; `EIO` once the power is cut.
    fn change(&mut self) -> Result<(), Errno> {
        if self.cut {
            return Err(Errno::EIO);
        }
        self.operations += 1;
        if self.cut_after.is_some_and(|n| self.operations > n) {
            self.cut = true;
            return Err(Errno::EIO);
        }
        Ok(())
    }

    fn node(&self, ino: INodeNo) -> Result<&Node, Errno> {
        self.nodes.get(&ino.0).ok_or(Errno::ENOENT)
    }

    fn node_mut(&mut self, ino: INodeNo) -> Result<&mut Node, Errno> {
        self.nodes.get_mut(&ino.0).ok_or(Errno::ENOENT)
    }

    fn entries(&self, dir: INodeNo) -> Result<&BTreeMap<OsString, u64>, Errno> {
        match &self.node(dir)?.content {
            Content::Dir(entries) => Ok(entries),
            Content::File(_) => Err(Errno::ENOTDIR),
        }
    }

    fn entries_mut(&mut self, dir: INodeNo) -> Result<&mut BTreeMap<OsString, u64>, Errno> {
        let node = self.node_mut(dir)?;
        node.mtime = SystemTime::now();
        node.ctime = node.mtime;
        match &mut node.content {
            Content::Dir(entries) => Ok(entries),
            Content::File(_) => Err(Errno::ENOTDIR),
        }
    }

    fn attr(&self, ino: u64) -> Result<FileAttr, Errno> {
        let node = self.nodes.get(&ino).ok_or(Errno::ENOENT)?;
        let (kind, size) = match &node.content {
            Content::File(data) => (FileType::RegularFile, data.len() as u64),
            Content::Dir(entries) => (FileType::Directory, entries.len() as u64),
        };
        Ok(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: node.mtime,
            mtime: node.mtime,
            ctime: node.ctime,
            crtime: node.ctime,
            kind,
            perm: node.perm,
            nlink: node.nlink,
            uid: 0,
            gid: 0,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    /// Makes a node named `name` in `parent`.
    fn make(
        &mut self,
        parent: INodeNo,
        name: &OsStr,
        content: Content,
        mode: u32,
    ) -> Result<u64, Errno> {
        if self.entries(parent)?.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        self.change()?;
        let ino = self.next_ino;
        self.next_ino += 1;
        let is_dir = matches!(content, Content::Dir(_));
        let now = SystemTime::now();
        self.nodes.insert(
            ino,
            Node {
                content,
                perm: (mode & 0o7777) as u16,
                nlink: if is_dir { 2 } else { 1 },
                mtime: now,
                ctime: now,
            },
        );
        self.entries_mut(parent)?.insert(name.to_owned(), ino);
        Ok(ino)
    }

    /// Drops the entry `name` of `parent` (its node stays, for the durable state).
    fn unlink(&mut self, parent: INodeNo, name: &OsStr, dir: bool) -> Result<(), Errno> {
        let ino = *self.entries(parent)?.get(name).ok_or(Errno::ENOENT)?;
        match (&self.node(INodeNo(ino))?.content, dir) {
            (Content::Dir(entries), true) if !entries.is_empty() => return Err(Errno::ENOTEMPTY),
            (Content::Dir(_), false) => return Err(Errno::EISDIR),
            (Content::File(_), true) => return Err(Errno::ENOTDIR),
            _ => {}
        }
        self.change()?;
        self.entries_mut(parent)?.remove(name);
        let node = self.node_mut(INodeNo(ino))?;
        node.nlink = node.nlink.saturating_sub(1);
        node.ctime = SystemTime::now();
        Ok(())
    }
}

impl Filesystem for PowerCutFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let state = self.lock();
        match state
            .entries(parent)
            .and_then(|e| e.get(name).copied().ok_or(Errno::ENOENT))
            .and_then(|ino| state.attr(ino))
        {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.lock().attr(ino.0) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut state = self.lock();
        let result = (|| {
            state.node(ino)?;
            if let Some(size) = size {
                state.change()?;
                match &mut state.node_mut(ino)?.content {
                    Content::File(data) => data.resize(size as usize, 0),
                    Content::Dir(_) => return Err(Errno::EISDIR),
                }
            }
            let node = state.node_mut(ino)?;
            if let Some(mode) = mode {
                node.perm = (mode & 0o7777) as u16;
            }
            match mtime {
                Some(TimeOrNow::SpecificTime(t)) => node.mtime = t,
                Some(TimeOrNow::Now) => node.mtime = SystemTime::now(),
                None => {}
            }
            node.ctime = SystemTime::now();
            state.attr(ino.0)
        })();
        match result {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let mut state = self.lock();
        match state
            .make(parent, name, Content::Dir(BTreeMap::new()), mode & !umask)
            .and_then(|ino| state.attr(ino))
        {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.lock().unlink(parent, name, false) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.lock().unlink(parent, name, true) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let mut state = self.lock();
        let result = (|| {
            let ino = *state.entries(parent)?.get(name).ok_or(Errno::ENOENT)?;
            if flags.contains(RenameFlags::RENAME_EXCHANGE) {
                return Err(Errno::EINVAL);
            }
            if let Some(&target) = state.entries(newparent)?.get(newname) {
                if target == ino {
                    return Ok(());
                }
                if flags.contains(RenameFlags::RENAME_NOREPLACE) {
                    return Err(Errno::EEXIST);
                }
                let is_dir = matches!(state.node(INodeNo(target))?.content, Content::Dir(_));
                state.unlink(newparent, newname, is_dir)?;
            }
            state.change()?;
            state.entries_mut(parent)?.remove(name);
            state
                .entries_mut(newparent)?
                .insert(newname.to_owned(), ino);
            state.node_mut(INodeNo(ino))?.ctime = SystemTime::now();
            Ok(())
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let mut state = self.lock();
        let result = (|| {
            if matches!(state.node(ino)?.content, Content::Dir(_)) {
                return Err(Errno::EPERM);
            }
            if state.entries(newparent)?.contains_key(newname) {
                return Err(Errno::EEXIST);
            }
            state.change()?;
            state
                .entries_mut(newparent)?
                .insert(newname.to_owned(), ino.0);
            let node = state.node_mut(ino)?;
            node.nlink += 1;
            node.ctime = SystemTime::now();
            state.attr(ino.0)
        })();
        match result {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.lock().node(ino) {
            Ok(_) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let state = self.lock();
        match state.node(ino).map(|n| &n.content) {
            Ok(Content::File(data)) => {
                let start = (offset as usize).min(data.len());
                let end = start.saturating_add(size as usize).min(data.len());
                reply.data(&data[start..end]);
            }
            Ok(Content::Dir(_)) => reply.error(Errno::EISDIR),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let mut state = self.lock();
        let result = (|| {
            state.node(ino)?;
            state.change()?;
            let node = state.node_mut(ino)?;
            node.mtime = SystemTime::now();
            node.ctime = node.mtime;
            let Content::File(file) = &mut node.content else {
                return Err(Errno::EISDIR);
            };
            let end = offset as usize + data.len();
            if file.len() < end {
                file.resize(end, 0);
            }
            file[offset as usize..end].copy_from_slice(data);
            Ok(data.len() as u32)
        })();
        match result {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // `close` flushes nothing to the device.
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut state = self.lock();
        let result = (|| {
            let content = state.node(ino)?.content.clone();
            state.change()?;
            state.file_syncs += 1;
            state.durable.insert(ino.0, content);
            Ok(())
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let state = self.lock();
        let entries = match state.entries(ino) {
            Ok(entries) => entries,
            Err(e) => return reply.error(e),
        };
        let all = [
            (ino.0, FileType::Directory, OsString::from(".")),
            (ino.0, FileType::Directory, OsString::from("..")),
        ]
        .into_iter()
        .chain(entries.iter().map(|(name, child)| {
            let kind = match state.nodes.get(child).map(|n| &n.content) {
                Some(Content::Dir(_)) => FileType::Directory,
                _ => FileType::RegularFile,
            };
            (*child, kind, name.clone())
        }));
        for (i, (child, kind, name)) in all.enumerate().skip(offset as usize) {
            if reply.add(INodeNo(child), i as u64 + 1, kind, &name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut state = self.lock();
        let result = (|| {
            let entries = state.entries(ino)?.clone();
            state.change()?;
            state.dir_syncs += 1;
            state.durable.insert(ino.0, Content::Dir(entries));
            Ok(())
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 4096, 255, 4096);
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let mut state = self.lock();
        match state
            .make(parent, name, Content::File(Vec::new()), mode & !umask)
            .and_then(|ino| state.attr(ino))
        {
            Ok(attr) => reply.created(
                &TTL,
                &attr,
                Generation(0),
                FileHandle(0),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_was_flushed_survives_a_power_cut() {
        let base = tempfile::tempdir().expect("temp dir");
        std::fs::write(base.path().join("old"), "old").expect("file");
        let fs = PowerCutFs::load(base.path()).expect("loaded");
        let mnt = tempfile::tempdir().expect("mount point");
        let mounted = fs
            .mount(mnt.path())
            .expect("mounted (needs /dev/fuse and fuse3)");
        let at = |name: &str| mnt.path().join(name);
        {
            use std::io::Write;
            // Flushed data under a flushed name.
            let mut kept = std::fs::File::create(at("kept")).expect("create");
            kept.write_all(b"kept").expect("write");
            kept.sync_all().expect("fsync");
            // A flushed name whose data was not flushed.
            std::fs::write(at("empty"), "lost").expect("write");
            // Flushed data whose name was not flushed (created after the directory flush).
            std::fs::create_dir(at("dir")).expect("mkdir");
            std::fs::File::open(mnt.path())
                .expect("dir")
                .sync_all()
                .expect("fsync dir");
            let mut nameless = std::fs::File::create(at("nameless")).expect("create");
            nameless.write_all(b"x").expect("write");
            nameless.sync_all().expect("fsync");
            // A rename not flushed: the old name survives.
            std::fs::rename(at("old"), at("new")).expect("rename");
            assert_eq!(std::fs::read(at("new")).expect("visible at once"), b"old");
        }
        let before = fs.operations();
        fs.cut_power_after(1);
        std::fs::create_dir(at("after")).expect("the first operation still works");
        let err = std::fs::write(at("later"), "y").expect_err("the power is off");
        assert_eq!(err.raw_os_error(), Some(5), "EIO: {err}");
        assert!(fs.is_cut());
        assert!(fs.operations() > before);
        mounted.unmount().expect("unmounted");

        let after = tempfile::tempdir().expect("temp dir");
        let out = after.path().join("fs");
        fs.write_durable(&out).expect("written");
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["dir", "empty", "kept", "old"]);
        assert_eq!(std::fs::read(out.join("kept")).expect("read"), b"kept");
        assert_eq!(std::fs::read(out.join("empty")).expect("read"), b"");
        assert_eq!(std::fs::read(out.join("old")).expect("read"), b"old");
    }
}
