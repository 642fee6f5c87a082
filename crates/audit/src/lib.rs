//! The audit trail of Windlass: a tamper-evident log of every API call.
//!
//! Each record carries the SHA-256 of the record before it ([`chain`]), so
//! [`ApiLog::verify`] finds the first record edited, deleted, reordered or inserted.
//! Appends are durable when they return and concurrent ones share a transaction.
//! Signed [`Checkpoint`]s (Ed25519) catch a log cut short or rewritten with every hash
//! recomputed ([`ApiLog::verify_signed`]).
//! Variables are stored with their secrets redacted ([`redact`]).
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
mod index;
mod log;
pub mod redact;

pub use chain::{ApiCall, Broken, Record};
pub use checkpoint::Checkpoint;
pub use error::{Error, Result};
pub use log::ApiLog;

pub use events::{Action, CommitEvent, EntityChange, Event, FileNote, ForcePushEvent, Person};
pub use index::{
    AuditIndex, EntityRef, EventPage, IndexError, IndexResult, Query, UpdateReport, write_csv,
    write_json_lines,
};
