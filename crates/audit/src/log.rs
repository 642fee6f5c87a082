//! The API call log in `redb`: append-only, hash-chained, durable when acknowledged.
//! Concurrent appends share one write transaction (group commit): whoever finds no
//! transaction running writes everything queued, so one fsync serves many callers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::chain::{ApiCall, Broken, GENESIS, Record, verify};
use crate::checkpoint::Checkpoint;
use crate::{Error, Result, redact};

const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
/// Signed checkpoints: seq → JSON [`Checkpoint`].
const CHECKPOINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("checkpoints");
/// `anchor` (hash before the first kept record) and `first` (its seq) as text.
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// The log, open for appending and reading. Cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct ApiLog {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: Database,
    queue: Mutex<Queue>,
    done: Condvar,
}

/// Where a queued call's outcome is put.
type Slot = Arc<Mutex<Option<Result<u64>>>>;

#[derive(Default)]
struct Queue {
    pending: Vec<(ApiCall, Slot)>,
    leader: bool,
}

impl ApiLog {
    /// Opens (or creates) the log at `path`.
    pub fn open(path: &Path) -> Result<ApiLog> {
        let store = |e: &dyn std::fmt::Display| Error::Store {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let db = Database::create(path).map_err(|e| store(&e))?;
        let tx = db.begin_write().map_err(|e| store(&e))?;
        tx.open_table(RECORDS).map_err(|e| store(&e))?;
        tx.open_table(META).map_err(|e| store(&e))?;
        tx.open_table(CHECKPOINTS).map_err(|e| store(&e))?;
        tx.commit().map_err(|e| store(&e))?;
        Ok(ApiLog {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                db,
                queue: Mutex::new(Queue::default()),
                done: Condvar::new(),
            }),
        })
    }

    fn store_error(&self, e: impl std::fmt::Display) -> Error {
        Error::Store {
            path: self.inner.path.clone(),
            message: e.to_string(),
        }
    }

    /// Appends `call` (its variables redacted) and returns its sequence number once it
    /// is on disk.
    pub fn append(&self, mut call: ApiCall) -> Result<u64> {
        call.variables = redact::redact(&call.variables);
        let slot = Arc::new(Mutex::new(None));
        let mut queue = self.inner.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.pending.push((call, slot.clone()));
        if queue.leader {
            loop {
                queue = self
                    .inner
                    .done
                    .wait(queue)
                    .unwrap_or_else(|e| e.into_inner());
                if let Some(result) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    return result;
                }
            }
        }
        queue.leader = true;
        loop {
            let batch = std::mem::take(&mut queue.pending);
            if batch.is_empty() {
                queue.leader = false;
                break;
            }
            drop(queue);
            let calls: Vec<ApiCall> = batch.iter().map(|(c, _)| c.clone()).collect();
            let results: Vec<Result<u64>> = match self.write(calls) {
                Ok(seqs) => seqs.into_iter().map(Ok).collect(),
                Err(e) => batch
                    .iter()
                    .map(|_| {
                        Err(Error::Store {
                            path: self.inner.path.clone(),
                            message: e.to_string(),
                        })
                    })
                    .collect(),
            };
            for ((_, s), r) in batch.into_iter().zip(results) {
                *s.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            }
            queue = self.inner.queue.lock().unwrap_or_else(|e| e.into_inner());
            self.inner.done.notify_all();
        }
        drop(queue);
        slot.lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .expect("the leader answers its own call")
    }

    /// One transaction appending `calls` in order.
    fn write(&self, calls: Vec<ApiCall>) -> Result<Vec<u64>> {
        let tx = self
            .inner
            .db
            .begin_write()
            .map_err(|e| self.store_error(e))?;
        let mut seqs = Vec::with_capacity(calls.len());
        {
            let mut table = tx.open_table(RECORDS).map_err(|e| self.store_error(e))?;
            let (mut seq, mut prev) = match table.last().map_err(|e| self.store_error(e))? {
                Some((k, v)) => {
                    let record = self.parse(k.value(), v.value())?;
                    (record.seq, record.hash)
                }
                None => {
                    let meta = tx.open_table(META).map_err(|e| self.store_error(e))?;
                    let (anchor, first) = self.anchor(&meta)?;
                    (first - 1, anchor)
                }
            };
            for call in calls {
                seq += 1;
                let record = Record::new(&prev, seq, call);
                let bytes = serde_json::to_vec(&record).expect("a record always serializes");
                table
                    .insert(seq, bytes.as_slice())
                    .map_err(|e| self.store_error(e))?;
                prev = record.hash;
                seqs.push(seq);
            }
        }
        tx.commit().map_err(|e| self.store_error(e))?;
        Ok(seqs)
    }

    /// The hash the first kept record follows, and its sequence number (the genesis
    /// and 1 until retention drops records).
    fn anchor(
        &self,
        meta: &impl ReadableTable<&'static str, &'static str>,
    ) -> Result<(String, u64)> {
        let anchor = meta
            .get("anchor")
            .map_err(|e| self.store_error(e))?
            .map_or(GENESIS.to_owned(), |v| v.value().to_owned());
        let first = meta
            .get("first")
            .map_err(|e| self.store_error(e))?
            .and_then(|v| v.value().parse::<u64>().ok())
            .unwrap_or(1);
        Ok((anchor, first))
    }

    fn parse(&self, seq: u64, bytes: &[u8]) -> Result<Record> {
        serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
            path: self.inner.path.clone(),
            seq,
            message: e.to_string(),
        })
    }

    /// Walks the whole chain; `Ok(None)` when every record holds, else the first
    /// broken one. A record whose bytes do not parse is broken too.
    pub fn verify(&self) -> Result<Option<Broken>> {
        let tx = self
            .inner
            .db
            .begin_read()
            .map_err(|e| self.store_error(e))?;
        let meta = tx.open_table(META).map_err(|e| self.store_error(e))?;
        let (anchor, first) = self.anchor(&meta)?;
        let table = tx.open_table(RECORDS).map_err(|e| self.store_error(e))?;
        let mut records = Vec::new();
        for entry in table.iter().map_err(|e| self.store_error(e))? {
            let (k, v) = entry.map_err(|e| self.store_error(e))?;
            match serde_json::from_slice::<Record>(v.value()) {
                Ok(r) => records.push((k.value(), r)),
                Err(e) => {
                    // Everything before it must hold for this to be the first break.
                    let before = verify(&anchor, first, records.iter().map(|(k, r)| (*k, r)));
                    return Ok(Some(before.unwrap_or(Broken {
                        seq: k.value(),
                        why: format!("not a record: {e}"),
                    })));
                }
            }
        }
        Ok(verify(&anchor, first, records.iter().map(|(k, r)| (*k, r))))
    }

    /// The records from `from` (inclusive), at most `limit`, oldest first.
    pub fn read(&self, from: u64, limit: usize) -> Result<Vec<Record>> {
        let tx = self
            .inner
            .db
            .begin_read()
            .map_err(|e| self.store_error(e))?;
        let table = tx.open_table(RECORDS).map_err(|e| self.store_error(e))?;
        let mut out = Vec::new();
        for entry in table
            .range(from..)
            .map_err(|e| self.store_error(e))?
            .take(limit)
        {
            let (k, v) = entry.map_err(|e| self.store_error(e))?;
            out.push(self.parse(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// Signs the head of the log (its last record's seq and hash) with `key`, stores
    /// the checkpoint and returns it (`None` while the log is empty). Keep the latest
    /// somewhere the log's store cannot change it too (it is what proves the log was
    /// not cut short or rewritten since).
    pub fn checkpoint(&self, key: &ring::signature::Ed25519KeyPair) -> Result<Option<Checkpoint>> {
        let tx = self
            .inner
            .db
            .begin_write()
            .map_err(|e| self.store_error(e))?;
        let checkpoint = {
            let records = tx.open_table(RECORDS).map_err(|e| self.store_error(e))?;
            let Some((k, v)) = records.last().map_err(|e| self.store_error(e))? else {
                return Ok(None);
            };
            let head = self.parse(k.value(), v.value())?;
            Checkpoint::sign(head.seq, &head.hash, key)
        };
        {
            let mut table = tx
                .open_table(CHECKPOINTS)
                .map_err(|e| self.store_error(e))?;
            let bytes = serde_json::to_vec(&checkpoint).expect("a checkpoint always serializes");
            table
                .insert(checkpoint.seq, bytes.as_slice())
                .map_err(|e| self.store_error(e))?;
        }
        tx.commit().map_err(|e| self.store_error(e))?;
        Ok(Some(checkpoint))
    }

    /// [`ApiLog::verify`], and every stored checkpoint and the `trusted` one (kept
    /// elsewhere) must bear `public_key`'s signature and match the record it vouches
    /// for: a log cut short, or rewritten with every hash recomputed, is caught at the
    /// checkpoint it contradicts.
    pub fn verify_signed(
        &self,
        public_key: &[u8],
        trusted: Option<&Checkpoint>,
    ) -> Result<Option<Broken>> {
        if let Some(broken) = self.verify()? {
            return Ok(Some(broken));
        }
        let tx = self
            .inner
            .db
            .begin_read()
            .map_err(|e| self.store_error(e))?;
        let records = tx.open_table(RECORDS).map_err(|e| self.store_error(e))?;
        let stored = tx
            .open_table(CHECKPOINTS)
            .map_err(|e| self.store_error(e))?;
        let mut checkpoints = Vec::new();
        for entry in stored.iter().map_err(|e| self.store_error(e))? {
            let (k, v) = entry.map_err(|e| self.store_error(e))?;
            match serde_json::from_slice::<Checkpoint>(v.value()) {
                Ok(c) => checkpoints.push(c),
                Err(e) => {
                    return Ok(Some(Broken {
                        seq: k.value(),
                        why: format!("the checkpoint stored for it is not a checkpoint: {e}"),
                    }));
                }
            }
        }
        checkpoints.extend(trusted.cloned());
        checkpoints.sort_by_key(|c| c.seq);
        let last = records
            .last()
            .map_err(|e| self.store_error(e))?
            .map_or(0, |(k, _)| k.value());
        for c in checkpoints {
            if !c.verify(public_key) {
                return Ok(Some(Broken {
                    seq: c.seq,
                    why: "its checkpoint's signature is not valid for the log's key".into(),
                }));
            }
            let Some(v) = records.get(c.seq).map_err(|e| self.store_error(e))? else {
                return Ok(Some(Broken {
                    seq: last + 1,
                    why: format!(
                        "missing: the log ends at record {last}, but a signed checkpoint vouches for record {}",
                        c.seq
                    ),
                }));
            };
            if self.parse(c.seq, v.value())?.hash != c.hash {
                return Ok(Some(Broken {
                    seq: c.seq,
                    why: "differs from its signed checkpoint: the records up to it were rewritten"
                        .into(),
                }));
            }
        }
        Ok(None)
    }
}
