//! The shared store: one PostgreSQL database, so that several API replicas append to
//! one log and one chain.
//!
//! Everything lives in the schema `windlass_audit`, created if absent:
//!
//! - `records`: `seq` (primary key) → `stored` (the bytes of [`crate::chain`]), with
//!   the fields [`CallQuery`] filters on as columns (`COLLATE "C"`: compared as bytes, like
//!   the embedded store), each indexed together with `seq`;
//! - `meta`: one row, the chain's [`Anchor`]; every append and retention locks it
//!   first (`SELECT ... FOR UPDATE`), so the head is read and extended by one
//!   transaction at a time across every process, and no two ever fork the chain or
//!   reuse a seq (the primary key on `seq` is the backstop);
//! - `checkpoints`: `seq` → the JSON of a signed checkpoint.
//!
//! An append is acknowledged once its `COMMIT` returned, with `synchronous_commit` on
//! (turned on for the store's sessions if the server has it off). Snapshots are
//! `REPEATABLE READ READ ONLY` transactions; scans read through a cursor, a batch at a
//! time.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, NoTls};

use crate::chain::{self, Hash};
use crate::store::{Anchor, CallQuery, LogStore, NewCall, Snapshot};
use crate::{ApiLog, Error, Result};

/// Rows a scan fetches at a time.
const SCAN_BATCH: usize = 1000;
/// Idle connections kept for reuse; more are closed when returned.
const IDLE_CONNECTIONS: usize = 8;
/// How long connecting may take when the URL sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Serializes creating the schema among processes starting at once (a
/// transaction-scoped advisory lock; `CREATE ... IF NOT EXISTS` alone races).
const SCHEMA_LOCK: i64 = 0x5769_6e64_6c61_7301;

