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
pub mod project;
pub mod render;
pub mod repo;
pub mod resource;
pub mod sync;

pub use app::{Config, FIELD_MANAGER, Outcome, Reconciler, now};
pub use error::{Error, Result};
