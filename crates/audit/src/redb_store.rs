//! The embedded store: one `redb` file (for `windlass up` and a single API process).
//!
//! Tables: `records` (seq → stored bytes), `meta` (`anchor`: hex, `first`: decimal),
//! `checkpoints` (seq → JSON), and the indexes, written in the append's transaction:
//!
//! - one per equality filter of [`CallQuery`], `idx_<field>`, keyed by
//!   `bucket ‖ hash(value) ‖ seq` (a `u128`: the 32-bit bucket `seq / 4096`, a 32-bit
//!   FNV-1a of the value, the 64-bit seq). Bucketing by seq keeps an append's index
//!   writes within the last few pages of each index (keyed by value first, a batch of
//!   calls on 500 entities would rewrite 500 pages); a query walks the buckets newest
//!   first with one range scan each, and checks each candidate's fields (hashes
//!   collide);
//! - `idx_time`, keyed by (time, seq), for time ranges.

use std::ops::Bound;
use std::path::{Path, PathBuf};

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, Table, TableDefinition,
    WriteTransaction,
};

use crate::chain::{self, ApiCall, HEADER_LEN, Hash};
use crate::store::{Anchor, CallQuery, Indexed, LogStore, NewCall, Snapshot};
use crate::{Error, Result};

const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
const CHECKPOINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("checkpoints");
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

type Index = TableDefinition<'static, u128, ()>;
type TimeIndex = TableDefinition<'static, (&'static str, u64), ()>;

/// Seqs per index bucket.
const BUCKET_BITS: u32 = 12;

/// A value's 32-bit FNV-1a (stored in index keys: it never changes).
fn value_hash(value: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in value.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 32)) as u32
}

fn bucket(seq: u64) -> u64 {
    seq >> BUCKET_BITS
}

/// The key of `seq` under `value` in an equality index.
fn index_key(bucket: u64, hash: u32, seq: u64) -> u128 {
    (u128::from(bucket as u32) << 96) | (u128::from(hash) << 64) | u128::from(seq)
}

/// An index: its table, the field of a record it holds, the filter of a query on it.
struct IndexDef {
    table: Index,
    field: fn(&Indexed) -> Option<&str>,
    filter: fn(&CallQuery) -> Option<&str>,
}

/// The indexes of equality filters, in the order a query prefers them (most selective
/// first).
const INDEXES: [IndexDef; 6] = [
    IndexDef {
        table: TableDefinition::new("idx_commit"),
        field: |i| i.commit.as_deref(),
        filter: |q| q.commit.as_deref(),
    },
    IndexDef {
        table: TableDefinition::new("idx_target"),
        field: |i| i.target.as_deref(),
        filter: |q| q.target.as_deref(),
    },
    IndexDef {
        table: TableDefinition::new("idx_user"),
        field: |i| i.user.as_deref(),
        filter: |q| q.user.as_deref(),
    },
    IndexDef {
        table: TableDefinition::new("idx_operation"),
        field: |i| Some(&i.operation),
        filter: |q| q.operation.as_deref(),
    },
    IndexDef {
        table: TableDefinition::new("idx_outcome"),
        field: |i| Some(&i.outcome),
        filter: |q| q.outcome.as_deref(),
    },
    IndexDef {
        table: TableDefinition::new("idx_decision"),
        field: |i| Some(&i.decision),
        filter: |q| q.decision.as_deref(),
    },
];
const TIME: TimeIndex = TableDefinition::new("idx_time");

