//! What several Windlass crates' tests and benchmarks share. Dev-only: no library crate
//! depends on it outside `[dev-dependencies]`.
//!
//! - [`http_backend`]: a loopback HTTP server running the real `git http-backend`.
//! - [`fuse`]: a FUSE file system that loses what was not flushed when the power is cut.

pub mod fuse;
pub mod http_backend;
