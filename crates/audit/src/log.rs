//! The API call log: append-only, hash-chained, durable when acknowledged, over any
//! [`LogStore`]. Concurrent appends share one store transaction (group commit):
//! whoever finds no transaction running writes everything queued, so one fsync serves
//! many callers.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use crate::chain::{self, ApiCall, Broken, Record};
use crate::checkpoint::Checkpoint;
use crate::redb_store::RedbStore;
use crate::store::{CallQuery, LogStore, NewCall, Snapshot};
use crate::verify::verify_snapshot;
use crate::{Error, Result, redact};

/// The log, open for appending and reading. Cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct ApiLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ApiLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiLog").finish_non_exhaustive()
    }
}

struct Inner {
    store: Arc<dyn LogStore>,
    queue: Mutex<Queue>,
    done: Condvar,
}

/// Where a queued call's outcome is put.
type Slot = Arc<Mutex<Option<Result<u64>>>>;

#[derive(Default)]
struct Queue {
    pending: Vec<(NewCall, Slot)>,
    leader: bool,
}

impl ApiLog {
    /// Opens (or creates) the log in the `redb` file at `path` (see [`RedbStore`]).
    pub fn open(path: &Path) -> Result<ApiLog> {
        Ok(ApiLog::with_store(Arc::new(RedbStore::open(path)?)))
    }

    /// The log kept in `store`.
    pub fn with_store(store: Arc<dyn LogStore>) -> ApiLog {
        ApiLog {
            inner: Arc::new(Inner {
                store,
                queue: Mutex::new(Queue::default()),
                done: Condvar::new(),
            }),
        }
    }

