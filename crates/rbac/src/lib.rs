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
//!   kept in Git grants them to a team, and every decision carries its reason. A rule
//!   applies to the entities that match all of its `attributes` and, when it has
//!   `anyOf`, at least one of those sets; rules only grant, so removing one never
//!   widens access.
//! - [`Rules::load`] reads the teams (`access/teams/`) and rules (`access/rules/`) of
//!   the account's config repository at a commit, every problem named by file, line
//!   and field; [`RulesLoader`] keeps them by commit id, so a new commit takes effect
//!   on the next request and an unchanged branch is not read again.
//! - [`Authorizer`] is the whole check of a request: the user's permission on the
//!   entity's manifest, the rules at the config repository's tip, the decision.
//!
//! An access rule, kept at `access/rules/deployers-operate-shop.yaml`:
//!
//! ```yaml
//! apiVersion: windlass.dev/v1alpha1
//! kind: AccessRule
//! metadata:
//!   name: deployers-operate-shop
//! spec:
//!   teams: [deployers]            # Teams of access/teams/
//!   actions: [sync, rollback, logs]
//!   attributes:                   # all of: every attribute set here must match
//!     runtimes: ['prod-*']
//!   anyOf:                        # and at least one of these sets
//!     - namespaces: [shop]
//!     - labels: {team: deployers}
//! ```
//!
//! A member of `deployers` who can read a shop application's manifest may sync it;
//! without write permission on that repository, no rule lets them change it.
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
#![deny(missing_docs)]

mod access;
mod authorize;
mod cache;
mod decide;
mod error;
mod load;
mod perm;
mod probe;
pub mod provider;

pub use access::{GitAccess, ManifestLocation};
pub use authorize::Authorizer;
pub use decide::{ActionClass, Decision, EntityAttributes, Reason, Rules, Subject, class, decide};
pub use error::{Error, Result};
pub use load::{RULES_DIR, RulesLoader, TEAMS_DIR};
pub use perm::GitPermission;
pub use probe::{Credential, ProbeConfig, Prober};
pub use provider::Provider;

/// The README's examples compile (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
