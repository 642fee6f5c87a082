//! Teams and access rules read from the account's config repository at a commit:
//! `access/teams/<team>.yaml` and `access/rules/<name>.yaml`, one entity per file,
//! through the entity model's loader (so every error names file, line and field).
//!
//! A commit's rules apply as a whole or not at all: one broken file makes the commit's
//! rules an error ([`Error::InvalidRules`]) rather than a subset, so a commit that
//! removes one rule and breaks another never leaves the removed one in force.
//! [`RulesLoader`] keeps what it read by commit id: rules are read once per commit,
//! and a new commit takes effect on the next [`RulesLoader::load`].

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use windlass_entity_model::layout::{EntityKey, entity_key_for};
use windlass_entity_model::load::Manifest;
use windlass_entity_model::windlass::{AccessRule, Team};
use windlass_entity_model::{Entity, FieldPath, Location};
use windlass_git_store::{ObjectId, Store};

use crate::{Error, Result, Rules};

/// Where teams are kept in the config repository.
pub const TEAMS_DIR: &str = "access/teams";
/// Where access rules are kept in the config repository.
pub const RULES_DIR: &str = "access/rules";

/// How many commits' rules a [`RulesLoader`] keeps.
const KEPT_COMMITS: usize = 8;

impl Rules {
    /// Reads the teams and access rules of the config repository in `store` at `rev`
    /// (a branch, tag or commit), checking every file: its place in the layout (the
    /// file is named after the entity, `access/teams/` holds `Team`s and
    /// `access/rules/` `AccessRule`s), the entity model's validation, and that every
    /// team a rule names exists. Every problem is reported, each naming its file and
    /// field.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use windlass_git_store::{ChangeSet, Config, Expect, Identity, Store};
    /// use windlass_rbac::Rules;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::init(dir.path(), true, Config::default())?;
    /// let change = ChangeSet::new(Identity::new("Carol", "carol@example.com"), "sre may sync")
    ///     .upsert("access/teams/sre.yaml", "apiVersion: windlass.dev/v1alpha1\nkind: Team\nmetadata: {name: sre}\nspec: {members: [alice]}\n")?
    ///     .upsert("access/rules/sre-sync.yaml", "apiVersion: windlass.dev/v1alpha1\nkind: AccessRule\nmetadata: {name: sre-sync}\nspec: {teams: [sre], actions: [sync]}\n")?;
    /// store.commit("main", &change, &Expect::Branch(None))?;
    ///
    /// let rules = Rules::load(&store, "main")?;
    /// assert_eq!(rules.names().collect::<Vec<_>>(), ["sre-sync"]);
    ///
    /// // A rule naming a team that does not exist is refused, naming file and field.
    /// let change = ChangeSet::new(Identity::new("Carol", "carol@example.com"), "typo")
    ///     .upsert("access/rules/sre-sync.yaml", "apiVersion: windlass.dev/v1alpha1\nkind: AccessRule\nmetadata: {name: sre-sync}\nspec: {teams: [sre, ops], actions: [sync]}\n")?;
    /// store.commit("main", &change, &Expect::Branch(Some(store.resolve("main")?)))?;
    /// let err = Rules::load(&store, "main").unwrap_err().to_string();
    /// assert!(err.contains("access/rules/sre-sync.yaml:4:21: spec.teams[1]: no team \"ops\""), "{err}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn load(store: &Store, rev: &str) -> Result<Rules> {
        let commit = store.resolve(rev)?;
        load_at(store, commit)?.map_err(|errors| Error::InvalidRules {
            commit: commit.to_string(),
            errors: errors.into(),
        })
    }
}

