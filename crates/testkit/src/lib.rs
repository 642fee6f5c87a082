//! What several Windlass crates' tests and benchmarks share. Dev-only: no library crate
//! depends on it outside `[dev-dependencies]`.
//!
//! - [`http_backend`]: a loopback HTTP server running the real `git http-backend`.

pub mod http_backend;
