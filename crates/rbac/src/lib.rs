//! Access control for Windlass, derived from Git.
//!
//! Who may change something is decided by Git: if you cannot push it, you cannot
//! change it through Windlass.
//!
//! - [`Prober`] asks any Git server what a credential may do on a repository (read
//!   when it grants the upload-pack advertisement, write when it grants the
//!   receive-pack one), with a TTL cache dropped on a rejected push.
//! - [`Provider`] adapters (GitHub, GitLab, Gitea/Forgejo) add what the protocol cannot
//!   tell: admins and protected branches. [`GitAccess`] combines both per manifest
//!   location: an entity's permission is its file's.
//! - [`decide`] is the one decision: Git is the ceiling, actions that are not commits
//!   need write unless an [`AccessRule`](windlass_entity_model::windlass::AccessRule)
//!   kept in Git grants them to a team, and every decision carries its reason.
//!
//! ```
//! use windlass_entity_model::windlass::AccessAction;
//! use windlass_rbac::{decide, EntityAttributes, GitPermission, Rules, Subject};
//!
//! let alice = Subject { user: "alice".into(), identities: vec!["alice@example.com".into()] };
//! let app = EntityAttributes { kind: "Application".into(), name: "guestbook".into(), ..Default::default() };
//! let rules = Rules::default();
//!
//! // Reading the manifest lets alice see the application, not sync it.
//! assert!(decide(&alice, AccessAction::View, &app, GitPermission::Read, &rules).allowed);
//! let sync = decide(&alice, AccessAction::Sync, &app, GitPermission::Read, &rules);
//! assert!(!sync.allowed);
//! assert!(sync.reason.to_string().contains("needs write permission"));
//! ```

#![forbid(unsafe_code)]

mod access;
mod cache;
mod decide;
mod error;
mod perm;
mod probe;
pub mod provider;

pub use access::{GitAccess, ManifestLocation};
pub use decide::{ActionClass, Decision, EntityAttributes, Reason, Rules, Subject, class, decide};
pub use error::{Error, Result};
pub use perm::GitPermission;
pub use probe::{Credential, ProbeConfig, Prober};
pub use provider::Provider;
