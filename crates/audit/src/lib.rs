//! The audit trail of Windlass: a tamper-evident log of every API call.
//!
//! Each record carries the SHA-256 of the record before it ([`chain`]), so
//! [`ApiLog::verify`] finds the first record edited, deleted, reordered or inserted;
//! it hashes raw bytes on every core. Appends are durable when they return and
//! concurrent ones share a transaction ([`ApiLog::append`], [`ApiLog::submit`]).
//! Signed [`Checkpoint`]s (Ed25519) catch a log cut short or rewritten with every hash
//! recomputed ([`ApiLog::verify_signed`]). Variables are stored with their secrets
//! redacted ([`redact`]).
//!
//! The records live in a [`LogStore`]: [`RedbStore`] (one embedded file, the default)
//! or a PostgreSQL database shared by several API replicas ([`store`] says what a
//! backend must do). [`ApiLog::retain`] drops the oldest records by age or count with
//! the chain anchored across the cut; [`ApiLog::query`] selects by user, entity,
//! operation, decision, outcome, commit and time range, newest first, page by page,
//! and [`ApiLog::export`] writes the results as CSV or JSON lines ([`export`]).
//!
//! The log is kept in a [`LogStore`]: by default one embedded `redb` file
//! ([`ApiLog::open`], for `windlass up` and a single API process), or a PostgreSQL
//! database ([`ApiLog::connect_postgres`], [`PgStore`]) that several API replicas share
//! — one log, one chain, appends from every replica serialized on the chain's head.
//!
//! ```
//! use windlass_audit::{ApiCall, ApiLog, CallQuery, Retention, export::Format};
//!
//! let dir = tempfile::tempdir()?;
//! let log = ApiLog::open(&dir.path().join("audit.redb"))?;
//! let seq = log.append(ApiCall {
//!     time: "2026-12-03T21:00:00Z".into(),
//!     user: Some("alice".into()),
//!     operation: "syncApplication".into(),
//!     variables: serde_json::json!({"name": "guestbook", "token": "ghp_secret"}),
//!     target: Some("Application/default/guestbook".into()),
//!     decision: "allowed".into(),
//!     outcome: "success".into(),
//!     commit: Some("9fceb02d0ae598e95dc970b74767f19372d61af8".into()),
//!     ..ApiCall::default()
//! })?;
//! assert_eq!(seq, 1);
//! assert_eq!(log.verify()?, None);
//! assert!(!log.read(1, 1)?[0].call.variables.to_string().contains("ghp_secret"));
//!
//! // Which call made this commit?
//! let page = log.query(&CallQuery {
//!     commit: Some("9fceb02d0ae598e95dc970b74767f19372d61af8".into()),
//!     ..CallQuery::default()
//! })?;
//! assert_eq!(page.records[0].call.user.as_deref(), Some("alice"));
//!
//! // Alice's calls as CSV.
//! let mut csv = Vec::new();
//! log.export(&CallQuery { user: Some("alice".into()), ..CallQuery::default() }, Format::Csv, &mut csv)?;
//! assert_eq!(String::from_utf8(csv)?.lines().count(), 2, "a header and one row");
//!
//! // Keep the newest 100,000 records.
//! let dropped = log.retain(&Retention { max_records: Some(100_000), ..Retention::default() })?;
//! assert_eq!(dropped, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Git-derived [`events`]: every commit of a watched repository that changed entities,
//! with who, when and which fields, indexed incrementally by [`AuditIndex`] (a
//! force-pushed branch is reported as a [`ForcePushEvent`], never silently re-indexed)
//! and queried by entity, user, action, time, repository or commit ([`Query`]), newest
//! first and paged; [`write_csv`] and [`write_json_lines`] export the results.

#![forbid(unsafe_code)]

pub mod chain;
mod checkpoint;
mod error;
pub mod events;
pub mod export;
mod index;
mod log;
mod pg_store;
pub mod redact;
mod redb_store;
mod retention;
pub mod store;
mod verify;

pub use chain::{ApiCall, Broken, Record};
pub use checkpoint::Checkpoint;
pub use error::{Error, Result};
pub use log::{ApiLog, CallPage, Pending};
pub use pg_store::PgStore;
pub use redb_store::RedbStore;
pub use retention::Retention;
pub use store::{CallQuery, LogStore};

pub use events::{Action, CommitEvent, EntityChange, Event, FileNote, ForcePushEvent, Person};
pub use index::{
    AuditIndex, EntityRef, EventPage, IndexError, IndexResult, Query, UpdateReport, write_csv,
    write_json_lines,
};