    /// The store it is kept in.
    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.inner.store
    }

    pub(crate) fn snapshot(&self) -> Result<Box<dyn Snapshot + '_>> {
        self.inner.store.snapshot()
    }

    fn prepare(mut call: ApiCall) -> NewCall {
        call.variables = redact::redact(&call.variables);
        NewCall::new(&call)
    }

    /// Appends `call` (its variables redacted) and returns its sequence number once it
    /// is durable. Concurrent calls share a transaction.
    pub fn append(&self, call: ApiCall) -> Result<u64> {
        self.submit(call).wait()
    }

    /// Queues `call` (its variables redacted) for appending and returns at once;
    /// [`Pending::wait`] returns its sequence number once it is durable. A writer
    /// with many calls in flight (an async API server) submits them all and waits for
    /// each before answering its request: the calls in flight share transactions, so
    /// the log's throughput is not bound by one fsync per writer.
    ///
    /// ```
    /// use windlass_audit::{ApiCall, ApiLog};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let log = ApiLog::open(&dir.path().join("audit.redb"))?;
    /// let pending: Vec<_> = (0..3)
    ///     .map(|i| log.submit(ApiCall { duration_ms: i, ..ApiCall::default() }))
    ///     .collect();
    /// let seqs = pending
    ///     .into_iter()
    ///     .map(|p| p.wait())
    ///     .collect::<Result<Vec<_>, _>>()?;
    /// assert_eq!(seqs, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit(&self, call: ApiCall) -> Pending {
        // Redacting and serializing happen on the caller's thread, outside the lock.
        let call = ApiLog::prepare(call);
        let slot = Arc::new(Mutex::new(None));
        self.inner
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pending
            .push((call, slot.clone()));
        Pending {
            log: self.clone(),
            slot: Some(slot),
        }
    }

    /// Appends `calls` (variables redacted) in one transaction, in order, and returns
    /// their sequence numbers once they are durable: for importing or back-filling
    /// many records at once.
    pub fn append_batch(&self, calls: Vec<ApiCall>) -> Result<Vec<u64>> {
        let calls: Vec<NewCall> = calls.into_iter().map(ApiLog::prepare).collect();
        self.inner.store.append(&calls)
    }

    /// Walks the whole chain; `Ok(None)` when every record holds, else the first
    /// broken one: a record edited, missing, reordered, inserted, or not a record.
    pub fn verify(&self) -> Result<Option<Broken>> {
        let snapshot = self.snapshot()?;
        verify_snapshot(&*snapshot)
    }

    /// The records from `from` (inclusive), at most `limit`, oldest first.
    pub fn read(&self, from: u64, limit: usize) -> Result<Vec<Record>> {
        let snapshot = self.snapshot()?;
        let mut out = Vec::new();
        let mut failed = None;
        if limit > 0 {
            snapshot.scan(from, &mut |seq, stored| {
                match Record::decode(seq, stored) {
                    Ok(r) => out.push(r),
                    Err(message) => failed = Some((seq, message)),
                }
                failed.is_none() && out.len() < limit
            })?;
        }
        match failed {
            Some((seq, message)) => Err(self.corrupt(seq, message)),
            None => Ok(out),
        }
    }

    fn corrupt(&self, seq: u64, message: String) -> Error {
        Error::Corrupt {
            path: self.location(),
            seq,
            message,
        }
    }

    fn location(&self) -> std::path::PathBuf {
        self.inner.store.location().to_owned()
    }

    /// Signs the head of the log (its last record's seq and hash) with `key`, stores
    /// the checkpoint and returns it (`None` while the log is empty). Keep the latest
    /// somewhere the log's store cannot change it too (it is what proves the log was
    /// not cut short or rewritten since).
    pub fn checkpoint(&self, key: &ring::signature::Ed25519KeyPair) -> Result<Option<Checkpoint>> {
        let Some((seq, stored)) = self.snapshot()?.last()? else {
            return Ok(None);
        };
        let hash = chain::stored_hash(&stored)
            .ok_or_else(|| self.corrupt(seq, "fewer bytes than its two hashes".into()))?;
        let checkpoint = Checkpoint::sign(seq, &chain::to_hex(&hash), key);
        let json = serde_json::to_vec(&checkpoint).expect("a checkpoint always serializes");
        self.inner.store.put_checkpoint(seq, &json)?;
        Ok(Some(checkpoint))
    }

    /// [`ApiLog::verify`], and every stored checkpoint and the `trusted` one (kept
    /// elsewhere) must bear `public_key`'s signature and match the record it vouches
    /// for: a log cut short, or rewritten with every hash recomputed, is caught at the
    /// checkpoint it contradicts. After retention, a checkpoint of the last dropped
    /// record is checked against the anchor, and checkpoints of older records are
    /// skipped.
    pub fn verify_signed(
        &self,
        public_key: &[u8],
        trusted: Option<&Checkpoint>,
    ) -> Result<Option<Broken>> {
        let snapshot = self.snapshot()?;
        if let Some(broken) = verify_snapshot(&*snapshot)? {
            return Ok(Some(broken));
        }
        let mut checkpoints = Vec::new();
        for (seq, json) in snapshot.checkpoints()? {
            match serde_json::from_slice::<Checkpoint>(&json) {
                Ok(c) => checkpoints.push(c),
                Err(e) => {
                    return Ok(Some(Broken {
                        seq,
                        why: format!("the checkpoint stored for it is not a checkpoint: {e}"),
                    }));
                }
            }
        }
        checkpoints.extend(trusted.cloned());
        checkpoints.sort_by_key(|c| c.seq);
        let anchor = snapshot.anchor()?;
        let last = snapshot.last()?.map_or(anchor.first - 1, |(seq, _)| seq);
        for c in checkpoints {
            if !c.verify(public_key) {
                return Ok(Some(Broken {
                    seq: c.seq,
                    why: "its checkpoint's signature is not valid for the log's key".into(),
                }));
            }
            let hash = if c.seq + 1 < anchor.first {
                // Dropped by retention, and not the record the anchor holds.
                continue;
            } else if c.seq + 1 == anchor.first {
                Some(anchor.hash)
            } else {
                snapshot
                    .get(c.seq)?
                    .map(|stored| chain::stored_hash(&stored).unwrap_or_default())
            };
            let Some(hash) = hash else {
                return Ok(Some(Broken {
                    seq: last + 1,
                    why: format!(
                        "missing: the log ends at record {last}, but a signed checkpoint vouches for record {}",
                        c.seq
                    ),
                }));
            };
            if chain::to_hex(&hash) != c.hash {
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

/// A call submitted to the log ([`ApiLog::submit`]), not yet known to be durable.
/// Dropping it waits for it (and ignores the outcome).
#[must_use = "a submitted call is durable only once `wait` returns"]
pub struct Pending {
    log: ApiLog,
    slot: Option<Slot>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl Pending {
    /// Waits until the call is durable and returns its sequence number. Whoever
    /// waits while no transaction runs writes every call queued meanwhile, in one
    /// transaction (group commit).
    pub fn wait(mut self) -> Result<u64> {
        let slot = self.slot.take().expect("waited for once");
        self.log.wait_for(&slot)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let _ = self.log.wait_for(&slot);
        }
    }
}

impl ApiLog {
    fn wait_for(&self, slot: &Slot) -> Result<u64> {
        let inner = &self.inner;
        let mut queue = inner.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(result) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return result;
            }
            if queue.leader {
                queue = inner.done.wait(queue).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            // No transaction runs: this caller writes what is queued, its own call
            // among it, then steps down (a waiter woken with its call still queued
            // takes over).
            queue.leader = true;
            loop {
                let batch = std::mem::take(&mut queue.pending);
                if batch.is_empty() {
                    queue.leader = false;
                    break;
                }
                drop(queue);
                let (calls, slots): (Vec<NewCall>, Vec<Slot>) = batch.into_iter().unzip();
                let results: Vec<Result<u64>> = match inner.store.append(&calls) {
                    Ok(seqs) if seqs.len() == calls.len() => seqs.into_iter().map(Ok).collect(),
                    Ok(seqs) => {
                        let e = Error::Store {
                            path: inner.store.location().to_owned(),
                            message: format!(
                                "the store appended {} calls of {}",
                                seqs.len(),
                                calls.len()
                            ),
                        };
                        slots.iter().map(|_| Err(e.duplicate())).collect()
                    }
                    Err(e) => slots.iter().map(|_| Err(e.duplicate())).collect(),
                };
                for (s, r) in slots.into_iter().zip(results) {
                    *s.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                }
                queue = inner.queue.lock().unwrap_or_else(|e| e.into_inner());
                inner.done.notify_all();
                if slot.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
                    // Answered: hand the lead to a caller still waiting (woken above)
                    // rather than keep this one from its caller.
                    queue.leader = false;
                    break;
                }
            }
        }
    }
}

/// One page of a query's results, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct CallPage {
    /// The records, newest (highest seq) first.
    pub records: Vec<Record>,
    /// The cursor of the next page ([`CallQuery::before`]), when this one is full.
    pub next: Option<u64>,
}

