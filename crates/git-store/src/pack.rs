//! Writing new objects as packs: one pack (and its index) per batch of commits instead
//! of one loose file per object, and a geometric roll-up that keeps the number of packs
//! logarithmic in the number of objects.
//!
//! Creating a file costs 30–190 µs on ext4 and each one needs its own fsync (and one of
//! its directory) to be durable: a commit of one file is five loose objects in five
//! directories, but one pack and one index in one directory.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::objs::Kind;

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
    let crc = crc32(&bytes);
    Ok(Entry { id, bytes, crc })
}

/// Writes `entries` (duplicates skipped) as one pack with its index into `pack_dir`,
/// both flushed to disk with the directory when `durable`. Returns the pack's path, or
/// `None` when there was nothing to write. The index is renamed into place last: readers
/// find packs through their index, so they never see a pack without one.
pub(crate) fn write_pack<'a>(
    pack_dir: &Path,
    entries: impl IntoIterator<Item = &'a Entry>,
    durable: bool,
) -> Result<Option<PathBuf>> {
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

    std::fs::create_dir_all(pack_dir).map_err(|e| Error::io(pack_dir, e))?;
    let name = format!("pack-{pack_id}");
    let pack_path = pack_dir.join(format!("{name}.pack"));
    let idx_path = pack_dir.join(format!("{name}.idx"));
    if idx_path.exists() {
        // The same objects in the same order: already there.
        return Ok(Some(pack_path));
    }
    // Not ending in `.pack` or `.idx`: git looks at every such file.
    let tmp_pack = pack_dir.join(format!("{TEMPORARY}{pack_id}-pack"));
    let tmp_idx = pack_dir.join(format!("{TEMPORARY}{pack_id}-idx"));
    let pack_file = write_file(&tmp_pack, &pack)?;
    let idx_file = write_file(&tmp_idx, &idx)?;
    if durable {
        // Both flushes are started together: the file system commits them as one.
        let idx_synced = std::thread::scope(|scope| {
            let other = scope.spawn(|| idx_file.sync_all());
            pack_file.sync_all().map_err(|e| Error::io(&tmp_pack, e))?;
            other
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("fsync thread panicked")))
                .map_err(|e| Error::io(&tmp_idx, e))
        });
        idx_synced?;
    }
    std::fs::rename(&tmp_pack, &pack_path).map_err(|e| Error::io(&pack_path, e))?;
    std::fs::rename(&tmp_idx, &idx_path).map_err(|e| Error::io(&idx_path, e))?;
    if durable {
        crate::store::sync_dir(pack_dir)?;
    }
    Ok(Some(pack_path))
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

fn write_file(path: &Path, data: &[u8]) -> Result<std::fs::File> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(data).map_err(|e| Error::io(path, e))?;
    Ok(file)
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
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let idx = entry.path();
        let Some(name) = idx.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name
            .strip_prefix("pack-")
            .and_then(|n| n.strip_suffix(".idx"))
        else {
            continue;
        };
        let sibling = |ext: &str| pack_dir.join(format!("pack-{stem}.{ext}"));
        if ["keep", "promisor", "bitmap", "mtimes"]
            .iter()
            .any(|ext| sibling(ext).exists())
        {
            continue;
        }
        let pack = sibling("pack");
        let Ok(meta) = std::fs::metadata(&pack) else {
            continue;
        };
        out.push(PackFile {
            idx,
            pack,
            size: meta.len(),
        });
    }
    out.sort_by_key(|p| p.size);
    out
}

/// How many packs (of the smallest) a geometric roll-up with factor 2 merges: after it,
/// every remaining pack is at least twice the size of all smaller ones together.
fn roll_up_count(sizes: &[u64]) -> usize {
    let mut sum = 0u64;
    let mut count = 0;
    for (i, size) in sizes.iter().enumerate() {
        if *size < 2 * sum {
            count = i + 1;
        }
        sum += size;
    }
    // A single pack that breaks the progression is merged with everything below it.
    if count == 1 { 0 } else { count }
}

/// Merges small packs (geometric roll-up, factor 2) once there are more than
/// `threshold` of them. Only packs of whole objects are merged (the store's own, and
/// any others without deltas); their entries are copied without recompression. The
/// merged pack is on disk (flushed when `durable`) before the old ones are retired, so
/// no object is ever missing. A retired pack loses its index at once (new lookups go to
/// the merged pack) but keeps its data until the next roll-up (`retired`): a reader
/// that still holds the old index finds the data it points to. Returns how many packs
/// were merged.
pub(crate) fn roll_up(
    pack_dir: &Path,
    threshold: usize,
    durable: bool,
    retired: &mut Vec<PathBuf>,
) -> Result<usize> {
    for pack in retired.drain(..) {
        let _ = std::fs::remove_file(pack);
    }
    let all = packs(pack_dir);
    if all.len() <= threshold {
        return Ok(0);
    }
    let sizes: Vec<u64> = all.iter().map(|p| p.size).collect();
    let count = roll_up_count(&sizes);
    if count < 2 {
        return Ok(0);
    }
    let mut entries = Vec::new();
    let mut merged = Vec::new();
    for pack in &all[..count] {
        match read_whole_objects(pack) {
            Ok(Some(mut e)) => {
                entries.append(&mut e);
                merged.push(pack);
            }
            // Has deltas: left for `git repack`.
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(pack = %pack.pack.display(), error = %e, "not rolled up");
            }
        }
    }
    if merged.len() < 2 {
        return Ok(0);
    }
    let written = write_pack(pack_dir, &entries, durable)?;
    for pack in &merged {
        if written.as_deref() == Some(pack.pack.as_path()) {
            continue;
        }
        // Without its index the pack is invisible to git and to new lookups.
        let _ = std::fs::remove_file(&pack.idx);
        let _ = std::fs::remove_file(pack.pack.with_extension("rev"));
        retired.push(pack.pack.clone());
    }
    tracing::debug!(
        packs = merged.len(),
        objects = entries.len(),
        "rolled up packs"
    );
    Ok(merged.len())
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

/// CRC-32 (IEEE), as pack indexes record it per entry.
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for byte in data {
        crc = TABLE[((crc ^ u32::from(*byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn geometric_roll_up_merges_the_small_packs() {
        assert_eq!(roll_up_count(&[100, 200, 600]), 0);
        assert_eq!(roll_up_count(&[1, 1, 1, 1, 100]), 4);
        assert_eq!(roll_up_count(&[1, 1, 3, 100, 150]), 5);
        assert_eq!(roll_up_count(&[5]), 0);
    }
}
