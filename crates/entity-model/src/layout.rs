//! Where each platform entity lives in the account's config repository.
//!
//! ```text
//! runtimes/<runtime>/runtime.yaml          Runtime
//! runtimes/<runtime>/clusters/<name>.yaml  Cluster
//! git-sources/<name>.yaml                  GitSource
//! projects/<name>.yaml                     AppProject
//! access/teams/<name>.yaml                 Team
//! access/rules/<name>.yaml                 AccessRule
//! ```
//!
//! [`path_for`] and [`entity_key_for`] are inverse of each other. Names must be DNS-1123
//! subdomains, so no name can climb out of its directory or clash with another file.

use std::fmt;

use crate::entity::{Entity, Kind};
use crate::error::Error;
use crate::validate::is_dns1123_subdomain;

/// Identifies one entity of the config repository: what it is and what it is called.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKey {
    /// A runtime installed in a user's cluster.
    Runtime {
        /// The runtime's name.
        name: String,
    },
    /// A cluster registered with a runtime.
    Cluster {
        /// The runtime the cluster is registered with.
        runtime: String,
        /// The cluster's name.
        name: String,
    },
    /// A Git source the runtime syncs.
    GitSource {
        /// The source's name.
        name: String,
    },
    /// An Argo CD project.
    AppProject {
        /// The project's name.
        name: String,
    },
    /// A team of users.
    Team {
        /// The team's name.
        name: String,
    },
    /// An access rule.
    AccessRule {
        /// The rule's name.
        name: String,
    },
}

impl EntityKey {
    /// The kind of the entity.
    pub fn kind(&self) -> Kind {
        match self {
            EntityKey::Runtime { .. } => Kind::Runtime,
            EntityKey::Cluster { .. } => Kind::Cluster,
            EntityKey::GitSource { .. } => Kind::GitSource,
            EntityKey::AppProject { .. } => Kind::AppProject,
            EntityKey::Team { .. } => Kind::Team,
            EntityKey::AccessRule { .. } => Kind::AccessRule,
        }
    }

    /// The entity's name.
    pub fn name(&self) -> &str {
        match self {
            EntityKey::Runtime { name }
            | EntityKey::Cluster { name, .. }
            | EntityKey::GitSource { name }
            | EntityKey::AppProject { name }
            | EntityKey::Team { name }
            | EntityKey::AccessRule { name } => name,
        }
    }

    /// The file of the entity inside the config repository (`/`-separated, relative).
    pub fn path(&self) -> Result<String, Error> {
        check_name(self.name(), &self.to_string())?;
        Ok(match self {
            EntityKey::Runtime { name } => format!("runtimes/{name}/runtime.yaml"),
            EntityKey::Cluster { runtime, name } => {
                check_name(runtime, &self.to_string())?;
                format!("runtimes/{runtime}/clusters/{name}.yaml")
            }
            EntityKey::GitSource { name } => format!("git-sources/{name}.yaml"),
            EntityKey::AppProject { name } => format!("projects/{name}.yaml"),
            EntityKey::Team { name } => format!("access/teams/{name}.yaml"),
            EntityKey::AccessRule { name } => format!("access/rules/{name}.yaml"),
        })
    }
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityKey::Cluster { runtime, name } => write!(f, "Cluster {runtime:?}/{name:?}"),
            other => write!(f, "{} {:?}", other.kind().name(), other.name()),
        }
    }
}

/// Checks that `name` can be a path component of the layout.
fn check_name(name: &str, subject: &str) -> Result<(), Error> {
    let problem = if name.is_empty() {
        Some("the name is empty".to_owned())
    } else if name.contains('\0') {
        Some("the name contains a NUL character".to_owned())
    } else if name.contains('/') || name.contains('\\') {
        Some(format!("the name {name:?} contains a path separator"))
    } else if name == "." || name == ".." || name.contains("..") {
        Some(format!("the name {name:?} would escape its directory"))
    } else if name.len() > 253 {
        Some(format!(
            "the name is {} characters long; at most 253 are allowed",
            name.len()
        ))
    } else if !is_dns1123_subdomain(name) {
        Some(format!(
            "the name {name:?} is not a DNS-1123 subdomain (lower case alphanumerics, '-' and '.')"
        ))
    } else {
        None
    };
    match problem {
        Some(message) => Err(Error::Layout {
            subject: subject.to_owned(),
            message,
        }),
        None => Ok(()),
    }
}

/// The key of an entity that belongs in the config repository.
pub fn entity_key(entity: &Entity) -> Result<EntityKey, Error> {
    let name = entity.name().unwrap_or_default().to_owned();
    let not_in_layout = || Error::Layout {
        subject: format!("{} {name:?}", entity.kind_name()),
        message: "this kind is not kept in the config repository (it lives in a Git source)".into(),
    };
    Ok(match entity {
        Entity::Runtime(_) => EntityKey::Runtime { name },
        Entity::Cluster(cluster) => EntityKey::Cluster {
            runtime: cluster.spec.runtime.clone().unwrap_or_default(),
            name,
        },
        Entity::GitSource(_) => EntityKey::GitSource { name },
        Entity::AppProject(_) => EntityKey::AppProject { name },
        Entity::Team(_) => EntityKey::Team { name },
        Entity::AccessRule(_) => EntityKey::AccessRule { name },
        _ => return Err(not_in_layout()),
    })
}

