//! Writing new objects as packs: one pack (and its index) per batch of commits instead
//! of one loose file per object, and a tiered roll-up that keeps the number of packs
//! logarithmic in the number of objects while rewriting each object only a few times.
//!
//! Creating a file costs 30–190 µs on ext4 and each one needs its own fsync (and one of
//! its directory) to be durable: a commit of one file is five loose objects in five
//! directories, but one pack and one index in one directory.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::objs::Kind;

use crate::spare::{Spares, Unnamed};
use crate::{Error, Result};

/// The packed form of one object: its id, the entry bytes (header and zlib stream) and
/// their CRC-32, as the index records it.
pub(crate) struct Entry {
    pub id: ObjectId,
    pub bytes: Vec<u8>,
    pub crc: u32,
}

thread_local! {
    /// Compressor state is large (hundreds of KiB): one per thread, reset per object.
    static DEFLATE: RefCell<gix::zlib::stream::deflate::Compress> =
        RefCell::new(gix::zlib::stream::deflate::Compress::new(gix::zlib::Compression::BEST_SPEED));
}

/// Hashes and compresses one object into a pack entry (no delta).
pub(crate) fn entry(kind: Kind, data: &[u8]) -> Result<Entry> {
    let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, kind, data)
        .map_err(|e| Error::git("hashing an object", e))?;
    let type_bits: u8 = match kind {
        Kind::Commit => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
        Kind::Tag => 4,
    };
    let mut bytes = Vec::with_capacity(data.len() / 2 + 64);
    // Type and size: 4 bits of size in the first byte, then 7 bits per byte.
    let mut size = data.len() as u64;
    let mut first = (type_bits << 4) | (size & 0x0f) as u8;
    size >>= 4;
    if size > 0 {
        first |= 0x80;
    }
    bytes.push(first);
    while size > 0 {
        let mut byte = (size & 0x7f) as u8;
        size >>= 7;
        if size > 0 {
            byte |= 0x80;
        }
        bytes.push(byte);
    }
    DEFLATE.with(|cell| -> Result<()> {
        use gix::zlib::Status;
        use gix::zlib::stream::deflate::FlushCompress;
        let mut z = cell.borrow_mut();
        z.reset();
        let header = bytes.len();
        // zlib's bound for incompressible input, plus room for the header.
        bytes.resize(header + data.len() + data.len() / 1000 + 64, 0);
        let mut input = data;
        let mut at = header;
        loop {
            let (in_before, out_before) = (z.total_in(), z.total_out());
            let status = z
                .compress(input, &mut bytes[at..], FlushCompress::Finish)
                .map_err(|e| Error::git("compressing an object", e))?;
            input = &input[(z.total_in() - in_before) as usize..];
            at += (z.total_out() - out_before) as usize;
            match status {
                Status::StreamEnd => break,
                _ => {
                    let len = bytes.len();
                    bytes.resize(len + 4096, 0);
                }
            }
        }
        bytes.truncate(at);
        Ok(())
    })?;
    let crc = crc32fast::hash(&bytes);
    Ok(Entry { id, bytes, crc })
}

/// A pack just written: the pack under its final name (invisible without an index),
/// the index unnamed until [`NewPack::publish`] names it.
struct NewPack {
    pack_path: PathBuf,
    pack_dir: PathBuf,
    idx_path: PathBuf,
    pack: std::fs::File,
    idx: Unnamed,
}

impl NewPack {
    /// The two files, to flush before publishing.
    fn files(&self) -> [(&std::fs::File, &Path); 2] {
        [
            (&self.pack, &self.pack_path),
            (self.idx.file(), self.idx.path(&self.pack_dir)),
        ]
    }

    /// Names the index: readers (git's and ours) find packs through their index, so
    /// they never see a pack without one, nor an index half-written.
    fn publish(self) -> Result<PathBuf> {
        self.idx
            .name(&self.idx_path)
            .map_err(|e| Error::io(&self.idx_path, e))?;
        Ok(self.pack_path)
    }
}

