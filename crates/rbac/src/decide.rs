//! The access decision: one pure function over values, so every denial can be
//! explained and the invariants are property-tested.
//!
//! Git is the ceiling. Seeing an entity needs read on the repository (and branch)
//! holding its manifest; changing or deleting it — a commit — needs write, and no
//! rule can grant it. Every other action (sync, refresh, terminate, rollback, rollout
//! promote/abort/retry/pause/resume, workflow retry/resubmit/stop, logs, exec,
//! deleting a live resource) needs write by default, never mere read; an
//! [`AccessRule`] kept in Git may grant such actions to the members of its teams who
//! can read the manifest, on the entities it applies to: every attribute of its
//! `attributes` matches (all of) and, when it has `anyOf`, at least one of those sets
//! matches too (any of). Rules only grant: removing one never widens access, and what
//! Git refuses no rule gives.

use std::collections::BTreeMap;

use windlass_entity_model::glob::glob_match;
use windlass_entity_model::windlass::{AccessAction, AccessAttributes, AccessRule, Team};

use crate::GitPermission;

/// Who asks: the user's name and every identity a team may list them by (provider
/// login, e-mail addresses), compared without regard to ASCII case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    /// The user's name, for messages.
    pub user: String,
    /// Logins and e-mail addresses.
    pub identities: Vec<String>,
}

/// What an access rule's attributes are matched against: the entity's place in the
/// account. An attribute a rule sets and the entity lacks does not match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntityAttributes {
    /// `kind:` of the entity.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The runtime it belongs to.
    pub runtime: Option<String>,
    /// The cluster it is deployed to (name of its `Cluster`, or server URL).
    pub cluster: Option<String>,
    /// The namespace it is deployed to (an application's destination, else its own).
    pub namespace: Option<String>,
    /// The application it is or belongs to.
    pub application: Option<String>,
    /// The GitSource holding it.
    pub git_source: Option<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// The teams and access rules of an account, as read from its config repository
/// (`access/teams/`, `access/rules/`).
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// Team name → members (lower case).
    teams: BTreeMap<String, Vec<String>>,
    /// By name, so decisions do not depend on the order rules were read in.
    rules: BTreeMap<String, Rule>,
}

#[derive(Clone, Debug)]
struct Rule {
    teams: Vec<String>,
    actions: Vec<AccessAction>,
    /// All of these.
    attributes: AccessAttributes,
    /// And, when set, at least one of these (an empty list: none can).
    any_of: Option<Vec<AccessAttributes>>,
}

impl Rule {
    /// Whether the rule applies to `entity`, and if so which set of `anyOf` matched
    /// (the first, so the answer does not depend on anything but the rule).
    fn applies(&self, entity: &EntityAttributes) -> Option<Option<usize>> {
        if !attributes_match(&self.attributes, entity) {
            return None;
        }
        match &self.any_of {
            None => Some(None),
            Some(sets) => sets
                .iter()
                .position(|set| attributes_match(set, entity))
                .map(Some),
        }
    }
}