/// The file an entity is kept in, inside the config repository.
pub fn path_for(entity: &Entity) -> Result<String, Error> {
    entity_key(entity)?.path()
}

/// The entity a config-repository file holds, from its path alone.
pub fn entity_key_for(path: &str) -> Result<EntityKey, Error> {
    let fail = |message: &str| Error::Layout {
        subject: path.to_owned(),
        message: message.to_owned(),
    };
    let parts: Vec<&str> = path.split('/').collect();
    let stem = |file: &str| file.strip_suffix(".yaml").map(str::to_owned);
    let key = match parts.as_slice() {
        ["runtimes", runtime, "runtime.yaml"] => EntityKey::Runtime {
            name: (*runtime).to_owned(),
        },
        ["runtimes", runtime, "clusters", file] => EntityKey::Cluster {
            runtime: (*runtime).to_owned(),
            name: stem(file).ok_or_else(|| fail("cluster files end in .yaml"))?,
        },
        ["git-sources", file] => EntityKey::GitSource {
            name: stem(file).ok_or_else(|| fail("Git source files end in .yaml"))?,
        },
        ["projects", file] => EntityKey::AppProject {
            name: stem(file).ok_or_else(|| fail("project files end in .yaml"))?,
        },
        ["access", "teams", file] => EntityKey::Team {
            name: stem(file).ok_or_else(|| fail("team files end in .yaml"))?,
        },
        ["access", "rules", file] => EntityKey::AccessRule {
            name: stem(file).ok_or_else(|| fail("access rule files end in .yaml"))?,
        },
        _ => return Err(fail("not a file of the config repository layout")),
    };
    // The names must be valid, and the path must be exactly the canonical one.
    let canonical = key.path().map_err(|e| fail(&e.message()))?;
    if canonical != path {
        return Err(fail(&format!("the canonical path is {canonical}")));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,2}"
    }

    fn key() -> impl Strategy<Value = EntityKey> {
        prop_oneof![
            name().prop_map(|name| EntityKey::Runtime { name }),
            (name(), name()).prop_map(|(runtime, name)| EntityKey::Cluster { runtime, name }),
            name().prop_map(|name| EntityKey::GitSource { name }),
            name().prop_map(|name| EntityKey::AppProject { name }),
            name().prop_map(|name| EntityKey::Team { name }),
            name().prop_map(|name| EntityKey::AccessRule { name }),
        ]
    }

    proptest! {
        #[test]
        fn path_and_key_are_inverse(key in key()) {
            let path = key.path().expect("valid names have a path");
            prop_assert_eq!(entity_key_for(&path).expect("layout path"), key);
        }

        #[test]
        fn keys_of_any_path_map_back_to_it(path in "[a-z./-]{0,40}") {
            if let Ok(key) = entity_key_for(&path) {
                prop_assert_eq!(key.path().expect("a key from a path has a path"), path);
            }
        }

        #[test]
        fn bad_names_never_get_a_path(name in ".{0,300}") {
            let key = EntityKey::Team { name: name.clone() };
            match key.path() {
                Ok(path) => {
                    prop_assert!(is_dns1123_subdomain(&name));
                    prop_assert_eq!(path.matches('/').count(), 2);
                }
                Err(_) => prop_assert!(!is_dns1123_subdomain(&name)),
            }
        }
    }

    #[test]
    fn escaping_names_are_rejected_clearly() {
        let cases = [
            (
                "..",
                "Team \"..\": the name \"..\" would escape its directory",
            ),
            (
                "a/b",
                "Team \"a/b\": the name \"a/b\" contains a path separator",
            ),
            ("a\0b", "Team \"a\\0b\": the name contains a NUL character"),
            (
                "Web",
                "Team \"Web\": the name \"Web\" is not a DNS-1123 subdomain (lower case alphanumerics, '-' and '.')",
            ),
            ("", "Team \"\": the name is empty"),
        ];
        for (name, expected) in cases {
            let err = EntityKey::Team { name: name.into() }
                .path()
                .expect_err(name);
            assert_eq!(err.to_string(), expected);
        }
        let long = "a".repeat(254);
        let err = EntityKey::Team { name: long }.path().expect_err("long");
        assert!(
            err.to_string()
                .ends_with("the name is 254 characters long; at most 253 are allowed")
        );
    }

    #[test]
    fn foreign_paths_are_rejected() {
        for path in [
            "runtimes/../runtime.yaml",
            "projects/a.yml",
            "projects/sub/a.yaml",
            "/projects/a.yaml",
            "apps/web.yaml",
            "projects/a..b.yaml",
        ] {
            assert!(entity_key_for(path).is_err(), "{path}");
        }
    }
}