/// Reads the rules at `commit`: the rules or every problem found in the files, or the
/// store's error if it could not read them.
fn load_at(
    store: &Store,
    commit: ObjectId,
) -> Result<Result<Rules, Vec<windlass_entity_model::Error>>> {
    let hex = commit.to_string();
    let teams = store.load_entities(&hex, TEAMS_DIR)?;
    let rules = store.load_entities(&hex, RULES_DIR)?;
    let mut errors: Vec<_> = teams.errors.into_iter().chain(rules.errors).collect();
    let mut found_teams: Vec<&Team> = Vec::new();
    let mut found_rules: Vec<&AccessRule> = Vec::new();
    for manifest in teams.manifests.iter().chain(&rules.manifests) {
        match placed(manifest) {
            Err(Misplaced::Layout(e)) => errors.push(e),
            Err(Misplaced::Field(path, message)) => {
                errors.push(windlass_entity_model::Error::Invalid {
                    location: locate(store, commit, &manifest.location, &path),
                    path,
                    message,
                })
            }
            Ok(()) => match &manifest.entity {
                Entity::Team(t) => found_teams.push(t),
                Entity::AccessRule(r) => found_rules.push(r),
                _ => unreachable!("placed() admits teams and rules only"),
            },
        }
    }
    let names: BTreeSet<&str> = found_teams
        .iter()
        .filter_map(|t| t.metadata.name.as_deref())
        .collect();
    for (manifest, rule) in rules.manifests.iter().filter_map(|m| match &m.entity {
        Entity::AccessRule(r) => Some((m, r)),
        _ => None,
    }) {
        for (i, team) in rule.spec.teams.iter().flatten().enumerate() {
            if !names.contains(team.as_str()) {
                let path = FieldPath::root().key("spec").key("teams").index(i);
                errors.push(windlass_entity_model::Error::Invalid {
                    location: locate(store, commit, &manifest.location, &path),
                    path,
                    message: format!(
                        "no team {team:?}: there is no {TEAMS_DIR}/{team}.yaml (a rule grants to teams of the config repository)"
                    ),
                });
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_cached_key(|e| match e.location() {
            Some(at) => (
                at.file.to_string_lossy().into_owned(),
                at.mark.line,
                at.mark.column,
            ),
            None => (e.to_string(), 0, 0),
        });
        return Ok(Err(errors));
    }
    Ok(Ok(Rules::new(found_teams, found_rules)))
}

/// Why a manifest is not where the layout puts it.
enum Misplaced {
    /// The file's path is not one of the layout.
    Layout(windlass_entity_model::Error),
    /// A field of the document disagrees with the file it is in.
    Field(FieldPath, String),
}

/// Checks that `manifest` is where the layout puts it: the only document of a file
/// named after it, in the directory of its kind.
fn placed(manifest: &Manifest) -> Result<(), Misplaced> {
    let file = manifest.location.file.to_string_lossy().into_owned();
    let invalid = |path: FieldPath, message: String| Misplaced::Field(path, message);
    if manifest.document > 0 {
        return Err(invalid(
            FieldPath::root(),
            format!(
                "the file holds more than one document (this is document {}); the config repository keeps one entity per file",
                manifest.document + 1
            ),
        ));
    }
    let key = entity_key_for(&file).map_err(Misplaced::Layout)?;
    let kind = manifest.entity.kind_name();
    let expected = match key {
        EntityKey::Team { .. } => "Team",
        EntityKey::AccessRule { .. } => "AccessRule",
        // Only access/teams and access/rules are read, and their keys are these two.
        _ => unreachable!("{file} is not under access/"),
    };
    if kind != expected {
        let dir = if expected == "Team" {
            TEAMS_DIR
        } else {
            RULES_DIR
        };
        return Err(invalid(
            FieldPath::root().key("kind"),
            format!("{dir}/ holds {expected}s, not a {kind}"),
        ));
    }
    let name = manifest.entity.name().unwrap_or_default();
    if name != key.name() {
        return Err(invalid(
            FieldPath::root().key("metadata").key("name"),
            format!(
                "{name:?} does not match the file's name: {file} must hold the {expected} {:?}",
                key.name()
            ),
        ));
    }
    Ok(())
}

/// Where `path` is in the document starting at `at` (read again: only errors need it).
fn locate(store: &Store, commit: ObjectId, at: &Location, path: &FieldPath) -> Location {
    let file = at.file.to_string_lossy();
    let text = store.read_file_at(commit, &file).ok().flatten();
    let mark = text
        .as_deref()
        .and_then(|t| std::str::from_utf8(t).ok())
        .and_then(|t| {
            windlass_entity_model::yaml::parse_documents(t)
                .into_iter()
                .flatten()
                .find(|d| d.root.mark == at.mark)
                .map(|d| d.root.lookup(path).0.mark)
        })
        .unwrap_or(at.mark);
    Location {
        file: at.file.clone(),
        mark,
    }
}

/// Reads a config repository's rules at a revision, keeping what it read by commit
/// id: asking once per API request costs a ref lookup while the branch has not
/// moved, and a new commit takes effect on the next [`RulesLoader::load`]. Cheap to
/// share between tasks (`&self` everywhere).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use windlass_git_store::{ChangeSet, Config, Expect, Identity, Store};
/// use windlass_rbac::RulesLoader;
///
/// let dir = tempfile::tempdir()?;
/// let store = Store::init(dir.path(), true, Config::default())?;
/// let carol = Identity::new("Carol", "carol@example.com");
/// let team = "apiVersion: windlass.dev/v1alpha1\nkind: Team\nmetadata: {name: sre}\nspec: {members: [alice]}\n";
/// store.commit("main", &ChangeSet::new(carol.clone(), "sre").upsert("access/teams/sre.yaml", team)?, &Expect::Branch(None))?;
///
/// let loader = RulesLoader::new(store.clone());
/// let first = loader.load("main")?;
/// assert!(first.is_empty());
/// assert!(Arc::ptr_eq(&first, &loader.load("main")?), "read once per commit");
///
/// let rule = "apiVersion: windlass.dev/v1alpha1\nkind: AccessRule\nmetadata: {name: sre-sync}\nspec: {teams: [sre], actions: [sync]}\n";
/// let tip = store.resolve("main")?;
/// store.commit("main", &ChangeSet::new(carol, "sre may sync").upsert("access/rules/sre-sync.yaml", rule)?, &Expect::Branch(Some(tip)))?;
/// assert_eq!(loader.load("main")?.len(), 1, "the new commit is read");
/// # Ok(())
/// # }
/// ```
pub struct RulesLoader {
    store: Store,
    /// Most recently used last.
    kept: Mutex<Vec<(ObjectId, Loaded)>>,
}

type Loaded = std::result::Result<Arc<Rules>, Arc<[windlass_entity_model::Error]>>;

impl RulesLoader {
    /// A loader reading the config repository in `store`.
    pub fn new(store: Store) -> RulesLoader {
        RulesLoader {
            store,
            kept: Mutex::new(Vec::new()),
        }
    }

    /// The rules at `rev` (a branch such as `main`, a tag or a commit), from what was
    /// kept for its commit if it was read before. Reading is blocking IO on the local
    /// repository (a few small files, through the store's object cache).
    pub fn load(&self, rev: &str) -> Result<Arc<Rules>> {
        let commit = self.store.resolve(rev)?;
        let found = {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            kept.iter().position(|(id, _)| *id == commit).map(|i| {
                let entry = kept.remove(i);
                let loaded = entry.1.clone();
                kept.push(entry);
                loaded
            })
        };
        let loaded = match found {
            Some(loaded) => loaded,
            None => {
                // Read without holding the lock; two callers may both read a new
                // commit, the result is the same.
                // A store error (an unreadable repository) is not kept: it may pass.
                let loaded: Loaded = load_at(&self.store, commit)?
                    .map(Arc::new)
                    .map_err(Arc::from);
                match &loaded {
                    Ok(rules) => tracing::debug!(%commit, rules = rules.len(), "access rules read"),
                    Err(errors) => {
                        tracing::warn!(%commit, errors = errors.len(), "access rules invalid")
                    }
                }
                let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
                kept.retain(|(id, _)| *id != commit);
                if kept.len() >= KEPT_COMMITS {
                    drop(kept.remove(0));
                }
                kept.push((commit, loaded.clone()));
                loaded
            }
        };
        loaded.map_err(|errors| Error::InvalidRules {
            commit: commit.to_string(),
            errors,
        })
    }

    /// The store read.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
