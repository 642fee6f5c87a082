//! What several Windlass crates' tests and benchmarks share. Dev-only: no library crate
//! depends on it outside `[dev-dependencies]`.
//!
//! - [`git()`](git::git): `git` run with no system or user configuration, as the tests' oracle.
//! - [`http_backend`]: a loopback HTTP server running the real `git http-backend`.
//! - [`bench`](mod@bench): what the benchmark harnesses share (figures, goals, the `kubectl` peer).
//! - [`fuse`]: a FUSE file system that loses what was not flushed when the power is cut.
//! - [`replay`]: a loopback HTTP server answering recorded responses (SaaS APIs).
//! - [`postgres`]: a real PostgreSQL server in a temporary directory.

pub mod bench;
pub mod fuse;
pub mod git;
pub mod http_backend;
pub mod postgres;
pub mod replay;
