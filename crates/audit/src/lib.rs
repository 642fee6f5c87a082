//! The audit trail of Windlass: a tamper-evident log of every API call.
//!
//! Each record carries the SHA-256 of the record before it ([`chain`]), so
//! [`ApiLog::verify`] finds the first record edited, deleted, reordered or inserted.
//! Appends are durable when they return and concurrent ones share a transaction.
//! Signed [`Checkpoint`]s (Ed25519) catch a log cut short or rewritten with every hash
//! recomputed ([`ApiLog::verify_signed`]).
//! Variables are stored with their secrets redacted ([`redact`]).
//!
//! The log is kept in a [`LogStore`]: by default one embedded `redb` file
//! ([`ApiLog::open`], for `windlass up` and a single API process), or a PostgreSQL
//! database ([`ApiLog::connect_postgres`], [`PgStore`]) that several API replicas share
//! — one log, one chain, appends from every replica serialized on the chain's head.
//!
//! ```
//! use windlass_audit::{ApiCall, ApiLog};
//!
//! let dir = tempfile::tempdir()?;
//! let log = ApiLog::open(&dir.path().join("audit.redb"))?;
//! let seq = log.append(ApiCall {
//!     operation: "syncApplication".into(),
//!     variables: serde_json::json!({"name": "guestbook", "token": "ghp_secret"}),
//!     ..ApiCall::default()
//! })?;
//! assert_eq!(seq, 1);
//! assert_eq!(log.verify()?, None);
//! assert!(!log.read(1, 1)?[0].call.variables.to_string().contains("ghp_secret"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod chain;
mod checkpoint;
mod error;
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
pub use log::{ApiLog, Pending};
pub use pg_store::PgStore;
pub use redb_store::RedbStore;
pub use retention::Retention;
pub use store::{LogStore, Query};