/// Writes `entries` (duplicates skipped) as one pack with its index into `pack_dir`;
/// nothing is flushed or visible yet (see [`NewPack`]). `None` when there was nothing
/// to write or the same pack is there already.
fn write_pack<'a>(
    pack_dir: &Path,
    spares: Option<&Spares>,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<Option<NewPack>> {
    let mut seen = HashSet::new();
    let entries: Vec<&Entry> = entries.into_iter().filter(|e| seen.insert(e.id)).collect();
    if entries.is_empty() {
        return Ok(None);
    }
    let total: usize = entries.iter().map(|e| e.bytes.len()).sum();
    let mut pack = Vec::with_capacity(12 + total + 20);
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    let mut index: Vec<(ObjectId, u32, u64)> = Vec::with_capacity(entries.len());
    for e in &entries {
        index.push((e.id, e.crc, pack.len() as u64));
        pack.extend_from_slice(&e.bytes);
    }
    let pack_id = sha1(&pack)?;
    pack.extend_from_slice(pack_id.as_bytes());

    index.sort_unstable_by_key(|e| e.0);
    let mut idx = Vec::with_capacity(8 + 1024 + index.len() * 28 + 40);
    idx.extend_from_slice(&[0xff, b't', b'O', b'c']);
    idx.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, ..) in &index {
        fanout[id.as_bytes()[0] as usize] += 1;
    }
    let mut running = 0;
    for count in fanout {
        running += count;
        idx.extend_from_slice(&running.to_be_bytes());
    }
    for (id, ..) in &index {
        idx.extend_from_slice(id.as_bytes());
    }
    for (_, crc, _) in &index {
        idx.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for (.., offset) in &index {
        if *offset < 0x8000_0000 {
            idx.extend_from_slice(&(*offset as u32).to_be_bytes());
        } else {
            idx.extend_from_slice(&(0x8000_0000 | large.len() as u32).to_be_bytes());
            large.push(*offset);
        }
    }
    for offset in large {
        idx.extend_from_slice(&offset.to_be_bytes());
    }
    idx.extend_from_slice(pack_id.as_bytes());
    let idx_id = sha1(&idx)?;
    idx.extend_from_slice(idx_id.as_bytes());

    let name = format!("pack-{pack_id}");
    let pack_path = pack_dir.join(format!("{name}.pack"));
    let idx_path = pack_dir.join(format!("{name}.idx"));
    if idx_path.exists() {
        // The same objects in the same order: already there.
        return Ok(None);
    }
    // Temporaries (when no spare is ready) do not end in `.pack` or `.idx`: git looks
    // at every such file. A pack a crash left without its index is invisible, and
    // removed by a store taking the lock an hour later.
    let write = |temporary: String, data: &[u8], what: &Path| {
        Unnamed::write(spares, &pack_dir.join(temporary), data).map_err(|e| Error::io(what, e))
    };
    let pack_file = write(format!("{TEMPORARY}{pack_id}-pack"), &pack, &pack_path)?
        .name(&pack_path)
        .map_err(|e| Error::io(&pack_path, e))?;
    let idx = write(format!("{TEMPORARY}{pack_id}-idx"), &idx, &idx_path)?;
    Ok(Some(NewPack {
        pack_path,
        pack_dir: pack_dir.to_owned(),
        idx_path,
        pack: pack_file,
        idx,
    }))
}

/// Writes a pack and makes it visible. When `durable` says how, the pack and its
/// index are flushed (with `also`, files that must be on disk before what comes next)
/// before the index is named, and the pack directory after. Returns the pack's path,
/// or `None` when there was nothing new to write.
pub(crate) fn write_visible<'a>(
    pack_dir: &Path,
    spares: Option<&Spares>,
    entries: impl IntoIterator<Item = &'a Entry>,
    durable: Option<crate::FlushObjects>,
    also: &[(&std::fs::File, &Path)],
) -> Result<Option<PathBuf>> {
    let new = write_pack(pack_dir, spares, entries)?;
    if let Some(how) = durable {
        let mut files = also.to_vec();
        if let Some(new) = &new {
            files.extend(new.files());
        }
        crate::flush::sync_objects(how, &files)?;
    }
    let Some(new) = new else {
        return Ok(None);
    };
    let path = new.publish()?;
    if durable.is_some() {
        crate::store::sync_dir(pack_dir)?;
    }
    Ok(Some(path))
}

/// How the store's half-written packs are named.
const TEMPORARY: &str = "windlass-tmp-";