impl Rules {
    /// The rules of `teams` and `rules` (entities without a name are skipped: the
    /// entity model refuses them when loading).
    pub fn new<'a>(
        teams: impl IntoIterator<Item = &'a Team>,
        rules: impl IntoIterator<Item = &'a AccessRule>,
    ) -> Rules {
        let teams = teams
            .into_iter()
            .filter_map(|t| {
                let members = t.spec.members.iter().flatten();
                Some((
                    t.metadata.name.clone()?,
                    members.map(|m| m.to_ascii_lowercase()).collect(),
                ))
            })
            .collect();
        let rules = rules
            .into_iter()
            .filter_map(|r| {
                Some((
                    r.metadata.name.clone()?,
                    Rule {
                        teams: r.spec.teams.clone().unwrap_or_default(),
                        actions: r.spec.actions.clone().unwrap_or_default(),
                        attributes: r.spec.attributes.clone().unwrap_or_default(),
                        any_of: r.spec.any_of.clone(),
                    },
                ))
            })
            .collect();
        Rules { teams, rules }
    }

    /// The names of the teams `subject` is a member of.
    pub fn teams_of(&self, subject: &Subject) -> Vec<&str> {
        self.teams
            .iter()
            .filter(|(_, members)| {
                subject
                    .identities
                    .iter()
                    .any(|id| members.contains(&id.to_ascii_lowercase()))
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// The first rule (by name) granting `action` on `entity` to one of `teams`, the
    /// team, and which set of the rule's `anyOf` matched.
    fn granting<'a>(
        &'a self,
        teams: &[&'a str],
        action: AccessAction,
        entity: &EntityAttributes,
    ) -> Option<(&'a str, &'a str, Option<usize>)> {
        self.rules.iter().find_map(|(name, rule)| {
            let acts = rule
                .actions
                .iter()
                .any(|a| *a == action || *a == AccessAction::All);
            if !acts {
                return None;
            }
            let team = rule.teams.iter().find(|t| teams.contains(&t.as_str()))?;
            let any_of = rule.applies(entity)?;
            Some((name.as_str(), team.as_str(), any_of))
        })
    }

    /// The names of the rules, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.keys().map(String::as_str)
    }

    /// The names of the teams, in order.
    pub fn team_names(&self) -> impl Iterator<Item = &str> {
        self.teams.keys().map(String::as_str)
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Every attribute the rule sets matches (all of); an attribute matches when any of
/// its patterns does (any of). Patterns are Argo CD's globs (no separator).
fn attributes_match(attrs: &AccessAttributes, entity: &EntityAttributes) -> bool {
    let one = |patterns: &Option<Vec<String>>, value: &Option<String>| match patterns {
        None => true,
        Some(patterns) => value
            .as_deref()
            .is_some_and(|v| patterns.iter().any(|p| glob_match(p, v, &[]))),
    };
    one(&attrs.runtimes, &entity.runtime)
        && one(&attrs.clusters, &entity.cluster)
        && one(&attrs.namespaces, &entity.namespace)
        && one(&attrs.applications, &entity.application)
        && one(&attrs.git_sources, &entity.git_source)
        && attrs
            .labels
            .iter()
            .flatten()
            .all(|(k, v)| entity.labels.get(k) == Some(v))
}

/// What an action needs from Git.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionClass {
    /// Seeing: read.
    Read,
    /// Changing the entity's manifest (a commit): write, never granted by a rule.
    Commit,
    /// Acting on what runs: write, or read and a rule.
    Operate,
}

/// The class of `action`.
pub fn class(action: AccessAction) -> ActionClass {
    match action {
        AccessAction::View => ActionClass::Read,
        AccessAction::Commit | AccessAction::Delete | AccessAction::All => ActionClass::Commit,
        _ => ActionClass::Operate,
    }
}

/// An access decision and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the action may go ahead.
    pub allowed: bool,
    /// Why, for the user.
    pub reason: Reason,
}

/// Why a decision went the way it did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The user's Git permission on the manifest's repository is enough.
    Git {
        /// What the action needed.
        needed: GitPermission,
    },
    /// An access rule granted the action to one of the user's teams.
    Rule {
        /// The rule's name.
        rule: String,
        /// The team it granted to.
        team: String,
        /// Which set of the rule's `anyOf` matched the entity (the first that did);
        /// `None`: the rule has no `anyOf`.
        any_of: Option<usize>,
    },
    /// The user's Git permission is too low and no rule may make up for it.
    MissingGit {
        /// What the action needed.
        needed: GitPermission,
        /// What the user has.
        have: GitPermission,
    },
    /// The action needs write, or read and a rule granting it; there is read and no
    /// such rule.
    NotGranted {
        /// The user's teams.
        teams: Vec<String>,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Git { needed } => {
                write!(
                    f,
                    "{needed} permission on the Git repository holding the manifest"
                )
            }
            Reason::Rule { rule, team, any_of } => {
                write!(f, "access rule {rule:?} grants it to team {team:?}")?;
                match any_of {
                    Some(i) => write!(f, " (its attributes and anyOf[{i}] match)"),
                    None => Ok(()),
                }
            }
            Reason::MissingGit { needed, have } => write!(
                f,
                "needs {needed} permission on the Git repository holding the manifest; you have {have}, and access rules cannot grant what Git does not"
            ),
            Reason::NotGranted { teams } => write!(
                f,
                "needs write permission on the Git repository holding the manifest (you have read), or an access rule granting it to one of your teams ({})",
                if teams.is_empty() {
                    "you are in none".to_owned()
                } else {
                    teams.join(", ")
                }
            ),
        }
    }
}

/// Whether `subject` may perform `action` on the entity with `entity` attributes,
/// given their `git` permission on the repository and branch holding its manifest and
/// the account's `rules`. Pure and deterministic.
pub fn decide(
    subject: &Subject,
    action: AccessAction,
    entity: &EntityAttributes,
    git: GitPermission,
    rules: &Rules,
) -> Decision {
    let needed = match class(action) {
        ActionClass::Read => GitPermission::Read,
        ActionClass::Commit | ActionClass::Operate => GitPermission::Write,
    };
    if git >= needed {
        return Decision {
            allowed: true,
            reason: Reason::Git { needed },
        };
    }
    if class(action) != ActionClass::Operate || git < GitPermission::Read {
        return Decision {
            allowed: false,
            reason: Reason::MissingGit { needed, have: git },
        };
    }
    let teams = rules.teams_of(subject);
    match rules.granting(&teams, action, entity) {
        Some((rule, team, any_of)) => Decision {
            allowed: true,
            reason: Reason::Rule {
                rule: rule.to_owned(),
                team: team.to_owned(),
                any_of,
            },
        },
        None => Decision {
            allowed: false,
            reason: Reason::NotGranted {
                teams: teams.into_iter().map(str::to_owned).collect(),
            },
        },
    }
}
