//! The Argo CD engine: Applications rendered from Git, compared with a cluster, synced.
//!
//! `windlass-reconciler` does what Argo CD's application controller and gitops-engine
//! do, for `argoproj.io/v1alpha1` `Application` and `AppProject` manifests unchanged,
//! talking to clusters only through `kube`.
//!
//! - [`render`]: manifests from directory and Kustomize sources (and `sources[]`),
//!   cached by repository, resolved commit, path and parameters; [`repo`] keeps a local
//!   mirror of every repository an Application points at.
//! - [`diff`]: desired and live objects normalized and compared with server-side-apply
//!   semantics, `ignoreDifferences` honoured.
//! - [`health`]: Argo's built-in health checks, plus custom ones as CEL expressions.
//! - [`project`]: AppProject restrictions (sources, destinations, resource kinds).
//! - [`cluster`]: a destination cluster's served types and a watch-based cache of the
//!   objects Applications track (Argo's `tracking-id` annotation).
//! - [`compare`] and [`sync`]: per-resource sync status and health; the sync engine
//!   (phases, waves, Argo's kind order, hooks, prune, sync options).
//! - [`Reconciler`]: one Application end to end (operations run step by step and
//!   resumed after a restart, automated sync, self-heal, retries, status and history
//!   exactly in Argo's shape); [`controller`] drives it with `kube-runtime` for every
//!   Application of a namespace.
//!
//! # Embedding
//!
//! A Rust service can drive the engine directly, without the controller loop: render
//! and compare an Application, look at the differences, then sync.
//!
//! ```no_run
//! use windlass_entity_model::argocd::{Application, OperationPhase, SyncOperation};
//! use windlass_reconciler::{Config, Reconciler, sync::Progress};
//!
//! # async fn demo(client: kube::Client, app: Application) -> windlass_reconciler::Result<()> {
//! let reconciler = Reconciler::new(client, Config::new("/var/cache/windlass/repos")).await?;
//! let state = reconciler.compare(&app, None, false).await?;
//! for r in &state.comparison.resources {
//!     println!("{} {:?} {:?}", r.key, r.status, r.health.as_ref().map(|h| h.status));
//! }
//! let op = SyncOperation { prune: Some(true), ..Default::default() };
//! let mut progress = Progress { started_at: jiff::Timestamp::now().as_second(), ..Default::default() };
//! loop {
//!     // One step: what can be done now; Running means it waits (for health, hooks).
//!     let state = reconciler.compare(&app, None, false).await?;
//!     let outcome = reconciler.sync(&app, &state, &op, &progress).await;
//!     if outcome.phase != OperationPhase::Running {
//!         println!("{:?}: {}", outcome.phase, outcome.message);
//!         break;
//!     }
//!     progress.results = outcome.results;
//!     tokio::time::sleep(std::time::Duration::from_secs(1)).await;
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod cluster;
pub mod compare;
pub mod controller;
pub mod diff;
mod error;
pub mod health;
pub mod metrics;
mod operation;
pub mod project;
pub mod render;
pub mod repo;
pub mod resource;
pub mod sync;

pub use app::{Config, FIELD_MANAGER, Outcome, Reconciler, now};
pub use error::{Error, Result};
