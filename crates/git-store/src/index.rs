//! A persisted changed-path index: for every commit the store makes, its parents, its
//! committer time and the files it changed against its parent. History walks read it
//! instead of decoding commits and comparing trees (what `git commit-graph` with
//! changed-path filters does for `git log -- <path>`).
//!
//! The file (`windlass-history` in the Git directory) is append-only and only a cache:
//! each record is a fact about a commit id, so it never goes stale; a record torn by a
//! crash fails its checksum and ends the readable part (the next writer truncates it
//! away); a commit without a record is walked the slow way.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gix::ObjectId;

use crate::{Error, Result};

/// What the index knows about one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub commit: ObjectId,
    pub parents: Vec<ObjectId>,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    /// Files whose blob differs from the first parent (or that exist, for a root
    /// commit); only files: a commit that replaced a tree by a file (or the reverse)
    /// gets no record.
    pub paths: Vec<String>,
}

impl Record {
    /// Whether the commit changed `path` (a file or a directory prefix, `""` for all).
    pub fn touches(&self, path: &str) -> bool {
        self.paths.iter().any(|p| {
            path.is_empty()
                || p == path
                || (p.len() > path.len() && p.starts_with(path) && p.as_bytes()[path.len()] == b'/')
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut body =
            Vec::with_capacity(64 + self.paths.iter().map(|p| p.len() + 2).sum::<usize>());
        body.extend_from_slice(self.commit.as_bytes());
        body.extend_from_slice(&self.time.to_le_bytes());
        body.push(self.parents.len() as u8);
        for parent in &self.parents {
            body.extend_from_slice(parent.as_bytes());
        }
        body.extend_from_slice(&(self.paths.len() as u32).to_le_bytes());
        for path in &self.paths {
            body.extend_from_slice(&(path.len() as u16).to_le_bytes());
            body.extend_from_slice(path.as_bytes());
        }
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&checksum(&body).to_le_bytes());
    }

    fn decode(body: &[u8]) -> Option<Record> {
        let mut at = 0;
        let mut take = |n: usize| -> Option<&[u8]> {
            let s = body.get(at..at + n)?;
            at += n;
            Some(s)
        };
        let commit = ObjectId::try_from(take(20)?).ok()?;
        let time = i64::from_le_bytes(take(8)?.try_into().ok()?);
        let parent_count = take(1)?[0] as usize;
        let mut parents = Vec::with_capacity(parent_count);
        for _ in 0..parent_count {
            parents.push(ObjectId::try_from(take(20)?).ok()?);
        }
        let count = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let mut paths = Vec::with_capacity(count.min(4096));
        for _ in 0..count {
            let len = u16::from_le_bytes(take(2)?.try_into().ok()?) as usize;
            paths.push(String::from_utf8(take(len)?.to_vec()).ok()?);
        }
        Some(Record {
            commit,
            parents,
            time,
            paths,
        })
    }
}

/// FNV-1a, 64 bits: detects torn records, nothing more.
fn checksum(data: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in data {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Parses whole records from `data`; returns them and how many bytes they took.
fn parse(data: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(len) = data.get(at..at + 4) {
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(body) = data.get(at + 4..at + 4 + len) else {
            break;
        };
        let Some(sum) = data.get(at + 4 + len..at + 12 + len) else {
            break;
        };
        if checksum(body).to_le_bytes() != sum {
            break;
        }
        let Some(record) = Record::decode(body) else {
            break;
        };
        records.push(record);
        at += 12 + len;
    }
    (records, at)
}

pub(crate) fn path(git_dir: &Path) -> PathBuf {
    git_dir.join("windlass-history")
}

/// Cuts a record torn by a crash off the end of the file (called by the writer once,
/// with the repository's writer lock held), so that appends follow whole records.
pub(crate) fn repair(git_dir: &Path) -> Result<()> {
    let path = path(git_dir);
    let Ok(data) = std::fs::read(&path) else {
        return Ok(());
    };
    let (_, valid) = parse(&data);
    if valid < data.len() {
        tracing::warn!(path = %path.display(), valid, len = data.len(), "truncating a torn history index");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        file.set_len(valid as u64)
            .map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// Appends records (one write; not flushed: the index is a cache).
pub(crate) fn append(git_dir: &Path, records: &[Record]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut buf = Vec::new();
    for record in records {
        record.encode(&mut buf);
    }
    let path = path(git_dir);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    file.write_all(&buf).map_err(|e| Error::io(&path, e))
}

/// The index as loaded in memory, refreshed from the file's new tail on use.
#[derive(Default)]
pub(crate) struct Loaded {
    /// Shared with walks in progress; copied on write only while one holds it.
    pub records: Arc<HashMap<ObjectId, Record>>,
    /// Bytes of the file read so far.
    offset: u64,
}

impl Loaded {
    /// Reads records appended since the last call (by this or another process).
    pub fn refresh(&mut self, git_dir: &Path) {
        let path = path(git_dir);
        let Ok(mut file) = std::fs::File::open(&path) else {
            return;
        };
        let Ok(len) = file.metadata().map(|m| m.len()) else {
            return;
        };
        if len < self.offset {
            // Truncated (a torn tail cut off): start over.
            *self = Loaded::default();
        }
        if len == self.offset || file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut data = Vec::with_capacity((len - self.offset) as usize);
        if file.read_to_end(&mut data).is_err() {
            return;
        }
        let (records, used) = parse(&data);
        self.offset += used as u64;
        if !records.is_empty() {
            let map = Arc::make_mut(&mut self.records);
            for record in records {
                map.insert(record.commit, record);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(byte: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[byte; 20])
    }

    #[test]
    fn records_round_trip_and_a_torn_tail_is_ignored() {
        let records = vec![
            Record {
                commit: id(1),
                parents: vec![],
                time: 1_700_000_000,
                paths: vec!["a.yaml".into(), "dir/b.yaml".into()],
            },
            Record {
                commit: id(2),
                parents: vec![id(1)],
                time: -5,
                paths: vec![],
            },
        ];
        let mut buf = Vec::new();
        for r in &records {
            r.encode(&mut buf);
        }
        let whole = buf.len();
        assert_eq!(parse(&buf), (records.clone(), whole));
        buf.truncate(whole - 3);
        assert_eq!(parse(&buf), (records[..1].to_vec(), parse(&buf).1));
        assert!(parse(&buf).1 < whole);
    }

    #[test]
    fn touches_matches_files_and_directory_prefixes() {
        let r = Record {
            commit: id(1),
            parents: vec![],
            time: 0,
            paths: vec!["apps/team-1/a.yaml".into()],
        };
        assert!(r.touches(""));
        assert!(r.touches("apps"));
        assert!(r.touches("apps/team-1"));
        assert!(r.touches("apps/team-1/a.yaml"));
        assert!(!r.touches("apps/team-"));
        assert!(!r.touches("apps/team-1/a.yaml/x"));
        assert!(!r.touches("other"));
    }
}