impl ApiLog {
    /// The records `query` selects, newest first, one page (see [`CallQuery`]); the next
    /// page is `CallQuery { before: page.next, ..query }`. Served from indexes.
    ///
    /// ```
    /// use windlass_audit::{ApiCall, ApiLog, CallQuery};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let log = ApiLog::open(&dir.path().join("audit.redb"))?;
    /// for (user, commit) in [("alice", None), ("bob", Some("c0ffee")), ("alice", Some("f00d"))] {
    ///     log.append(ApiCall {
    ///         user: Some(user.into()),
    ///         commit: commit.map(Into::into),
    ///         ..ApiCall::default()
    ///     })?;
    /// }
    /// let alice = log.query(&CallQuery { user: Some("alice".into()), limit: 1, ..CallQuery::default() })?;
    /// assert_eq!(alice.records[0].seq, 3);
    /// let rest = log.query(&CallQuery { user: Some("alice".into()), before: alice.next, ..CallQuery::default() })?;
    /// assert_eq!(rest.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1]);
    /// // Which call made commit c0ffee?
    /// let made = log.query(&CallQuery { commit: Some("c0ffee".into()), ..CallQuery::default() })?;
    /// assert_eq!(made.records[0].call.user.as_deref(), Some("bob"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn query(&self, query: &CallQuery) -> Result<CallPage> {
        let found = self.snapshot()?.query(query)?;
        let full = query.limit > 0 && found.len() == query.limit;
        let records = found
            .into_iter()
            .map(|(seq, stored)| Record::decode(seq, &stored).map_err(|m| self.corrupt(seq, m)))
            .collect::<Result<Vec<_>>>()?;
        let next = if full {
            records.last().map(|r| r.seq)
        } else {
            None
        };
        Ok(CallPage { records, next })
    }
}
