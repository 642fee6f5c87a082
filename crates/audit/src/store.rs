//! Where the log's records live: the [`LogStore`] trait, implemented by the embedded
//! `redb` store ([`crate::RedbStore`], the default) and by a PostgreSQL store (several
//! API replicas sharing one log and one chain).
//!
//! A store keeps bytes; [`crate::ApiLog`] owns the policy (group commit, redaction,
//! verification, checkpoints, retention). A store's whole contract:
//!
//! - **records**: `seq` (u64, 1, 2, 3, ... without gaps among the kept ones) → the stored
//!   bytes of [`crate::chain`] (`prev ‖ hash ‖ the call's JSON`), never changed once
//!   written, dropped only oldest first by [`LogStore::retain`];
//! - **the anchor** ([`Anchor`]): the hash the first kept record follows and that
//!   record's seq — [`GENESIS_HASH`] and 1 until retention drops records;
//! - **checkpoints**: seq → the JSON of a signed [`crate::Checkpoint`], opaque here;
//! - **what queries filter on** ([`Indexed`]): the fields of each record [`Query`] can
//!   select by, indexed so that a query is a range scan, not a full scan.
//!
//! Every method is called from many threads at once (`Send + Sync`), and — for a
//! shared database — from several processes at once.
//!
//! [`GENESIS_HASH`]: crate::chain::GENESIS_HASH

use crate::Result;
use crate::chain::{ApiCall, Hash};

/// The hash the first kept record follows, and that record's seq.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// The hash before the first kept record: [`crate::chain::GENESIS_HASH`] until
    /// records are dropped, then the hash of the last dropped record.
    pub hash: Hash,
    /// The first kept record's seq (1 until records are dropped, then the last
    /// dropped seq + 1). When no record is kept, the seq the next append gets.
    pub first: u64,
}

impl Default for Anchor {
    fn default() -> Anchor {
        Anchor {
            hash: crate::chain::GENESIS_HASH,
            first: 1,
        }
    }
}

/// One call to append: its canonical JSON (what is hashed and stored) and the fields
/// queries filter on.
#[derive(Clone, Debug)]
pub struct NewCall {
    /// [`ApiCall::to_json`] of the (redacted) call.
    pub json: Vec<u8>,
    /// Its fields for the indexes.
    pub indexed: Indexed,
}

impl NewCall {
    /// The call to append for `call` (already redacted).
    pub fn new(call: &ApiCall) -> NewCall {
        NewCall {
            json: call.to_json(),
            indexed: Indexed::of(call),
        }
    }
}

/// The fields of a record that [`Query`] filters on, exactly as in its [`ApiCall`]
/// (a `None` field is not indexed and matches no filter).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Indexed {
    /// [`ApiCall::time`].
    pub time: String,
    /// [`ApiCall::user`].
    pub user: Option<String>,
    /// [`ApiCall::target`].
    pub target: Option<String>,
    /// [`ApiCall::operation`].
    pub operation: String,
    /// [`ApiCall::decision`].
    pub decision: String,
    /// [`ApiCall::outcome`].
    pub outcome: String,
    /// [`ApiCall::commit`].
    pub commit: Option<String>,
}

impl Indexed {
    /// The indexed fields of `call`.
    pub fn of(call: &ApiCall) -> Indexed {
        Indexed {
            time: call.time.clone(),
            user: call.user.clone(),
            target: call.target.clone(),
            operation: call.operation.clone(),
            decision: call.decision.clone(),
            outcome: call.outcome.clone(),
            commit: call.commit.clone(),
        }
    }

    /// Whether a record with these fields is selected by `query`'s filters (not its
    /// cursor or page size).
    pub fn matches(&self, query: &Query) -> bool {
        fn is(filter: &Option<String>, value: Option<&str>) -> bool {
            filter.as_deref().is_none_or(|f| value == Some(f))
        }
        is(&query.user, self.user.as_deref())
            && is(&query.target, self.target.as_deref())
            && is(&query.operation, Some(&self.operation))
            && is(&query.decision, Some(&self.decision))
            && is(&query.outcome, Some(&self.outcome))
            && is(&query.commit, self.commit.as_deref())
            && query
                .from
                .as_deref()
                .is_none_or(|from| self.time.as_str() >= from)
            && query.to.as_deref().is_none_or(|to| self.time.as_str() < to)
    }
}

/// Which records a query selects, newest first, one page at a time.
///
/// Every filter set must hold (AND); a filter on a field is an exact, case-sensitive
/// match, and a record whose field is absent (`None`) never matches a filter on it.
/// The time range is `[from, to)`, comparing [`ApiCall::time`] as text (byte order,
/// which is time order for RFC 3339 UTC times written alike).
///
/// ```
/// use windlass_audit::Query;
///
/// // Alice's denied calls, the newest 50.
/// let query = Query {
///     user: Some("alice".into()),
///     decision: Some("denied".into()),
///     ..Query::default()
/// };
/// assert_eq!(query.limit, 100);
/// let _ = Query { limit: 50, ..query };
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Made by this user.
    pub user: Option<String>,
    /// Targeting this entity (`Kind/namespace/name`).
    pub target: Option<String>,
    /// This operation.
    pub operation: Option<String>,
    /// `allowed` or `denied`.
    pub decision: Option<String>,
    /// `success` or `error`.
    pub outcome: Option<String>,
    /// That made this commit (correlation: the call(s) behind a commit).
    pub commit: Option<String>,
    /// At or after this time (RFC 3339).
    pub from: Option<String>,
    /// Before this time (RFC 3339).
    pub to: Option<String>,
    /// The cursor: only records with a seq below this one (`None`: from the newest).
    /// The next page's cursor is the seq of the last record of a full page.
    pub before: Option<u64>,
    /// The page size: at most this many records (100 by default).
    pub limit: usize,
}

