//! Validation beyond types: the rules Argo's controllers and admission enforce.

use crate::path::FieldPath;

/// One broken rule, located by its field path inside the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Where in the document the rule is broken.
    pub path: FieldPath,
    /// What is wrong, in the words of a user (`must be a DNS-1123 subdomain`, ...).
    pub message: String,
}

/// Collects the [`Violation`]s of one document.
#[derive(Debug, Default)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the field at `path` breaks a rule.
    pub fn push(&mut self, path: FieldPath, message: impl Into<String>) {
        self.0.push(Violation {
            path,
            message: message.into(),
        });
    }

    /// Records a violation when `field` is absent (a required field).
    pub fn require<T>(&mut self, field: &Option<T>, path: FieldPath) {
        if field.is_none() {
            self.push(path, "is required");
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded violations, in the order they were found.
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }

    /// The recorded violations.
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }
}

/// Entities (and parts of them) that check Argo's rules beyond what types express.
pub trait Validate {
    /// Records every rule this value breaks; `path` is where the value sits in its document.
    fn validate(&self, path: &FieldPath, out: &mut Violations);
}

/// Whether `name` is a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63
/// characters): what Kubernetes requires of Service and Namespace names.
pub fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// Whether `name` is a DNS-1123 subdomain (dot-separated labels, at most 253
/// characters in all): what Kubernetes requires of most object names. As in Kubernetes'
/// `IsDNS1123Subdomain`, single labels are not limited to 63 characters here.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        })
}

/// Kubernetes' rules for object metadata: a name (or `generateName`) that is a DNS-1123
/// subdomain, a namespace that is a DNS-1123 label, and none for cluster-scoped kinds.
pub(crate) fn validate_metadata(entity: &crate::entity::Entity, out: &mut Violations) {
    let meta = FieldPath::root().key("metadata");
    // kustomize's own files (kustomization.yaml) are configuration, not API objects.
    if entity.api_version().starts_with("kustomize.config.k8s.io/") {
        return;
    }
    let Some(metadata) = entity.metadata() else {
        out.push(meta, "is required");
        return;
    };
    match (&metadata.name, &metadata.generate_name) {
        (Some(name), _) => {
            if !is_dns1123_subdomain(name) {
                out.push(
                    meta.key("name"),
                    format!("{name:?} is not a valid name: {DNS1123_SUBDOMAIN}"),
                );
            }
        }
        (None, Some(prefix)) => {
            // The server appends five characters; the prefix itself may end in '-'.
            let sample = format!("{prefix}abcde");
            if !is_dns1123_subdomain(&sample) {
                out.push(
                    meta.key("generateName"),
                    format!("{prefix:?} is not a valid name prefix: {DNS1123_SUBDOMAIN}"),
                );
            }
        }
        (None, None) => out.push(meta.key("name"), "name or generateName is required"),
    }
    if let Some(namespace) = &metadata.namespace {
        if !is_dns1123_label(namespace) {
            out.push(
                meta.key("namespace"),
                format!("{namespace:?} is not a valid namespace: {DNS1123_LABEL}"),
            );
        }
        if entity
            .kind()
            .is_some_and(|k| k.scope() == crate::entity::Scope::Cluster)
        {
            out.push(
                meta.key("namespace"),
                "must not be set: the kind is cluster-scoped",
            );
        }
    }
}

const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
    alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
    characters or '-', start and end with an alphanumeric character, and be at most 63 characters";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1123() {
        assert!(is_dns1123_label("web-1"));
        assert!(!is_dns1123_label("Web"));
        assert!(!is_dns1123_label("-web"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(is_dns1123_subdomain("argocd.argoproj.io"));
        assert!(!is_dns1123_subdomain("a..b"));
        assert!(!is_dns1123_subdomain("../etc"));
        assert!(is_dns1123_subdomain(&"a".repeat(100)));
        assert!(!is_dns1123_subdomain(&"a".repeat(254)));
    }
}