/// Removes packs a crashed writer left half-written or retired (called with the writer
/// lock held).
pub(crate) fn remove_stale_temporaries(pack_dir: &Path) {
    let Ok(dir) = std::fs::read_dir(pack_dir) else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Packs a roll-up retired (index removed) before its process ended; an hour
        // old, so not a pack that `git` is just moving into place.
        let orphan = name.starts_with("pack-")
            && name.ends_with(".pack")
            && !pack_dir.join(name.replace(".pack", ".idx")).exists()
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(3600));
        if orphan {
            let _ = std::fs::remove_file(entry.path());
            continue;
        }
        if name.starts_with(TEMPORARY) {
            tracing::warn!(path = %entry.path().display(), "removing a half-written pack");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn sha1(data: &[u8]) -> Result<ObjectId> {
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(data);
    hasher
        .try_finalize()
        .map_err(|e| Error::git("hashing a pack", e))
}

/// A pack in the pack directory, by its index.
struct PackFile {
    idx: PathBuf,
    pack: PathBuf,
    size: u64,
}

/// Packs that can be rolled up: an index with its pack, no `.keep`, `.promisor` or
/// bitmap, in size order.
fn packs(pack_dir: &Path) -> Vec<PackFile> {
    let Ok(dir) = std::fs::read_dir(pack_dir) else {
        return Vec::new();
    };
    let names: HashSet<String> = dir
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    let mut out = Vec::new();
    for name in &names {
        let Some(stem) = name
            .strip_prefix("pack-")
            .and_then(|n| n.strip_suffix(".idx"))
        else {
            continue;
        };
        let sibling = |ext: &str| format!("pack-{stem}.{ext}");
        if ["keep", "promisor", "bitmap", "mtimes"]
            .iter()
            .any(|ext| names.contains(&sibling(ext)))
        {
            continue;
        }
        let pack = pack_dir.join(sibling("pack"));
        let Ok(meta) = std::fs::metadata(&pack) else {
            continue;
        };
        out.push(PackFile {
            idx: pack_dir.join(name),
            pack,
            size: meta.len(),
        });
    }
    out.sort_by_key(|p| p.size);
    out
}

/// How many packs of one tier are merged into one.
const FANOUT: usize = 8;
/// Packs below this size are in tier 0; each tier above holds packs [`FANOUT`] times
/// larger than the one below.
const TIER_BASE: u64 = 32 * 1024;

/// The tier of a pack of `size` bytes.
fn tier(size: u64) -> u32 {
    let mut tier = 0;
    let mut limit = TIER_BASE;
    while size >= limit {
        tier += 1;
        match limit.checked_mul(FANOUT as u64) {
            Some(next) => limit = next,
            None => break,
        }
    }
    tier
}

/// The packs to merge next: all of the lowest tier that holds [`FANOUT`] or more.
fn full_tier(packs: &[PackFile]) -> Option<Vec<&PackFile>> {
    let mut tiers: std::collections::BTreeMap<u32, Vec<&PackFile>> = Default::default();
    for pack in packs {
        tiers.entry(tier(pack.size)).or_default().push(pack);
    }
    tiers.into_values().find(|packs| packs.len() >= FANOUT)
}

/// What a store's roll-ups remember between runs.
#[derive(Default)]
pub(crate) struct RollUp {
    /// Packs merged by the last roll-up: their index is gone, their data is removed by
    /// the next run (or when the store is dropped).
    pub retired: Vec<PathBuf>,
    /// Packs that cannot be merged (deltas, damage): not read again.
    unmergeable: HashSet<PathBuf>,
}

/// Merges small packs in tiers (a size-tiered compaction): when [`FANOUT`] packs of one
/// tier have piled up they become one pack of the next tier, so an object is rewritten
/// once per tier (about log₈ of the data written) and the number of packs stays
/// logarithmic. Only packs of whole objects are merged (the store's own, and any others
/// without deltas); their entries are copied without recompression. The merged pack is
/// on disk (flushed when `durable` says how) before the old ones are retired, so no object is
/// ever missing. A retired pack loses its index at once (new lookups go to the merged
/// pack) but keeps its data until the next roll-up: a reader that still holds the old
/// index finds the data it points to. Returns how many packs were merged.
pub(crate) fn roll_up(
    pack_dir: &Path,
    spares: Option<&Spares>,
    durable: Option<crate::FlushObjects>,
    state: &mut RollUp,
) -> Result<usize> {
    for pack in state.retired.drain(..) {
        let _ = crate::spare::remove(spares, &pack);
    }
    let mut total = 0;
    loop {
        let mut all = packs(pack_dir);
        all.retain(|p| !state.unmergeable.contains(&p.pack));
        let Some(tier) = full_tier(&all) else {
            return Ok(total);
        };
        let mut entries = Vec::new();
        let mut merged = Vec::new();
        for pack in tier {
            match read_whole_objects(pack) {
                Ok(Some(mut e)) => {
                    entries.append(&mut e);
                    merged.push(pack);
                }
                // Has deltas: left for `git repack`.
                Ok(None) => {
                    state.unmergeable.insert(pack.pack.clone());
                }
                Err(e) => {
                    tracing::debug!(pack = %pack.pack.display(), error = %e, "not rolled up");
                    state.unmergeable.insert(pack.pack.clone());
                }
            }
        }
        if merged.len() < 2 {
            continue;
        }
        let written = write_visible(pack_dir, spares, &entries, durable, &[])?;
        for pack in &merged {
            if written.as_deref() == Some(pack.pack.as_path()) {
                continue;
            }
            // Without its index the pack is invisible to git and to new lookups.
            let _ = crate::spare::remove(spares, &pack.idx);
            let _ = std::fs::remove_file(pack.pack.with_extension("rev"));
            state.retired.push(pack.pack.clone());
        }
        tracing::debug!(
            packs = merged.len(),
            objects = entries.len(),
            "rolled up packs"
        );
        total += merged.len();
    }
}

/// The entries of a version-2 pack with its version-2 index, or `None` if the pack
/// holds deltas (their offsets would not survive a copy).
fn read_whole_objects(pack: &PackFile) -> Result<Option<Vec<Entry>>> {
    let idx = std::fs::read(&pack.idx).map_err(|e| Error::io(&pack.idx, e))?;
    let data = std::fs::read(&pack.pack).map_err(|e| Error::io(&pack.pack, e))?;
    let bad = |what: &str| Error::git(format!("reading {}", pack.idx.display()), what.to_owned());
    if idx.len() < 8 + 1024 || idx[..4] != [0xff, b't', b'O', b'c'] || idx[4..8] != [0, 0, 0, 2] {
        return Err(bad("not a version-2 index"));
    }
    if data.len() < 32 || &data[..4] != b"PACK" {
        return Err(bad("not a pack"));
    }
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let n = be32(&idx[8 + 255 * 4..]) as usize;
    let names = 8 + 1024;
    let crcs = names + n * 20;
    let offsets = crcs + n * 4;
    let large = offsets + n * 4;
    if idx.len() < large + 40 {
        return Err(bad("truncated index"));
    }
    let mut objects: Vec<(u64, ObjectId, u32)> = Vec::with_capacity(n);
    for i in 0..n {
        let id = ObjectId::try_from(&idx[names + i * 20..names + i * 20 + 20])
            .map_err(|_| bad("bad object id"))?;
        let crc = be32(&idx[crcs + i * 4..]);
        let raw = be32(&idx[offsets + i * 4..]);
        let offset = if raw & 0x8000_0000 == 0 {
            u64::from(raw)
        } else {
            let at = large + (raw & 0x7fff_ffff) as usize * 8;
            let bytes = idx.get(at..at + 8).ok_or_else(|| bad("bad large offset"))?;
            u64::from_be_bytes(bytes.try_into().map_err(|_| bad("bad large offset"))?)
        };
        objects.push((offset, id, crc));
    }
    objects.sort_unstable_by_key(|o| o.0);
    let end = (data.len() - 20) as u64;
    let mut out = Vec::with_capacity(n);
    for (i, (offset, id, crc)) in objects.iter().enumerate() {
        let next = objects.get(i + 1).map_or(end, |o| o.0);
        if next > end || *offset >= next {
            return Err(bad("offsets out of range"));
        }
        let bytes = &data[*offset as usize..next as usize];
        if !(1..=4).contains(&((bytes[0] >> 4) & 0x07)) {
            return Ok(None);
        }
        out.push(Entry {
            id: *id,
            bytes: bytes.to_vec(),
            crc: *crc,
        });
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_grow_by_the_fanout_and_only_a_full_tier_is_merged() {
        assert_eq!(tier(0), 0);
        assert_eq!(tier(TIER_BASE - 1), 0);
        assert_eq!(tier(TIER_BASE), 1);
        assert_eq!(tier(TIER_BASE * 8 - 1), 1);
        assert_eq!(tier(TIER_BASE * 8), 2);
        assert!(tier(u64::MAX) < 32, "the largest size has a tier");
        let packs = |sizes: &[u64]| -> Vec<PackFile> {
            sizes
                .iter()
                .enumerate()
                .map(|(i, size)| PackFile {
                    idx: PathBuf::from(format!("{i}.idx")),
                    pack: PathBuf::from(format!("{i}.pack")),
                    size: *size,
                })
                .collect()
        };
        let small = TIER_BASE / 2;
        let big = TIER_BASE * 2;
        assert!(full_tier(&packs(&[small; 7])).is_none());
        let mixed = packs(&[
            small, big, small, big, small, small, big, small, small, small, small,
        ]);
        let chosen = full_tier(&mixed).expect("tier 0 is full");
        assert_eq!(chosen.len(), 8);
        assert!(chosen.iter().all(|p| p.size == small));
        let upper = packs(&[big; 8]);
        assert_eq!(full_tier(&upper).map(|t| t.len()), Some(8));
    }
}