/// The log in one `redb` file. Appends are durable when they return
/// (`Durability::Immediate`).
///
/// ```
/// use std::sync::Arc;
/// use windlass_audit::{ApiLog, RedbStore};
///
/// let dir = tempfile::tempdir()?;
/// let store = RedbStore::open(&dir.path().join("audit.redb"))?;
/// let log = ApiLog::with_store(Arc::new(store));
/// assert_eq!(log.verify()?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedbStore {
    path: PathBuf,
    db: Database,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn store_error(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> Error + '_ {
    move |e| Error::Store {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

macro_rules! at {
    ($path:expr) => {
        |e| store_error($path)(&e)
    };
}

impl RedbStore {
    /// Opens (or creates) the store in the file at `path`.
    pub fn open(path: &Path) -> Result<RedbStore> {
        let db = Database::create(path).map_err(at!(path))?;
        let tx = db.begin_write().map_err(at!(path))?;
        tx.open_table(RECORDS).map_err(at!(path))?;
        tx.open_table(META).map_err(at!(path))?;
        tx.open_table(CHECKPOINTS).map_err(at!(path))?;
        Indexes::open(&tx, path)?;
        tx.commit().map_err(at!(path))?;
        // The file's name must be durable before any append is acknowledged: a file
        // just created is lost with its directory's unflushed entries otherwise.
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::Store {
                path: path.to_owned(),
                message: format!("flushing its directory {}: {e}", parent.display()),
            })?;
        Ok(RedbStore {
            path: path.to_owned(),
            db,
        })
    }

    /// The file it is in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self) -> Result<WriteTransaction> {
        self.db.begin_write().map_err(at!(&self.path))
    }
}

fn read_anchor(
    path: &Path,
    meta: &impl ReadableTable<&'static str, &'static str>,
) -> Result<Anchor> {
    let mut anchor = Anchor::default();
    if let Some(v) = meta.get("anchor").map_err(at!(path))? {
        anchor.hash = chain::hash_from_hex(v.value()).ok_or_else(|| Error::Store {
            path: path.to_owned(),
            message: format!("the chain's anchor {:?} is not a SHA-256 in hex", v.value()),
        })?;
    }
    if let Some(v) = meta.get("first").map_err(at!(path))? {
        anchor.first = v.value().parse().map_err(|_| Error::Store {
            path: path.to_owned(),
            message: format!("the first kept seq {:?} is not a number", v.value()),
        })?;
    }
    Ok(anchor)
}

/// The head the next record follows: its seq and hash.
fn head(
    path: &Path,
    records: &impl ReadableTable<u64, &'static [u8]>,
    anchor: impl FnOnce() -> Result<Anchor>,
) -> Result<(u64, Hash)> {
    match records.last().map_err(at!(path))? {
        Some((k, v)) => {
            let hash = chain::stored_hash(v.value()).ok_or_else(|| Error::Corrupt {
                path: path.to_owned(),
                seq: k.value(),
                message: format!("{} bytes, fewer than its two hashes", v.value().len()),
            })?;
            Ok((k.value(), hash))
        }
        None => {
            let anchor = anchor()?;
            Ok((anchor.first - 1, anchor.hash))
        }
    }
}

/// The open index tables of a write transaction.
struct Indexes<'t> {
    values: Vec<Table<'t, u128, ()>>,
    time: Table<'t, (&'static str, u64), ()>,
}

impl<'t> Indexes<'t> {
    fn open(tx: &'t WriteTransaction, path: &Path) -> Result<Indexes<'t>> {
        Ok(Indexes {
            values: INDEXES
                .iter()
                .map(|index| tx.open_table(index.table).map_err(at!(path)))
                .collect::<Result<_>>()?,
            time: tx.open_table(TIME).map_err(at!(path))?,
        })
    }

    /// Adds (or, with `remove`, removes) the entries of the record `seq`.
    fn update(&mut self, path: &Path, seq: u64, indexed: &Indexed, remove: bool) -> Result<()> {
        for (table, index) in self.values.iter_mut().zip(&INDEXES) {
            if let Some(value) = (index.field)(indexed) {
                let key = index_key(bucket(seq), value_hash(value), seq);
                if remove {
                    table.remove(key).map_err(at!(path))?;
                } else {
                    table.insert(key, ()).map_err(at!(path))?;
                }
            }
        }
        let key = (indexed.time.as_str(), seq);
        if remove {
            self.time.remove(key).map_err(at!(path))?;
        } else {
            self.time.insert(key, ()).map_err(at!(path))?;
        }
        Ok(())
    }
}

impl LogStore for RedbStore {
    fn location(&self) -> &Path {
        &self.path
    }