const SCHEMA: &str = r#"
CREATE SCHEMA IF NOT EXISTS windlass_audit;
CREATE TABLE IF NOT EXISTS windlass_audit.records (
    seq bigint PRIMARY KEY,
    stored bytea NOT NULL,
    time text COLLATE "C" NOT NULL,
    user_name text COLLATE "C",
    target text COLLATE "C",
    operation text COLLATE "C" NOT NULL,
    decision text COLLATE "C" NOT NULL,
    outcome text COLLATE "C" NOT NULL,
    commit_sha text COLLATE "C"
);
CREATE INDEX IF NOT EXISTS records_time ON windlass_audit.records (time, seq);
CREATE INDEX IF NOT EXISTS records_user ON windlass_audit.records (user_name, seq);
CREATE INDEX IF NOT EXISTS records_target ON windlass_audit.records (target, seq);
CREATE INDEX IF NOT EXISTS records_operation ON windlass_audit.records (operation, seq);
CREATE INDEX IF NOT EXISTS records_decision ON windlass_audit.records (decision, seq);
CREATE INDEX IF NOT EXISTS records_outcome ON windlass_audit.records (outcome, seq);
CREATE INDEX IF NOT EXISTS records_commit ON windlass_audit.records (commit_sha, seq);
CREATE TABLE IF NOT EXISTS windlass_audit.meta (
    id int PRIMARY KEY CHECK (id = 1),
    anchor bytea NOT NULL,
    first bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS windlass_audit.checkpoints (
    seq bigint PRIMARY KEY,
    checkpoint bytea NOT NULL
);
"#;

/// The log in a PostgreSQL database, shared by every process that connects to it.
///
/// ```no_run
/// use std::sync::Arc;
/// use windlass_audit::{ApiCall, ApiLog, PgStore};
///
/// // Each API replica connects to the same database: one log, one chain.
/// let store = PgStore::connect("postgres://windlass:secret@db.internal/windlass")?;
/// let log = ApiLog::with_store(Arc::new(store));
/// let seq = log.append(ApiCall {
///     operation: "syncApplication".into(),
///     ..ApiCall::default()
/// })?;
/// assert!(seq >= 1);
/// # Ok::<(), windlass_audit::Error>(())
/// ```
pub struct PgStore {
    config: postgres::Config,
    /// The URL without its password: what errors name.
    location: PathBuf,
    idle: Mutex<Vec<Client>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl ApiLog {
    /// Connects to the log in the PostgreSQL database at `url` (creating its tables if
    /// absent): what several API replicas share. See [`PgStore`].
    ///
    /// ```no_run
    /// let log = windlass_audit::ApiLog::connect_postgres("postgres://windlass@127.0.0.1/windlass")?;
    /// assert_eq!(log.verify()?, None);
    /// # Ok::<(), windlass_audit::Error>(())
    /// ```
    pub fn connect_postgres(url: &str) -> Result<ApiLog> {
        Ok(ApiLog::with_store(std::sync::Arc::new(PgStore::connect(
            url,
        )?)))
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`, or
    /// libpq's `key=value` form) and creates the schema `windlass_audit` and its tables
    /// if absent (which takes the right to create them; once they exist, a role that
    /// may only select, insert, update and delete in them is enough). Errors name the
    /// URL without its password.
    pub fn connect(url: &str) -> Result<PgStore> {
        let location = PathBuf::from(redact_url(url));
        let mut config: postgres::Config = url.parse().map_err(|e| Error::Store {
            path: location.clone(),
            message: format!("not a PostgreSQL URL: {}", describe(&e)),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let store = PgStore {
            config,
            location,
            idle: Mutex::new(Vec::new()),
        };
        let mut client = store.client()?;
        let setup = (|| {
            // A role allowed to read and write the tables but not to create anything
            // (least privilege, once an administrator made them) skips the DDL.
            let exists: bool = client
                .query_one(
                    "SELECT to_regclass('windlass_audit.records') IS NOT NULL \
                     AND to_regclass('windlass_audit.meta') IS NOT NULL \
                     AND to_regclass('windlass_audit.checkpoints') IS NOT NULL",
                    &[],
                )?
                .get(0);
            if exists {
                return Ok(());
            }
            let mut tx = client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
            tx.batch_execute(SCHEMA)?;
            tx.execute(
                "INSERT INTO windlass_audit.meta (id, anchor, first) VALUES (1, $1, 1) \
                 ON CONFLICT (id) DO NOTHING",
                &[&chain::GENESIS_HASH.as_slice()],
            )?;
            tx.commit()
        })();
        setup.map_err(|e| store.error("creating the schema windlass_audit", &e))?;
        store.give_back(client);
        Ok(store)
    }

    /// The URL it connects to, without the password.
    pub fn url(&self) -> &str {
        self.location
            .to_str()
            .expect("made from a String, so valid UTF-8")
    }

    fn error(&self, doing: &str, e: &postgres::Error) -> Error {
        Error::Store {
            path: self.location.clone(),
            message: format!("{doing}: {}", describe(e)),
        }
    }

    fn corrupt(&self, seq: u64, message: String) -> Error {
        Error::Corrupt {
            path: self.location.clone(),
            seq,
            message,
        }
    }

    /// A new connection.
    fn connect_new(&self) -> Result<Client> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|e| self.error("connecting", &e))?;
        // Acknowledged means durable: a server (or database, or role) that turned
        // synchronous commits off does not get to lose acknowledged records.
        let durable = (|| {
            let row = client.query_one("SELECT current_setting('synchronous_commit')", &[])?;
            if row.get::<_, String>(0) == "off" {
                client.batch_execute("SET synchronous_commit = on")?;
            }
            Ok::<_, postgres::Error>(())
        })();
        durable.map_err(|e| self.error("setting synchronous_commit", &e))?;
        Ok(client)
    }

    /// An idle connection, or a new one.
    fn client(&self) -> Result<Client> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle.filter(|c| !c.is_closed()) {
            Some(client) => Ok(client),
            None => self.connect_new(),
        }
    }

    /// A connection on which `begin` (the statement starting a transaction)
    /// succeeded. An idle connection found dead there (the server restarted, a
    /// failover) means every idle one is: they are dropped, and a new connection
    /// tries once more. Nothing was written yet, so trying again is safe.
    fn begin(&self, begin: &str, doing: &str) -> Result<Client> {
        let mut client = self.client()?;
        match client.batch_execute(begin) {
            Ok(()) => Ok(client),
            Err(_) if client.is_closed() => {
                self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
                let mut client = self.connect_new()?;
                client
                    .batch_execute(begin)
                    .map_err(|e| self.error(doing, &e))?;
                Ok(client)
            }
            Err(e) => {
                self.give_back(client);
                Err(self.error(doing, &e))
            }
        }
    }

    /// Ends the transaction on `client` (rolled back unless committed already) and
    /// keeps the connection for reuse if it is still good.
    fn end(&self, mut client: Client) {
        if !client.is_closed() && client.batch_execute("ROLLBACK").is_ok() {
            self.give_back(client);
        }
    }

    /// Keeps `client` for reuse (unless it is closed or enough are kept).
    fn give_back(&self, client: Client) {
        if client.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(client);
        }
    }

    /// Runs `work` in one transaction that holds the lock on the chain's head (the
    /// `meta` row), with the anchor read under it; commits if `work` succeeds.
    fn locked<T>(
        &self,
        doing: &str,
        work: impl FnOnce(&mut Client, Anchor) -> Result<T>,
    ) -> Result<T> {
        let mut client = self.begin("BEGIN", doing)?;
        let result = (|| {
            let row = client
                .query_one(
                    "SELECT anchor, first FROM windlass_audit.meta WHERE id = 1 FOR UPDATE",
                    &[],
                )
                .map_err(|e| self.error(doing, &e))?;
            let anchor = self.anchor_of(&row)?;
            let value = work(&mut client, anchor)?;
            client
                .batch_execute("COMMIT")
                .map_err(|e| self.error(doing, &e))?;
            Ok(value)
        })();
        match result {
            Ok(_) => self.give_back(client),
            Err(_) => self.end(client),
        }
        result
    }

    /// Column `i` of `row`: a table altered behind the store's back is an error, not
    /// a panic.
    fn column<'r, T: postgres::types::FromSql<'r>>(
        &self,
        row: &'r postgres::Row,
        i: usize,
    ) -> Result<T> {
        row.try_get(i).map_err(|e| Error::Store {
            path: self.location.clone(),
            message: format!(
                "reading the column {:?}: {}",
                row.columns().get(i).map_or("?", |c| c.name()),
                describe(&e)
            ),
        })
    }

    fn anchor_of(&self, row: &postgres::Row) -> Result<Anchor> {
        let hash: Vec<u8> = self.column(row, 0)?;
        let first: i64 = self.column(row, 1)?;
        Ok(Anchor {
            hash: hash.as_slice().try_into().map_err(|_| Error::Store {
                path: self.location.clone(),
                message: format!(
                    "the chain's anchor in windlass_audit.meta is {} bytes, not a SHA-256",
                    hash.len()
                ),
            })?,
            first: u64::try_from(first).map_err(|_| Error::Store {
                path: self.location.clone(),
                message: format!("the first kept seq in windlass_audit.meta is {first}"),
            })?,
        })
    }

    /// The head the next record follows, read in `tx` (which holds the head's lock).
    ///
    /// A statement of its own, after the lock: under `READ COMMITTED` it gets a fresh
    /// snapshot that sees what the lock's previous holder committed. Joined to the
    /// locking `SELECT`, it would read the records as of before the wait for the lock
    /// (only the locked row is re-read then), and fork the chain.
    fn head(&self, tx: &mut Client, anchor: Anchor) -> Result<(u64, Hash)> {
        let last = tx
            .query_opt(
                "SELECT seq, substring(stored FROM 33 FOR 32) FROM windlass_audit.records \
                 ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .map_err(|e| self.error("reading the head of the chain", &e))?;
        let Some(row) = last else {
            return Ok((anchor.first - 1, anchor.hash));
        };
        let seq = self.seq_of(self.column(&row, 0)?)?;
        let hash: Vec<u8> = self.column(&row, 1)?;
        let hash = hash.as_slice().try_into().map_err(|_| {
            self.corrupt(
                seq,
                "fewer bytes than its two hashes (the head of the chain)".into(),
            )
        })?;
        Ok((seq, hash))
    }

    fn seq_of(&self, seq: i64) -> Result<u64> {
        u64::try_from(seq).map_err(|_| Error::Store {
            path: self.location.clone(),
            message: format!("windlass_audit.records holds a negative seq ({seq})"),
        })
    }
}

/// `seq` as PostgreSQL's `bigint` (seqs past `i64::MAX` are never stored).
fn sql_seq(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

impl LogStore for PgStore {
    fn location(&self) -> &Path {
        &self.location
    }

    fn append(&self, calls: &[NewCall]) -> Result<Vec<u64>> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        self.locked("appending", |tx, anchor| {
            let (head, mut prev) = self.head(tx, anchor)?;
            let seqs: Vec<u64> = (head + 1..).take(calls.len()).collect();
            let mut stored = Vec::with_capacity(calls.len());
            for (seq, call) in seqs.iter().zip(calls) {
                let bytes = chain::encode(&prev, *seq, &call.json);
                prev = chain::stored_hash(&bytes).expect("encode writes both hashes");
                stored.push(bytes);
            }
            let column = |f: fn(&NewCall) -> Option<&str>| -> Vec<Option<&str>> {
                calls.iter().map(f).collect()
            };
            let sql_seqs: Vec<i64> = seqs.iter().map(|s| sql_seq(*s)).collect();
            let time = column(|c| Some(&c.indexed.time));
            let user = column(|c| c.indexed.user.as_deref());
            let target = column(|c| c.indexed.target.as_deref());
            let operation = column(|c| Some(&c.indexed.operation));
            let decision = column(|c| Some(&c.indexed.decision));
            let outcome = column(|c| Some(&c.indexed.outcome));
            let commit = column(|c| c.indexed.commit.as_deref());
            // One statement for the whole batch (one round trip).
            tx.execute(
                "INSERT INTO windlass_audit.records \
                 (seq, stored, time, user_name, target, operation, decision, outcome, commit_sha) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::text[], $4::text[], \
                 $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])",
                &[
                    &sql_seqs, &stored, &time, &user, &target, &operation, &decision, &outcome,
                    &commit,
                ],
            )
            .map_err(|e| self.error("appending", &e))?;
            Ok(seqs)
        })
    }

    fn snapshot(&self) -> Result<Box<dyn Snapshot + '_>> {
        let client = self.begin(
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            "reading",
        )?;
        Ok(Box::new(PgSnapshot {
            store: self,
            client: RefCell::new(Some(client)),
            cursors: RefCell::new(0),
        }))
    }

    fn put_checkpoint(&self, seq: u64, checkpoint_json: &[u8]) -> Result<()> {
        let mut client = self.client()?;
        let result = client.execute(
            "INSERT INTO windlass_audit.checkpoints (seq, checkpoint) VALUES ($1, $2) \
             ON CONFLICT (seq) DO UPDATE SET checkpoint = EXCLUDED.checkpoint",
            &[&sql_seq(seq), &checkpoint_json],
        );
        self.give_back(client);
        result
            .map(drop)
            .map_err(|e| self.error("storing a checkpoint", &e))
    }

    fn retain(&self, keep_from: u64) -> Result<u64> {
        self.locked("dropping old records", |tx, anchor| {
            let (head, _) = self.head(tx, anchor)?;
            let keep_from = keep_from.min(head + 1);
            if keep_from <= anchor.first {
                return Ok(0);
            }
            let last_dropped = keep_from - 1;
            let row = tx
                .query_opt(
                    "SELECT substring(stored FROM 33 FOR 32) FROM windlass_audit.records \
                     WHERE seq = $1",
                    &[&sql_seq(last_dropped)],
                )
                .map_err(|e| self.error("dropping old records", &e))?
                .ok_or_else(|| self.corrupt(last_dropped, "missing".into()))?;
            let hash: Vec<u8> = self.column(&row, 0)?;
            let hash: Hash = hash.as_slice().try_into().map_err(|_| {
                self.corrupt(last_dropped, "fewer bytes than its two hashes".into())
            })?;
            let dropped = tx
                .execute(
                    "DELETE FROM windlass_audit.records WHERE seq < $1",
                    &[&sql_seq(keep_from)],
                )
                .map_err(|e| self.error("dropping old records", &e))?;
            tx.execute(
                "UPDATE windlass_audit.meta SET anchor = $1, first = $2 WHERE id = 1",
                &[&hash.as_slice(), &sql_seq(keep_from)],
            )
            .map_err(|e| self.error("moving the chain's anchor", &e))?;
            tx.execute(
                "DELETE FROM windlass_audit.checkpoints WHERE seq < $1",
                &[&sql_seq(last_dropped)],
            )
            .map_err(|e| self.error("dropping old checkpoints", &e))?;
            Ok(dropped)
        })
    }
}

/// A `REPEATABLE READ READ ONLY` transaction on a connection of the store's, ended
/// (and the connection given back) when dropped.
struct PgSnapshot<'a> {
    store: &'a PgStore,
    /// `None` only while being given back.
    client: RefCell<Option<Client>>,
    /// Cursors opened so far (each scan's cursor gets its own name).
    cursors: RefCell<u64>,
}

impl PgSnapshot<'_> {
    fn with<T>(
        &self,
        doing: &str,
        work: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut client = self.client.borrow_mut();
        let client = client.as_mut().expect("present until dropped");
        work(client).map_err(|e| self.store.error(doing, &e))
    }

    fn rows_of(&self, rows: Vec<postgres::Row>) -> Result<Vec<(u64, Vec<u8>)>> {
        rows.into_iter()
            .map(|row| {
                let seq = self.store.seq_of(self.store.column(&row, 0)?)?;
                Ok((seq, self.store.column(&row, 1)?))
            })
            .collect()
    }
}

impl Drop for PgSnapshot<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take() {
            self.store.end(client);
        }
    }
}

impl Snapshot for PgSnapshot<'_> {
    fn anchor(&self) -> Result<Anchor> {
        let row = self.with("reading the chain's anchor", |c| {
            c.query_one(
                "SELECT anchor, first FROM windlass_audit.meta WHERE id = 1",
                &[],
            )
        })?;
        self.store.anchor_of(&row)
    }

    fn last(&self) -> Result<Option<(u64, Vec<u8>)>> {
        let rows = self.with("reading the last record", |c| {
            c.query(
                "SELECT seq, stored FROM windlass_audit.records ORDER BY seq DESC LIMIT 1",
                &[],
            )
        })?;
        Ok(self.rows_of(rows)?.pop())
    }

    fn get(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        let row = self.with("reading a record", |c| {
            c.query_opt(
                "SELECT stored FROM windlass_audit.records WHERE seq = $1",
                &[&sql_seq(seq)],
            )
        })?;
        row.map(|r| self.store.column(&r, 0)).transpose()
    }

    fn scan(&self, from: u64, visit: &mut dyn FnMut(u64, &[u8]) -> bool) -> Result<()> {
        let cursor = {
            let mut n = self.cursors.borrow_mut();
            *n += 1;
            format!("scan_{n}")
        };
        self.with("scanning the records", |c| {
            c.execute(
                &format!(
                    "DECLARE {cursor} NO SCROLL CURSOR FOR SELECT seq, stored \
                     FROM windlass_audit.records WHERE seq >= $1 ORDER BY seq"
                ),
                &[&sql_seq(from)],
            )
        })?;
        let fetch = format!("FETCH {SCAN_BATCH} FROM {cursor}");
        loop {
            let rows = self.with("scanning the records", |c| c.query(&fetch, &[]))?;
            let done = rows.len() < SCAN_BATCH;
            for row in rows {
                let seq = self.store.seq_of(self.store.column(&row, 0)?)?;
                let stored: &[u8] = self.store.column(&row, 1)?;
                if !visit(seq, stored) {
                    return self.with("scanning the records", |c| {
                        c.batch_execute(&format!("CLOSE {cursor}"))
                    });
                }
            }
            if done {
                return self.with("scanning the records", |c| {
                    c.batch_execute(&format!("CLOSE {cursor}"))
                });
            }
        }
    }

    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>> {
        let rows = self.with("reading the checkpoints", |c| {
            c.query(
                "SELECT seq, checkpoint FROM windlass_audit.checkpoints ORDER BY seq",
                &[],
            )
        })?;
        self.rows_of(rows)
    }

    fn query(&self, query: &CallQuery) -> Result<Vec<(u64, Vec<u8>)>> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let (sql, values) = query_sql(query);
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_param()).collect();
        let rows = self.with("querying the records", |c| c.query(&sql, &params))?;
        self.rows_of(rows)
    }
}

/// One parameter of a query.
enum Param<'q> {
    Text(&'q str),
    Seq(i64),
}

impl Param<'_> {
    fn as_param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Text(text) => text,
            Param::Seq(seq) => seq,
        }
    }
}

/// The SQL of `query` and its parameters: only the filters set, so that the planner
/// sees plain equalities and ranges and picks the most selective index.
fn query_sql(query: &CallQuery) -> (String, Vec<Param<'_>>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    let filters = [
        ("user_name =", &query.user),
        ("target =", &query.target),
        ("operation =", &query.operation),
        ("decision =", &query.decision),
        ("outcome =", &query.outcome),
        ("commit_sha =", &query.commit),
        ("time >=", &query.from),
        ("time <", &query.to),
    ];
    for (condition, value) in filters {
        if let Some(value) = value {
            values.push(Param::Text(value));
            conditions.push(format!("{condition} ${}", values.len()));
        }
    }
    if let Some(before) = query.before {
        values.push(Param::Seq(sql_seq(before)));
        conditions.push(format!("seq < ${}", values.len()));
    }
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    (
        format!(
            "SELECT seq, stored FROM windlass_audit.records{filter} ORDER BY seq DESC LIMIT {limit}"
        ),
        values,
    )
}

/// `error` with its causes (the server's message, or why connecting failed).
fn describe(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = format!("{}: {}", db.severity(), db.message());
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        return text;
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

/// `url` with its password replaced by `***` (URL form `scheme://user:password@...`,
/// and libpq's `password=...`).
pub(crate) fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let redacted_tail = redact_query_password(tail);
        if let Some((userinfo, host)) = authority.rsplit_once('@')
            && let Some((user, _password)) = userinfo.split_once(':')
        {
            return format!("{scheme}://{user}:***@{host}{redacted_tail}");
        }
        return format!("{scheme}://{authority}{redacted_tail}");
    }
    // key=value pairs, values possibly 'quoted'.
    let mut out = String::new();
    let mut rest = url;
    while let Some(at) = rest.find("password") {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let after_key = after["password".len()..].trim_start();
        let word_start = at == 0 || before.ends_with(char::is_whitespace);
        if word_start && let Some(value) = after_key.strip_prefix('=') {
            let value = value.trim_start();
            let end = if let Some(quoted) = value.strip_prefix('\'') {
                let mut escaped = false;
                let close = quoted
                    .char_indices()
                    .find(|(_, c)| {
                        let close = *c == '\'' && !escaped;
                        escaped = *c == '\\' && !escaped;
                        close
                    })
                    .map_or(quoted.len(), |(i, _)| i + 1);
                (close + 1).min(value.len())
            } else {
                value.find(char::is_whitespace).unwrap_or(value.len())
            };
            out.push_str("password=***");
            rest = &value[end..];
        } else {
            out.push_str("password");
            rest = &after["password".len()..];
        }
    }
    out.push_str(rest);
    out
}

/// `password=` among a URL's query parameters replaced by `password=***`.
fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            if pair.starts_with("password=") {
                "password=***".to_owned()
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        for (url, redacted) in [
            (
                "postgres://windlass:s3cret@db:5432/audit",
                "postgres://windlass:***@db:5432/audit",
            ),
            (
                "postgresql://u:p%40ss@h/db?sslmode=disable",
                "postgresql://u:***@h/db?sslmode=disable",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgres://u@h/db?password=x&application_name=w",
                "postgres://u@h/db?password=***&application_name=w",
            ),
            (
                "host=db user=u password=secret dbname=audit",
                "host=db user=u password=*** dbname=audit",
            ),
            (
                "host=db password = 'se cret' dbname=audit",
                "host=db password=*** dbname=audit",
            ),
        ] {
            assert_eq!(redact_url(url), redacted, "{url}");
        }
    }

    #[test]
    fn queries_name_only_the_filters_set() {
        let query = CallQuery {
            user: Some("alice".into()),
            from: Some("2026-01-01T00:00:00.000Z".into()),
            before: Some(10),
            limit: 5,
            ..CallQuery::default()
        };
        let (sql, values) = query_sql(&query);
        assert_eq!(
            sql,
            "SELECT seq, stored FROM windlass_audit.records WHERE user_name = $1 AND time >= $2 \
             AND seq < $3 ORDER BY seq DESC LIMIT 5"
        );
        assert_eq!(values.len(), 3);
    }
}
