//! Typed model of every entity Windlass handles: Argo CD, Argo Rollouts, Argo Workflows
//! and Argo Events kinds (`argoproj.io/v1alpha1`, accepted unchanged) and Windlass's own
//! kinds (`windlass.dev/v1alpha1`).
//!
//! - [`load`] reads YAML or JSON — one document or many, files or directory trees — into
//!   [`Entity`] values. Any other Kubernetes object loads as a [`GenericObject`].
//! - Every error names its place: file, line, column and field path
//!   (`apps/web.yaml:12:7: spec.syncPolicy.automated.prune: expected a boolean, found "maybe"`),
//!   and a load reports all of them, not only the first.
//! - Nothing is dropped: fields Windlass does not model are kept and written back.
//! - [`validate`] holds the rules Argo enforces beyond types; [`layout`] maps entities to
//!   files of the account's config repository; [`crd`] emits CustomResourceDefinitions.
//!
//! The crate does no IO beyond reading the files it is asked to load.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use windlass_entity_model::{Entity, load::load_str};
//!
//! let text = r#"
//! apiVersion: argoproj.io/v1alpha1
//! kind: Workflow
//! metadata:
//!   generateName: hello-
//! spec:
//!   entrypoint: main
//!   templates:
//!     - name: main
//!       container: {image: busybox, command: [echo, hello]}
//! ---
//! apiVersion: v1
//! kind: ConfigMap
//! metadata: {name: settings}
//! data: {color: blue}
//! "#;
//! let loaded = load_str(text, Path::new("hello.yaml"));
//! assert!(loaded.is_ok(), "{:?}", loaded.errors);
//! assert!(matches!(loaded.manifests[0].entity, Entity::Workflow(_)));
//! assert_eq!(loaded.manifests[1].entity.kind_name(), "ConfigMap");
//!
//! let broken = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web}\nspec:\n  replicas: many\n";
//! let loaded = load_str(broken, Path::new("web.yaml"));
//! assert_eq!(
//!     loaded.errors[0].to_string(),
//!     r#"web.yaml:5:13: spec.replicas: expected an integer, found "many""#
//! );
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod argocd;
pub mod common;
pub mod crd;
pub mod cron;
pub mod de;
pub mod duration;
pub mod entity;
pub mod error;
pub mod events;
pub mod glob;
pub mod layout;
pub mod load;
pub mod path;
pub mod rollouts;
pub mod validate;
pub mod windlass;
pub mod workflows;
pub mod yaml;

pub use entity::{Entity, GenericObject, Kind, Scope};
pub use error::{Error, Location};
pub use path::FieldPath;