    fn append(&self, calls: &[NewCall]) -> Result<Vec<u64>> {
        let path = &self.path;
        let tx = self.write()?;
        let mut seqs = Vec::with_capacity(calls.len());
        {
            let mut records = tx.open_table(RECORDS).map_err(at!(path))?;
            let (mut seq, mut prev) = head(path, &records, || {
                read_anchor(path, &tx.open_table(META).map_err(at!(path))?)
            })?;
            let mut indexes = Indexes::open(&tx, path)?;
            for call in calls {
                seq += 1;
                let stored = chain::encode(&prev, seq, &call.json);
                records.insert(seq, stored.as_slice()).map_err(at!(path))?;
                indexes.update(path, seq, &call.indexed, false)?;
                prev = chain::stored_hash(&stored).expect("encode writes both hashes");
                seqs.push(seq);
            }
        }
        tx.commit().map_err(at!(path))?;
        Ok(seqs)
    }

    fn snapshot(&self) -> Result<Box<dyn Snapshot + '_>> {
        Ok(Box::new(RedbSnapshot {
            path: &self.path,
            tx: self.db.begin_read().map_err(at!(&self.path))?,
        }))
    }

    fn put_checkpoint(&self, seq: u64, checkpoint_json: &[u8]) -> Result<()> {
        let path = &self.path;
        let tx = self.write()?;
        tx.open_table(CHECKPOINTS)
            .map_err(at!(path))?
            .insert(seq, checkpoint_json)
            .map_err(at!(path))?;
        tx.commit().map_err(at!(path))
    }

    fn retain(&self, keep_from: u64) -> Result<u64> {
        let path = &self.path;
        let tx = self.write()?;
        let dropped = {
            let mut meta = tx.open_table(META).map_err(at!(path))?;
            let anchor = read_anchor(path, &meta)?;
            let mut records = tx.open_table(RECORDS).map_err(at!(path))?;
            let (head_seq, _) = head(path, &records, || Ok(anchor))?;
            let keep_from = keep_from.min(head_seq + 1);
            if keep_from <= anchor.first {
                return Ok(0);
            }
            let corrupt = |seq, message: String| Error::Corrupt {
                path: path.to_owned(),
                seq,
                message,
            };
            let last_dropped = keep_from - 1;
            let hash = {
                let stored = records
                    .get(last_dropped)
                    .map_err(at!(path))?
                    .ok_or_else(|| corrupt(last_dropped, "missing".into()))?;
                chain::stored_hash(stored.value()).ok_or_else(|| {
                    corrupt(
                        last_dropped,
                        format!("{} bytes, fewer than its two hashes", stored.value().len()),
                    )
                })?
            };
            let mut indexes = Indexes::open(&tx, path)?;
            let mut dropped = 0;
            for entry in records
                .extract_from_if(..keep_from, |_, _| true)
                .map_err(at!(path))?
            {
                let (k, v) = entry.map_err(at!(path))?;
                dropped += 1;
                // A record whose JSON does not parse has no index entries to remove
                // (the append wrote them from the same JSON).
                if let Ok(call) = serde_json::from_slice::<ApiCall>(
                    v.value().get(HEADER_LEN..).unwrap_or_default(),
                ) {
                    indexes.update(path, k.value(), &Indexed::of(&call), true)?;
                }
            }
            meta.insert("anchor", chain::to_hex(&hash).as_str())
                .map_err(at!(path))?;
            meta.insert("first", keep_from.to_string().as_str())
                .map_err(at!(path))?;
            tx.open_table(CHECKPOINTS)
                .map_err(at!(path))?
                .retain_in(..last_dropped, |_, _| false)
                .map_err(at!(path))?;
            dropped
        };
        tx.commit().map_err(at!(path))?;
        Ok(dropped)
    }
}

struct RedbSnapshot<'a> {
    path: &'a Path,
    tx: ReadTransaction,
}

impl RedbSnapshot<'_> {
    fn records(&self) -> Result<redb::ReadOnlyTable<u64, &'static [u8]>> {
        self.tx.open_table(RECORDS).map_err(at!(self.path))
    }
}