impl Default for Query {
    fn default() -> Query {
        Query {
            user: None,
            target: None,
            operation: None,
            decision: None,
            outcome: None,
            commit: None,
            from: None,
            to: None,
            before: None,
            limit: 100,
        }
    }
}

/// The storage of an API log. See the [module documentation](self) for the data it
/// keeps; each method says what must be atomic and durable.
///
/// Errors: a store reports its own failures as [`crate::Error::Store`] naming where it
/// is (a file, or a database URL without its password) and what went wrong.
pub trait LogStore: Send + Sync {
    /// Where the store is, as errors name it: its file, or its database's URL without
    /// the password.
    fn location(&self) -> &std::path::Path;

    /// Appends `calls`, in order, after the current head, **atomically and durably**,
    /// and returns their seqs (ascending, consecutive).
    ///
    /// In **one transaction**:
    ///
    /// 1. read the head *inside the transaction*, serialized against every other
    ///    appender, in this process or another, so that no two transactions ever see
    ///    the same head (SQL: `SELECT ... FOR UPDATE` on a one-row head table, or a
    ///    transaction-scoped advisory lock taken first; a primary key on `seq` is the
    ///    backstop): the head is the last record's seq and its stored hash
    ///    ([`crate::chain::stored_hash`]), or, when no record is kept,
    ///    `(anchor.first - 1, anchor.hash)`;
    /// 2. for each call `i` (0-based): `seq = head_seq + 1 + i`, stored bytes =
    ///    [`crate::chain::encode`]`(prev, seq, &call.json)`, where `prev` is the head's
    ///    hash for the first call and the previous call's hash after that; insert them
    ///    under `seq`, with the call's [`Indexed`] fields for queries;
    /// 3. commit, and return only once the commit is durable (fsynced; for PostgreSQL,
    ///    `synchronous_commit` on).
    ///
    /// On error nothing is appended (the transaction is rolled back).
    fn append(&self, calls: &[NewCall]) -> Result<Vec<u64>>;

    /// A consistent, read-only view of the log as of now: everything read through it
    /// (anchor, records, checkpoints, queries) is from one moment, however many
    /// appends and retentions commit meanwhile (SQL: a `REPEATABLE READ` read-only
    /// transaction).
    fn snapshot(&self) -> Result<Box<dyn Snapshot + '_>>;

    /// Stores the JSON of a signed checkpoint for record `seq` (replacing one stored
    /// for the same seq), durably.
    fn put_checkpoint(&self, seq: u64, checkpoint_json: &[u8]) -> Result<()>;

    /// Drops every record with a seq below `keep_from` and moves the anchor, in **one
    /// durable transaction**, serialized against appends like [`LogStore::append`]:
    ///
    /// - `keep_from` is first lowered to `head_seq + 1` (nothing past the head is
    ///   dropped; an empty log stays empty);
    /// - when `keep_from <= anchor.first` nothing changes and 0 is returned;
    /// - otherwise the new anchor is `{ hash: stored hash of record keep_from - 1,
    ///   first: keep_from }`, the records `anchor.first..keep_from` and their index
    ///   entries are deleted, and checkpoints below `keep_from - 1` may be deleted too.
    ///
    /// Returns how many records were dropped. A record to drop that is missing or too
    /// short to carry a hash is an error ([`crate::Error::Corrupt`]); nothing changes.
    fn retain(&self, keep_from: u64) -> Result<u64>;
}

/// A consistent, read-only view of a [`LogStore`] (see [`LogStore::snapshot`]).
pub trait Snapshot {
    /// The anchor ([`Anchor::default`] for a log that never dropped a record).
    fn anchor(&self) -> Result<Anchor>;

    /// The record with the highest seq, with its stored bytes (`None`: no record kept).
    fn last(&self) -> Result<Option<(u64, Vec<u8>)>>;

    /// The stored bytes of record `seq` (`None`: not stored).
    fn get(&self, seq: u64) -> Result<Option<Vec<u8>>>;

    /// Calls `visit(seq, stored bytes)` for every stored record with a seq at or above
    /// `from`, in ascending seq order, streaming (never holding all records in
    /// memory), until `visit` returns `false`. Whatever is stored is passed on as it
    /// is, gaps and all: checking is the caller's business.
    fn scan(&self, from: u64, visit: &mut dyn FnMut(u64, &[u8]) -> bool) -> Result<()>;

    /// Every stored checkpoint: `(seq, its JSON)`, ascending by seq.
    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>>;

    /// The records `query` selects (every filter, `seq < query.before` when set),
    /// newest (highest seq) first, at most `query.limit` of them, each as `(seq,
    /// stored bytes)`. Served from indexes: its cost follows the number of records
    /// matching its most selective filter, not the size of the log (a time range alone
    /// costs the records in the range).
    fn query(&self, query: &Query) -> Result<Vec<(u64, Vec<u8>)>>;
}