impl Snapshot for RedbSnapshot<'_> {
    fn anchor(&self) -> Result<Anchor> {
        read_anchor(
            self.path,
            &self.tx.open_table(META).map_err(at!(self.path))?,
        )
    }

    fn last(&self) -> Result<Option<(u64, Vec<u8>)>> {
        Ok(self
            .records()?
            .last()
            .map_err(at!(self.path))?
            .map(|(k, v)| (k.value(), v.value().to_vec())))
    }

    fn get(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .records()?
            .get(seq)
            .map_err(at!(self.path))?
            .map(|v| v.value().to_vec()))
    }

    fn scan(&self, from: u64, visit: &mut dyn FnMut(u64, &[u8]) -> bool) -> Result<()> {
        for entry in self.records()?.range(from..).map_err(at!(self.path))? {
            let (k, v) = entry.map_err(at!(self.path))?;
            if !visit(k.value(), v.value()) {
                break;
            }
        }
        Ok(())
    }

    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>> {
        let table = self.tx.open_table(CHECKPOINTS).map_err(at!(self.path))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(at!(self.path))? {
            let (k, v) = entry.map_err(at!(self.path))?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn query(&self, query: &CallQuery) -> Result<Vec<(u64, Vec<u8>)>> {
        let path = self.path;
        let records = self.records()?;
        let before = query.before.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        if query.limit == 0 {
            return Ok(out);
        }
        // Whether the record at `seq` is selected; its bytes if so.
        let selected = |seq: u64| -> Result<Option<Vec<u8>>> {
            let Some(stored) = records.get(seq).map_err(at!(path))? else {
                return Ok(None);
            };
            let stored = stored.value();
            let call =
                serde_json::from_slice::<ApiCall>(stored.get(HEADER_LEN..).unwrap_or_default())
                    .map_err(|e| Error::Corrupt {
                        path: path.to_owned(),
                        seq,
                        message: e.to_string(),
                    })?;
            Ok(Indexed::of(&call).matches(query).then(|| stored.to_vec()))
        };
        let by_value = INDEXES
            .iter()
            .find_map(|index| Some((index.table, (index.filter)(query)?)));
        if let Some((index, value)) = by_value {
            let table = self.tx.open_table(index).map_err(at!(path))?;
            let hash = value_hash(value);
            let last = records
                .last()
                .map_err(at!(path))?
                .map_or(0, |(k, _)| k.value());
            let Some(high) = before.checked_sub(1).map(|b| b.min(last)) else {
                return Ok(out);
            };
            let oldest = bucket(self.anchor()?.first);
            // Newest bucket first, one range scan each.
            'buckets: for b in (oldest..=bucket(high)).rev() {
                let range = index_key(b, hash, 0)..=index_key(b, hash, high);
                for entry in table.range(range).map_err(at!(path))?.rev() {
                    let seq = entry.map_err(at!(path))?.0.value() as u64;
                    if let Some(stored) = selected(seq)? {
                        out.push((seq, stored));
                        if out.len() == query.limit {
                            break 'buckets;
                        }
                    }
                }
            }
        } else if query.from.is_some() || query.to.is_some() {
            let table = self.tx.open_table(TIME).map_err(at!(path))?;
            let low = match query.from.as_deref() {
                Some(from) => Bound::Included((from, 0)),
                None => Bound::Unbounded,
            };
            let high = match query.to.as_deref() {
                Some(to) => Bound::Excluded((to, 0)),
                None => Bound::Unbounded,
            };
            // Time order is not seq order (writers' clocks race): gather the range's
            // seqs, then take the newest.
            let mut seqs = Vec::new();
            for entry in table.range::<(&str, u64)>((low, high)).map_err(at!(path))? {
                let seq = entry.map_err(at!(path))?.0.value().1;
                if seq < before {
                    seqs.push(seq);
                }
            }
            seqs.sort_unstable_by(|a, b| b.cmp(a));
            for seq in seqs {
                if let Some(stored) = selected(seq)? {
                    out.push((seq, stored));
                    if out.len() == query.limit {
                        break;
                    }
                }
            }
        } else {
            for entry in records.range(..before).map_err(at!(path))?.rev() {
                let (k, v) = entry.map_err(at!(path))?;
                out.push((k.value(), v.value().to_vec()));
                if out.len() == query.limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}
